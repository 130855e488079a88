// The trainer's differentiable GRPO loss (src/engine/train/update.ts: grpoObjective weighted by grpo.ts's
// lossTokenWeights) equals grpo.ts's Float64 grpoLoss on random inputs for every loss type and option, in float64.
import { initJaxNode } from '../../src/engine/train/node.ts';
import { numpy as np } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { grpoLoss, LOSS_TYPES, lossTokenWeights, type GrpoLossOptions } from '../../src/engine/grpo.ts';
import { grpoObjective } from '../../src/engine/train/update.ts';
import { createRng } from '../../src/shapes/rng.ts';

const N = 6;
const T = 9;

function randomInput(seed: number) {
  const r = createRng(seed);
  const u = () => r.next();
  // a row of each kind: empty, one token, full and truncated, full and terminated, random
  const lengths = [0, 1, T, T, 1 + Math.floor(u() * T), 2 + Math.floor(u() * (T - 2))];
  const truncated = [0, 0, 1, 0, 0, u() < 0.5 ? 1 : 0];
  const logp = Float64Array.from({ length: N * T }, () => -4 * u() - 0.01);
  const oldLogp = logp.map((x, j) => (j % T < lengths[Math.floor(j / T)] ? x - 0.7 * (u() - 0.5) : 5 * (u() - 0.5)));
  const refLogp = logp.map((x) => x + 1.2 * (u() - 0.5));
  const advantages = Float64Array.from({ length: N }, () => 2 * (u() - 0.5));
  return { numSequences: N, maxLen: T, lengths, truncated, logp, oldLogp, refLogp, advantages };
}

const VARIANTS: { name: string; options: Omit<GrpoLossOptions, 'lossType'> }[] = [
  { name: 'TRL defaults', options: { epsilonLow: 0.2, epsilonHigh: 0.28, beta: 0.1 } },
  { name: 'no KL', options: { epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0 } },
  { name: 'delta cap, tight clip', options: { epsilonLow: 0.05, epsilonHigh: 0.1, beta: 0.04, delta: 1.1 } },
  { name: 'masked truncated rows', options: { epsilonLow: 0.2, epsilonHigh: 0.28, beta: 0.1, maskTruncatedCompletions: true } },
  {
    name: 'before-mask items, max completion length',
    options: {
      epsilonLow: 0.2,
      epsilonHigh: 0.28,
      beta: 0.1,
      maskTruncatedCompletions: true,
      numItemsMode: 'before-mask',
      maxCompletionLength: 12,
    },
  },
  { name: 'explicit num_items_in_batch', options: { epsilonLow: 0.2, epsilonHigh: 0.28, beta: 0.1, numItemsInBatch: 40 } },
];

describe('the jax-js GRPO loss is grpo.ts loss', () => {
  beforeAll(async () => {
    await initJaxNode();
  });

  for (const lossType of LOSS_TYPES) {
    for (const v of VARIANTS) {
      it(`${lossType}, ${v.name}: agrees to 1e-6 on random inputs`, async () => {
        for (const seed of [1, 2, 3]) {
          const input = randomInput(seed * 31 + LOSS_TYPES.indexOf(lossType));
          const options: GrpoLossOptions = { ...v.options, lossType };
          const want = grpoLoss(input, options).loss;
          const { weights } = lossTokenWeights(input, input.truncated, options);
          const f64 = (a: ArrayLike<number>, shape: number[]) => np.array(Float64Array.from(a), { dtype: np.float64, shape });
          const o = options;
          const got = grpoObjective(
            f64(input.logp, [N, T]),
            {
              old: f64(input.oldLogp, [N, T]),
              ref: o.beta !== 0 ? f64(input.refLogp, [N, T]) : null,
              adv: f64(input.advantages, [N]),
              weights: f64(weights, [N, T]),
            },
            { clipLow: 1 - o.epsilonLow, clipHigh: 1 + o.epsilonHigh, beta: o.beta, delta: o.delta ?? null },
          );
          const value = (await got.data())[0];
          expect(Math.abs(value - want), `seed ${seed}: ${value} vs ${want}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
        }
      });
    }
  }

  it('weights: 0 off the completion mask, and each loss type sums to its normaliser', () => {
    const input = randomInput(7);
    const mask = lossTokenWeights(input, input.truncated, { lossType: 'bnpo' });
    const sum = (a: Float64Array) => a.reduce((s, x) => s + x, 0);
    expect(sum(mask.weights)).toBeCloseTo(1, 12);
    expect(Array.from(mask.weights).every((w, j) => (w === 0) === (mask.mask[j] === 0))).toBe(true);
    const active = mask.mask.reduce((s, x) => s + x, 0);
    expect(sum(lossTokenWeights(input, input.truncated, { lossType: 'dr_grpo' }).weights)).toBeCloseTo(active / (N * T), 12);
    // grpo: each non-empty row sums to 1/N
    const g = lossTokenWeights(input, input.truncated, { lossType: 'grpo' }).weights;
    const nonEmpty = input.lengths.filter((l) => l > 0).length;
    expect(sum(g)).toBeCloseTo(nonEmpty / N, 12);
  });
});
