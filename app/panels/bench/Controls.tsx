import { useState, type DragEvent } from 'react';
import { filesFromDrop, filesFromInput } from '../../lib/folder';
import { useStore } from '../../store/store';
import type { BenchForm } from '../../store/benchSlice';
import { benchLiveRun, bundleKeyOf, cancelBench, chooseBenchFolder, runBench, setBenchForm, toggleBenchEncoder } from './actions';
import { encoderOptions, liveFor } from './form';

const num = (v: string): number => (v.trim() === '' ? NaN : Number(v));

/** A labelled number field bound to one form key. */
function NumberField(props: { label: string; field: keyof BenchForm; value: number | null; placeholder?: string; disabled: boolean }) {
  const { label, field, value, placeholder, disabled } = props;
  return (
    <label>
      {label}
      <input
        type="number"
        step={1}
        value={value !== null && Number.isFinite(value) ? value : ''}
        placeholder={placeholder}
        disabled={disabled}
        data-testid={`bench-${field}`}
        onChange={(e) => {
          const v = num(e.target.value);
          setBenchForm({ [field]: field === 'steps' && e.target.value.trim() === '' ? null : v } as Partial<BenchForm>);
        }}
      />
    </label>
  );
}

/** The user's reference folder: picked (folder chooser) or dropped; decoded in this page, never uploaded. */
function FolderInput({ disabled }: { disabled: boolean }) {
  const folder = useStore((s) => s.runs.bench.folder);
  const busy = useStore((s) => s.runs.bench.folderBusy);
  const [active, setActive] = useState(false);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setActive(false);
    if (disabled) return;
    const label = e.dataTransfer.items[0]?.webkitGetAsEntry()?.name ?? 'dropped files';
    void filesFromDrop(e.dataTransfer).then((files) => chooseBenchFolder(files, label));
  };
  return (
    <div
      className="dropzone bench-dropzone"
      data-active={active}
      data-testid="bench-dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        setActive(true);
      }}
      onDragLeave={() => setActive(false)}
      onDrop={onDrop}
    >
      <label className="file-button" data-disabled={disabled}>
        Choose a folder of images…
        <input
          type="file"
          multiple
          className="sr-only"
          disabled={disabled}
          data-testid="bench-folder-input"
          // webkitdirectory is not in React's typings; it makes the picker choose folders.
          {...{ webkitdirectory: '' }}
          onChange={(e) => {
            const list = e.currentTarget.files;
            const files = list ? filesFromInput(list) : [];
            const top = files[0]?.path.split('/')[0] ?? 'chosen folder';
            void chooseBenchFolder(files, top);
            e.currentTarget.value = '';
          }}
        />
      </label>
      <span className="muted small"> or drop one here. Images are decoded in this browser and never uploaded.</span>
      {busy && <p className="muted small">reading the folder…</p>}
      {folder && (
        <p className="small" data-testid="bench-folder" data-images={folder.images.length}>
          Folder <b>{folder.label}</b>: {folder.images.length} image{folder.images.length === 1 ? '' : 's'} at {folder.width}×
          {folder.height}
        </p>
      )}
      {folder && folder.skipped.length > 0 && (
        <ul className="bench-skipped small" data-testid="bench-folder-skipped">
          {folder.skipped.map((s) => (
            <li key={s}>Left out: {s}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** What to run (benchmarks, encoders, sizes, the reference set), Run / Cancel and the queue's progress. */
export function Controls() {
  const form = useStore((s) => s.runs.bench.form);
  const manifest = useStore((s) => s.engine.bundle?.manifest ?? null);
  const queue = useStore((s) => s.runs.bench.queue);
  const running = useStore((s) => s.runs.bench.entries.find((e) => e.status === 'running') ?? null);
  const busy = queue !== null;
  const live = liveFor(useStore(benchLiveRun), useStore(bundleKeyOf));
  const options = manifest ? encoderOptions(manifest, live.run) : [];
  const flowSteps = manifest?.defaults.flowSteps;
  return (
    <section className="card bench-controls" aria-labelledby="bench-controls-title">
      <h3 id="bench-controls-title">Run a benchmark{manifest ? ` on ${manifest.id}` : ''}</h3>
      <div className="bench-choose">
        <label>
          <input
            type="checkbox"
            checked={form.unified}
            disabled={busy}
            data-testid="bench-unified"
            onChange={(e) => setBenchForm({ unified: e.target.checked })}
          />{' '}
          Unified-Bench <span className="muted small">(caption → reconstruction, scored by every backbone)</span>
        </label>
        <label>
          <input
            type="checkbox"
            checked={form.geneval}
            disabled={busy}
            data-testid="bench-geneval"
            onChange={(e) => setBenchForm({ geneval: e.target.checked })}
          />{' '}
          GenEval-Shapes <span className="muted small">(the decoder draws grammar prompts; a classical checker reads them)</span>
        </label>
      </div>
      {form.unified && (
        <fieldset className="bench-group" disabled={busy}>
          <legend>Unified-Bench</legend>
          <div className="bench-encoders" data-testid="bench-encoders">
            {options.length === 0 && <span className="muted small">Load a bundle to choose its encoders.</span>}
            {options.map((o) => (
              <label key={o.id}>
                <input
                  type="checkbox"
                  checked={form.encoders.includes(o.id)}
                  data-testid={`bench-encoder-${o.id}`}
                  onChange={(e) => toggleBenchEncoder(o.id, e.target.checked)}
                />{' '}
                {o.label}
              </label>
            ))}
          </div>
          {live.other && (
            <p className="muted small" data-testid="bench-live-other">
              The live run stored in this browser trains {live.other}: load that bundle to benchmark its checkpoints.
            </p>
          )}
          <div className="ro-fields">
            <label className="field-row">
              Reference images
              <select
                value={form.reference}
                data-testid="bench-reference"
                onChange={(e) => setBenchForm({ reference: e.target.value as BenchForm['reference'] })}
              >
                <option value="scenes">held-out Shapes scenes</option>
                <option value="folder">a folder of my images</option>
              </select>
            </label>
            {form.reference === 'scenes' && <NumberField label="Scenes" field="scenes" value={form.scenes} disabled={busy} />}
            <NumberField label="Seed" field="unifiedSeed" value={form.unifiedSeed} disabled={busy} />
          </div>
          {form.reference === 'folder' && <FolderInput disabled={busy} />}
        </fieldset>
      )}
      {form.geneval && (
        <fieldset className="bench-group" disabled={busy}>
          <legend>GenEval-Shapes</legend>
          <div className="ro-fields">
            <NumberField label="Prompts per task (×7 tasks)" field="promptsPerTask" value={form.promptsPerTask} disabled={busy} />
            <NumberField label="Images per prompt" field="perPrompt" value={form.perPrompt} disabled={busy} />
            <NumberField label="Seed" field="genevalSeed" value={form.genevalSeed} disabled={busy} />
          </div>
        </fieldset>
      )}
      <div className="ro-fields">
        <NumberField label="Flow steps" field="steps" value={form.steps} placeholder={`bundle: ${flowSteps ?? '?'}`} disabled={busy} />
        <NumberField label="Batch (images per run)" field="batch" value={form.batch} disabled={busy} />
      </div>
      <div className="row">
        <button type="button" className="primary" disabled={busy || !manifest} data-testid="bench-run" onClick={() => void runBench()}>
          Run
        </button>
        <button type="button" disabled={!busy} data-testid="bench-cancel" onClick={cancelBench}>
          Cancel
        </button>
        {queue && (
          <span
            className="bench-progress"
            data-testid="bench-progress"
            data-done={running?.done ?? 0}
            data-total={running?.total ?? 0}
            aria-live="polite"
          >
            run {queue.index + 1} of {queue.count}
            {running &&
              ` · ${running.benchmark === 'unified' ? 'Unified-Bench' : 'GenEval-Shapes'} · ${running.encoderLabel}: ${running.done} of ${running.total} images`}
            <progress value={running?.done ?? 0} max={Math.max(1, running?.total ?? 1)} aria-label="benchmark progress" />
          </span>
        )}
      </div>
    </section>
  );
}
