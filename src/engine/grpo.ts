// GRPO's per-token objective, its aggregations and TRL's logged metrics, as pure Float64 functions.
// Follows TRL v1.9.0's GRPOTrainer (tag 35def3ee, trl/trainer/grpo_trainer.py: loss mask and
// num_items_in_batch lines 2415-2427, `_compute_loss` lines 3054-3253) for ONE loss computation with one
// process and no gradient accumulation; every definition and its source is in docs/grpo.md. Token arrays
// are row-major [numSequences, maxLen], right padded; `lengths[i]` is len(completion_ids) of row i: its
// EOS included when it terminated, only the sampled tokens when it was truncated (no EOS is forced).
// Kept from older TRL as options: dapo's token count before truncated rows are masked (TRL <= 1.8).

import {
  combineRewards,
  completionMetrics,
  groupAdvantages,
  nanMax,
  nanMin,
  type GroupAdvantages,
  type LengthPenaltySpec,
  type RewardComponent,
  type RewardScaling,
  type RewardStdMode,
} from './grpo-rewards.ts';

export * from './grpo-rewards.ts';

/** TRL's `loss_type`: how per-token losses are averaged into one number. */
export type LossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';

/** Every loss type, in TRL's documentation order. */
export const LOSS_TYPES: readonly LossType[] = ['grpo', 'bnpo', 'dr_grpo', 'dapo'];

/** How dapo counts `num_items_in_batch`: active tokens after truncated rows are masked (TRL 1.9) or before (TRL <= 1.8). */
export type NumItemsMode = 'after-mask' | 'before-mask';

/** Shape of a batch of completions: N rows of maxLen token slots, lengths[i] active. */
export interface TokenLayout {
  numSequences: number;
  maxLen: number;
  lengths: ArrayLike<number>;
}

/** Inputs of {@link grpoLoss}: per-token arrays are [N·T], advantages [N], truncated [N] (1 = no EOS). */
export interface GrpoLossInput extends TokenLayout {
  logp: Float64Array;
  /** The "old" policy's log-probs; absent = the current policy (ratio 1). */
  oldLogp?: Float64Array | null;
  /** The reference policy's log-probs; absent = no KL (the `kl` metric also needs beta ≠ 0). */
  refLogp?: Float64Array | null;
  /** Per-token entropies of the policy; absent = no `entropy` metric. */
  entropies?: Float64Array | null;
  advantages: ArrayLike<number>;
  truncated?: ArrayLike<number> | null;
}

/** TRL GRPOConfig fields that the loss reads. */
export interface GrpoLossOptions {
  lossType: LossType;
  epsilonLow: number;
  epsilonHigh: number;
  beta: number;
  /** dr_grpo's fixed normaliser per sequence; default maxLen. */
  maxCompletionLength?: number | null;
  /** dapo's normaliser, given explicitly (this batch is a slice of a larger generation batch); clamped to ≥ 1. */
  numItemsInBatch?: number | null;
  /** Without numItemsInBatch: count the loss mask after truncated rows are masked (default) or Σ lengths before. */
  numItemsMode?: NumItemsMode;
  /** Upper bound on the unclipped ratio (two-sided clipping, INTELLECT-2); null = off. */
  delta?: number | null;
  /** 'token' (GRPO) or 'sequence' (GSPO: one ratio per sequence from the mean log-ratio). */
  importanceSamplingLevel?: 'token' | 'sequence';
  /** Drop truncated completions (no EOS) from the loss, as TRL's mask_truncated_completions. */
  maskTruncatedCompletions?: boolean;
}

/** Result of {@link grpoLoss}. */
export interface GrpoLossResult {
  /** The loss under options.lossType. */
  loss: number;
  /** The loss under every loss type. */
  losses: Record<LossType, number>;
  /** kl (β ≠ 0 only), entropy, clip_ratio/low_mean|high_mean|region_mean|low_min|high_max (TRL names). */
  metrics: Record<string, number>;
  /** dapo's normaliser before the clamp to ≥ 1 (the explicit value, or the count under numItemsMode). */
  numItemsInBatch: number;
  /** [N·T] importance ratio before delta (per sequence, repeated, under 'sequence'); 0 on masked tokens. */
  ratio: Float64Array;
  /** [N·T] −min(ρA, clip(ρ)A) + βKL; 0 on masked tokens. */
  perTokenLoss: Float64Array;
  /** [N·T] k3 KL to the reference; 0 on masked tokens; null without refLogp (kept whatever β is). */
  perTokenKl: Float64Array | null;
  /** [N] Σ_t logp over active tokens (sequence log-probability, nats). */
  sequenceLogp: Float64Array;
  /** [N] mean k3 KL over a sequence's active tokens; null without refLogp. */
  sequenceKl: Float64Array | null;
  /** [N·T] the completion mask used (1 active, 0 padding or masked truncated row). */
  mask: Uint8Array;
}

