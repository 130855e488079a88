// The rollouts slice (`runs.rollouts`): the form's settings, an uploaded image, and the run on screen
// (rows arrive as the worker finishes them). Plain data only; typed arrays included.
import type { LossType, RewardScaling } from '../../src/engine/grpo.ts';
import {
  DEFAULT_SETTINGS,
  type RewardName,
  type RolloutImage,
  type RolloutPhase,
  type RolloutRecord,
  type RolloutSettings,
} from '../../src/engine/rollouts/index.ts';
import type { RolloutsResult } from '../../src/protocol/rollouts.ts';
import type { AppError } from './types';

/** What the form edits. The seed lives in `config.seed` (shared with the other panels and the URL). */
export interface RolloutsForm {
  source: 'scene' | 'image';
  /** First Shapes scene; batch mode takes scenes sceneSeed … sceneSeed+B−1. */
  sceneSeed: number;
  /** Images per batch (B); scenes only. */
  batch: number;
  groupSize: number;
  temperature: number;
  topP: number;
  /** One reward, or 'mix' (the weights). */
  reward: RewardName | 'mix';
  weights: Record<RewardName, number>;
  penalty: 'none' | 'overlong' | 'linear';
  overlongMax: number;
  overlongCache: number;
  linearCoef: number;
  penaltyWeight: number;
  scale: RewardScaling;
  /** 'current' or a checkpoint step of the bundle. */
  old: 'current' | number;
  beta: number;
  epsLow: number;
  epsHigh: number;
  lossType: LossType;
  reconstructBatch: number;
  /** null = the bundle's flowSteps. */
  flowSteps: number | null;
}

export const DEFAULT_FORM: RolloutsForm = {
  source: 'scene',
  sceneSeed: 82995292,
  batch: 1,
  groupSize: DEFAULT_SETTINGS.groupSize,
  temperature: DEFAULT_SETTINGS.temperature,
  topP: DEFAULT_SETTINGS.topP,
  reward: 'sim',
  weights: { sim: 1, i2i: 0, psnr: 0.02, ssim: 0.5, attr_f1: 0.5 },
  penalty: 'none',
  overlongMax: 46,
  overlongCache: 12,
  linearCoef: 0.005,
  penaltyWeight: 1,
  scale: DEFAULT_SETTINGS.scaleRewards,
  old: 'current',
  beta: DEFAULT_SETTINGS.beta,
  epsLow: DEFAULT_SETTINGS.epsilonLow,
  epsHigh: DEFAULT_SETTINGS.epsilonHigh,
  lossType: DEFAULT_SETTINGS.lossType,
  reconstructBatch: DEFAULT_SETTINGS.reconstructBatch ?? 2,
  flowSteps: null,
};

/** An uploaded image as the model sees it. */
export interface UploadedImage {
  label: string;
  /** uint8 RGB [height,width,3] at the bundle's input size (cover resize). */
  rgb: Uint8Array;
  width: number;
  height: number;
}

export type RolloutsStatus = 'running' | 'finished' | 'cancelled' | 'failed';

/** One scoring run as the panel shows it. */
export interface RolloutsRun {
  id: string;
  status: RolloutsStatus;
  startedAt: number;
  settings: RolloutSettings;
  bundleId: string;
  /** Backend label at the start, e.g. "WebGPU · swiftshader". */
  backend: string;
  inputs: RolloutImage[];
  /** Flow (Euler) steps of each reconstruction: the form's, or the bundle's default when the form leaves it empty. */
  flowSteps: number;
  /** The bundle's image size (inputs and reconstructions are uint8 RGB [height,width,3]). */
  width: number;
  height: number;
  /** Finished rollouts, in arrival order (row order). */
  rows: RolloutRecord[];
  /** When each batch of rows arrived: ms since start and the row count then. */
  arrivals: { ms: number; rows: number }[];
  sampled: { captions: number; decoderRuns: number; ms: number } | null;
  progress: { phase: RolloutPhase; done: number; total: number } | null;
  result: RolloutsResult | null;
  error: AppError | null;
}

/** Table sort: a column and a direction. */
export interface RolloutsSort {
  key: 'index' | 'length' | 'reward' | 'advantage' | 'kl' | 'logp';
  dir: 'asc' | 'desc';
}

export interface RolloutsState {
  form: RolloutsForm;
  upload: UploadedImage | null;
  run: RolloutsRun | null;
  sort: RolloutsSort;
}

export const initialRollouts: RolloutsState = { form: DEFAULT_FORM, upload: null, run: null, sort: { key: 'index', dir: 'asc' } };
