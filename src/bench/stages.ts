/**
 * The benchmark's stages, each calling the engine function users run: bundle load + session creation,
 * one greedy caption, a sampled group of G captions (batched, and G sequential runs for the ratio), one
 * decode at K flow steps, scoring, a one-loop round trip, a GRPO group of G, and greedy captioning of a
 * full-length (48-token) caption with the KV cache against recomputing the whole prefix every step.
 * Environment-free: the caller opens the bundle (Node files, browser fetch) and picks the ORT backend.
 */
import type { InferenceSession } from 'onnxruntime-web';
import { createRng } from '../shapes/rng.ts';
import {
  bundlePixels,
  captionImages,
  cosine,
  embedImages,
  encodeImages,
  generateCaptions,
  reconstruct,
  type Caption,
  type InferContext,
} from '../engine/infer/index.ts';
import { DEFAULT_SETTINGS, resolveImage, runRollouts, scoreRollout, type RolloutImage } from '../engine/rollouts/index.ts';
import { runRoundTripJob } from '../engine/roundtrip/index.ts';
import { rawGreedyDecode } from './raw-decode.ts';
import { GEMM_SHAPES, gemmProbe, type GemmShape } from './gemm.ts';
import { measure, measureInterleaved, median, type Repeats, type Timing } from './timing.ts';

/** Every stage, in the order they run and are tabled. */
export const STAGE_IDS = [
  'load',
  'caption',
  'group',
  'group_sequential',
  'decode',
  'score',
  'roundtrip',
  'grpo',
  'caption48_kv',
  'caption48_recompute',
  'caption48_raw',
  'caption48_raw_gpukv',
  'gemm',
  'gemm_large',
] as const;

/** A stage of the benchmark. */
export type StageId = (typeof STAGE_IDS)[number];

/** Plain scalar facts about what a stage computed (captions, checks, sizes). */
export type StageDetail = Record<string, string | number | boolean>;

/** One measured stage. */
export interface StageResult {
  id: string;
  label: string;
  timing: Timing;
  detail: StageDetail;
}

/** A bundle opened for inference; `release` frees its sessions. */
export interface OpenedEngine {
  ctx: InferContext;
  release(): Promise<void>;
}

/** What to run and how often. */
export interface StageOptions {
  repeats: Repeats;
  /** Repeats of the load stage (each loads and releases everything). Default: `repeats`. */
  loadRepeats?: Repeats;
  /** Repeats of the slow stages (group_sequential, grpo, caption48_recompute). Default: `repeats`. */
  slowRepeats?: Repeats;
  /** Flow (Euler) steps K; default the bundle's flowSteps. */
  flowSteps?: number;
  /** Group size G; default 8. */
  groupSize?: number;
  /** Shapes scene the stages caption and reconstruct. Default 7. */
  sceneSeed?: number;
  /** Stages to run (default all); 'load' always runs, since the rest need the bundle. */
  only?: readonly string[];
  /** WebGPU only: a decoder session whose present.* outputs stay on the GPU (the caption48_raw_gpukv probe). */
  gpuKvDecoder?: (ctx: InferContext) => Promise<InferenceSession>;
  /**
   * Creates a session on the stages' backend with its options (threads) from ONNX bytes: the gemm probes' model.
   * Without it the probes are skipped.
   */
  createSession?: (bytes: Uint8Array) => Promise<InferenceSession>;
  /** Called as each stage finishes (progress lines). */
  onStage?(result: StageResult): void;
}