function checkLength(name: string, a: ArrayLike<number> | null | undefined, n: number): void {
  if (a && a.length !== n) throw new RangeError(`${name} has ${a.length} entries, expected ${n}`);
}

/** Returns the [N·T] completion mask: 1 for t < lengths[i], all-0 rows for truncated ones when maskTruncated. */
export function completionMask(layout: TokenLayout, truncated?: ArrayLike<number> | null, maskTruncated = false): Uint8Array {
  const { numSequences: n, maxLen: t, lengths } = layout;
  checkLength('lengths', lengths, n);
  const mask = new Uint8Array(n * t);
  for (let i = 0; i < n; i++) {
    if (lengths[i] < 0 || lengths[i] > t) throw new RangeError(`length ${lengths[i]} outside [0, ${t}]`);
    if (maskTruncated && truncated && truncated[i]) continue;
    mask.fill(1, i * t, i * t + lengths[i]);
  }
  return mask;
}

/** Returns the [N·T] k3 estimate of KL(π_θ‖π_ref) per token: e^(ref−logp) − (ref−logp) − 1; 0 where mask is 0. */
export function k3Kl(logp: Float64Array, refLogp: Float64Array, mask?: Uint8Array | null): Float64Array {
  checkLength('refLogp', refLogp, logp.length);
  const out = new Float64Array(logp.length);
  for (let j = 0; j < logp.length; j++) {
    if (mask && !mask[j]) continue;
    const d = refLogp[j] - logp[j];
    out[j] = Math.exp(d) - d - 1;
  }
  return out;
}

/** Returns the [N·T] importance ratio exp(logp − oldLogp) per token; 0 where mask is 0. */
export function importanceRatio(logp: Float64Array, oldLogp: Float64Array, mask?: Uint8Array | null): Float64Array {
  checkLength('oldLogp', oldLogp, logp.length);
  const out = new Float64Array(logp.length);
  for (let j = 0; j < logp.length; j++) if (!mask || mask[j]) out[j] = Math.exp(logp[j] - oldLogp[j]);
  return out;
}

/** Returns one token's loss −min(ρ·A, clip(ρ, 1−ε_low, 1+ε_high)·A) + β·KL (ρ capped at delta first if given). */
export function tokenLoss(
  ratio: number,
  advantage: number,
  kl: number,
  o: Pick<GrpoLossOptions, 'epsilonLow' | 'epsilonHigh' | 'beta' | 'delta'>,
): number {
  const clipped = Math.min(Math.max(ratio, 1 - o.epsilonLow), 1 + o.epsilonHigh);
  const coef = o.delta == null ? ratio : Math.min(ratio, o.delta);
  const surrogate = -Math.min(coef * advantage, clipped * advantage);
  return o.beta !== 0 ? surrogate + o.beta * kl : surrogate;
}

