/**
 * The `checkpointEval` request: one encoder checkpoint (manifest roles.checkpoints, by step) captions one
 * image greedily, the bundle's decoder redraws it from that caption, the scorer compares. Partials say
 * which phase runs and carry the caption as soon as it is written; the result carries the reconstruction.
 */
import type { AttributeScores, CheckpointPhase, Fidelity } from '../engine/infer/index.ts';
import type { DecoderParams } from '../engine/train/params.ts';
import type { Scene } from '../shapes/scene.ts';

/** A checkpoint of a run trained in the page: its caption decoder's float32 weights (torch names), not a bundle file. */
export interface LiveCheckpoint {
  /** Names the weights (run id and step): the worker keeps the latest live checkpoint's sessions by it. */
  key: string;
  label: string;
  params: DecoderParams;
}

/** Parameters of a checkpoint evaluation (besides `type` and `id`). */
export interface CheckpointEvalParams {
  /** The checkpoint's step (one the bundle's manifest lists, unless `live` is set). */
  step: number;
  /** Evaluate these weights (built into the cold start's decoder graph) instead of a checkpoint of the manifest. */
  live?: LiveCheckpoint;
  /** uint8 RGB [height,width,3] at the bundle's input size. */
  image: Uint8Array;
  width: number;
  height: number;
  /** Flow (Euler) steps of the decoder. */
  steps: number;
  /** uint32; seeds the decoder noise (the same for every checkpoint, so only the caption differs). */
  seed: number;
  /** The true scene when the image is a Shapes scene: enables attribute precision/recall/F1. */
  scene?: Scene;
}

/** What a checkpoint wrote: the greedy caption. */
export interface CheckpointCaption {
  caption: string;
  /** Content ids (no [BOS]/[EOS]). */
  ids: number[];
  /** Content tokens that are not special tokens. */
  tokens: number;
  /** True when the caption hit the token limit. */
  truncated: boolean;
}

/** A partial: a phase started (with its index among `total`), or the caption is ready. */
export type CheckpointEvalPartial =
  { kind: 'phase'; phase: CheckpointPhase; index: number; total: number } | ({ kind: 'caption' } & CheckpointCaption);

/** Result: the caption, the reconstruction and its fidelity. */
export interface CheckpointEvalResult extends CheckpointCaption {
  step: number;
  label: string;
  /** The reconstruction, uint8 RGB [height,width,3]. */
  image: Uint8Array;
  width: number;
  height: number;
  fidelity: Fidelity;
  attr: AttributeScores | null;
  /** Checkpoint graphs whose sessions were released after this evaluation (the open ones are capped). */
  released: string[];
  bundleId: string;
  /** Wall time in ms (not part of what a seed reproduces). */
  ms: number;
}

/** The protocol registry entry (messages.ts adds it to RequestSpecs). */
export interface CheckpointEvalSpec {
  params: CheckpointEvalParams;
  partial: CheckpointEvalPartial;
  result: CheckpointEvalResult;
}
