/**
 * Caption generation on the tiny bundle (real ONNX, WASM): KV cache vs full-prefix recompute, batched
 * groups vs one row at a time, seeded sampling, tempered log-probs (log_softmax(logits / T), checked
 * against a hand computation), teacher-forced log-probs at the same T, truncation at the token limit
 * without a forced [EOS] (TRL v1.9.0), no leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/shapes/index.ts';
import { completionLogProbs, generateCaptions, logSoftmax, type Caption, type F32 } from '../../src/engine/infer/index.ts';
import { encodeScenes, HOOK_TIMEOUT, maxAbsDiff, openContext, type Opened, TINY_BUNDLE } from './infer-helpers.ts';

// The tiny bundle's next-token distribution is very peaked ([BOS] ≈ 1 at T=1): a hot policy gives varied rows.
const SAMPLE = { kind: 'sample' as const, temperature: 8, topP: 0.9 };
let o: Opened;
let hidden: F32;

beforeAll(async () => {
  o = await openContext(TINY_BUNDLE);
  hidden = await encodeScenes(o.ctx, 7, 2);
}, HOOK_TIMEOUT);
afterAll(async () => {
  await o?.engine.sessions.release();
}, HOOK_TIMEOUT);

const ids = (cs: Caption[]): number[][] => cs.map((c) => c.completion);
type Step = { rows: number[]; logits: F32 };

/** log_softmax(x[off, off+V) / T)[tok], written out here independently of src/ (max-shifted log-sum-exp). */
function handLogp(x: ArrayLike<number>, off: number, V: number, T: number, tok: number): number {
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, x[off + i] / T);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(x[off + i] / T - max);
  return x[off + tok] / T - max - Math.log(sum);
}

/** Returns the log-prob by hand of row `row`'s token at step j under temperature T, from the logits onLogits saw. */
function stepLogp(steps: Step[], row: number, j: number, T: number, tok: number): number {
  const { rows, logits } = steps[j];
  const [, S, V] = logits.dims;
  const k = rows.indexOf(row);
  expect(k).toBeGreaterThanOrEqual(0);
  return handLogp(logits.data, (k * S + S - 1) * V, V, T, tok);
}
const worstLogp = (a: Caption[], b: Caption[]): number => Math.max(...a.map((c, i) => maxAbsDiff(c.logp, b[i].logp)));

describe('greedy decoding', () => {
  it('gives identical ids with and without the KV cache', async () => {
    const cached = await generateCaptions(o.ctx, hidden, { policy: { kind: 'greedy' } });
    const full = await generateCaptions(o.ctx, hidden, { policy: { kind: 'greedy' }, cache: false });
    expect(ids(full)).toEqual(ids(cached));
    expect(worstLogp(cached, full)).toBeLessThan(1e-5);
  });

  it('a batched group equals each row decoded alone', async () => {
    const group = await generateCaptions(o.ctx, hidden, { policy: { kind: 'greedy' }, groupSize: 3 });
    const alone = await generateCaptions(o.ctx, hidden, { policy: { kind: 'greedy' }, groupSize: 3, batch: 1 });
    expect(group).toHaveLength(6);
    expect(ids(group)).toEqual(ids(alone));
    expect(worstLogp(group, alone)).toBeLessThan(1e-5);
  });
});

