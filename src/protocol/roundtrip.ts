/**
 * The `roundtrip` request: image₀ → caption₁ → image₁ → … for N loops in the worker. Each finished loop
 * streams as one `partial` event (a RoundTripLoop: its own copy of the reconstruction, transferred); the
 * result is a summary, so a client that keeps the loop partials has the whole run. A request with `stream`
 * also gets progress partials (RoundTripProgress, `kind: 'progress'`) inside each loop: the caption token by
 * token, then each flow step with, on some steps, a preview image. Streaming changes no caption or image.
 */
import type { LoopProgress } from '../engine/infer/index.ts';
import type { RoundTripLoop, RoundTripParams } from '../engine/roundtrip/index.ts';

export { ROUNDTRIP_MAX_LOOPS, ROUNDTRIP_MIN_LOOPS } from '../engine/roundtrip/index.ts';
export type { RoundTripLoop, RoundTripParams, RoundTripStreamParams } from '../engine/roundtrip/index.ts';

/**
 * Progress inside the running loop (streamed requests only): `phase: 'caption'` once per chosen token with the
 * caption so far, then `phase: 'flow'` once per Euler step, with the preview image (uint8 RGB, transferred)
 * on the steps that have one. The loop's own partial follows its last flow step.
 */
export type RoundTripProgress = { kind: 'progress' } & LoopProgress;

/** Returns whether a round-trip partial is progress inside a loop (else it is a finished loop). */
export function isRoundTripProgress(p: RoundTripPartial): p is RoundTripProgress {
  return 'kind' in p && p.kind === 'progress';
}

/** A partial event of a round trip: a finished loop, or (streamed requests) progress inside one. */
export type RoundTripPartial = RoundTripLoop | RoundTripProgress;

/** Result of a round trip: how many loops ran, in how long, on which bundle. */
export interface RoundTripSummary {
  loops: number;
  ms: number;
  bundleId: string;
}

/** The protocol registry entry (messages.ts adds it to RequestSpecs). */
export interface RoundTripSpec {
  params: RoundTripParams;
  partial: RoundTripPartial;
  result: RoundTripSummary;
}
