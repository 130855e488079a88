import { useMemo } from 'react';
import { zeroNoise } from '../../../src/engine/rollouts/index.ts';
import { formatFixed } from '../../format';
import { useStore } from '../../store/store';
import { Pixels } from '../../components/Pixels';
import { sortRolloutsBy } from './actions';
import { bestAndWorst, rowLength, rowViews, sortRows } from './derive';
import type { RolloutsRun, RolloutsSort } from '../../store/rolloutsSlice';

/** What the Length column counts (derive.ts rowLength): the same length as completions/*_length and the CLI's `len`. */
const LENGTH_TITLE = "completion tokens incl. [EOS], as TRL's completions/mean_length counts";

const COLUMNS: { key: RolloutsSort['key'] | null; label: string; title?: string; num?: boolean }[] = [
  { key: 'index', label: '#' },
  { key: null, label: 'Reconstruction' },
  { key: null, label: 'Caption' },
  { key: 'length', label: 'Length', num: true, title: LENGTH_TITLE },
  { key: 'reward', label: 'Reward', num: true },
  { key: 'advantage', label: 'Advantage', num: true, title: 'provisional (≈) until every rollout is scored' },
  { key: 'kl', label: 'Mean KL', num: true, title: 'mean k3 KL to the reference encoder over the completion' },
  { key: 'logp', label: 'Seq. log-prob', num: true, title: 'Σ log-probs of the completion under the policy (nats)' },
];

const fmt = (x: number | null, digits: number): string => (x === null || !Number.isFinite(x) ? '–' : formatFixed(x, digits));
/** A mean KL: "0" when it is 0 up to float noise, else 3 significant digits. */
const fmtKl = (x: number | null): string => (x === null ? '–' : zeroNoise(x) === 0 ? '0' : x.toExponential(2));

/** The rollouts table: one row per finished rollout, sortable; each group's best and worst highlighted. */
export function RolloutsTable({ run }: { run: RolloutsRun }) {
  const sort = useStore((s) => s.runs.rollouts.sort);
  const views = useMemo(() => sortRows(rowViews(run), sort), [run, sort]);
  const { best, worst } = useMemo(() => bestAndWorst(run.rows), [run.rows]);
  const multi = run.inputs.length > 1;
  return (
    <div className="ro-table-wrap">
      <table className="ro-table" data-testid="ro-table" aria-rowcount={run.rows.length}>
        <thead>
          <tr>
            {COLUMNS.map((c) => {
              const active = c.key !== null && sort.key === c.key;
              return (
                <th
                  key={c.label}
                  className={c.num ? 'num' : undefined}
                  title={c.title}
                  aria-sort={active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : undefined}
                >
                  {c.key ? (
                    <button
                      type="button"
                      className="ro-sort"
                      data-testid={`ro-sort-${c.key}`}
                      onClick={() => sortRolloutsBy(c.key as RolloutsSort['key'])}
                    >
                      {c.label}
                      {active ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {views.map(({ record: r, advantage, final }) => {
            const mark = best.has(r.index) ? 'best' : worst.has(r.index) ? 'worst' : undefined;
            const s = r.scores;
            return (
              <tr key={r.index} className={mark} data-testid="ro-row" data-index={r.index} data-mark={mark}>
                <td className="num">
                  {multi ? `${r.group}·${r.index % run.settings.groupSize}` : r.index}
                  {mark && <span className={`ro-mark ${mark}`}>{mark}</span>}
                </td>
                <td>
                  <Pixels rgb={r.image} width={run.width} height={run.height} size={48} label={`reconstruction of rollout ${r.index}`} />
                </td>
                <td className="ro-caption">
                  {r.caption || <span className="muted">(empty caption)</span>}
                  {r.truncated && (
                    <span className="tag" title="reached the token limit without [EOS]: the sampled tokens are kept as they are (TRL)">
                      truncated
                    </span>
                  )}
                </td>
                <td className="num" title={`${r.tokens} of them content tokens (no special tokens)`}>
                  {rowLength(r)}
                </td>
                <td
                  className="num"
                  title={`sim ${fmt(s.sim, 4)}${Number.isNaN(s.i2i) ? '' : ` · i2i ${fmt(s.i2i, 4)}`} · PSNR ${fmt(s.psnr, 2)} dB · SSIM ${fmt(s.ssim, 4)} · attr F1 ${fmt(s.attr_f1, 3)}`}
                >
                  {fmt(r.reward, 4)}
                </td>
                <td className={`num ${advantage >= 0 ? 'pos' : 'neg'}`} data-final={final}>
                  {final ? '' : '≈'}
                  {fmt(advantage, 3)}
                </td>
                <td className="num">{fmtKl(r.meanKl)}</td>
                <td className="num">{fmt(r.sequenceLogp, 2)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
