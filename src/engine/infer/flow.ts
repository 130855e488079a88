/**
 * The decoder (T2I): caption ids → text states → rectified-flow sampling in latent space → VAE → image.
 * Convention (SD3 / Flow-GRPO): x_t = (1−t)·x0 + t·noise, the network predicts v = noise − x0; sampling
 * runs from t=1 (Gaussian noise) to t=0 on linspace(1,0,K+1). Euler: x += (t_next − t)·v. The SDE sampler
 * (Flow-GRPO) uses src/engine/grpo-flow.ts's step and log-density. Classifier-free guidance when the
 * role's guidanceScale ≠ 1: v = v_u + g·(v_c − v_u), cond and uncond batched in one transformer run. A
 * transformer with a use_cache_branch input returns the captions' cross-attention keys/values on the first
 * step of a sampling run and reads them back on the others (kv-cache.ts), instead of recomputing them.
 */
import type { Rng } from '../../shapes/rng.ts';
import { sdeLogProb, sdeStepStats } from '../grpo-flow.ts';
import type { DecoderRole } from '../manifest.ts';
import { EngineError } from '../errors.ts';
import {
  concatRows,
  decoderNumber,
  decoderRole,
  f32Output,
  gatherRows,
  rowSize,
  runBuiltin,
  runGraphKeeping,
  runRowwise,
  type F32,
  type I64,
  type InferContext,
} from './context.ts';
import { gaussianNoise } from './sampling.ts';
import { cachedFrom, emptyCacheOf, type CacheFeeds } from './kv-cache.ts';
import { deviceToData, isDevice, releaseDevice, releaseDeviceFeeds, type Feed } from '../tensors.ts';
import { FLOW_STEP_INPUTS, FLOW_STEP_OUTPUTS, flowStepModel, flowStepName } from '../flow-step.ts';

/** int64 caption ids [B, maxTokens]: [BOS] caption [EOS] then [PAD]. */
export type CaptionIds = I64;

/** Returns [B, maxTokens] ids [BOS] content [EOS] [PAD]… (content truncated to maxTokens − 2). */
export function captionInputIds(
  contents: readonly (readonly number[])[],
  ids: { maxTokens: number; bosId: number; eosId: number; padId: number },
): CaptionIds {
  const L = ids.maxTokens;
  const data = new BigInt64Array(contents.length * L).fill(BigInt(ids.padId));
  contents.forEach((c, b) => {
    const seq = [ids.bosId, ...c.slice(0, L - 2), ids.eosId];
    seq.forEach((v, j) => (data[b * L + j] = BigInt(v)));
  });
  return { dtype: 'int64', data, dims: [contents.length, L] };
}

/** Returns the [BOS]/[EOS]/[PAD] ids and length the decoder's text encoder expects. */
export function decoderTokens(ctx: InferContext): { maxTokens: number; bosId: number; eosId: number; padId: number } {
  const t = ctx.tokenizer;
  return { maxTokens: decoderNumber(decoderRole(ctx), 'maxTokens', 48), bosId: t.bosId, eosId: t.eosId, padId: t.padId };
}

/** Returns last_hidden_state float32 [B,L,Dt] of the decoder's text encoder. */
export async function textStates(ctx: InferContext, ids: CaptionIds, batch = 32): Promise<F32> {
  return runRowwise(ctx, decoderRole(ctx).textEncoder, 'input_ids', ids, 'last_hidden_state', 'decoder.textEncoder', batch);
}

/** Returns standard-normal latents float32 [B,...latentShape], row b drawn from rngs[b] (Box–Muller). */
export function latentNoise(role: DecoderRole, rngs: readonly Rng[]): F32 {
  const n = role.latentShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(rngs.length * n);
  rngs.forEach((rng, b) => data.set(gaussianNoise(rng, n), b * n));
  return { dtype: 'float32', data, dims: [rngs.length, ...role.latentShape] };
}

/** Returns the time grid linspace(1, 0, steps+1) as float32 values. */
export function timeGrid(steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`flow steps must be a positive integer, got ${steps}`);
  return Array.from({ length: steps + 1 }, (_, i) => Math.fround(i === steps ? 0 : 1 - i / steps));
}

/** Flow sampling settings. */
export interface FlowOptions {
  steps: number;
  /** CFG scale; default the role's guidanceScale (1 = off). */
  guidance?: number;
}

