/**
 * What a round-trip job takes and gives: its parameters (checked by checkRoundTripParams) and each finished
 * loop in the plain form the worker streams and `uae roundtrip` prints.
 */
import type { AttributeScores, DecodingPolicy, Fidelity } from '../infer/index.ts';
import type { Scene } from '../../shapes/scene.ts';

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

/** One finished loop as it crosses the worker boundary (typed arrays of its own). */
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
