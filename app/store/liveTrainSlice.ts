// The live training slice (`runs.liveTrain`): the Training tab's "Train live" form (text fields, shareable as
// `tl-*` keys), the run in the page (settings, status, every finished step's TRL row, held-out evaluations, the
// latest group's captions, the steps whose checkpoints are stored). Weights live in IndexedDB, never here.
import { DEFAULT_TRAIN_FORM, type TrainForm, type TrainFormField } from '../../src/engine/train/form.ts';
import type { TrainConfig, TrainDevice, TrainDeviceChoice, TrainEvalRow, TrainLogRow, TrainPhase } from '../../src/protocol/train.ts';

/** Where a live run stands. paused: resumable from its last saved step; cancelled: stopped for good (kept to view and export). */
export type LiveStatus = 'running' | 'paused' | 'done' | 'diverged' | 'cancelled';

/** A run trained in the page, as stored and shown. */
export interface LiveRun {
  id: string;
  /** `<id>@<version>` of the bundle it trains. */
  bundleKey: string;
  config: TrainConfig;
  checkpointEvery: number;
  /** The gradient device it was started with (absent in runs stored before the choice existed: auto). */
  device?: TrainDeviceChoice;
  startedAt: number;
  status: LiveStatus;
  /** Why it paused or stopped (a reload, a crash, a non-finite loss), in words. */
  message: string | null;
  log: TrainLogRow[];
  eval: TrainEvalRow[];
  /** The latest finished step's group captions. */
  captions: { step: number; captions: string[] } | null;
  /** Steps with a stored checkpoint (weights), listed in the scrubber. */
  checkpoints: number[];
  /** The step of the stored resume state (weights + AdamW): a resume starts there. */
  savedStep: number;
}

export interface LiveTrainState {
  form: TrainForm;
  /** Every invalid field of the form and why, in display order (empty when the form is valid). */
  formErrors: { field: TrainFormField; message: string }[];
  run: LiveRun | null;
  /** The phase in progress while running. */
  phase: { step: number; phase: TrainPhase } | null;
  /** The jax-js device of this request's updates, the choice it came from, and why Auto did not follow the engine. */
  device: { device: TrainDevice; choice: TrainDeviceChoice; note?: string } | null;
  /** performance.now() and the step when this request started (seconds per step and ETA are measured from it). */
  since: { at: number; step: number } | null;
  /** performance.now() when the latest step of this request landed. */
  lastStepAt: number | null;
  restored: boolean;
  exporting: 'jsonl' | 'bundle' | null;
}

export const initialLiveTrain: LiveTrainState = {
  form: { ...DEFAULT_TRAIN_FORM },
  formErrors: [],
  run: null,
  phase: null,
  device: null,
  since: null,
  lastStepAt: null,
  restored: false,
  exporting: null,
};
