// The bench slice (`runs.bench`): the Bench tab's form, the user's reference folder, and every benchmark run on
// screen (stored ones read back from IndexedDB, the current queue's as their batches arrive). Plain data only.
import type { GenevalTask, GenevalVerdict } from '../../src/engine/geneval/index.ts';
import type { ReferenceImage } from '../../src/engine/unified-bench/index.ts';
import type { Benchmark } from '../../src/protocol/bench.ts';
import type { LiveRun } from './liveTrainSlice';
import type { AppError } from './types';

/** What the form edits. Numbers are kept as typed (NaN when a field is empty); the Run button checks them. */
export interface BenchForm {
  unified: boolean;
  geneval: boolean;
  /** Encoders that caption in Unified-Bench: 'encoder', 'referenceEncoder', 'checkpoint:STEP', 'live:STEP' (the live run's). */
  encoders: string[];
  /** Unified-Bench's reference set: held-out Shapes scenes, or the user's folder. */
  reference: 'scenes' | 'folder';
  scenes: number;
  /** Dataset seed of the scenes and seed of the noise (`uae bench-unified --seed`, default 2). */
  unifiedSeed: number;
  promptsPerTask: number;
  perPrompt: number;
  /** Seed of the prompts and the noise (`uae geneval --seed`, default 100). */
  genevalSeed: number;
  /** Flow (Euler) steps; null = the bundle's flowSteps. */
  steps: number | null;
  /** Images per session run: one streamed batch each. */
  batch: number;
}

export const DEFAULT_BENCH_FORM: BenchForm = {
  unified: true,
  geneval: true,
  encoders: ['encoder'],
  reference: 'scenes',
  scenes: 100,
  unifiedSeed: 2,
  promptsPerTask: 15,
  perPrompt: 1,
  genevalSeed: 100,
  steps: null,
  batch: 16,
};

/** The user's reference folder, decoded in the page at the bundle's input size (never uploaded). */
export interface BenchFolder {
  label: string;
  images: ReferenceImage[];
  width: number;
  height: number;
  /** Files that were not read, each with why ("notes.txt: not an image …"). */
  skipped: string[];
}

/** One reference image's outcome in Unified-Bench. */
export interface BenchUnifiedRow {
  name: string;
  caption: string;
  /** Per backbone (scorer, psnr, ssim). */
  scores: Record<string, number>;
}

/** One checked image in GenEval-Shapes: the engine's verdict, as stored. */
export type BenchGenevalRow = GenevalVerdict;

/** A worst case: the image (and its reference), the caption or prompt, what the checker saw or the score. */
export interface BenchCase {
  key: string;
  /** uint8 RGB [height,width,3]: the reconstruction (Unified-Bench) or the decoder's image (GenEval). */
  image: Uint8Array;
  reference: Uint8Array | null;
  /** The encoder's caption (Unified-Bench) or the prompt (GenEval). */
  text: string;
  /** GenEval: what the checker saw; Unified-Bench: the reference's name. */
  detail: string;
  /** Unified-Bench: the first similarity backbone's cosine; GenEval: 0 (failed). */
  score: number;
  /** GenEval: the task kind. */
  task?: GenevalTask;
}

export type BenchStatus = 'queued' | 'running' | 'finished' | 'cancelled' | 'failed';

/** One benchmark run: one request on one bundle (and one encoder, for Unified-Bench). */
export interface BenchEntry {
  id: string;
  benchmark: Benchmark;
  status: BenchStatus;
  startedAt: number;
  bundleId: string;
  /** 'encoder', 'referenceEncoder', 'checkpoint:STEP', 'live:STEP' or 'decoder'. */
  encoderId: string;
  encoderLabel: string;
  /** The checkpoint's training step (shipped or live), else null. */
  step: number | null;
  /** The id of the run trained in the page whose checkpoint captioned (absent: not a live checkpoint). */
  liveRun?: string;
  /** The reference set or prompt set in words, e.g. "100 Shapes scenes (seed 2)". */
  reference: string;
  seed: number;
  steps: number;
  batch: number;
  backend: string;
  width: number;
  height: number;
  done: number;
  total: number;
  unified: BenchUnifiedRow[];
  /** Unified-Bench: the backbones in result order, and the similarity ones (averaged into the overall score). */
  backbones: string[];
  similarity: string[];
  geneval: BenchGenevalRow[];
  worst: BenchCase[];
  /** Wall time of a finished run. */
  ms: number | null;
  error: AppError | null;
}

/** What the Bench tab needs of the stored live run: whose checkpoints, of which bundle, at which steps. */
export type BenchLiveRun = Pick<LiveRun, 'id' | 'bundleKey' | 'checkpoints'>;

export interface BenchState {
  form: BenchForm;
  /** The live run as stored in IndexedDB when the tab last opened (the Training tab's copy wins once it is read back). */
  liveRun: BenchLiveRun | null;
  folder: BenchFolder | null;
  folderBusy: boolean;
  /** Oldest first: stored runs, then this page's. */
  entries: BenchEntry[];
  /** Stored runs were read back (or reading failed). */
  loaded: boolean;
  /** The run whose worst cases are shown (null: the latest). */
  selected: string | null;
  /** The queue in progress: run `index` of `count`. */
  queue: { index: number; count: number } | null;
}

export const initialBench: BenchState = {
  form: DEFAULT_BENCH_FORM,
  liveRun: null,
  folder: null,
  folderBusy: false,
  entries: [],
  loaded: false,
  selected: null,
  queue: null,
};