/** Returns every loss type's value, TRL's loss-side metrics and the per-token/per-sequence tensors. */
export function grpoLoss(input: GrpoLossInput, options: GrpoLossOptions): GrpoLossResult {
  const { numSequences: n, maxLen: t, logp, advantages } = input;
  const size = n * t;
  checkLength('logp', logp, size);
  checkLength('oldLogp', input.oldLogp, size);
  checkLength('entropies', input.entropies, size);
  checkLength('advantages', advantages, n);
  checkLength('truncated', input.truncated, n);
  if (!LOSS_TYPES.includes(options.lossType)) throw new RangeError(`unknown loss type ${String(options.lossType)}`);
  const level = options.importanceSamplingLevel ?? 'token';
  const mask = completionMask(input, input.truncated, options.maskTruncatedCompletions ?? false);
  const old = input.oldLogp ?? logp;
  const kl = input.refLogp ? k3Kl(logp, input.refLogp, mask) : null;

  // log importance weight per token, or one per sequence (mean masked log-ratio) under GSPO
  const seqLogW = new Float64Array(n);
  const rowTokens = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * t; j < (i + 1) * t; j++) {
      if (!mask[j]) continue;
      rowTokens[i]++;
      s += logp[j] - old[j];
    }
    seqLogW[i] = s / Math.max(rowTokens[i], 1);
  }

  const ratio = new Float64Array(size);
  const perTokenLoss = new Float64Array(size);
  const sequenceLogp = new Float64Array(n);
  const sequenceKl = kl ? new Float64Array(n) : null;
  const rowLoss = new Float64Array(n);
  // per-sequence clipped fractions (TRL's masked_seq_mean): NaN for a row with no active token
  const rowLow = new Float64Array(n);
  const rowHigh = new Float64Array(n);
  let total = 0;
  let low = 0;
  let high = 0;
  let region = 0;
  const lowEdge = 1 - options.epsilonLow;
  const highEdge = 1 + options.epsilonHigh;
  const isClipped = (rho: number, a: number): [boolean, boolean] => {
    const coef = options.delta == null ? rho : Math.min(rho, options.delta);
    return [coef < lowEdge && a < 0, coef > highEdge && a > 0];
  };
  for (let i = 0; i < n; i++) {
    const a = advantages[i];
    let lows = 0;
    let highs = 0;
    for (let j = i * t; j < (i + 1) * t; j++) {
      if (!mask[j]) continue;
      const rho = level === 'sequence' ? Math.exp(seqLogW[i]) : Math.exp(logp[j] - old[j]);
      ratio[j] = rho;
      perTokenLoss[j] = tokenLoss(rho, a, kl ? kl[j] : 0, options);
      rowLoss[i] += perTokenLoss[j];
      sequenceLogp[i] += logp[j];
      if (sequenceKl && kl) sequenceKl[i] += kl[j];
      if (level === 'token') {
        const [lo, hi] = isClipped(rho, a);
        if (lo) lows++;
        if (hi) highs++;
        if (lo || hi) region++;
      }
    }
    total += rowLoss[i];
    if (sequenceKl) sequenceKl[i] /= Math.max(rowTokens[i], 1);
    if (level === 'sequence') {
      // one value per sequence, every row (TRL: x.squeeze(1)), whatever its mask
      const [lo, hi] = isClipped(Math.exp(seqLogW[i]), a);
      lows = lo ? 1 : 0;
      highs = hi ? 1 : 0;
      if (lo || hi) region++;
      rowLow[i] = lows;
      rowHigh[i] = highs;
    } else {
      rowLow[i] = rowTokens[i] > 0 ? lows / rowTokens[i] : NaN;
      rowHigh[i] = rowTokens[i] > 0 ? highs / rowTokens[i] : NaN;
    }
    low += lows;
    high += highs;
  }

  let activeTokens = 0;
  for (let i = 0; i < n; i++) activeTokens += rowTokens[i];
  const items = numItemsInBatch(input.lengths, rowTokens, options);
  const aggregate = (lossType: LossType): number => {
    const norm = lossNormaliser(lossType, rowTokens, t, items, options.maxCompletionLength);
    if (!norm.row) return total / norm.batch;
    let s = 0;
    for (let i = 0; i < n; i++) s += rowLoss[i] / norm.row[i];
    return s / norm.batch;
  };
  const losses = Object.fromEntries(LOSS_TYPES.map((lt) => [lt, aggregate(lt)])) as Record<LossType, number>;

  // TRL's masked_batch_mean: over active tokens, or over sequences for sequence-level tensors
  const clipDenom = level === 'sequence' ? n : Math.max(activeTokens, 1);
  const metrics: Record<string, number> = {};
  // TRL computes reference log-probs, hence logs `kl`, only when beta != 0 (line 3223)
  if (kl && options.beta !== 0) metrics.kl = maskedMean(kl, mask);
  if (input.entropies) metrics.entropy = maskedMean(input.entropies, mask);
  metrics['clip_ratio/low_mean'] = low / clipDenom;
  metrics['clip_ratio/high_mean'] = high / clipDenom;
  metrics['clip_ratio/region_mean'] = region / clipDenom;
  metrics['clip_ratio/low_min'] = nanMin(rowLow);
  metrics['clip_ratio/high_max'] = nanMax(rowHigh);

  return {
    loss: losses[options.lossType],
    losses,
    metrics,
    numItemsInBatch: items,
    ratio,
    perTokenLoss,
    perTokenKl: kl,
    sequenceLogp,
    sequenceKl,
    mask,
  };
}

/** dapo's `num_items_in_batch` before the clamp: the explicit value, else the active tokens per row summed (TRL 1.9,
 * line 2427: the loss mask after truncated rows are masked) or, under 'before-mask', Σ lengths (TRL <= 1.8). */
export function numItemsInBatch(
  lengths: ArrayLike<number>,
  rowTokens: ArrayLike<number>,
  o: Pick<GrpoLossOptions, 'numItemsInBatch' | 'numItemsMode'>,
): number {
  const mode = o.numItemsMode ?? 'after-mask';
  if (mode !== 'after-mask' && mode !== 'before-mask') throw new RangeError(`unknown numItemsMode ${String(mode)}`);
  if (o.numItemsInBatch != null) return o.numItemsInBatch;
  let items = 0;
  for (let i = 0; i < rowTokens.length; i++) items += mode === 'after-mask' ? rowTokens[i] : lengths[i];
  return items;
}

/** TRL's normaliser of a loss type: loss = (Σ_i rowLoss_i / row[i]) / batch, where rowLoss_i sums row i's masked per-token
 * losses; `row` null = 1 for every row. */