/**
 * Prepared conditioning, built once per sampling run: `states`, the transformer's encoder_hidden_states (the text
 * states [B,L,Dt], or with CFG (guidance ≠ 1) those then the unconditional states tiled: [2B,L,Dt]). `textKv`:
 * with a transformer that takes its caption keys/values back (use_cache_branch), the feeds of the next run: the
 * empty cache until the first run returns them, then those (the captions stay the same for a sampling run). On WebGPU
 * they stay on the GPU for the whole sampling run, which releases them at its end (releaseConditioning).
 */
interface Conditioning {
  states: F32;
  guidance: number;
  textKv: { feeds: CacheFeeds; cached: boolean } | undefined;
}

/**
 * The empty caption's text states [1,L,Dt] per session source (a loaded bundle on one backend: a reload or a
 * backend switch brings a new one) and text encoder: the same for every sampling run. Only finished results are
 * kept, so a cancelled request never hands its cancellation to another.
 */
const emptyCaptionStates = new WeakMap<InferContext['sessions'], Map<string, F32>>();

/** Returns the text states of the empty caption (CFG's unconditional branch), computed once per text encoder. */
async function unconditionalStates(ctx: InferContext): Promise<F32> {
  const path = decoderRole(ctx).textEncoder;
  let byPath = emptyCaptionStates.get(ctx.sessions);
  if (!byPath) emptyCaptionStates.set(ctx.sessions, (byPath = new Map()));
  let states = byPath.get(path);
  if (!states) {
    states = await textStates(ctx, captionInputIds([[]], decoderTokens(ctx)));
    byPath.set(path, states);
  }
  return states;
}

async function conditioning(ctx: InferContext, states: F32, guidance: number | undefined): Promise<Conditioning> {
  const g = guidance ?? decoderNumber(decoderRole(ctx), 'guidanceScale', 1);
  const empty = emptyCacheOf(await ctx.sessions.get(decoderRole(ctx).transformer), g === 1 ? states.dims[0] : 2 * states.dims[0]);
  const textKv = Object.keys(empty).length > 0 ? { feeds: empty, cached: false } : undefined;
  if (g === 1) return { states, guidance: 1, textKv };
  const uncond = gatherRows(await unconditionalStates(ctx), new Array<number>(states.dims[0]).fill(0));
  return { states: concatRows([states, uncond]), guidance: g, textKv };
}

/** Releases what the conditioning holds on the device (the text keys/values of a WebGPU sampling run). */
function releaseConditioning(ctx: InferContext, c: Conditioning): void {
  if (c.textKv) releaseDeviceFeeds(ctx.tracker, c.textKv.feeds);
}

/**
 * Returns the transformer's raw velocity out_sample ([2B,...] with CFG: conditional rows, then unconditional) at
 * time t for its input `sample` ([2B,...] with CFG, the latents twice): on WebGPU the GPU buffer it came out as, on
 * WASM float32 data. One transformer run; the first of a sampling run leaves the captions' keys/values in `c`.
 */
async function transformerVelocity(ctx: InferContext, sample: Feed, t: number, c: Conditioning): Promise<Feed> {
  const path = decoderRole(ctx).transformer;
  const rows = sample.dims[0];
  const feeds: Record<string, Feed> = {
    sample,
    timestep: { dtype: 'float32' as const, data: new Float32Array(rows).fill(t), dims: [rows] },
    encoder_hidden_states: c.states,
    ...c.textKv?.feeds,
  };
  const first = c.textKv !== undefined && !c.textKv.cached;
  const res = await runGraphKeeping(ctx, path, feeds, 'decoder.transformer', first || !c.textKv ? undefined : ['out_sample']);
  if (c.textKv && first) {
    // Held by the conditioning from here on (released with it), whatever happens to this step.
    c.textKv = { feeds: cachedFrom(res, c.textKv.feeds, 'decoder.transformer'), cached: true };
  }
  const out = res.device.out_sample ?? f32Output(res.data, 'out_sample', 'decoder.transformer');
  releaseDeviceFeeds(ctx.tracker, res.device, { ...c.textKv?.feeds, out });
  return out;
}

