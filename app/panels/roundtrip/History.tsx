import { useEffect, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useStore } from '../../store/store';
import { loadHistory, openStoredRun, removeRun, toggleCompare } from './actions';
import { exportAllRuns, importRunsFile } from './archive';
import { RunView, runSettingsLine } from './RunView';

/** Stored runs (IndexedDB), newest first: open one, tick two to compare, delete. */
export function History() {
  const items = useStore(useShallow((s) => s.runs.items.filter((i) => i.kind === 'roundtrip')));
  const compare = useStore((s) => s.runs.roundtrip.compare);
  const loaded = useStore((s) => s.runs.roundtrip.historyLoaded);
  const busy = useStore((s) => s.runs.roundtrip.current?.status === 'running');
  useEffect(() => {
    void loadHistory();
  }, []);
  return (
    <section className="card rt-history" aria-labelledby="rt-history-title">
      <h3 id="rt-history-title">Stored runs</h3>
      {!loaded && <p className="muted">Reading stored runs…</p>}
      {loaded && items.length === 0 && <p className="muted">No stored runs yet: every finished run is kept in this browser (IndexedDB).</p>}
      <ul className="rt-history-list" data-testid="rt-history">
        {items.map((it) => (
          <li key={it.id} data-testid="rt-history-item" data-run-id={it.id}>
            <label className="rt-compare-tick" title="compare side by side (two runs)">
              <input
                type="checkbox"
                checked={compare.includes(it.id)}
                onChange={() => void toggleCompare(it.id)}
                data-testid="rt-compare-tick"
              />
              <span className="sr-only">compare</span>
            </label>
            <div className="rt-history-text">
              <strong>{it.title}</strong> <span className="muted small">{new Date(it.startedAt).toLocaleString()}</span>
              <div className="muted small">{it.detail}</div>
            </div>
            <button type="button" disabled={busy} onClick={() => void openStoredRun(it.id)} data-testid="rt-open">
              Open
            </button>
            <button
              type="button"
              onClick={() => void removeRun(it.id)}
              aria-label={`delete run ${it.title ?? it.id}`}
              data-testid="rt-delete"
            >
              Delete
            </button>
          </li>
        ))}
      </ul>
      {compare.length === 1 && <p className="muted small">Tick one more run to compare.</p>}
      <ArchiveRow />
    </section>
  );
}

/** Export every stored run (round trips and imported training logs) as one JSON file, or import one. */
function ArchiveRow() {
  const [note, setNote] = useState<string | null>(null);
  return (
    <div className="row rt-archive">
      <button
        type="button"
        data-testid="runs-export-all"
        onClick={() =>
          void exportAllRuns().then((r) => r && setNote(`Exported ${r.roundtrips} round trips and ${r.training} training logs.`))
        }
      >
        Export all runs
      </button>
      <label className="button-like">
        Import runs…
        <input
          type="file"
          accept=".json,application/json"
          className="sr-only"
          data-testid="runs-import"
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            setNote(null);
            if (f) {
              void importRunsFile(f).then(
                (r) =>
                  r &&
                  setNote(
                    `Imported ${r.roundtrips} round trips and ${r.training} training logs${r.skipped ? ` (${r.skipped} already here, kept as they were)` : ''}.`,
                  ),
              );
            }
          }}
        />
      </label>
      {note && (
        <span className="muted small" data-testid="runs-archive-note" role="status">
          {note}
        </span>
      )}
    </div>
  );
}

/** Two ticked runs side by side. */
export function Compare() {
  const runs = useStore(useShallow((s) => s.runs.roundtrip.compare.map((id) => s.runs.roundtrip.opened[id]).filter(Boolean)));
  if (runs.length !== 2) return null;
  const [a, b] = runs;
  const lastSim = (r: typeof a) => r.loops[r.loops.length - 1]?.vsOriginal.sim;
  const da = lastSim(a);
  const db = lastSim(b);
  return (
    <section className="rt-compare" aria-label="Two runs side by side" data-testid="rt-compare">
      <h3>Compare</h3>
      {runSettingsLine(a) !== runSettingsLine(b) || a.input.label !== b.input.label ? null : (
        <p className="muted small">Same input and settings.</p>
      )}
      {da !== undefined && db !== undefined && (
        <p className="small">
          Last-loop sim vs original: A {da.toFixed(3)}, B {db.toFixed(3)} (Δ {(db - da >= 0 ? '+' : '') + (db - da).toFixed(3)})
        </p>
      )}
      <div className="rt-compare-cols">
        <RunView run={a} compact testId="rt-compare-a" />
        <RunView run={b} compact testId="rt-compare-b" />
      </div>
    </section>
  );
}
