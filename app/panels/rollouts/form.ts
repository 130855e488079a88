// The engine's rollout request from the Rollouts form: reward weights, settings and image sources. Pure functions.
import { DEFAULT_SETTINGS, type RewardWeights, type RolloutImageSource, type RolloutSettings } from '../../../src/engine/rollouts/index.ts';
import type { RolloutsForm, UploadedImage } from '../../store/rolloutsSlice';

/** Returns the reward weights the form means: one reward with weight 1, or the mix. */
export function formWeights(f: RolloutsForm): RewardWeights {
  return f.reward === 'mix' ? { ...f.weights } : { [f.reward]: 1 };
}

/** Returns the engine settings of the form and the seed. */
export function formSettings(f: RolloutsForm, seed: number): RolloutSettings {
  const weight = f.penaltyWeight;
  return {
    ...DEFAULT_SETTINGS,
    groupSize: f.groupSize,
    seed,
    temperature: f.temperature,
    topP: f.topP,
    flowSteps: f.flowSteps ?? undefined,
    reconstructBatch: f.reconstructBatch,
    rewards: formWeights(f),
    lengthPenalty:
      f.penalty === 'overlong'
        ? { kind: 'overlong', maxCompletionLength: f.overlongMax, softPunishCache: f.overlongCache, weight }
        : f.penalty === 'linear'
          ? { kind: 'linear', coef: f.linearCoef, weight }
          : null,
    scaleRewards: f.scale,
    oldPolicy: f.old === 'current' ? { kind: 'current' } : { kind: 'checkpoint', step: f.old },
    beta: f.beta,
    epsilonLow: f.epsLow,
    epsilonHigh: f.epsHigh,
    lossType: f.lossType,
  };
}

/** Returns the image sources of the form: B scenes, or the uploaded image (null when none is chosen). */
export function formSources(f: RolloutsForm, upload: UploadedImage | null): RolloutImageSource[] | null {
  if (f.source === 'image') {
    return upload
      ? [{ kind: 'pixels', name: upload.label, data: upload.rgb.slice(), width: upload.width, height: upload.height, channels: 3 }]
      : null;
  }
  return Array.from({ length: Math.max(1, f.batch) }, (_, i) => ({ kind: 'scene' as const, seed: (f.sceneSeed + i) >>> 0 }));
}
