/**
 * The rollouts lab's data: what the user sets (RolloutSettings), where the images come from, one scored
 * rollout (RolloutRecord), and what a finished run reports (RolloutsSummary). Plain data only, so it
 * crosses the worker boundary as is (typed arrays go in the transfer list).
 */
import type { Scene } from '../../shapes/scene.ts';
import type { LengthPenaltySpec, LossType, RewardScaling } from '../grpo.ts';

/**
 * The fidelity rewards a rollout can be scored by: `sim` the scorer's image-image cosine, `i2i` the cosine under the
 * bundle's image-image backbone (roles.backbones id 'i2i', trained without captions; NaN when the bundle has none),
 * PSNR, SSIM, and `attr_f1`, which needs the image's true Shapes scene.
 */
export type RewardName = 'sim' | 'i2i' | 'psnr' | 'ssim' | 'attr_f1';

/** Every reward, in the order tables and the CLI list them. */
export const REWARD_NAMES: readonly RewardName[] = ['sim', 'i2i', 'psnr', 'ssim', 'attr_f1'];

/** The id of the bundle backbone (roles.backbones) whose cosine is the `i2i` reward. */
export const I2I_BACKBONE = 'i2i';

/** Weights of the reward mix; a single reward is the mix with weight 1 on it. Missing or 0 = not used. */
export type RewardWeights = Partial<Record<RewardName, number>>;

/** Which encoder the per-token ratio divides by: the current policy (ratio 1) or a bundle checkpoint. */
export type OldPolicy = { kind: 'current' } | { kind: 'checkpoint'; step: number };

/** Everything the user sets for one scoring run. */
export interface RolloutSettings {
  /** Captions per image (G), 2…32. */
  groupSize: number;
  /** Seeds caption sampling (one uint32 per rollout, in row order) and the decoder noise. */
  seed: number;
  /** Sampling temperature T (> 0) and nucleus mass (0…1]. Every log-prob and entropy (policy, old, reference) is of softmax(logits / T). */
  temperature: number;
  topP: number;
  /** Tokens including [BOS] and a final [EOS] (a completion has at most maxTokens − 1); default the encoder's maxTokens. */
  maxTokens?: number;
  /** Flow (Euler) steps of the reconstruction; default the bundle's flowSteps. */
  flowSteps?: number;
  /** CFG scale of the decoder; default the bundle's. */
  guidance?: number;
  /** Rollouts reconstructed per decoder batch; rows stream to the caller batch by batch. Default 2. */
  reconstructBatch?: number;
  /** 'group': every rollout of an image starts the decoder from the same noise (rewards differ by caption only). */
  noise?: 'group' | 'rollout';
  rewards: RewardWeights;
  lengthPenalty: LengthPenaltySpec | null;
  scaleRewards: RewardScaling;
  oldPolicy: OldPolicy;
  beta: number;
  epsilonLow: number;
  epsilonHigh: number;
  /** The loss type whose value is the `loss` metric (every type's loss is reported anyway). */
  lossType: LossType;
  /** Drop truncated captions (no natural [EOS]) from the loss, as TRL's mask_truncated_completions. */
  maskTruncated?: boolean;
}

/** Defaults: TRL's (G 8, ε 0.2, β 0, scaling 'group', loss 'dapo') and the `sim` reward. */
export const DEFAULT_SETTINGS: RolloutSettings = {
  groupSize: 8,
  seed: 0,
  temperature: 1,
  topP: 1,
  reconstructBatch: 2,
  noise: 'group',
  rewards: { sim: 1 },
  lengthPenalty: null,
  scaleRewards: 'group',
  oldPolicy: { kind: 'current' },
  beta: 0,
  epsilonLow: 0.2,
  epsilonHigh: 0.2,
  lossType: 'dapo',
  maskTruncated: false,
};

/** Group sizes the lab accepts. */
export const GROUP_SIZE_RANGE = { min: 2, max: 32 } as const;

