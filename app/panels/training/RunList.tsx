import { useRef, useState, type DragEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useStore } from '../../store/store';
import { importRunFiles, removeRun, toggleRun } from './actions';
import { PALETTE } from './series';

const FORMAT_LABEL = { jsonl: 'JSONL', csv: 'CSV', trainer_state: 'trainer_state.json' } as const;

/** The runs to overlay (checkboxes), the bundle's and imported ones, and the log import (picker + drop). */
export function RunList() {
  const { runs, shown, bundleLoading, bundleNote } = useStore(
    useShallow((s) => ({
      runs: s.runs.training.runs,
      shown: s.runs.training.shown,
      bundleLoading: s.runs.training.bundleLoading,
      bundleNote: s.runs.training.bundleNote,
    })),
  );
  const [active, setActive] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setActive(false);
    const files = Array.from(e.dataTransfer.files);
    if (files.length > 0) void importRunFiles(files);
  };
  return (
    <div
      className="runs-card card"
      data-testid="runs-dropzone"
      data-active={active}
      onDragOver={(e) => {
        e.preventDefault();
        setActive(true);
      }}
      onDragLeave={() => setActive(false)}
      onDrop={onDrop}
    >
      <h3>Runs</h3>
      {bundleLoading && <p className="muted">Reading the bundle’s recorded runs…</p>}
      {bundleNote && <p className="muted">{bundleNote}</p>}
      {runs.length === 0 && !bundleLoading && (
        <p className="muted" data-testid="runs-empty">
          No runs yet: the loaded bundle ships none. Import a log below.
        </p>
      )}
      <ul className="run-list">
        {runs.map((run, i) => {
          const steps = run.series[Object.keys(run.series)[0]]?.length ?? 0;
          const last = Math.max(...Object.values(run.series).map((p) => p[p.length - 1]?.step ?? 0));
          return (
            <li key={run.id} data-testid={`run-item-${run.id}`}>
              <label>
                <input type="checkbox" checked={shown.includes(run.id)} onChange={() => toggleRun(run.id)} />
                <span className="swatch" style={{ background: PALETTE[i % PALETTE.length] }} aria-hidden="true" />
                <span className="run-label">{run.label}</span>
              </label>
              <span className="tag">
                {run.source.kind === 'bundle'
                  ? `bundle · stage ${run.source.stage ?? '?'}`
                  : run.source.keptFrom !== undefined
                    ? 'kept from Train live'
                    : 'imported'}
              </span>
              <span className="tag">{FORMAT_LABEL[run.source.format]}</span>
              <span className="muted run-meta" title={`${steps} rows of its first metric`}>
                {Object.keys(run.series).length} metrics · to step {last}
              </span>
              {run.source.kind === 'import' && (
                <button type="button" className="link" onClick={() => void removeRun(run.id)} aria-label={`Remove ${run.label}`}>
                  Remove
                </button>
              )}
            </li>
          );
        })}
      </ul>
      <div className="row import-row">
        <button type="button" onClick={() => input.current?.click()}>
          Import logs…
        </button>
        <input
          ref={input}
          type="file"
          multiple
          accept=".jsonl,.json,.csv,.tsv,.txt,.log"
          className="sr-only"
          data-testid="runs-file-input"
          onChange={(e) => {
            const files = Array.from(e.currentTarget.files ?? []);
            e.currentTarget.value = '';
            if (files.length > 0) void importRunFiles(files);
          }}
        />
        <span className="muted">
          or drop files here: JSONL, CSV, or a TRL <code>trainer_state.json</code>. Imported runs stay in this browser.
        </span>
      </div>
    </div>
  );
}
