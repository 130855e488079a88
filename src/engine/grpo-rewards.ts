// Rewards, group-relative advantages and completion-length metrics. Follows TRL v1.9.0's GRPOTrainer
// (tag 35def3ee, trl/trainer/grpo_trainer.py `_generate_and_score_completions`, lines 2660-2750 with
// multi_objective_aggregation "sum_then_normalize", and lines 2231-2246) and trl/trainer/utils.py `nanstd`.
// Unscorable rows (every component NaN) are left out of the baselines and get advantage 0; `reward_std`
// is the nanstd of all rewards (TRL >= 0.27), or with rewardStd 'group-mean' the mean of the per-row std
// that TRL 0.22-0.26 logged. Definitions and sources: docs/grpo.md. Float64 throughout; TRL itself
// computes rewards in float32.

/** How advantages are scaled: TRL's `scale_rewards`. */
export type RewardScaling = 'group' | 'batch' | 'none';

/** The scalings in TRL's order. */
export const REWARD_SCALINGS: readonly RewardScaling[] = ['group', 'batch', 'none'];

/** What `reward_std` logs: 'all' = nanstd of every reward (TRL >= 0.27); 'group-mean' = mean of the per-row std (TRL 0.22-0.26). */
export type RewardStdMode = 'all' | 'group-mean';

/** Both reward_std modes, the default first. */
export const REWARD_STD_MODES: readonly RewardStdMode[] = ['all', 'group-mean'];

/** TRL divides centred rewards by `std + ADVANTAGE_EPS`. */
export const ADVANTAGE_EPS = 1e-4;

/** `torch.isclose(std, 0)` with default tolerances reduces to `|std| <= 1e-8`. */
export const ZERO_STD_ATOL = 1e-8;

/** One named reward function's values for every rollout; NaN = not applicable to that rollout. */
export interface RewardComponent {
  name: string;
  weight: number;
  values: ArrayLike<number>;
}

/** A length penalty, added as the reward component `length_penalty`. */
export type LengthPenaltySpec =
  | { kind: 'overlong'; maxCompletionLength: number; softPunishCache: number; weight?: number }
  | { kind: 'linear'; coef: number; weight?: number };

/** Result of {@link groupAdvantages}. NaN rewards are unscorable rows: skipped by every statistic. */
export interface GroupAdvantages {
  /** [N] advantage per rollout; 0 for an unscorable row and wherever the std used is NaN (TRL's nan_to_num). */
  advantages: Float64Array;
  /** [N / G] nanmean reward of each group (NaN when the whole group is unscorable). */
  groupMean: Float64Array;
  /** [N / G] nanstd of each group (Bessel; NaN with fewer than two scorable rows); 0 when G = 1. */
  groupStd: Float64Array;
  /** [N] the std each advantage was scaled by (group std, or the batch std under 'batch'). */
  stdUsed: Float64Array;
  /** nanstd of all N rewards; 0 when N = 1. */
  batchStd: number;
  /** TRL `reward`: nanmean of the rewards. */
  reward: number;
  /** TRL `reward_std`: nanstd of the rewards ('all'), or nanmean of stdUsed ('group-mean'). */
  rewardStd: number;
  /** TRL `frac_reward_zero_std`: fraction of rollouts whose stdUsed is (close to) 0; a NaN std is not. */
  fracZeroStd: number;
}

/** Returns the mean of xs (NaN for an empty array). */
export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Returns torch's default (Bessel-corrected, N−1) std of xs, or 0 for fewer than two values (TRL's guard). */
export function unbiasedStd(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return 0;
  const m = mean(xs);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - m) * (xs[i] - m);
  return Math.sqrt(ss / (n - 1));
}

function finite(xs: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) out.push(xs[i]);
  return out;
}

/** Returns the mean of the non-NaN values of xs (NaN when there are none): torch.nanmean. */
export function nanMean(xs: ArrayLike<number>): number {
  const v = finite(xs);
  return v.length === 0 ? NaN : mean(v);
}

/** Returns TRL's `nanstd` of xs: Bessel-corrected std over the non-NaN values (NaN for fewer than two). */
export function nanStd(xs: ArrayLike<number>): number {
  const v = finite(xs);
  if (v.length < 2) return NaN;
  return unbiasedStd(v);
}

/** Returns the smallest non-NaN value of xs (NaN when there is none): TRL's `nanmin`. */
export function nanMin(xs: ArrayLike<number>): number {
  const v = finite(xs);
  return v.length === 0 ? NaN : Math.min(...v);
}

/** Returns the largest non-NaN value of xs (NaN when there is none): TRL's `nanmax`. */
export function nanMax(xs: ArrayLike<number>): number {
  const v = finite(xs);
  return v.length === 0 ? NaN : Math.max(...v);
}

/** Returns [N] length penalties: DAPO's soft overlong punishment (TRL) or −coef·length. */
export function lengthPenalty(lengths: ArrayLike<number>, spec: LengthPenaltySpec): Float64Array {
  const out = new Float64Array(lengths.length);
  for (let i = 0; i < lengths.length; i++) {
    const n = lengths[i];
    if (spec.kind === 'linear') {
      out[i] = -spec.coef * n;
      continue;
    }
    const free = spec.maxCompletionLength - spec.softPunishCache;
    if (n <= free) out[i] = 0;
    else if (n <= spec.maxCompletionLength) out[i] = (free - n) / spec.softPunishCache;
    else out[i] = -1;
  }
  return out;
}