/** Labels of the stages as the table shows them. */
export function stageLabel(id: StageId, G: number, K: number): string {
  const labels: Record<StageId, string> = {
    load: 'bundle load + session creation',
    caption: 'one greedy caption',
    group: `group of ${G} sampled captions (batched)`,
    group_sequential: `${G} sampled captions, one at a time`,
    decode: `one decode at K=${K} flow steps`,
    score: 'scoring (scorer embed + cosine, PSNR, SSIM, attr F1)',
    roundtrip: `round trip, 1 loop (caption + decode K=${K} + score)`,
    grpo: `GRPO group of ${G} (sample, ref logp, reconstruct, score, report)`,
    caption48_kv: 'greedy caption to 48 tokens, KV cache',
    caption48_recompute: 'greedy caption to 48 tokens, recompute prefix',
    caption48_raw: 'probe: the same 48-token KV loop straight on ORT tensors',
    caption48_raw_gpukv: 'probe: that loop with the KV cache kept in GPU buffers',
    gemm: gemmLabel(GEMM_SHAPES.gemm, "the flow transformer's MLP at batch 1 with guidance"),
    gemm_large: gemmLabel(GEMM_SHAPES.gemm_large, 'a large square product'),
  };
  return labels[id];
}

function gemmLabel(s: GemmShape, what: string): string {
  return `probe: ${s.reps} MatMul${s.reps === 1 ? '' : 's'} [${s.M}×${s.K}]·[${s.K}×${s.N}] (${what})`;
}

/** Returns a summary of captions for the detail: the text of the first, and how many differ. */
function captionsDetail(caps: readonly Caption[]): StageDetail {
  return {
    first: caps[0]?.text ?? '',
    distinct: new Set(caps.map((c) => c.text)).size,
    meanLength: caps.reduce((a, c) => a + c.completion.length, 0) / Math.max(1, caps.length),
  };
}

/** Returns the completions of captions joined into one comparable string. */
function completionsKey(caps: readonly Caption[]): string {
  return caps.map((c) => c.completion.join(',')).join('|');
}

/**
 * Returns every selected stage's timing and detail, run on the engine `open` returns (the load stage opens
 * and releases it `loadRepeats` times, then opens it once more for the rest), and that last engine.
 */
