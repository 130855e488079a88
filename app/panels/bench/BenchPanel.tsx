import { useEffect, useMemo } from 'react';
import { useStore } from '../../store/store';
import { clearBench, exportBench, loadStoredBench, refreshBenchLiveRun } from './actions';
import { BackboneChart, StepChart, TaskChart } from './Charts';
import { Controls } from './Controls';
import { GenevalTable, UnifiedTable } from './Tables';
import { WorstCases } from './WorstCases';
import './bench.css';

/** The Bench tab: run Unified-Bench and GenEval-Shapes on the loaded bundle, compare runs, keep and export them. */
export function BenchPanel() {
  const entries = useStore((s) => s.runs.bench.entries);
  const loaded = useStore((s) => s.runs.bench.loaded);
  const selected = useStore((s) => s.runs.bench.selected);
  const queue = useStore((s) => s.runs.bench.queue);
  const activity = useStore((s) => s.engine.activity.running);
  useEffect(() => {
    void loadStoredBench();
    void refreshBenchLiveRun();
  }, []);
  const unified = useMemo(() => entries.filter((e) => e.benchmark === 'unified' && e.status !== 'queued'), [entries]);
  const geneval = useMemo(() => entries.filter((e) => e.benchmark === 'geneval' && e.status !== 'queued'), [entries]);
  const shown = entries.find((e) => e.id === selected) ?? [...entries].reverse().find((e) => e.status !== 'queued' && e.done > 0) ?? null;
  const finished = entries.some((e) => e.status !== 'queued' && e.status !== 'running');
  return (
    <div className="bench-panel" data-testid="bench-panel" data-engine={activity ?? 'idle'} data-loaded={loaded}>
      <h2>Bench</h2>
      <p className="muted">
        The paper’s two benchmarks on the loaded bundle: <b>Unified-Bench</b> (each reference image captioned by the chosen encoder, drawn
        back by the decoder, scored by every backbone) and <b>GenEval-Shapes</b> (grammar prompts drawn by the decoder, read by an
        independent checker). Load another bundle in the Model bundle tab to add its runs beside these; results are kept in this browser.
      </p>
      <Controls />
      <section className="card" aria-labelledby="bench-unified-title">
        <h3 id="bench-unified-title">Unified-Bench</h3>
        {unified.length === 0 ? (
          <p className="muted" data-testid="bench-unified-empty">
            No Unified-Bench run yet.
          </p>
        ) : (
          <UnifiedTable entries={unified} />
        )}
        <div className="bench-charts">
          <BackboneChart entries={unified} />
          <StepChart entries={unified} />
        </div>
      </section>
      <section className="card" aria-labelledby="bench-geneval-title">
        <h3 id="bench-geneval-title">GenEval-Shapes</h3>
        {geneval.length === 0 ? (
          <p className="muted" data-testid="bench-geneval-empty">
            No GenEval-Shapes run yet.
          </p>
        ) : (
          <GenevalTable entries={geneval} />
        )}
        <div className="bench-charts">
          <TaskChart entries={geneval} />
        </div>
      </section>
      <WorstCases entry={shown} />
      <div className="row">
        <button type="button" disabled={!finished} onClick={() => exportBench('csv')} data-testid="bench-export-csv">
          Export CSV
        </button>
        <button type="button" disabled={!finished} onClick={() => exportBench('json')} data-testid="bench-export-json">
          Export JSON
        </button>
        <button type="button" disabled={!finished || queue !== null} onClick={() => void clearBench()} data-testid="bench-clear">
          Clear results
        </button>
      </div>
    </div>
  );
}
