/**
 * The `roundtrip` request: image₀ → caption₁ → image₁ → … for N loops in the worker. Each finished loop
 * streams as one `partial` event (a RoundTripLoop: its own copy of the reconstruction, transferred); the
 * result is a summary, so a client that keeps the loop partials has the whole run. A request with `stream`
 * also gets progress partials (RoundTripProgress, `kind: 'progress'`) inside each loop: the caption token by
 * token, then each flow step with, on some steps, a preview image. Streaming changes no caption or image.
 */
import type { AttributeScores, DecodingPolicy, Fidelity, LoopProgress } from '../engine/infer/index.ts';
import type { Scene } from '../shapes/scene.ts';

/** Fewest and most loops a round trip may run. */
export const ROUNDTRIP_MIN_LOOPS = 1;
export const ROUNDTRIP_MAX_LOOPS = 20;

/** Parameters of a round trip (besides `type` and `id`). */
export interface RoundTripParams {
  /** uint8 RGB [height,width,3]: the image as the model sees it (already resized to the bundle's input). */
  image: Uint8Array;
  width: number;
  height: number;
  /** 1…20. */
  loops: number;
  policy: DecodingPolicy;
  /** Flow (Euler) steps of the decoder. */
  steps: number;
  /** uint32; seeds caption sampling and decoder noise of every loop (same seed, same run). */
  seed: number;
  /** The true scene when the image is a Shapes scene: enables attribute precision/recall/F1. */
  scene?: Scene;
  /** Ask for progress partials inside each loop; absent: only one partial per finished loop. */
  stream?: RoundTripStreamParams;
}

/** What a streamed round trip sends besides the loops. */
export interface RoundTripStreamParams {
  /** Preview the decoder's x0 estimate every k-th flow step, 0…1000 (0: never); default ⌈steps/3⌉ (defaultPreviewEvery). */
  previewEvery?: number;
}

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

/** One finished loop as it crosses the worker boundary. */
export interface RoundTripLoop {
  /** 1-based. */
  loop: number;
  caption: string;
  /** Content ids (no [BOS]/[EOS]). */
  ids: number[];
  /** Content tokens that are not special tokens. */
  tokens: number;
  /** True when the caption hit the token limit. */
  truncated: boolean;
  /** The reconstruction, uint8 RGB [height,width,3]. */
  image: Uint8Array;
  vsOriginal: Fidelity;
  vsPrevious: Fidelity;
  attr: AttributeScores | null;
  /** Wall time of this loop in ms (not part of what a seed reproduces). */
  ms: number;
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
