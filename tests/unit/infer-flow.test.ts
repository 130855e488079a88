/**
 * Flow sampling. Orchestration is checked with fake transformer/text-encoder sessions that implement the
 * exact velocity field of a point target c, v(x,t) = (x − c)/t, for which Euler lands on c from any noise
 * in any number of steps (and CFG on c_u + g·(c_c − c_u)). The SDE's log-probs are recomputed from its
 * trajectory with the formula of docs/UAE-METHOD written out independently. Real tiny-bundle runs check
 * batching and seeding.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeOrt } from '../../src/cli/io.ts';
import { parseManifestText } from '../../src/engine/manifest.ts';
import { TensorTracker } from '../../src/engine/tensors.ts';
import { createRng, loadTokenizer } from '../../src/shapes/index.ts';
import {
  captionInputIds,
  decoderTokens,
  eulerSample,
  gaussianNoise,
  latentNoise,
  noiseRngs,
  reconstruct,
  sdeSample,
  textStates,
  timeGrid,
  type F32,
  type InferContext,
} from '../../src/engine/infer/index.ts';
import { HOOK_TIMEOUT, maxAbsDiff, openContext, TINY_BUNDLE, type Opened } from './infer-helpers.ts';

const manifest = parseManifestText(readFileSync(join(TINY_BUNDLE, 'manifest.json'), 'utf8'));
const role = manifest.roles.decoder!;
const D = role.latentShape.reduce((a, b) => a * b, 1);

/** Fake decoder sessions: text state [b,0,0] = number of non-PAD ids; velocity (x − c)/t with c = state[b,0,0]. */
async function fakeContext(calls: { rows: number; t: number[] }[]): Promise<InferContext> {
  const ort = await nodeOrt();
  const text = {
    inputNames: ['input_ids'],
    outputNames: ['last_hidden_state'],
    run: async (feeds: Record<string, Tensor>) => {
      const ids = feeds.input_ids.data as BigInt64Array;
      const [B, L] = feeds.input_ids.dims;
      const out = new Float32Array(B * L * 4);
      for (let b = 0; b < B; b++) for (let j = 0; j < L; j++) if (ids[b * L + j] !== 0n) out[b * L * 4] += 1;
      return { last_hidden_state: new ort.Tensor('float32', out, [B, L, 4]) };
    },
  };
  const flow = {
    inputNames: ['sample', 'timestep', 'encoder_hidden_states'],
    outputNames: ['out_sample'],
    run: async (feeds: Record<string, Tensor>) => {
      const x = feeds.sample.data as Float32Array;
      const t = feeds.timestep.data as Float32Array;
      const ctx = feeds.encoder_hidden_states.data as Float32Array;
      const B = feeds.sample.dims[0];
      const per = ctx.length / B;
      calls.push({ rows: B, t: Array.from(t) });
      const v = new Float32Array(x.length);
      for (let b = 0; b < B; b++) for (let i = 0; i < D; i++) v[b * D + i] = (x[b * D + i] - ctx[b * per]) / t[b];
      return { out_sample: new ort.Tensor('float32', v, [...feeds.sample.dims]) };
    },
  };
  const byPath: Record<string, unknown> = { [role.textEncoder]: text, [role.transformer]: flow };
  return {
    ort,
    tracker: new TensorTracker(),
    manifest,
    tokenizer: loadTokenizer(readFileSync(join(TINY_BUNDLE, 'tokenizer.json'), 'utf8')),
    sessions: { get: async (path: string) => byPath[path] as InferenceSession },
  };
}

const constStates = (values: number[]): F32 => {
  const data = new Float32Array(values.length * 48 * 4);
  values.forEach((v, b) => (data[b * 48 * 4] = v));
  return { dtype: 'float32', data, dims: [values.length, 48, 4] };
};

describe('Euler sampler (fake exact velocity field)', () => {
  it('lands on the target from any noise, one transformer run per step, on linspace(1,0,K+1)', async () => {
    const calls: { rows: number; t: number[] }[] = [];
    const ctx = await fakeContext(calls);
    for (const steps of [1, 4, 12]) {
      calls.length = 0;
      const noise = latentNoise(role, [createRng(1), createRng(2)]);
      const out = await eulerSample(ctx, constStates([0.25, -1.5]), noise, { steps, guidance: 1 });
      expect(maxAbsDiff(out.data.subarray(0, D), new Float32Array(D).fill(0.25))).toBeLessThan(1e-5);
      expect(maxAbsDiff(out.data.subarray(D), new Float32Array(D).fill(-1.5))).toBeLessThan(1e-5);
      expect(calls.map((c) => c.rows)).toEqual(new Array(steps).fill(2));
      expect(calls.map((c) => c.t[0])).toEqual(timeGrid(steps).slice(0, -1));
    }
    expect(ctx.tracker.live()).toBe(0);
  });

  it('applies classifier-free guidance v_u + g(v_c − v_u), cond and uncond in one 2B-row run', async () => {
    const calls: { rows: number; t: number[] }[] = [];
    const ctx = await fakeContext(calls);
    // The fake text encoder gives c = token count: the unconditional [BOS][EOS] has c_u = 2.
    const states = await textStates(ctx, captionInputIds([[5, 6], [7]], decoderTokens(ctx)));
    const out = await eulerSample(ctx, states, latentNoise(role, [createRng(3), createRng(4)]), { steps: 5, guidance: 3 });
    expect(out.data[0]).toBeCloseTo(2 + 3 * (4 - 2), 4);
    expect(out.data[D]).toBeCloseTo(2 + 3 * (3 - 2), 4);
    expect(calls.every((c) => c.rows === 4)).toBe(true);
  });

  it('runs the text encoder on the empty caption once per session source, not once per sampling run', async () => {
    const ctx = await fakeContext([]);
    const text = (await ctx.sessions.get(role.textEncoder)) as unknown as { run: (f: Record<string, Tensor>) => Promise<unknown> };
    const rows: number[][] = [];
    const run = text.run;
    text.run = (feeds) => {
      const ids = feeds.input_ids.data as BigInt64Array;
      const L = feeds.input_ids.dims[1];
      rows.push(Array.from({ length: feeds.input_ids.dims[0] }, (_, b) => ids.slice(b * L, (b + 1) * L).filter((v) => v !== 0n).length));
      return run(feeds);
    };
    const decode = async (contents: number[][], seed: number) =>
      eulerSample(
        ctx,
        await textStates(ctx, captionInputIds(contents, decoderTokens(ctx))),
        latentNoise(
          role,
          contents.map((_, i) => createRng(seed + i)),
        ),
        {
          steps: 3,
          guidance: 2,
        },
      );
    const first = await decode([[5, 6]], 1);
    const second = await decode([[5, 6], [7]], 3);
    // the captions' own runs, and the empty caption ([BOS][EOS]: 2 tokens) once, on the first decode
    expect(rows).toEqual([[4], [2], [4, 3]]);
    expect(first.data[0]).toBeCloseTo(2 + 2 * (4 - 2), 4);
    expect(second.data[D]).toBeCloseTo(2 + 2 * (3 - 2), 4);
    // another session source (a reload, another backend) computes its own
    const other: InferContext = { ...ctx, sessions: { get: (p) => ctx.sessions.get(p) } };
    await eulerSample(other, await textStates(other, captionInputIds([[5]], decoderTokens(other))), latentNoise(role, [createRng(9)]), {
      steps: 2,
      guidance: 2,
    });
    expect(rows.slice(3)).toEqual([[3], [2]]);
  });
});

