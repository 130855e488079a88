/**
 * Warm-up after a bundle loads: the first runs of fresh ORT sessions are several times slower than later ones
 * (bench/RESULTS.md, "Warm-up after load": WASM code tiering up, ORT's first-run allocations, WebGPU's shader
 * compilation). Rounds of a one-loop round trip on a mid-grey image (greedy caption, a short flow decode with
 * the bundle's guidance, the scorer on both images: every graph a round trip runs) until a round takes about
 * as long as the one before it, or the budget is spent. The worker runs it as a request that any other
 * request pre-empts (src/worker/queue.ts), so the user never waits on it.
 */
import { createRng } from '../../shapes/rng.ts';
import type { InferContext } from './context.ts';
import { roundTrip } from './roundtrip.ts';

/** When to stop warming up. */
export interface WarmUpOptions {
  /** Stop once the rounds so far took this long (ms). */
  budgetMs: number;
  /** Stop after this many rounds. */
  maxRounds: number;
  /** Settled: a round within this fraction of the round before it. */
  settle: number;
  /** Flow steps of a round's decode (the cost per step is what warms; the count only sets a round's length). */
  flowSteps: number;
  /** The clock (ms). */
  now: () => number;
}

export const WARMUP_DEFAULTS: Omit<WarmUpOptions, 'now'> = { budgetMs: 4000, maxRounds: 8, settle: 0.15, flowSteps: 2 };

/** What a warm-up did: each round's time and why it stopped. */
export interface WarmUpReport {
  /** Milliseconds of each round, in order. */
  roundsMs: number[];
  stoppedBy: 'settled' | 'budget' | 'rounds';
}

/** Runs warm-up rounds on the context's bundle (encoder, decoder, scorer); cancellation through ctx.checkCancelled. */
export async function warmUp(ctx: InferContext, opts: WarmUpOptions): Promise<WarmUpReport> {
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  const grey = new Uint8Array(W * H * 3).fill(128);
  const roundsMs: number[] = [];
  let spent = 0;
  for (;;) {
    ctx.checkCancelled?.();
    const t0 = opts.now();
    await roundTrip(
      ctx,
      grey,
      1,
      { policy: { kind: 'greedy' }, steps: opts.flowSteps },
      createRng(roundsMs.length),
      undefined,
      ctx.checkCancelled,
    );
    const ms = opts.now() - t0;
    spent += ms;
    const before = roundsMs.at(-1);
    roundsMs.push(ms);
    if (before !== undefined && Math.abs(ms - before) <= opts.settle * before) return { roundsMs, stoppedBy: 'settled' };
    if (spent >= opts.budgetMs) return { roundsMs, stoppedBy: 'budget' };
    if (roundsMs.length >= opts.maxRounds) return { roundsMs, stoppedBy: 'rounds' };
  }
}
