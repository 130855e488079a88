/**
 * Warm-up after a bundle loads: the first runs of fresh ORT sessions are several times slower than later ones
 * (bench/RESULTS.md, "Warm-up after load": WASM code tiering up, ORT's first-run allocations, WebGPU's shader
 * compilation). Rounds of a one-loop round trip on a Shapes scene of three objects (a full-length greedy caption,
 * a short flow decode with the bundle's guidance, the scorer on both images: every graph a round trip runs), for
 * at least `minMs` and until the median of the last `window` rounds is within `settle` of the median of the
 * `window` before, or the budget is spent. Round times settle well before the runtime does (in Chromium and
 * Node WASM a greedy caption kept getting faster for ~2 s of rounds whose times had stopped moving), hence the
 * floor. The worker runs it as a request that any other request pre-empts (src/worker/queue.ts), so the user
 * never waits on it.
 */
import { createRng } from '../../shapes/rng.ts';
import { sampleScene } from '../../shapes/scene.ts';
import type { InferContext } from './context.ts';
import { sceneImage } from './image.ts';
import { median } from '../stats.ts';
import { roundTrip } from './roundtrip.ts';

/** When to stop warming up. */
export interface WarmUpOptions {
  /** Stop once the rounds so far took this long (ms). */
  budgetMs: number;
  /** Go on for at least this long (ms), settled or not. */
  minMs: number;
  /** Stop after this many rounds. */
  maxRounds: number;
  /** Settled: the median of the last `window` rounds within this fraction of the median of the `window` before. */
  settle: number;
  /** Rounds per window of the settle test. */
  window: number;
  /** Flow steps of a round's decode (the cost per step is what warms; the count only sets a round's length). */
  flowSteps: number;
  /** The clock (ms). */
  now: () => number;
}

export const WARMUP_DEFAULTS: Omit<WarmUpOptions, 'now'> = {
  budgetMs: 6000,
  // 2.5 s left a first caption 1.4-1.5x slower than steady at 2 threads on 2 cores (tier-up still going): bench/README.md
  minMs: 5000,
  maxRounds: 400,
  settle: 0.05,
  window: 3,
  flowSteps: 2,
};

/** The Shapes scene the rounds caption and draw: three objects, so the caption runs to full length. */
export const WARMUP_SCENE_SEED = 11;

/** What a warm-up did: each round's time and why it stopped. */
export interface WarmUpReport {
  /** Milliseconds of each round, in order. */
  roundsMs: number[];
  stoppedBy: 'settled' | 'budget' | 'rounds';
}

/** Returns the warm-up scene as uint8 RGB at the bundle's input size. */
function warmUpImage(ctx: InferContext): Uint8Array {
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  return sceneImage(sampleScene(WARMUP_SCENE_SEED), W, H);
}

/** Runs warm-up rounds on the context's bundle (encoder, decoder, scorer); cancellation through ctx.checkCancelled. */
export async function warmUp(ctx: InferContext, opts: WarmUpOptions): Promise<WarmUpReport> {
  const image = warmUpImage(ctx);
  const roundsMs: number[] = [];
  const w = Math.max(1, opts.window);
  let spent = 0;
  for (;;) {
    ctx.checkCancelled?.();
    const t0 = opts.now();
    await roundTrip(
      ctx,
      image,
      1,
      { policy: { kind: 'greedy' }, steps: opts.flowSteps },
      createRng(roundsMs.length),
      undefined,
      ctx.checkCancelled,
    );
    const ms = opts.now() - t0;
    spent += ms;
    roundsMs.push(ms);
    const n = roundsMs.length;
    if (spent >= opts.minMs && n >= 2 * w) {
      const last = median(roundsMs.slice(n - w));
      const before = median(roundsMs.slice(n - 2 * w, n - w));
      if (Math.abs(last - before) <= opts.settle * before) return { roundsMs, stoppedBy: 'settled' };
    }
    if (spent >= opts.budgetMs) return { roundsMs, stoppedBy: 'budget' };
    if (n >= opts.maxRounds) return { roundsMs, stoppedBy: 'rounds' };
  }
}
