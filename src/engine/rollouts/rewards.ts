/**
 * Rollout rewards: every fidelity score of a reconstruction, the weighted mix the user sets (TRL reward
 * components, so they are logged as rewards/<name>/mean|std), the settings check, and the images to roll
 * out on (a Shapes scene by seed, or user pixels resized with the bundle's cover policy).
 */
import { sampleScene, type Scene } from '../../shapes/scene.ts';
import { EngineError } from '../errors.ts';
import { combineRewards, LOSS_TYPES, REWARD_SCALINGS, type LengthPenaltySpec, type RewardComponent } from '../grpo.ts';
import { resizeCover, sceneImage } from '../infer/image.ts';
import { attributeScores, psnr, ssim } from '../infer/metrics.ts';
import type { BundleManifest } from '../manifest.ts';
import { findBackbone } from '../roles.ts';
import {
  GROUP_SIZE_RANGE,
  I2I_BACKBONE,
  REWARD_NAMES,
  type RewardName,
  type RewardScores,
  type RewardWeights,
  type RolloutImage,
  type RolloutImageSource,
  type RolloutSettings,
} from './types.ts';

/**
 * Returns every score of reconstruction `rec` against `original` (uint8 RGB [H,W,3]) given its scorer cosine `sim` and
 * i2i backbone cosine `i2i` (NaN: the bundle has no such backbone); attr_f1 NaN without a scene.
 */
export function scoreRollout(
  rec: Uint8Array,
  original: Uint8Array,
  sim: number,
  i2i: number,
  caption: string,
  scene: Scene | null,
  width: number,
  height: number,
): RewardScores {
  return {
    sim,
    i2i,
    psnr: psnr(rec, original, width, height),
    ssim: ssim(rec, original, width, height),
    attr_f1: scene ? attributeScores(caption, scene).f1 : NaN,
  };
}

/** Returns the rewards with a non-zero weight, in REWARD_NAMES order. */
export function activeRewards(weights: RewardWeights): RewardName[] {
  return REWARD_NAMES.filter((n) => (weights[n] ?? 0) !== 0);
}

/** Returns TRL reward components [one per active reward] with values [N] taken from each rollout's scores. */
export function rewardComponents(weights: RewardWeights, scores: readonly RewardScores[]): RewardComponent[] {
  return activeRewards(weights).map((name) => ({ name, weight: weights[name] ?? 0, values: Float64Array.from(scores, (s) => s[name]) }));
}

/** Returns one rollout's reward: Σ w·score (NaN scores skipped) plus the weighted length penalty of `length` tokens. */
export function rolloutReward(weights: RewardWeights, penalty: LengthPenaltySpec | null, scores: RewardScores, length: number): number {
  return combineRewards(rewardComponents(weights, [scores]), [length], penalty).rewards[0];
}

/** Throws EngineError('bad-request') saying why setting `field` is wrong. */
function fail(field: string, why: string): never {
  throw new EngineError('bad-request', `rollouts: ${field} ${why}`);
}

/** Throws EngineError('bad-request') naming the first invalid setting for this bundle and these images. */
export function checkSettings(s: RolloutSettings, manifest: BundleManifest, images: readonly RolloutImage[]): void {
  const { min, max } = GROUP_SIZE_RANGE;
  if (!Number.isInteger(s.groupSize) || s.groupSize < min || s.groupSize > max)
    fail('groupSize', `must be an integer in ${min}…${max}, got ${s.groupSize}`);
  if (!Number.isInteger(s.seed) || s.seed < 0 || s.seed > 0xffffffff) fail('seed', `must be an integer in [0, 2^32), got ${s.seed}`);
  if (!(s.temperature > 0)) fail('temperature', `must be > 0, got ${s.temperature}`);
  if (!(s.topP > 0 && s.topP <= 1)) fail('topP', `must be in (0, 1], got ${s.topP}`);
  for (const k of ['beta', 'epsilonLow', 'epsilonHigh'] as const)
    if (!(s[k] >= 0 && Number.isFinite(s[k]))) fail(k, `must be a finite number ≥ 0, got ${s[k]}`);
  if (!REWARD_SCALINGS.includes(s.scaleRewards)) fail('scaleRewards', `must be one of ${REWARD_SCALINGS.join(', ')}`);
  if (!LOSS_TYPES.includes(s.lossType)) fail('lossType', `must be one of ${LOSS_TYPES.join(', ')}`);
  for (const [name, w] of Object.entries(s.rewards)) {
    if (!(REWARD_NAMES as readonly string[]).includes(name)) fail(`rewards.${name}`, `is not a reward (${REWARD_NAMES.join(', ')})`);
    if (!Number.isFinite(w)) fail(`rewards.${name}`, 'must be a finite weight');
  }
  const active = activeRewards(s.rewards);
  if (active.length === 0 && !s.lengthPenalty) fail('rewards', 'needs at least one reward with a non-zero weight');
  if (active.includes('i2i') && !findBackbone(manifest, I2I_BACKBONE))
    fail('rewards.i2i', `needs the image-image backbone '${I2I_BACKBONE}', and bundle ${manifest.id} has none`);
  if (active.length === 1 && active[0] === 'attr_f1') {
    const blind = images.find((im) => !im.scene);
    if (blind) fail('rewards', `attr_f1 alone needs Shapes scenes, and "${blind.label}" has none`);
  }
  if (s.beta > 0 && !manifest.roles.referenceEncoder) fail('beta', `> 0 needs a reference encoder, and bundle ${manifest.id} has none`);
  if (s.oldPolicy.kind === 'checkpoint') {
    const step = s.oldPolicy.step;
    if (!manifest.roles.checkpoints?.some((c) => c.step === step))
      fail('oldPolicy', `names checkpoint step ${step}, which bundle ${manifest.id} does not list`);
  }
  if (images.length === 0) fail('images', 'are missing');
}

/** Returns the image a source names, as uint8 RGB at width×height: a rasterised Shapes scene, or pixels resized (cover). */
export function resolveImage(src: RolloutImageSource, width: number, height: number): RolloutImage {
  if (src.kind === 'scene') {
    if (!Number.isInteger(src.seed) || src.seed < 0 || src.seed > 0xffffffff)
      fail('scene seed', `must be an integer in [0, 2^32), got ${src.seed}`);
    const scene = sampleScene(src.seed);
    return { label: `scene ${src.seed}`, image: sceneImage(scene, width, height), scene };
  }
  if (src.kind !== 'pixels') fail('image source', "must be {kind:'scene'} or {kind:'pixels'}");
  const image = resizeCover({ data: src.data, width: src.width, height: src.height, channels: src.channels }, width, height);
  return { label: src.name, image, scene: null };
}