export interface LossNormaliser {
  row: Float64Array | null;
  batch: number;
}

/** Returns the normaliser of `lossType` for rows with `rowTokens` active tokens each, maxLen slots, dapo's `items`. */
export function lossNormaliser(
  lossType: LossType,
  rowTokens: ArrayLike<number>,
  maxLen: number,
  items: number,
  maxCompletionLength?: number | null,
): LossNormaliser {
  const n = rowTokens.length;
  let active = 0;
  for (let i = 0; i < n; i++) active += rowTokens[i];
  switch (lossType) {
    case 'grpo': // mean over sequences of each sequence's token mean
      return { row: Float64Array.from(rowTokens, (c) => Math.max(c, 1)), batch: n };
    case 'bnpo': // mean over the batch's active tokens
      return { row: null, batch: Math.max(active, 1) };
    case 'dr_grpo': // a fixed number of slots per sequence
      return { row: null, batch: n * (maxCompletionLength ?? maxLen) };
    case 'dapo': // num_items_in_batch, clamped to >= 1
      return { row: null, batch: Math.max(items, 1) };
    default:
      throw new RangeError(`unknown loss type ${String(lossType)}`);
  }
}

/** The loss of a batch as a weighted sum: loss = Σ_j perTokenLoss[j]·weights[j] under options.lossType (weights are 0 off the
 * mask). What a differentiable implementation multiplies its per-token losses with; [N·T] each. */
export function lossTokenWeights(
  layout: TokenLayout,
  truncated: ArrayLike<number> | null | undefined,
  options: Pick<GrpoLossOptions, 'lossType' | 'maxCompletionLength' | 'numItemsInBatch' | 'numItemsMode' | 'maskTruncatedCompletions'>,
): { mask: Uint8Array; weights: Float64Array } {
  const { numSequences: n, maxLen: t } = layout;
  checkLength('truncated', truncated, n);
  const mask = completionMask(layout, truncated, options.maskTruncatedCompletions ?? false);
  const rowTokens = new Float64Array(n);
  for (let j = 0; j < mask.length; j++) rowTokens[Math.floor(j / t)] += mask[j];
  const items = numItemsInBatch(layout.lengths, rowTokens, options);
  const norm = lossNormaliser(options.lossType, rowTokens, t, items, options.maxCompletionLength);
  const weights = new Float64Array(n * t);
  for (let j = 0; j < mask.length; j++) {
    if (mask[j]) weights[j] = 1 / ((norm.row ? norm.row[Math.floor(j / t)] : 1) * norm.batch);
  }
  return { mask, weights };
}

/** Returns Σ(x·mask) / max(Σmask, 1): TRL's masked batch mean over active tokens. */
export function maskedMean(x: ArrayLike<number>, mask: Uint8Array): number {
  let s = 0;
  let c = 0;
  for (let j = 0; j < mask.length; j++) {
    if (!mask[j]) continue;
    s += x[j];
    c++;
  }
  return s / Math.max(c, 1);
}

/** Inputs of {@link grpoReport}: B groups of G rollouts, group after group. */
export interface GrpoReportInput extends Omit<GrpoLossInput, 'advantages'> {
  groupSize: number;
  scaleRewards: RewardScaling;
  /** What `reward_std` logs; default 'all' (TRL >= 0.27). */
  rewardStd?: RewardStdMode;
  components: readonly RewardComponent[];
  lengthPenalty?: LengthPenaltySpec | null;
  options: GrpoLossOptions;
}

/** Result of {@link grpoReport}. */
export interface GrpoReport {
  /** [N] total reward per rollout; NaN for an unscorable one (every component NaN). */
  rewards: Float64Array;
  advantages: GroupAdvantages;
  loss: GrpoLossResult;
  /**
   * One logging step under TRL's names (completions/*, rewards/*, reward, reward_std, frac_reward_zero_std, kl, entropy, clip_ratio/*,
   * loss).
   */
  metrics: Record<string, number>;
}

/** Returns everything one GRPO step computes and logs for a batch of scored rollouts. */
export function grpoReport(input: GrpoReportInput): GrpoReport {
  const combined = combineRewards(input.components, input.lengths, input.lengthPenalty);
  const adv = groupAdvantages(combined.rewards, input.groupSize, input.scaleRewards, input.rewardStd ?? 'all');
  const loss = grpoLoss({ ...input, advantages: adv.advantages }, input.options);
  const metrics: Record<string, number> = {
    ...completionMetrics(input.lengths, input.truncated),
    ...combined.metrics,
    reward: adv.reward,
    reward_std: adv.rewardStd,
    frac_reward_zero_std: adv.fracZeroStd,
    ...loss.metrics,
    loss: loss.loss,
  };
  return { rewards: combined.rewards, advantages: adv, loss, metrics };
}