/** Returns the velocity [B,...] at time t for latents x [B,...] (one transformer run, 2B rows with CFG), on the CPU. */
async function velocity(ctx: InferContext, x: F32, t: number, c: Conditioning): Promise<F32> {
  const guided = c.guidance !== 1;
  return guide(await readBack(ctx, await transformerVelocity(ctx, guided ? concatRows([x, x]) : x, t, c)), c.guidance);
}

/** Returns a float32 tensor's data: itself, or read back from the device (which keeps it). */
async function f32Of(t: Feed, name: string): Promise<F32> {
  return (isDevice(t) ? await deviceToData(t, name) : t) as F32;
}

/** f32Of, then the device tensor released. */
async function readBack(ctx: InferContext, t: Feed): Promise<F32> {
  try {
    return await f32Of(t, 'decoder.transformer: out_sample');
  } finally {
    releaseDevice(ctx.tracker, t);
  }
}

/** Returns the guided velocity v_u + g·(v_c − v_u) of a raw velocity [2B,...] (itself when g = 1). */
function guide(v: F32, guidance: number): F32 {
  if (guidance === 1) return v;
  const n = v.data.length / 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = v.data[n + i] + guidance * (v.data[i] - v.data[n + i]);
  return { dtype: 'float32', data: out, dims: [v.dims[0] / 2, ...v.dims.slice(1)] };
}

/** Euler sampling settings: flow settings and an optional per-step callback (for streaming previews). */
export interface EulerOptions extends FlowOptions {
  /**
   * Awaited after each Euler step (1…steps) with a reader of the step's x0 estimate x_t − t·v, float32
   * [B,...latentShape] (its own array; at the last step it equals the returned latents), valid until the callback
   * returns. On WebGPU the estimate is read back from the GPU only when the callback calls it (a preview), so a
   * callback that only reports progress costs no readback. It sees the steps, it changes none of them.
   */
  onStep?: (step: number, steps: number, estimate: () => Promise<F32>) => void | Promise<void>;
}

/** A float32 [1] feed. */
function scalar(v: number): F32 {
  return { dtype: 'float32', data: Float32Array.of(v), dims: [1] };
}

/**
 * Returns latents [B,...] at t=0 from noise [B,...] at t=1 by Euler steps on the time grid. Where the transformer
 * leaves its velocity on the GPU (WebGPU), the step runs there too (../flow-step.ts): the latents stay in GPU buffers
 * between steps and are read back at the end (and for the previews onStep asks for); elsewhere it runs here.
 */
export async function eulerSample(ctx: InferContext, states: F32, noise: F32, opts: EulerOptions): Promise<F32> {
  const ts = timeGrid(opts.steps);
  const c = await conditioning(ctx, states, opts.guidance);
  const guided = c.guidance !== 1;
  const x: F32 = { dtype: 'float32', data: noise.data.slice(), dims: noise.dims.slice() };
  const [xIn, vIn, tIn, dtIn, gIn] = FLOW_STEP_INPUTS;
  // The GPU path's latents and the transformer's next input, once the first step ran there.
  let onDevice: { x: Feed; sample: Feed } | undefined;
  try {
    for (let i = 0; i < opts.steps; i++) {
      const dt = ts[i + 1] - ts[i];
      const raw = await transformerVelocity(ctx, onDevice?.sample ?? (guided ? concatRows([x, x]) : x), ts[i], c);
      if (isDevice(raw) && ctx.sessions.builtin) {
        const step = await runBuiltin(
          ctx,
          flowStepName(guided),
          () => flowStepModel(guided),
          { [xIn]: onDevice?.x ?? x, [vIn]: raw, [tIn]: scalar(ts[i]), [dtIn]: scalar(dt), [gIn]: scalar(c.guidance) },
          'decoder.flowStep',
        ).finally(() => releaseDevice(ctx.tracker, raw));
        let outs: Feed[];
        try {
          outs = FLOW_STEP_OUTPUTS.map((n) => step.device[n] ?? f32Output(step.data, n, 'decoder.flowStep'));
        } catch (e) {
          releaseDeviceFeeds(ctx.tracker, step.device);
          throw e;
        }
        const [xNext, sampleNext, estimate] = outs;
        if (onDevice) releaseDeviceFeeds(ctx.tracker, onDevice);
        onDevice = { x: xNext, sample: sampleNext };
        try {
          await opts.onStep?.(i + 1, opts.steps, () => f32Of(estimate, 'decoder.flowStep: estimate'));
        } finally {
          releaseDevice(ctx.tracker, estimate);
        }
        continue;
      }
      if (onDevice) {
        releaseDevice(ctx.tracker, raw);
        throw new EngineError('run-failed', 'decoder.transformer: its velocity left the GPU in the middle of a sampling run');
      }
      const v = guide(await readBack(ctx, raw), c.guidance);
      // x0 = x_t − t·v (v = noise − x0); float32 like the step itself, so the last step's estimate is the result.
      const estimate = opts.onStep ? new Float32Array(x.data.length) : null;
      for (let j = 0; j < x.data.length; j++) {
        if (estimate) estimate[j] = x.data[j] - ts[i] * v.data[j];
        x.data[j] += dt * v.data[j];
      }
      if (estimate)
        await opts.onStep?.(i + 1, opts.steps, () => Promise.resolve({ dtype: 'float32', data: estimate, dims: x.dims.slice() }));
    }
    return onDevice ? await f32Of(onDevice.x, 'decoder.flowStep: latents') : x;
  } finally {
    if (onDevice) releaseDeviceFeeds(ctx.tracker, onDevice);
    releaseConditioning(ctx, c);
  }
}

