/**
 * Stage 2's settings (models/uae/config.py EncoderGRPOConfig, TRL's option names in camelCase), the shipped preset
 * ('full') and their check: an invalid field is refused with a message that names it.
 */
import { LOSS_TYPES, REWARD_SCALINGS, type LengthPenaltySpec, type LossType, type RewardScaling } from '../grpo.ts';
import { GROUP_SIZE_RANGE, REWARD_NAMES, type RewardWeights } from '../rollouts/index.ts';

/** Everything one stage-2 run is made of. */
export interface TrainConfig {
  /** GRPO steps (generation batches). */
  steps: number;
  /** Training images per step, drawn with replacement from the training scenes. */
  images: number;
  /** Captions sampled per image (G). */
  group: number;
  lr: number;
  /** k3 KL weight to the cold start. */
  beta: number;
  epsilonLow: number;
  epsilonHigh: number;
  lossType: LossType;
  scaleRewards: RewardScaling;
  /** Optimiser steps per generation batch (TRL's num_iterations). */
  iterations: number;
  /** Sampling temperature; every log-prob is of logits / T. */
  temperature: number;
  /** Euler steps and CFG scale of the reward's frozen decoder. */
  flowSteps: number;
  guidance: number;
  rewards: RewardWeights;
  lengthPenalty: LengthPenaltySpec | null;
  /** Seeds the images of each step, caption sampling and the decoder noise. */
  seed: number;
  /** Held-out evaluation every K steps (and at step 0 and the last step), on `evalScenes` scenes of `evalSeed`. */
  evalEvery: number;
  evalScenes: number;
  evalSeed: number;
  /** Euler steps of the evaluation's reconstructions; null = the bundle's flowSteps (as `uae eval`). */
  evalFlowSteps: number | null;
  /** The training scenes: sampleScene(sceneSeed(trainSeed, i)) for i < trainScenes (models/uae/config.py DataConfig). */
  trainSeed: number;
  trainScenes: number;
}

/** models/uae/config.py RL_ENCODER['full']: the settings of the bundle's recorded PyTorch run (reward = sim, β 0.1). */
export const STAGE2_PRESET: Readonly<TrainConfig> = {
  steps: 100,
  images: 8,
  group: 8,
  lr: 3e-5,
  beta: 0.1,
  epsilonLow: 0.2,
  epsilonHigh: 0.28,
  lossType: 'dapo',
  scaleRewards: 'group',
  iterations: 2,
  temperature: 1,
  flowSteps: 8,
  guidance: 2,
  rewards: { sim: 1 },
  lengthPenalty: null,
  seed: 0,
  evalEvery: 20,
  evalScenes: 128,
  evalSeed: 2,
  evalFlowSteps: null,
  trainSeed: 1,
  trainScenes: 60000,
};

/**
 * The live trainer's default (Train live, `uae train`): the PyTorch run's settings with β 0.3 instead of 0.1 and lr
 * 4e-5 instead of 3e-5. At β 0.1 how far a run goes down the precision slope is seed-dependent (attr_precision 0.867 for
 * trainer seed 0, 0.917 for seed 1, on 200 scenes of held-out seed 3); the stronger pull to the cold start holds it
 * above 0.9, and the higher lr keeps the first 20 steps as fast as before (docs/live-training.md).
 */
export const LIVE_PRESET: Readonly<TrainConfig> = { ...STAGE2_PRESET, beta: 0.3, lr: 4e-5 };

/**
 * The shipped bundles' stage 2 (models/retrain.sh's `uae train` command; docs/backbones.md): the live preset with the
 * reward 0.5 × sim + 0.5 × i2i, a length penalty of 0.005 a completion token, 200 steps and an evaluation every 10 —
 * the run the Training tab shows as the bundle's stage 2.
 */
export const SHIPPED_RUN_PRESET: Readonly<TrainConfig> = {
  ...LIVE_PRESET,
  steps: 200,
  rewards: { sim: 0.5, i2i: 0.5 },
  lengthPenalty: { kind: 'linear', coef: 0.005 },
  evalEvery: 10,
};

/** An invalid training setting; `field` names it. */
export class TrainConfigError extends RangeError {
  constructor(
    readonly field: string,
    why: string,
  ) {
    super(`train: ${field} ${why}`);
    this.name = 'TrainConfigError';
  }
}

const UINT32 = 0xffffffff;

/** Throws TrainConfigError naming the first invalid field of `c`. */
export function checkTrainConfig(c: TrainConfig): void {
  const [first] = trainConfigErrors(c);
  if (first) throw first;
}

/** Every invalid field of `c`, in the order checkTrainConfig checks them (at most one error per field); empty when valid. */
export function trainConfigErrors(c: TrainConfig): TrainConfigError[] {
  const errors: TrainConfigError[] = [];
  const fail = (field: string, why: string): void => {
    if (!errors.some((e) => e.field === field)) errors.push(new TrainConfigError(field, why));
  };
  const int = (field: keyof TrainConfig, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    if (!Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer in [${min}, ${max}], got ${v}`);
  };
  const num = (field: keyof TrainConfig, v: number, ok: boolean, what: string): void => {
    if (!Number.isFinite(v) || !ok) fail(field, `must be ${what}, got ${v}`);
  };
  int('steps', c.steps, 1);
  int('images', c.images, 1, 256);
  int('group', c.group, GROUP_SIZE_RANGE.min, GROUP_SIZE_RANGE.max);
  num('lr', c.lr, c.lr > 0, 'a number > 0');
  num('beta', c.beta, c.beta >= 0, 'a number ≥ 0');
  num('epsilonLow', c.epsilonLow, c.epsilonLow >= 0 && c.epsilonLow < 1, 'in [0, 1)');
  num('epsilonHigh', c.epsilonHigh, c.epsilonHigh >= 0, 'a number ≥ 0');
  if (!LOSS_TYPES.includes(c.lossType)) fail('lossType', `must be one of ${LOSS_TYPES.join(', ')}`);
  if (!REWARD_SCALINGS.includes(c.scaleRewards)) fail('scaleRewards', `must be one of ${REWARD_SCALINGS.join(', ')}`);
  int('iterations', c.iterations, 1, 16);
  num('temperature', c.temperature, c.temperature > 0, 'a number > 0');
  int('flowSteps', c.flowSteps, 1, 1000);
  num('guidance', c.guidance, true, 'a finite number');
  for (const [name, w] of Object.entries(c.rewards)) {
    if (!(REWARD_NAMES as readonly string[]).includes(name)) fail('reward', `${name} is not one of ${REWARD_NAMES.join(', ')}`);
    if (!Number.isFinite(w)) fail('reward', `${name} needs a finite weight`);
  }
  if (!Object.values(c.rewards).some((w) => w !== 0) && !c.lengthPenalty)
    fail('reward', 'needs at least one reward with a non-zero weight');
  int('seed', c.seed, 0, UINT32);
  int('evalEvery', c.evalEvery, 1);
  int('evalScenes', c.evalScenes, 1, 100000);
  int('evalSeed', c.evalSeed, 0, UINT32);
  if (c.evalFlowSteps !== null) int('evalFlowSteps', c.evalFlowSteps, 1, 1000);
  int('trainSeed', c.trainSeed, 0, UINT32);
  int('trainScenes', c.trainScenes, 1);
  return errors;
}
