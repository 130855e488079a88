/**
 * The graphs that compute fixed keys/values once (the shipped uae-shapes bundle). The flow transformer: an Euler
 * run that reads the captions' keys/values back gives the same latents as one that recomputes them every step.
 * Caption generation with a decoder of the merged encoder-decoder layout (the
 * image's cross-attention keys/values computed on the first step and fed back after): the graph's two
 * branches agree, the cached loop gives the same tokens and logits as full-prefix recompute, compaction
 * (finished rows leave the batch, their cached image keys/values too) changes nothing, teacher-forced
 * log-probs equal the sampled ones, and nothing leaks. The legacy layout is covered on the tiny bundle
 * (infer-caption.test.ts).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/shapes/index.ts';
import {
  captionInputIds,
  completionLogProbs,
  decoderTokens,
  eulerSample,
  generateCaptions,
  textStates,
  timeGrid,
  type Caption,
  type F32,
} from '../../src/engine/infer/index.ts';
import { decoderLayout, emptyCache, emptyCacheOf, nextCache } from '../../src/engine/infer/kv-cache.ts';
import { concatRows, f32Output, gatherRows, runGraph } from '../../src/engine/infer/context.ts';
import { kvNames } from '../../src/engine/kv-layout.ts';
import { encodeScenes, HOOK_TIMEOUT, maxAbsDiff, openContext, type Opened, ROOT } from './infer-helpers.ts';

const SHAPES_BUNDLE = join(ROOT, 'public', 'models', 'uae-shapes');
const ROWS = 3;
let o: Opened;
let hidden: F32;

beforeAll(async () => {
  o = await openContext(SHAPES_BUNDLE);
  hidden = await encodeScenes(o.ctx, 11, ROWS);
}, HOOK_TIMEOUT);
afterAll(async () => {
  await o?.engine.sessions.release();
}, HOOK_TIMEOUT);

describe('merged encoder-decoder layout', () => {
  it('is the layout of every caption decoder of the shipped bundle', async () => {
    const roles = o.ctx.manifest.roles;
    for (const role of [roles.encoder, roles.referenceEncoder]) expect(role && (await decoderLayout(o.ctx, role))).toBe('cross');
  });

  it('returns the image keys/values on the first step, and the cache branch gives the same logits as recomputing', async () => {
    const role = o.ctx.manifest.roles.encoder;
    if (!role) throw new Error('no encoder role');
    const bos = { dtype: 'int64' as const, data: new BigInt64Array(ROWS).fill(BigInt(role.bosId)), dims: [ROWS, 1] };
    const first = await runGraph(
      o.ctx,
      role.decoder,
      { input_ids: bos, encoder_hidden_states: hidden, ...emptyCache(role, 'cross', ROWS) },
      't',
    );
    for (const k of kvNames('cross', role.numLayers, 'present').filter((n) => n.side === 'encoder'))
      expect(first[k.name].dims).toEqual([ROWS, role.numHeads, hidden.dims[1], role.headDim]);
    const past = nextCache(role, 'cross', { data: first, device: {} }, emptyCache(role, 'cross', ROWS), 't');
    const next = { dtype: 'int64' as const, data: new BigInt64Array(ROWS).fill(5n), dims: [ROWS, 1] };
    const cached = await runGraph(o.ctx, role.decoder, { input_ids: next, encoder_hidden_states: hidden, ...past }, 't');
    const prefix = { dtype: 'int64' as const, data: new BigInt64Array(2 * ROWS), dims: [ROWS, 2] };
    for (let r = 0; r < ROWS; r++) prefix.data.set([BigInt(role.bosId), 5n], 2 * r);
    const full = await runGraph(
      o.ctx,
      role.decoder,
      { input_ids: prefix, encoder_hidden_states: hidden, ...emptyCache(role, 'cross', ROWS) },
      't',
    );
    const V = cached.logits.dims[2];
    const last = new Float32Array(ROWS * V);
    for (let r = 0; r < ROWS; r++) last.set((full.logits.data as Float32Array).subarray((2 * r + 1) * V, (2 * r + 2) * V), r * V);
    expect(maxAbsDiff(cached.logits.data as Float32Array, last)).toBeLessThan(1e-4);
  });

  it('gives identical greedy ids with and without the cache, compacted or not', async () => {
    const greedy = { kind: 'greedy' as const };
    const kv = await generateCaptions(o.ctx, hidden, { policy: greedy });
    const recompute = await generateCaptions(o.ctx, hidden, { policy: greedy, cache: false });
    const keep = await generateCaptions(o.ctx, hidden, { policy: greedy, compact: false });
    const n = hidden.data.length / ROWS;
    const alone: Caption[] = [];
    for (let r = 0; r < ROWS; r++) {
      const row: F32 = { ...hidden, data: hidden.data.slice(r * n, (r + 1) * n), dims: [1, ...hidden.dims.slice(1)] };
      alone.push(...(await generateCaptions(o.ctx, row, { policy: greedy })));
    }
    for (const other of [recompute, keep, alone]) expect(other.map((c) => c.completion)).toEqual(kv.map((c) => c.completion));
    expect(new Set(kv.map((c) => c.completion.length)).size).toBeGreaterThan(1);
  });

  it('samples a compacted group reproducibly and scores it teacher-forced to the same log-probs', async () => {
    const policy = { kind: 'sample' as const, temperature: 1.5, topP: 1 };
    const a = await generateCaptions(o.ctx, hidden, { policy, rng: createRng(9), groupSize: 4 });
    const b = await generateCaptions(o.ctx, hidden, { policy, rng: createRng(9), groupSize: 4, compact: false, batch: 5 });
    expect(b.map((c) => c.completion)).toEqual(a.map((c) => c.completion));
    const lp = await completionLogProbs(
      o.ctx,
      hidden,
      a.map((c) => c.completion),
      { groupSize: 4, temperature: 1.5 },
    );
    expect(Math.max(...a.map((c, i) => maxAbsDiff(c.logp, lp[i])))).toBeLessThan(1e-4);
    expect(o.engine.tracker.live()).toBe(0);
  });
});

describe('a group on one image: its states and keys/values fed once, broadcast over the rows', () => {
  it('samples the same tokens and log-probs as feeding a copy per row, compacted, and scores them teacher-forced alike', async () => {
    const policy = { kind: 'sample' as const, temperature: 1, topP: 1 };
    const one: F32 = { ...hidden, data: hidden.data.slice(0, hidden.data.length / ROWS), dims: [1, ...hidden.dims.slice(1)] };
    const role = o.ctx.manifest.roles.encoder;
    if (!role) throw new Error('no encoder role');
    // the shared path feeds encoder_hidden_states and the image keys/values with 1 row while input_ids has 8
    const fed = new Set<string>();
    const spied = {
      ...o.ctx,
      sessions: {
        ...o.ctx.sessions,
        get: async (path: string) => {
          const session = await o.ctx.sessions.get(path);
          if (path !== role.decoder) return session;
          return new Proxy(session, {
            get(target, key) {
              if (key !== 'run') return Reflect.get(target, key, target) as unknown;
              return (feeds: Record<string, { dims: readonly number[] }>, ...rest: unknown[]) => {
                const rows = (name: string) => feeds[name]?.dims[0];
                fed.add(`${rows('input_ids')}:${rows('encoder_hidden_states')}:${rows('past_key_values.0.encoder.key')}`);
                return (target.run as (...a: unknown[]) => unknown)(feeds, ...rest);
              };
            },
          });
        },
      },
    } as typeof o.ctx;
    const widths = new Set<string>();
    const shared = await generateCaptions(spied, one, {
      policy,
      rng: createRng(3),
      groupSize: 8,
      onLogits: (_, rows, logits) => widths.add(`${rows.length}/${logits.dims[0]}`),
    });
    const copies = await generateCaptions(o.ctx, one, { policy, rng: createRng(3), groupSize: 8, shareImage: false });
    expect(shared.map((c) => c.completion)).toEqual(copies.map((c) => c.completion));
    expect(Math.max(...shared.map((c, i) => maxAbsDiff(c.logp, copies[i].logp)))).toBeLessThan(1e-5);
    // rows left the batch as they finished (the shared keys/values stayed one row)
    expect(new Set(shared.map((c) => c.completion.length)).size).toBeGreaterThan(1);
    expect(widths.has('8/8')).toBe(true);
    expect([...widths].some((w) => w !== '8/8')).toBe(true);
    // first step: 8 ids, 1 image row, an empty 8-row cache; later: 1-row image keys/values whatever the batch
    expect(fed.has('8:1:8')).toBe(true);
    expect([...fed].filter((f) => f !== '8:1:8').every((f) => f.endsWith(':1:1'))).toBe(true);
    expect([...fed].some((f) => f.startsWith('8:') && f.endsWith(':1:1'))).toBe(true);
    const lp = await completionLogProbs(
      o.ctx,
      one,
      shared.map((c) => c.completion),
      { groupSize: 8 },
    );
    const lpCopies = await completionLogProbs(
      o.ctx,
      one,
      shared.map((c) => c.completion),
      { groupSize: 8, shareImage: false },
    );
    expect(Math.max(...lp.map((x, i) => maxAbsDiff(x, lpCopies[i])))).toBeLessThan(1e-5);
    expect(Math.max(...shared.map((c, i) => maxAbsDiff(c.logp, lp[i])))).toBeLessThan(1e-4);
    expect(o.engine.tracker.live()).toBe(0);
  });
});

describe('flow transformer with its caption keys/values read back', () => {
  it('samples the same latents, bit for bit, as recomputing them every step (with CFG)', async () => {
    const role = o.ctx.manifest.roles.decoder;
    if (!role) throw new Error('no decoder role');
    const session = await o.ctx.sessions.get(role.transformer);
    expect(session.inputNames).toContain('use_cache_branch');
    const tokens = decoderTokens(o.ctx);
    const states = await textStates(
      o.ctx,
      captionInputIds(
        [
          [5, 9, 12],
          [14, 6, 20, 7],
        ],
        tokens,
      ),
    );
    const uncond = gatherRows(await textStates(o.ctx, captionInputIds([[]], tokens)), [0, 0]);
    const n = role.latentShape.reduce((a, b) => a * b, 1);
    const noise: F32 = {
      dtype: 'float32',
      data: Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i)),
      dims: [2, ...role.latentShape],
    };
    const g = 2;
    const steps = 6;
    const cached = await eulerSample(o.ctx, states, noise, { steps, guidance: g });
    const ts = timeGrid(steps);
    const x = noise.data.slice();
    for (let i = 0; i < steps; i++) {
      const feeds = {
        sample: concatRows([
          { ...noise, data: x },
          { ...noise, data: x },
        ]),
        timestep: { dtype: 'float32' as const, data: new Float32Array(4).fill(ts[i]), dims: [4] },
        encoder_hidden_states: concatRows([states, uncond]),
        ...emptyCacheOf(session, 4),
      };
      const v = f32Output(await runGraph(o.ctx, role.transformer, feeds, 't'), 'out_sample', 't').data;
      // the guided velocity is float32, as the sampler keeps it
      const guided = Float32Array.from({ length: 2 * n }, (_, j) => v[2 * n + j] + g * (v[j] - v[2 * n + j]));
      for (let j = 0; j < x.length; j++) x[j] += (ts[i + 1] - ts[i]) * guided[j];
    }
    expect(maxAbsDiff(cached.data, x)).toBe(0);
    expect(o.engine.tracker.live()).toBe(0);
  });
});
