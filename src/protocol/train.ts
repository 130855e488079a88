/**
 * The `train` request: stage 2 of Unified-GRPO on the loaded bundle (src/engine/train's Stage2Trainer) in the engine
 * worker, with jax-js on the gradient device asked for (Auto: WebGPU when the engine runs on a real WebGPU adapter, else
 * WebAssembly). Partials: the phase of each step, each
 * finished step (its TRL log row, the group's captions and the state to resume from), each held-out evaluation.
 * `trainExport` writes the trained bundle's files (checkpoint graphs, run log, manifest) from the page's checkpoints.
 */
import type { TrainConfig } from '../engine/train/config.ts';
import type { TrainDeviceChoice } from '../engine/train/form.ts';
import type { DecoderParams } from '../engine/train/params.ts';
import type { TrainEvalRow, TrainLogRow, TrainPhase, TrainState } from '../engine/train/trainer.ts';
import type { BundleFileData } from '../engine/vocab.ts';

export type { TrainConfig, TrainDeviceChoice, TrainEvalRow, TrainLogRow, TrainPhase, TrainState };

/** Parameters of a training run (besides `type` and `id`). */
export interface TrainParams {
  config: TrainConfig;
  /** A step is marked as a checkpoint (listed in the scrubber) every this many steps and at the last step. */
  checkpointEvery: number;
  /**
   * The jax-js device of the updates (absent: auto). Auto: WebGPU when the engine runs on a WebGPU adapter that is not a
   * software fallback, else WASM; webgpu: jax-js's WebGPU device whatever the engine runs on (an error when it has none).
   */
  device?: TrainDeviceChoice;
  /** Resume from a saved state with the rows finished before it (rows after its step are dropped); absent: the cold start. */
  resume?: { state: TrainState; log: TrainLogRow[]; eval: TrainEvalRow[] } | null;
}

/** The jax-js device the updates run on. */
export type TrainDevice = 'webgpu' | 'wasm';

/** A partial of a training run. */
export type TrainPartial =
  /** The run started: the device, the choice it came from, and why Auto did not follow the engine's backend (when it did not). */
  | { kind: 'start'; device: TrainDevice; choice: TrainDeviceChoice; note?: string; step: number }
  | { kind: 'phase'; step: number; phase: TrainPhase }
  /** A finished step: its log row, the group's captions, the state after it (weights + AdamW), whether it is a checkpoint. */
  | { kind: 'step'; row: TrainLogRow; captions: string[]; state: TrainState; checkpoint: boolean }
  | { kind: 'eval'; row: TrainEvalRow };

/** How the run ended; `log`/`eval` hold every row (the resumed ones included). */
export interface TrainResult {
  status: 'done' | 'diverged';
  /** Why it stopped early (diverged: the non-finite loss and the step whose state is kept). */
  message?: string;
  step: number;
  device: TrainDevice;
  log: TrainLogRow[];
  eval: TrainEvalRow[];
}

/** The protocol registry entry of `train`. */
export interface TrainSpec {
  params: TrainParams;
  partial: TrainPartial;
  result: TrainResult;
}

/** Parameters of `trainExport`: the run's checkpoints (weights by step) and rows. */
export interface TrainExportParams {
  checkpoints: { step: number; params: DecoderParams }[];
  log: TrainLogRow[];
  eval: TrainEvalRow[];
  /** The run's label in the bundle's roles.runs. */
  label: string;
}

/** The trained bundle: every file (manifest.json included) of a bundle folder the app and `uae` load. */
export interface TrainExportResult {
  files: BundleFileData[];
  id: string;
  version: string;
}

/** The protocol registry entry of `trainExport`. */
export interface TrainExportSpec {
  params: TrainExportParams;
  partial: never;
  result: TrainExportResult;
}