/** An image to roll out on: a Shapes scene by seed (its true scene enables attr_f1), or decoded pixels. */
export type RolloutImageSource =
  | { kind: 'scene'; seed: number }
  | { kind: 'pixels'; name: string; data: Uint8Array | Uint8ClampedArray; width: number; height: number; channels: 3 | 4 };

/** One image of the batch, at the bundle's input size. */
export interface RolloutImage {
  /** "scene 42" or the file name. */
  label: string;
  /** uint8 RGB [H,W,3]. */
  image: Uint8Array;
  /** The Shapes scene when known (attribute F1), else null. */
  scene: Scene | null;
}

/** Every fidelity score of one reconstruction against its original; attr_f1 is NaN without a scene, i2i without the backbone. */
export type RewardScores = Record<RewardName, number>;

/** One sampled, reconstructed and scored caption. */
export interface RolloutRecord {
  /** Row in the batch (group g holds rows g·G … g·G+G−1). */
  index: number;
  group: number;
  caption: string;
  /** Content ids (no [BOS]; no [EOS]: the completion minus its final [EOS], or all of it when truncated). */
  ids: number[];
  /**
   * Generated ids, what the per-token arrays cover: L = completion.length is GRPO's completion length
   * (`lengths`, completions/*, the length penalty): the final [EOS] counted when it terminated, only the
   * sampled tokens when truncated (no [EOS] is forced).
   */
  completion: number[];
  /** Content tokens that are not special tokens: a display count (no [EOS]), not GRPO's length. */
  tokens: number;
  /** True when the caption hit the token limit without [EOS] (last token neither [EOS] nor [PAD]). */
  truncated: boolean;
  /** [L] per-token log-probs (nats) under the policy: log_softmax(logits / T). */
  logp: Float64Array;
  /** [L] teacher-forced log-probs (logits / T) under the reference encoder, or null when the bundle has none. */
  refLogp: Float64Array | null;
  /** [L] teacher-forced log-probs (logits / T) under the old-policy checkpoint, or null for the current policy. */
  oldLogp: Float64Array | null;
  /** [L] entropy (nats) of the policy's next-token distribution softmax(logits / T) at each step. */
  entropy: Float64Array;
  /** Σ logp (nats). */
  sequenceLogp: number;
  /** Mean k3 KL to the reference over the completion, or null without a reference. */
  meanKl: number | null;
  scores: RewardScores;
  /** Σ w·score (+ length penalty): the reward GRPO sees. */
  reward: number;
  /** The reconstruction, uint8 RGB [H,W,3]. */
  image: Uint8Array;
}

/** Statistics of one image's group, under the batch's advantages. */
export interface GroupStats {
  group: number;
  label: string;
  /** nanmean and nanstd (Bessel) of the group's rewards: the group's baseline and std (unscorable rows left out). */
  reward: number;
  reward_std: number;
  'completions/mean_length': number;
  /** Masked mean k3 KL over the group's tokens (NaN without a reference; shown whatever β is). */
  kl: number;
  advantage_min: number;
  advantage_max: number;
  /** grpoLoss of the group's rows alone (as their own batch), with the batch's advantages, per loss type. */
  losses: Record<LossType, number>;
  best: number;
  worst: number;
}

/** What a finished run reports besides the records. */
export interface RolloutsSummary {
  numImages: number;
  groupSize: number;
  /** [N] rewards and advantages, row order. */
  rewards: Float64Array;
  advantages: Float64Array;
  /** One logging step under TRL's names (reward, reward_std, completions/*, rewards/<name>/*, kl, entropy, clip_ratio/*, loss, …). */
  metrics: Record<string, number>;
  /** The loss under every loss type. */
  losses: Record<LossType, number>;
  groups: GroupStats[];
  /** Which encoder the ratio divided by ("current policy" or the checkpoint's label). */
  oldPolicy: string;
  /** Milliseconds per phase, and the decoder runs caption sampling took. */
  timing: { encode: number; sample: number; logprobs: number; reconstruct: number; total: number; decoderRuns: number };
}
