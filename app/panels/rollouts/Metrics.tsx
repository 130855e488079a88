import { LOSS_TYPES } from '../../../src/engine/grpo.ts';
import type { RolloutsResult } from '../../../src/protocol/rollouts.ts';
import { formatFixed, formatMetric as fmt } from '../../format';

const LOSS_NOTE: Record<(typeof LOSS_TYPES)[number], string> = {
  grpo: 'mean over tokens, then over sequences',
  bnpo: 'sum over tokens / active tokens',
  dr_grpo: 'sum / (N · max completion length)',
  dapo: 'sum / active tokens in the generation batch',
};

/** The step's numbers: the loss under every loss type, TRL's metrics, and each group's statistics. */
export function Metrics({ result, lossType }: { result: RolloutsResult; lossType: string }) {
  const multi = result.groups.length > 1;
  return (
    <div className="ro-metrics">
      <section className="card" data-testid="ro-losses" aria-labelledby="ro-losses-title">
        <h3 id="ro-losses-title">Loss, every aggregation</h3>
        <table className="ro-kv">
          <tbody>
            {LOSS_TYPES.map((t) => (
              <tr key={t} className={t === lossType ? 'chosen' : undefined} data-loss={t}>
                <th scope="row" className="mono">
                  {t}
                </th>
                <td className="num">{fmt(result.losses[t])}</td>
                <td className="muted small">
                  {LOSS_NOTE[t]}
                  {t === lossType ? ' · = loss' : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted small">
          Old policy: {result.oldPolicy}. With the current policy every ratio is 1, so nothing is clipped and the losses are −Σ A /
          normaliser (+ β·KL).
        </p>
      </section>
      <section className="card" data-testid="ro-trl-metrics" aria-labelledby="ro-trl-title">
        <h3 id="ro-trl-title">Metrics (TRL names)</h3>
        <table className="ro-kv">
          <tbody>
            {Object.entries(result.metrics).map(([k, v]) => (
              <tr key={k} data-metric={k}>
                <th scope="row" className="mono">
                  {k}
                </th>
                <td className="num">{fmt(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {multi && (
        <section className="card ro-groups" data-testid="ro-groups" aria-labelledby="ro-groups-title">
          <h3 id="ro-groups-title">Per image (group)</h3>
          <table className="ro-kv">
            <thead>
              <tr>
                <th>image</th>
                <th className="num">reward</th>
                <th className="num">reward_std</th>
                <th className="num">mean length</th>
                <th className="num">kl</th>
                <th className="num">A min … max</th>
                <th className="num">loss ({lossType})</th>
              </tr>
            </thead>
            <tbody>
              {result.groups.map((g) => (
                <tr key={g.group}>
                  <th scope="row">{g.label}</th>
                  <td className="num">{fmt(g.reward)}</td>
                  <td className="num">{fmt(g.reward_std)}</td>
                  <td className="num">{g['completions/mean_length'].toFixed(1)}</td>
                  <td className="num">{fmt(g.kl)}</td>
                  <td className="num">
                    {formatFixed(g.advantage_min, 2)} … {formatFixed(g.advantage_max, 2)}
                  </td>
                  <td className="num">{fmt(g.losses[lossType as keyof typeof g.losses])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