describe('sampled decoding (temperature + top-p, seeded)', () => {
  let group: Caption[];
  beforeAll(async () => {
    group = await generateCaptions(o.ctx, hidden, { policy: SAMPLE, rng: createRng(11), groupSize: 4 });
  }, HOOK_TIMEOUT);

  it('samples varied captions, reproducible from the seed', async () => {
    expect(new Set(group.map((c) => c.completion.join(','))).size).toBeGreaterThan(1);
    const again = await generateCaptions(o.ctx, hidden, { policy: SAMPLE, rng: createRng(11), groupSize: 4 });
    expect(ids(again)).toEqual(ids(group));
    const other = await generateCaptions(o.ctx, hidden, { policy: SAMPLE, rng: createRng(12), groupSize: 4 });
    expect(ids(other)).not.toEqual(ids(group));
  });

  it('is the same batched, one row at a time, without the cache, and keeping finished rows', async () => {
    const alone = await generateCaptions(o.ctx, hidden, { policy: SAMPLE, rng: createRng(11), groupSize: 4, batch: 1 });
    const full = await generateCaptions(o.ctx, hidden, { policy: SAMPLE, rng: createRng(11), groupSize: 4, batch: 3, cache: false });
    const padded = await generateCaptions(o.ctx, hidden, { policy: SAMPLE, rng: createRng(11), groupSize: 4, compact: false });
    expect(ids(alone)).toEqual(ids(group));
    expect(ids(full)).toEqual(ids(group));
    expect(ids(padded)).toEqual(ids(group));
    expect(worstLogp(padded, group)).toBeLessThan(1e-5);
    // The group really has captions of different lengths, so rows left the batch at different steps.
    expect(new Set(group.map((c) => c.completion.length)).size).toBeGreaterThan(1);
    expect(worstLogp(alone, group)).toBeLessThan(1e-5);
    expect(worstLogp(full, group)).toBeLessThan(1e-5);
  });

  it('teacher-forced log-probs at the policy temperature equal the sampling log-probs, for both encoder roles', async () => {
    for (const role of ['encoder', 'referenceEncoder'] as const) {
      const tf = await completionLogProbs(
        o.ctx,
        hidden,
        group.map((c) => c.completion),
        { groupSize: 4, role, batch: 5, temperature: SAMPLE.temperature },
      );
      expect(Math.max(...tf.map((lp, i) => maxAbsDiff(lp, group[i].logp)))).toBeLessThan(1e-5);
    }
    // untempered scoring is a different distribution: it must not agree
    const raw = await completionLogProbs(
      o.ctx,
      hidden,
      group.map((c) => c.completion),
      { groupSize: 4 },
    );
    expect(Math.max(...raw.map((lp, i) => maxAbsDiff(lp, group[i].logp)))).toBeGreaterThan(0.1);
  });

  it('log-probs are tempered: log_softmax(logits / T) of the sampled token, by hand, for sampling and greedy', async () => {
    for (const [T, policy] of [
      [8, { kind: 'sample', temperature: 8, topP: 1 }],
      [2.5, { kind: 'greedy', temperature: 2.5 }],
    ] as const) {
      const steps: Step[] = [];
      const [cap] = await generateCaptions(o.ctx, hidden, {
        policy,
        rng: createRng(5),
        maxTokens: 6,
        onLogits: (_pos, rows, logits) => steps.push({ rows, logits }),
      });
      expect(cap.completion.length).toBeGreaterThan(0);
      cap.completion.forEach((tok, j) => {
        expect(cap.logp[j], `T ${T} step ${j}`).toBeCloseTo(stepLogp(steps, 0, j, T, tok), 9);
        expect(Math.abs(cap.logp[j] - stepLogp(steps, 0, j, 1, tok)), `T ${T} step ${j} is not untempered`).toBeGreaterThan(1e-3);
      });
      const tf = await completionLogProbs(o.ctx, hidden, [cap.completion], { temperature: T });
      expect(maxAbsDiff(tf[0], cap.logp)).toBeLessThan(1e-5);
    }
    // greedy without a temperature: T = 1
    const steps: Step[] = [];
    const [plain] = await generateCaptions(o.ctx, hidden, {
      policy: { kind: 'greedy' },
      maxTokens: 4,
      onLogits: (_pos, rows, logits) => steps.push({ rows, logits }),
    });
    plain.completion.forEach((tok, j) => expect(plain.logp[j]).toBeCloseTo(stepLogp(steps, 0, j, 1, tok), 9));
    expect(plain.logp[0]).toBeCloseTo(logSoftmax(steps[0].logits.data, 0, steps[0].logits.dims[2])[plain.completion[0]], 12);
  });

  it('forces no [EOS] at maxTokens: a truncated caption keeps its sampled tokens, and only they are scored', async () => {
    const steps: Step[] = [];
    const short = await generateCaptions(o.ctx, hidden, {
      policy: SAMPLE,
      rng: createRng(3),
      groupSize: 8,
      maxTokens: 5,
      onLogits: (_pos, rows, logits) => steps.push({ rows, logits }),
    });
    const { eosId, padId } = o.ctx.tokenizer;
    const specials = new Set([0, 1, 2, 3]);
    short.forEach((c, r) => {
      const last = c.completion[c.completion.length - 1];
      expect(c.completion.length).toBeLessThanOrEqual(4);
      expect(c.completion.slice(0, -1)).not.toContain(eosId);
      expect(c.truncated).toBe(last !== eosId && last !== padId);
      if (c.truncated) expect(c.completion).toHaveLength(4);
      expect(c.ids).toEqual(last === eosId ? c.completion.slice(0, -1) : c.completion);
      expect(c.logp).toHaveLength(c.completion.length);
      // every log-prob, the last one included, is the policy's own of the token it SAMPLED (no forced [EOS])
      c.completion.forEach((tok, j) => expect(c.logp[j]).toBeCloseTo(stepLogp(steps, r, j, SAMPLE.temperature, tok), 9));
      expect(c.tokens).toBe(c.ids.filter((id) => !specials.has(id)).length);
      expect(c.text).toBe(o.ctx.tokenizer.decode(c.ids));
    });
    const cut = short.filter((c) => c.truncated);
    expect(cut.length).toBeGreaterThan(0);
    expect(short.some((c) => !c.truncated)).toBe(true);
    expect(cut.every((c) => c.completion[3] !== eosId)).toBe(true);
    // a truncated row's ids and text come from all its sampled tokens
    expect(cut.every((c) => c.ids.length === 4)).toBe(true);
    const tf = await completionLogProbs(
      o.ctx,
      hidden,
      short.map((c) => c.completion),
      { groupSize: 8, temperature: SAMPLE.temperature },
    );
    expect(Math.max(...tf.map((lp, i) => maxAbsDiff(lp, short[i].logp)))).toBeLessThan(1e-5);
  });

  it('rejects a non-positive teacher-forcing temperature', async () => {
    await expect(completionLogProbs(o.ctx, hidden, [[4, 5]], { temperature: 0 })).rejects.toThrow(RangeError);
  });
});

it('disposes every ORT tensor it created', () => {
  expect(o.engine.tracker.created()).toBeGreaterThan(100);
  expect(o.engine.tracker.live()).toBe(0);
});