export async function runStages(
  open: () => Promise<OpenedEngine>,
  opts: StageOptions,
): Promise<{ results: StageResult[]; engine: OpenedEngine }> {
  const results: StageResult[] = [];
  const wanted = (id: StageId): boolean => !opts.only || opts.only.includes(id);
  const slow = opts.slowRepeats ?? opts.repeats;
  const record = (id: StageId, timing: Timing, detail: StageDetail): void => {
    const r = { id, label: stageLabel(id, G, K), timing, detail };
    results.push(r);
    opts.onStage?.(r);
  };

  const load = await measure(async () => {
    const e = await open();
    await e.release();
    return e.ctx.manifest.files.length;
  }, opts.loadRepeats ?? opts.repeats);
  const engine = await open();
  const { ctx } = engine;
  const G = opts.groupSize ?? 8;
  const K = opts.flowSteps ?? ctx.manifest.defaults.flowSteps;
  const loadDetail: StageDetail = { files: load.value };
  record('load', load.timing, loadDetail);

  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  const seed = opts.sceneSeed ?? 7;
  const input: RolloutImage = resolveImage({ kind: 'scene', seed }, W, H);
  const greedy = { kind: 'greedy' } as const;
  const sample = { kind: 'sample', temperature: DEFAULT_SETTINGS.temperature, topP: DEFAULT_SETTINGS.topP } as const;

  // Settle: right after the sessions are created, Chromium runs them several times slower for a few
  // seconds (measured: a greedy caption 237 ms at first, 26 ms at the end of the same run), so every stage
  // below is timed in steady state, after greedy captions stop getting faster; how long that took is reported.
  const settle = await settleAfterLoad(() => captionImages(ctx, input.image, 1, { policy: greedy }), opts.repeats.warmupMs ?? 0);
  const caption = await measure(() => captionImages(ctx, input.image, 1, { policy: greedy }), opts.repeats);
  const [greedyCaption] = caption.value;
  Object.assign(loadDetail, settle);
  if (wanted('caption')) {
    // Where the caption's time goes: preprocessing + vision encoder, then the cached decoding loop.
    const enc = await measure(() => encodeImages(ctx, bundlePixels(ctx, input.image, 1)), opts.repeats);
    const gen = await measure(() => generateCaptions(ctx, enc.value, { policy: greedy }), opts.repeats);
    record('caption', caption.timing, {
      caption: greedyCaption.text,
      tokens: greedyCaption.completion.length,
      encodeMedianMs: Math.round(enc.timing.median * 10) / 10,
      generateMedianMs: Math.round(gen.timing.median * 10) / 10,
    });
  }

  if (wanted('group') || wanted('group_sequential')) {
    const group = (batch: number | undefined) => () =>
      captionImages(ctx, input.image, 1, { policy: sample, rng: createRng(seed), groupSize: G, batch });
    const seq = wanted('group_sequential');
    const [batched, sequential] = await measureInterleaved(seq ? [group(undefined), group(1)] : [group(undefined)], [opts.repeats, slow]);
    record('group', batched.timing, captionsDetail(batched.value));
    if (sequential) {
      record('group_sequential', sequential.timing, {
        ...captionsDetail(sequential.value),
        sameAsBatched: completionsKey(sequential.value) === completionsKey(batched.value),
      });
    }
  }

  const rec = await measure(() => reconstruct(ctx, [greedyCaption.ids], [createRng(seed)], { steps: K }), opts.repeats);
  if (wanted('decode'))
    record('decode', rec.timing, { steps: K, meanPixel: rec.value.images.reduce((a, v) => a + v, 0) / rec.value.images.length });

  if (wanted('score')) {
    const originalEmb = await embedImages(ctx, input.image, 1);
    const score = await measure(async () => {
      const emb = await embedImages(ctx, rec.value.images, 1);
      // The stage times the scorer's path (as before the i2i backbone existed): i2i is left out (NaN).
      return scoreRollout(rec.value.images, input.image, cosine(emb, 0, originalEmb, 0), NaN, greedyCaption.text, input.scene, W, H);
    }, opts.repeats);
    record('score', score.timing, { sim: score.value.sim, psnr: score.value.psnr, ssim: score.value.ssim, attr_f1: score.value.attr_f1 });
  }

  if (wanted('roundtrip')) {
    const params = { image: input.image, width: W, height: H, loops: 1, steps: K, seed, policy: greedy, scene: input.scene ?? undefined };
    const rt = await measure(() => runRoundTripJob(ctx, params), opts.repeats);
    const loop = rt.value[0];
    record('roundtrip', rt.timing, {
      caption: loop.caption,
      sim: loop.vsOriginal.sim,
      psnr: loop.vsOriginal.psnr,
      ssim: loop.vsOriginal.ssim,
    });
  }

  if (wanted('grpo')) {
    const settings = { ...DEFAULT_SETTINGS, groupSize: G, seed, flowSteps: K };
    const grpo = await measure(() => runRollouts(ctx, [input], settings), slow);
    const s = grpo.value.summary;
    record('grpo', grpo.timing, {
      reward: s.metrics.reward,
      reward_std: s.metrics.reward_std,
      decoderRuns: s.timing.decoderRuns,
      reconstructBatch: settings.reconstructBatch ?? 2,
    });
  }

  if (['caption48_kv', 'caption48_recompute', 'caption48_raw', 'caption48_raw_gpukv'].some((id) => wanted(id as StageId))) {
    const role = ctx.manifest.roles.encoder;
    const hidden = await encodeImages(ctx, bundlePixels(ctx, input.image, 1));
    // No token has id −1: with it as the stop token no caption stops early, every one runs to 48 tokens.
    const fullLength = role ? { ...role, eosId: -1 } : undefined;
    const full = (cache: boolean) => async () => {
      let runs = 0;
      const caps = await generateCaptions(ctx, hidden, { policy: greedy, role: fullLength, cache, onLogits: () => void runs++ });
      return { caps, runs, raw: [] as number[] };
    };
    const steps = (role?.maxTokens ?? 48) - 1;
    const raw = async () => ({ caps: [] as Caption[], runs: steps, raw: await rawGreedyDecode(ctx, hidden, steps) });
    const gpuSession = opts.gpuKvDecoder && wanted('caption48_raw_gpukv') ? await opts.gpuKvDecoder(ctx) : undefined;
    const rawGpu = async () => ({ caps: [] as Caption[], runs: steps, raw: await rawGreedyDecode(ctx, hidden, steps, gpuSession) });
    // Interleaved, so the ratios between them are taken under the same machine load.
    const chosen = [
      { id: 'caption48_kv' as const, fn: full(true), r: opts.repeats },
      { id: 'caption48_recompute' as const, fn: full(false), r: slow },
      { id: 'caption48_raw' as const, fn: raw, r: opts.repeats },
      { id: 'caption48_raw_gpukv' as const, fn: rawGpu, r: opts.repeats },
    ].filter((c) => c.id === 'caption48_kv' || (wanted(c.id) && (c.id !== 'caption48_raw_gpukv' || gpuSession)));
    const timed = await measureInterleaved(
      chosen.map((c) => c.fn),
      chosen.map((c) => c.r),
    );
    const kv = timed[0].value;
    // A caption that reaches the limit ends without the stop token; compare every token but the last slot.
    const engineTokens = kv.caps[0].completion.slice(0, kv.runs - 1).join(',');
    chosen.forEach((c, i) => {
      const v = timed[i].value;
      if (c.id === 'caption48_kv' && !wanted('caption48_kv')) return;
      const detail: StageDetail =
        c.id === 'caption48_raw' || c.id === 'caption48_raw_gpukv'
          ? { decoderRuns: v.runs, sameAsKv: v.raw.slice(0, kv.runs - 1).join(',') === engineTokens }
          : {
              decoderRuns: v.runs,
              tokens: v.caps[0].completion.length,
              ...(c.id === 'caption48_recompute' ? { sameAsKv: completionsKey(v.caps) === completionsKey(kv.caps) } : {}),
            };
      record(c.id, timed[i].timing, detail);
    });
    await gpuSession?.release();
  }

  for (const id of ['gemm', 'gemm_large'] as const) {
    if (!wanted(id) || !opts.createSession) continue;
    const probe = await gemmProbe(ctx.ort, opts.createSession, GEMM_SHAPES[id]);
    try {
      const maxAbsError = await probe.check();
      const t = await measure(() => probe.run(), opts.repeats);
      record(id, t.timing, {
        gflops: Math.round((probe.flops / (t.timing.median * 1e6)) * 10) / 10,
        maxAbsError: Number(maxAbsError.toExponential(2)),
      });
    } finally {
      await probe.release();
    }
  }
  return { results, engine };
}

