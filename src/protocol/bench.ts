/**
 * The `bench` request: one benchmark run on the loaded bundle. Unified-Bench (reference images → caption by the
 * chosen encoder → reconstruction → every backbone's score) or GenEval-Shapes (grammar prompts drawn by the
 * decoder, each image read by the independent checker). Partials stream each finished batch with its images, so
 * tables and charts fill as the run goes; the result is the engine's own result plus what ran it.
 */
import type { GenevalBatch, GenevalResult } from '../engine/geneval/index.ts';
import type { ReferenceImage, UnifiedBenchBatch, UnifiedBenchResult } from '../engine/unified-bench/index.ts';
import type { LiveCheckpoint } from './checkpoint.ts';

/** The benchmarks a `bench` request runs. */
export const BENCHMARKS = ['unified', 'geneval'] as const;
export type Benchmark = (typeof BENCHMARKS)[number];

/** Limits a request is checked against (the Bench tab's form uses the same). */
export const BENCH_LIMITS = {
  scenes: { min: 1, max: 1000 },
  images: { min: 1, max: 1000 },
  promptsPerTask: { min: 1, max: 100 },
  perPrompt: { min: 1, max: 16 },
  steps: { min: 1, max: 200 },
  batch: { min: 1, max: 64 },
  seed: { min: 0, max: 0xffffffff },
} as const;

/**
 * Which encoder captions a Unified-Bench run: a manifest role, a training checkpoint of the encoder by step, or a
 * checkpoint of a run trained in the page (`live`: its caption decoder's weights, built into the cold start's graph as
 * the `checkpointEval` request does).
 */
export type BenchEncoder =
  | { kind: 'role'; role: 'encoder' | 'referenceEncoder' }
  | { kind: 'checkpoint'; step: number }
  | { kind: 'live'; step: number; live: LiveCheckpoint };

/** The reference set: the first N held-out Shapes scenes of the seed, or the user's images (bundle input size). */
export type BenchReference = { kind: 'scenes'; scenes: number } | { kind: 'images'; images: ReferenceImage[] };

interface BenchCommon {
  /** uint32: the scenes' dataset seed and the decoder noise (Unified-Bench); the prompts and the noise (GenEval). */
  seed: number;
  /** Flow (Euler) steps of the decoder. */
  steps: number;
  /** Images per session run (one partial per batch). */
  batch: number;
}

/** Parameters of a Unified-Bench run. */
export interface UnifiedBenchParams extends BenchCommon {
  benchmark: 'unified';
  encoder: BenchEncoder;
  reference: BenchReference;
}

/** Parameters of a GenEval-Shapes run (the decoder draws; no encoder takes part). */
export interface GenevalBenchParams extends BenchCommon {
  benchmark: 'geneval';
  /** Prompts of each of the seven task kinds. */
  promptsPerTask: number;
  /** Images the decoder draws per prompt. */
  perPrompt: number;
}

/** Parameters of a bench run (besides `type` and `id`). */
export type BenchParams = UnifiedBenchParams | GenevalBenchParams;

/** What streams while a run goes: each finished batch, with its own copies of the images. */
export type BenchPartial = { kind: 'unified'; batch: UnifiedBenchBatch } | { kind: 'geneval'; batch: GenevalBatch };

/** What ran: the bundle, the encoder that captioned ('decoder' for GenEval) and the wall time. */
export interface BenchRunInfo {
  bundleId: string;
  /** 'encoder', 'referenceEncoder', 'checkpoint:STEP', 'live:STEP' (Unified-Bench) or 'decoder' (GenEval). */
  encoderId: string;
  /** How a table names it, e.g. "checkpoint step 40 · GRPO step 40", or the live checkpoint's label. */
  encoderLabel: string;
  /** The checkpoint's training step (shipped or live), else null. */
  step: number | null;
  /** Wall time in ms (not part of what a seed reproduces). */
  ms: number;
}

/** The result: the engine's result and what ran it. */
export type BenchResult =
  ({ benchmark: 'unified' } & UnifiedBenchResult & BenchRunInfo) | ({ benchmark: 'geneval' } & GenevalResult & BenchRunInfo);

/** The protocol registry entry (messages.ts adds it to RequestSpecs). */
export interface BenchSpec {
  params: BenchParams;
  partial: BenchPartial;
  result: BenchResult;
}
