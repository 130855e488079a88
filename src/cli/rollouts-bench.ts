/**
 * `uae rollouts --bench`: batched group sampling (B·G rows, one decoder run per step for all of them)
 * against G sequential generations per image (one row per run), same seeds, so the captions must be the
 * same; median of 3 timed runs after one warm-up, on this process's backend (WASM, 1 thread in Node).
 */
import { createRng } from '../shapes/rng.ts';
import { bundlePixels, encodeImages, generateCaptions, type InferContext } from '../engine/infer/index.ts';
import type { RolloutImage, RolloutSettings } from '../engine/rollouts/index.ts';

/** Timings of batched vs sequential group sampling. */
export interface SamplingBench {
  rows: number;
  /** Median wall time (ms) of the batched generation and of the sequential one. */
  batchedMs: number;
  sequentialMs: number;
  /** sequentialMs / batchedMs. */
  speedup: number;
  /** Decoder session runs each way. */
  batchedRuns: number;
  sequentialRuns: number;
  /** True when both ways sampled exactly the same completions. */
  identical: boolean;
  /** Mean completion length (tokens, [EOS] included). */
  meanLength: number;
}

/** Returns the median of xs. */
function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Returns batched-vs-sequential sampling timings for the images and the settings' G, seed, temperature and top-p. */
export async function benchSampling(
  ctx: InferContext,
  images: readonly RolloutImage[],
  s: RolloutSettings,
  reps = 3,
): Promise<SamplingBench> {
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  const batch = new Uint8Array(images.length * W * H * 3);
  images.forEach((im, i) => batch.set(im.image, i * W * H * 3));
  const hidden = await encodeImages(ctx, bundlePixels(ctx, batch, images.length));
  const run = async (rowsPerRun: number | undefined) => {
    let runs = 0;
    const t0 = performance.now();
    const caps = await generateCaptions(ctx, hidden, {
      policy: { kind: 'sample', temperature: s.temperature, topP: s.topP },
      rng: createRng(s.seed),
      groupSize: s.groupSize,
      maxTokens: s.maxTokens,
      batch: rowsPerRun,
      onLogits: () => void runs++,
    });
    return {
      ms: performance.now() - t0,
      runs,
      ids: caps.map((c) => c.completion.join(',')),
      lengths: caps.map((c) => c.completion.length),
    };
  };
  await run(undefined);
  await run(1);
  const batched = [];
  const sequential = [];
  for (let i = 0; i < reps; i++) {
    batched.push(await run(undefined));
    sequential.push(await run(1));
  }
  const b = median(batched.map((r) => r.ms));
  const q = median(sequential.map((r) => r.ms));
  const lengths = batched[0].lengths;
  return {
    rows: lengths.length,
    batchedMs: b,
    sequentialMs: q,
    speedup: q / b,
    batchedRuns: batched[0].runs,
    sequentialRuns: sequential[0].runs,
    identical: batched[0].ids.join('|') === sequential[0].ids.join('|'),
    meanLength: lengths.reduce((a, x) => a + x, 0) / lengths.length,
  };
}

/** Prints a bench result in one paragraph. */
export function printBench(b: SamplingBench): void {
  console.log(
    `sampling ${b.rows} captions (mean length ${b.meanLength.toFixed(1)}): batched ${b.batchedMs.toFixed(1)} ms in ${b.batchedRuns} decoder runs, ` +
      `sequential ${b.sequentialMs.toFixed(1)} ms in ${b.sequentialRuns} runs: speed-up ${b.speedup.toFixed(2)}x` +
      `${b.identical ? ' (identical captions)' : ' (CAPTIONS DIFFER)'}`,
  );
}
