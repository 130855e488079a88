import { ALL_TASKS, GENEVAL_TASKS } from '../../../src/engine/geneval/index.ts';
import type { BenchEntry } from '../../store/benchSlice';
import { removeBenchEntry, selectBenchEntry } from './actions';
import { entryLabel, genevalScores, unifiedScores } from './derive';

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** A backbone's column head and its value as the table shows it (cosines ×100 as in the paper's table). */
function backboneCell(b: string, v: number): { head: string; text: string } {
  if (b === 'psnr') return { head: 'PSNR (dB)', text: fmt(v, 2) };
  if (b === 'ssim') return { head: 'SSIM', text: fmt(v, 3) };
  return { head: `${b} (cos ×100)`, text: fmt(100 * v, 2) };
}

function StatusCell({ e }: { e: BenchEntry }) {
  return (
    <td className="bench-status">
      <span className={`tag rt-status ${e.status}`}>{e.status}</span>{' '}
      <span className="muted small">
        {e.done}/{e.total}
        {e.ms !== null && ` · ${(e.ms / 1000).toFixed(1)} s`}
      </span>
    </td>
  );
}

function RowActions({ e }: { e: BenchEntry }) {
  const busy = e.status === 'running' || e.status === 'queued';
  return (
    <td className="bench-actions">
      <button type="button" className="link" onClick={() => selectBenchEntry(e.id)} data-testid={`bench-show-${e.id}`}>
        worst cases
      </button>{' '}
      <button
        type="button"
        className="link"
        disabled={busy}
        aria-label={`remove ${entryLabel(e)}`}
        onClick={() => void removeBenchEntry(e.id)}
        data-testid={`bench-remove-${e.id}`}
      >
        ×
      </button>
    </td>
  );
}

/** Unified-Bench as the paper lays it out: one row per model (bundle · encoder), one column per backbone, Overall last. */
export function UnifiedTable({ entries }: { entries: BenchEntry[] }) {
  const backbones = [...new Set(entries.flatMap((e) => e.backbones))].sort(
    (a, b) => Number(a === 'psnr' || a === 'ssim') - Number(b === 'psnr' || b === 'ssim'),
  );
  return (
    <div className="bench-table-wrap">
      <table className="bench-table" data-testid="bench-unified-table">
        <thead>
          <tr>
            <th>Bundle · encoder</th>
            <th>Reference set</th>
            {backbones.map((b) => (
              <th key={b} className="num">
                {backboneCell(b, NaN).head}
              </th>
            ))}
            <th className="num">Overall</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => {
            const { means, overall } = unifiedScores(e);
            return (
              <tr
                key={e.id}
                data-testid={`bench-unified-row-${e.id}`}
                data-bench-row="unified"
                data-status={e.status}
                data-n={e.unified.length}
                data-overall={Number.isFinite(overall) ? overall : ''}
                data-encoder={e.encoderId}
                data-live={e.liveRun ?? ''}
              >
                <td>
                  {entryLabel(e)}
                  {e.liveRun && (
                    <>
                      {' '}
                      <span className="tag" title={`trained in this page (run ${e.liveRun})`}>
                        trained live
                      </span>
                    </>
                  )}
                </td>
                <td className="small">{e.reference}</td>
                {backbones.map((b) => (
                  <td key={b} className="num" data-backbone={b}>
                    {e.backbones.includes(b) ? backboneCell(b, means[b]).text : '–'}
                  </td>
                ))}
                <td className="num bench-overall">{fmt(overall, 2)}</td>
                <StatusCell e={e} />
                <RowActions e={e} />
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** GenEval-Shapes per decoder: one row per run, one column per task kind, overall (the six GenEval tasks) and plus_plus. */
export function GenevalTable({ entries }: { entries: BenchEntry[] }) {
  const extra = ALL_TASKS.filter((t) => !GENEVAL_TASKS.includes(t as (typeof GENEVAL_TASKS)[number]));
  return (
    <div className="bench-table-wrap">
      <table className="bench-table" data-testid="bench-geneval-table">
        <thead>
          <tr>
            <th>Decoder (bundle)</th>
            <th>Prompts</th>
            {GENEVAL_TASKS.map((t) => (
              <th key={t} className="num">
                {t}
              </th>
            ))}
            <th className="num">Overall</th>
            {extra.map((t) => (
              <th key={t} className="num">
                {t}
              </th>
            ))}
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => {
            const { tasks, overall } = genevalScores(e.geneval);
            return (
              <tr
                key={e.id}
                data-testid={`bench-geneval-row-${e.id}`}
                data-bench-row="geneval"
                data-status={e.status}
                data-n={e.geneval.length}
                data-overall={Number.isFinite(overall) ? overall : ''}
              >
                <td>{entryLabel(e)}</td>
                <td className="small">{e.reference}</td>
                {GENEVAL_TASKS.map((t) => (
                  <td key={t} className="num" data-task={t}>
                    {fmt(tasks[t], 3)}
                  </td>
                ))}
                <td className="num bench-overall">{fmt(overall, 3)}</td>
                {extra.map((t) => (
                  <td key={t} className="num" data-task={t}>
                    {fmt(tasks[t], 3)}
                  </td>
                ))}
                <StatusCell e={e} />
                <RowActions e={e} />
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
