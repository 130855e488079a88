/**
 * The `roundtrip` request: image₀ → caption₁ → image₁ → … for N loops in the worker. Each finished loop
 * streams as one `partial` event (its own copy of the reconstruction, transferred); the result is a
 * summary, so a client that keeps the partials has the whole run.
 */
import type { AttributeScores, DecodingPolicy, Fidelity } from '../engine/infer/index.ts';
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

/** Result of a round trip: how many loops ran, in how long, on which bundle. */
export interface RoundTripSummary {
  loops: number;
  ms: number;
  bundleId: string;
}

/** The protocol registry entry (messages.ts adds it to RequestSpecs). */
export interface RoundTripSpec {
  params: RoundTripParams;
  partial: RoundTripLoop;
  result: RoundTripSummary;
}