describe('SDE sampler (Flow-GRPO)', () => {
  it('returns K steps whose log-probs match the Gaussian step density recomputed from the trajectory', async () => {
    const ctx = await fakeContext([]);
    const noise = latentNoise(role, [createRng(5), createRng(6)]);
    const a = 0.7;
    const steps = 6;
    const res = await sdeSample(ctx, constStates([0.5, -0.5]), noise, [createRng(7), createRng(8)], { steps, guidance: 1, noiseLevel: a });
    expect(res.trajectory).toHaveLength(steps + 1);
    expect(res.logp).toHaveLength(steps);
    const ts = res.timesteps;
    for (let i = 0; i < steps; i++) {
      const t = ts[i];
      const dt = ts[i + 1] - t;
      const sigma = a * Math.sqrt(t / (1 - (t === 1 ? ts[1] : t)));
      const std = sigma * Math.sqrt(-dt);
      for (let b = 0; b < 2; b++) {
        const c = [0.5, -0.5][b];
        let lp = 0;
        for (let k = 0; k < D; k++) {
          const x = res.trajectory[i].data[b * D + k];
          const v = Math.fround((x - c) / t); // the fake stores v as float32
          const mean = x + (v + ((sigma * sigma) / (2 * t)) * (x + (1 - t) * v)) * dt;
          const d = res.trajectory[i + 1].data[b * D + k] - mean;
          lp += -(d * d) / (2 * std * std) - Math.log(std) - 0.5 * Math.log(2 * Math.PI);
        }
        expect(res.logp[i][b]).toBeCloseTo(lp / D, 8);
      }
    }
    // Row b's randomness is its own: the same row alone gives the same trajectory.
    const alone = await sdeSample(ctx, constStates([-0.5]), latentNoise(role, [createRng(6)]), [createRng(8)], {
      steps,
      guidance: 1,
      noiseLevel: a,
    });
    expect(maxAbsDiff(alone.latents.data, res.latents.data.subarray(D))).toBe(0);
  });
});

describe('Gaussian noise', () => {
  it('has mean ≈ 0 and variance ≈ 1, reproducibly', () => {
    const z = gaussianNoise(createRng(42), 20001);
    const m = z.reduce((s, v) => s + v, 0) / z.length;
    const v = z.reduce((s, x) => s + (x - m) ** 2, 0) / z.length;
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.03);
    expect(gaussianNoise(createRng(42), 5)).toEqual(z.slice(0, 5));
  });
});

describe('reconstruction on the tiny bundle', () => {
  let o: Opened;
  beforeAll(async () => {
    o = await openContext(TINY_BUNDLE);
  }, HOOK_TIMEOUT);
  afterAll(async () => {
    await o?.engine.sessions.release();
  }, HOOK_TIMEOUT);

  it('batched equals row by row, is reproducible, and depends on the seed', async () => {
    const caps = [[4, 23, 33], [], [5, 28, 34, 7, 6, 38]];
    const all = await reconstruct(o.ctx, caps, noiseRngs(9, 0, 3), { steps: 3 });
    const rows = await reconstruct(o.ctx, caps, noiseRngs(9, 0, 3), { steps: 3, batch: 1 });
    expect(all.images).toHaveLength(3 * 64 * 64 * 3);
    expect(maxAbsDiff(all.pixels.data, rows.pixels.data)).toBeLessThan(1e-5);
    const other = await reconstruct(o.ctx, caps, noiseRngs(10, 0, 3), { steps: 3 });
    expect(maxAbsDiff(all.pixels.data, other.pixels.data)).toBeGreaterThan(1e-3);
    const cfg = await reconstruct(o.ctx, caps, noiseRngs(9, 0, 3), { steps: 3, guidance: 4 });
    expect(cfg.images).toHaveLength(all.images.length);
    expect(o.engine.tracker.live()).toBe(0);
  });
});