/** Result of {@link combineRewards}. */
export interface CombinedRewards {
  /** [N] weighted sum of the components (NaN entries skipped, as torch.nansum); NaN for an unscorable row. */
  rewards: Float64Array;
  /** [N] 1 where every component is NaN (TRL's `unscorable_mask`), else 0. */
  unscorable: Uint8Array;
  /** `rewards/<name>/mean` and `rewards/<name>/std` of each unweighted component. */
  metrics: Record<string, number>;
  /** The components used, the length penalty (if any) appended. */
  components: RewardComponent[];
}

/** Returns the [N] total reward Σ_k w_k·r_k (NaN where every component is NaN) and TRL's per-component metrics. */
export function combineRewards(
  components: readonly RewardComponent[],
  lengths?: ArrayLike<number> | null,
  penalty?: LengthPenaltySpec | null,
): CombinedRewards {
  const comps = [...components];
  if (penalty) {
    if (!lengths) throw new RangeError('a length penalty needs the completion lengths');
    comps.push({ name: 'length_penalty', weight: penalty.weight ?? 1, values: lengthPenalty(lengths, penalty) });
  }
  if (comps.length === 0) throw new RangeError('at least one reward component is needed');
  const n = comps[0].values.length;
  const rewards = new Float64Array(n);
  const unscorable = new Uint8Array(n).fill(1);
  const metrics: Record<string, number> = {};
  for (const c of comps) {
    if (c.values.length !== n) throw new RangeError(`reward component ${c.name} has ${c.values.length} values, expected ${n}`);
    for (let i = 0; i < n; i++) {
      if (!Number.isNaN(c.values[i])) unscorable[i] = 0;
      const w = c.values[i] * c.weight;
      if (!Number.isNaN(w)) rewards[i] += w;
    }
    metrics[`rewards/${c.name}/mean`] = nanMean(c.values);
    metrics[`rewards/${c.name}/std`] = nanStd(c.values);
  }
  for (let i = 0; i < n; i++) if (unscorable[i]) rewards[i] = NaN;
  return { rewards, unscorable, metrics, components: comps };
}

/**
 * Returns TRL's group-relative advantages for N = B·G rewards laid out group after group (NaN = an
 * unscorable row: out of every mean/std, advantage 0), and `reward_std` under `rewardStd` (default 'all').
 */
export function groupAdvantages(
  rewards: ArrayLike<number>,
  groupSize: number,
  scale: RewardScaling,
  rewardStd: RewardStdMode = 'all',
): GroupAdvantages {
  const n = rewards.length;
  if (!Number.isInteger(groupSize) || groupSize < 1 || n % groupSize !== 0) {
    throw new RangeError(`${n} rewards do not split into groups of ${groupSize}`);
  }
  if (!REWARD_SCALINGS.includes(scale)) throw new RangeError(`unknown reward scaling ${String(scale)}`);
  if (!REWARD_STD_MODES.includes(rewardStd)) throw new RangeError(`unknown reward_std mode ${String(rewardStd)}`);
  const numGroups = n / groupSize;
  const groupMean = new Float64Array(numGroups);
  const groupStd = new Float64Array(numGroups);
  for (let g = 0; g < numGroups; g++) {
    const chunk = Array.prototype.slice.call(rewards, g * groupSize, (g + 1) * groupSize) as number[];
    groupMean[g] = nanMean(chunk);
    groupStd[g] = groupSize > 1 ? nanStd(chunk) : 0;
  }
  const batchStd = n > 1 ? nanStd(rewards) : 0;
  const advantages = new Float64Array(n);
  const stdUsed = new Float64Array(n);
  let zero = 0;
  for (let i = 0; i < n; i++) {
    const g = Math.floor(i / groupSize);
    stdUsed[i] = scale === 'batch' ? batchStd : groupStd[g];
    const centred = rewards[i] - groupMean[g];
    const a = scale === 'none' ? centred : centred / (stdUsed[i] + ADVANTAGE_EPS);
    advantages[i] = Number.isNaN(a) ? 0 : a;
    if (Math.abs(stdUsed[i]) <= ZERO_STD_ATOL) zero++;
  }
  return {
    advantages,
    groupMean,
    groupStd,
    stdUsed,
    batchStd,
    reward: nanMean(rewards),
    rewardStd: rewardStd === 'all' ? nanStd(rewards) : nanMean(stdUsed),
    fracZeroStd: zero / n,
  };
}

/**
 * Returns TRL's `completions/*` metrics from [N] completion lengths (len(completion_ids): EOS included for
 * a terminated row, the sampled tokens of a truncated one) and [N] truncated flags (1 = last token not EOS/PAD).
 */
export function completionMetrics(lengths: ArrayLike<number>, truncated?: ArrayLike<number> | null): Record<string, number> {
  const n = lengths.length;
  if (n === 0) throw new RangeError('no completions');
  const all = Array.from(lengths);
  const term = all.filter((_, i) => !(truncated && truncated[i]));
  const termOr0 = term.length === 0 ? [0] : term;
  return {
    'completions/mean_length': mean(all),
    'completions/min_length': Math.min(...all),
    'completions/max_length': Math.max(...all),
    'completions/clipped_ratio': (n - term.length) / n,
    'completions/mean_terminated_length': mean(termOr0),
    'completions/min_terminated_length': Math.min(...termOr0),
    'completions/max_terminated_length': Math.max(...termOr0),
  };
}
