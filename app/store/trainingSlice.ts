// The training slice (`runs.training`): runs (the bundle's recorded ones and imported logs), which are
// overlaid, the replay clock anchors, extra charts, the scrubber's checkpoint. Plain data only. It sits in
// the runs slice beside the round trip's live state.
import type { CheckpointPhase } from '../../src/engine/infer/index.ts';
import type { ReplayState, RunLog } from '../../src/engine/runs/index.ts';
import type { CheckpointCaption, CheckpointEvalResult } from '../../src/protocol/checkpoint.ts';
import type { RtInput } from './roundtripSlice';
import type { AppError } from './types';

/** Replay speeds offered (× the base rate, which plays a whole run in REPLAY_SECONDS). */
export const SPEEDS = [0.5, 1, 2, 4, 8] as const;
/** Seconds a whole run takes to replay at 1×. */
export const REPLAY_SECONDS = 20;
/** Finished checkpoint evaluations kept (oldest dropped first): the shipped bundle’s 11 checkpoints × a few images. */
export const EVAL_CACHE_SIZE = 40;

/** A finished checkpoint evaluation as the scrubber keeps it. */
export type CheckpointEvalView = Omit<CheckpointEvalResult, 'released'> & { key: string };

/** The image the scrubber evaluates checkpoints on. */
export interface EvalImage {
  input: RtInput;
  /** sha256 (hex, 16 chars) of the model view: part of every evaluation's cache key. */
  hash: string;
  /** True when the round trip has no image (or none of the bundle's size) and a default scene stands in. */
  fallback: boolean;
}

/** The evaluation in flight (at most one: a newer one cancels it). */
export interface EvalRunning {
  key: string;
  step: number;
  /** 'queued' until the worker starts it. */
  phase: CheckpointPhase | 'queued';
  index: number;
  total: number;
  /** Set as soon as the checkpoint has written it. */
  caption: CheckpointCaption | null;
}

export interface TrainingState {
  /** Bundle runs first (manifest order), then imported runs (import order). */
  runs: RunLog[];
  /** Ids of the runs drawn on the charts (overlay), in `runs` order. */
  shown: string[];
  /** null until some run is shown. */
  replay: ReplayState | null;
  /** × the base rate; one of SPEEDS. */
  speed: number;
  /** `<id>@<version>` of the bundle whose runs are in `runs`; null when none. */
  bundleKey: string | null;
  /** Set while the bundle's runs are being fetched. */
  bundleLoading: boolean;
  /** Why the bundle's runs could not be shown (e.g. a bundle from local files), for the panel to say. */
  bundleNote: string | null;
  /** Keys without a chart of their own that the user chose to chart. */
  extraKeys: string[];
  /** Index into the bundle's `roles.checkpoints` chosen in the scrubber. */
  checkpoint: number;
  /** True once imported runs were read back from IndexedDB. */
  restored: boolean;
  /** The image checkpoints are evaluated on; null until the scrubber first resolves it. */
  evalImage: EvalImage | null;
  /** Finished evaluations by key (see evalKey); `evalOrder` lists the keys oldest first. */
  evals: Record<string, CheckpointEvalView>;
  evalOrder: string[];
  evalRunning: EvalRunning | null;
  /** The last evaluation that failed (not cancelled), by key. */
  evalError: { key: string; error: AppError } | null;
}

export const initialTraining: TrainingState = {
  runs: [],
  shown: [],
  replay: null,
  speed: 1,
  bundleKey: null,
  bundleLoading: false,
  bundleNote: null,
  extraKeys: [],
  checkpoint: 0,
  restored: false,
  evalImage: null,
  evals: {},
  evalOrder: [],
  evalRunning: null,
  evalError: null,
};