/** Result of SDE sampling: final latents, the trajectory and per-step log-probs. */
export interface SdeResult {
  latents: F32;
  /** steps+1 latents [B,...]: x at t=1 (the noise) … x at t=0 (float32, as fed to the network). */
  trajectory: F32[];
  /** [steps][B] Gaussian log-density of each step's sample around its mean, averaged over elements (nats). */
  logp: Float64Array[];
  /** The time grid, t=1 … 0. */
  timesteps: number[];
}

/**
 * Returns Flow-GRPO SDE samples from noise [B,...]: each step x' ~ N(mean(x, v, t, dt), σ_t²|dt|) with
 * σ_t = a·√(t/(1−t)) (a = role sdeNoiseLevel; at t=1 the denominator uses the grid's next t). Step noise
 * for row b comes from rngs[b], one latent of Box–Muller draws per step.
 */
export async function sdeSample(
  ctx: InferContext,
  states: F32,
  noise: F32,
  rngs: readonly Rng[],
  opts: FlowOptions & { noiseLevel?: number },
): Promise<SdeResult> {
  const role = decoderRole(ctx);
  const a = opts.noiseLevel ?? decoderNumber(role, 'sdeNoiseLevel', 0.7);
  const ts = timeGrid(opts.steps);
  const B = noise.dims[0];
  const n = rowSize(noise.dims);
  if (rngs.length !== B) throw new RangeError(`sdeSample: ${rngs.length} rngs for ${B} rows`);
  const c = await conditioning(ctx, states, opts.guidance);
  let x: F32 = { dtype: 'float32', data: noise.data.slice(), dims: noise.dims.slice() };
  const trajectory = [x];
  const logp: Float64Array[] = [];
  try {
    for (let i = 0; i < opts.steps; i++) {
      const v = await velocity(ctx, x, ts[i], c);
      const next = new Float32Array(B * n);
      const lp = new Float64Array(B);
      for (let b = 0; b < B; b++) {
        const row = (t: Float32Array): Float32Array => t.subarray(b * n, (b + 1) * n);
        const st = sdeStepStats(row(x.data), row(v.data), ts[i], ts[i + 1] - ts[i], a, gaussianNoise(rngs[b], n), ts[1]);
        const sample = Float32Array.from(st.next ?? st.mean);
        next.set(sample, b * n);
        // Density of the float32 sample actually kept, so recomputing from the trajectory gives the same value.
        lp[b] = sdeLogProb(sample, st.mean, st.std);
      }
      x = { dtype: 'float32', data: next, dims: noise.dims.slice() };
      trajectory.push(x);
      logp.push(lp);
    }
  } finally {
    releaseConditioning(ctx, c);
  }
  return { latents: x, trajectory, logp, timesteps: ts };
}

/** Returns VAE decoder output float32 [B,3,H,W] in [−1,1] for latents [B,...latentShape]. */
export async function vaeDecode(ctx: InferContext, latents: F32, batch = 32): Promise<F32> {
  const path = decoderRole(ctx).vaeDecoder;
  if (!path) return latents;
  return runRowwise(ctx, path, 'latent_sample', latents, 'sample', 'decoder.vaeDecoder', batch);
}
