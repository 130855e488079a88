/**
 * Caption generation on the tiny bundle (real ONNX, WASM): KV cache vs full-prefix recompute, batched
 * groups vs one row at a time, seeded sampling, teacher-forced log-probs, the forced [EOS], no leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, rasterizeScene, sampleScene, sceneSeed } from '../../src/shapes/index.ts';
import {
  completionLogProbs, encodeImages, generateCaptions, logSoftmax, toPixelValues, type Caption, type F32,
} from '../../src/engine/infer/index.ts';
import { HOOK_TIMEOUT, maxAbsDiff, openContext, TINY_BUNDLE, type Opened } from './infer-helpers.ts';

// The tiny bundle's next-token distribution is very peaked ([BOS] ≈ 1 at T=1): a hot policy gives varied rows.
const SAMPLE = { kind: 'sample' as const, temperature: 8, topP: 0.9 };
let o: Opened;
let hidden: F32;

beforeAll(async () => {
  o = await openContext(TINY_BUNDLE);
  const pre = o.ctx.manifest.preprocessing.image;
  const images = new Uint8Array(2 * 64 * 64 * 3);
  images.set(rasterizeScene(sampleScene(sceneSeed(7, 0))), 0);
  images.set(rasterizeScene(sampleScene(sceneSeed(7, 1))), 64 * 64 * 3);
  hidden = await encodeImages(o.ctx, toPixelValues(images, 2, pre));
}, HOOK_TIMEOUT);
afterAll(async () => {
  await o?.engine.sessions.release();
}, HOOK_TIMEOUT);

const ids = (cs: Caption[]): number[][] => cs.map((c) => c.completion);
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

  it('teacher-forced log-probs equal the sampling log-probs, for both encoder roles', async () => {
    for (const role of ['encoder', 'referenceEncoder'] as const) {
      const tf = await completionLogProbs(o.ctx, hidden, group.map((c) => c.completion), { groupSize: 4, role, batch: 5 });
      expect(Math.max(...tf.map((lp, i) => maxAbsDiff(lp, group[i].logp)))).toBeLessThan(1e-5);
    }
  });

  it('log-probs are untempered: a hot sample is scored by log_softmax of the raw logits', async () => {
    const steps: { rows: number[]; logits: F32 }[] = [];
    const [hot] = await generateCaptions(o.ctx, hidden, {
      policy: { kind: 'sample', temperature: 8, topP: 1 }, rng: createRng(5), maxTokens: 6,
      onLogits: (_pos, rows, logits) => steps.push({ rows, logits }),
    });
    hot.completion.forEach((tok, j) => {
      const V = steps[j].logits.dims[2];
      const off = steps[j].rows.indexOf(0) * V;
      expect(off).toBeGreaterThanOrEqual(0);
      expect(hot.logp[j]).toBeCloseTo(logSoftmax(steps[j].logits.data, off, V)[tok], 10);
      expect(hot.logp[j]).not.toBeCloseTo(logSoftmax(steps[j].logits.data, off, V, 8)[tok], 6);
    });
  });

  it('forces [EOS] at maxTokens and reports it', async () => {
    const short = await generateCaptions(o.ctx, hidden, { policy: SAMPLE, rng: createRng(3), groupSize: 8, maxTokens: 5 });
    const { eosId } = o.ctx.tokenizer;
    for (const c of short) {
      expect(c.completion.length).toBeLessThanOrEqual(4);
      expect(c.completion[c.completion.length - 1]).toBe(eosId);
      expect(c.completion.slice(0, -1)).not.toContain(eosId);
      expect(c.truncated).toBe(c.completion.length === 4);
      expect(c.ids).toEqual(c.completion.slice(0, -1));
      expect(c.logp).toHaveLength(c.completion.length);
      const specials = new Set([0, 1, 2, 3]);
      expect(c.tokens).toBe(c.ids.filter((id) => !specials.has(id)).length);
      expect(c.text).toBe(o.ctx.tokenizer.decode(c.ids));
    }
    expect(short.some((c) => c.truncated)).toBe(true);
  });
});

it('disposes every ORT tensor it created', () => {
  expect(o.engine.tracker.created()).toBeGreaterThan(100);
  expect(o.engine.tracker.live()).toBe(0);
});