/**
 * Runs `fn` until it stops getting faster: for at least `minMs`, then until the median of the last 5 runs is within
 * 15 % of the 5 before (at most 2000 runs or 30 s) -> the first run's time, the steady median, runs and time spent.
 * Measured in Chromium WASM: a greedy caption takes 750 ms, then 150–400 ms for about 25 runs (~6 s), then 25–50 ms
 * (the page's WebAssembly getting optimised while it runs); blocks of 20 captions kept getting faster for ~3 s more
 * (19 → 9.5 ms on 2026-12-06), while 5 runs against 5 already looked steady: hence `minMs` (bench/README.md,
 * "Warm-up in the timings").
 */
export async function settleAfterLoad(
  fn: () => Promise<unknown>,
  minMs = 0,
): Promise<{ firstRunMs: number; settledMs: number; settleRuns: number; settleTotalMs: number }> {
  const times: number[] = [];
  const t0 = performance.now();
  for (;;) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
    const n = times.length;
    const spent = performance.now() - t0;
    const done =
      n >= 10 &&
      spent >= minMs &&
      Math.abs(median(times.slice(n - 5)) - median(times.slice(n - 10, n - 5))) <= 0.15 * median(times.slice(n - 10, n - 5));
    if (done || n >= 2000 || spent > 30000) {
      const r = (x: number): number => Math.round(x * 10) / 10;
      return {
        firstRunMs: r(times[0]!),
        settledMs: r(median(times.slice(Math.max(0, n - 5)))),
        settleRuns: n,
        settleTotalMs: r(performance.now() - t0),
      };
    }
  }
}
