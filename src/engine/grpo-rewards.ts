// Rewards, group-relative advantages and completion-length metrics, as TRL's GRPOTrainer
// (`_generate_and_score_completions`, v0.22–v0.23) defines them. Definitions and sources: docs/grpo.md.
// Float64 throughout; TRL itself computes rewards in float32.

/** How advantages are scaled: TRL's `scale_rewards`. */
export type RewardScaling = 'group' | 'batch' | 'none';

/** The scalings in TRL's order. */
export const REWARD_SCALINGS: readonly RewardScaling[] = ['group', 'batch', 'none'];

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

/** Result of {@link groupAdvantages}. */
export interface GroupAdvantages {
  /** [N] advantage per rollout. */
  advantages: Float64Array;
  /** [N / G] mean reward of each group. */
  groupMean: Float64Array;
  /** [N / G] unbiased (N−1) std of each group; 0 when G = 1. */
  groupStd: Float64Array;
  /** [N] the std each advantage was scaled by (group std, or the batch std under 'batch'). */
  stdUsed: Float64Array;
  /** Unbiased std of all N rewards; 0 when N = 1. */
  batchStd: number;
  /** TRL `reward`: mean reward. */
  reward: number;
  /** TRL `reward_std`: mean of stdUsed. */
  rewardStd: number;
  /** TRL `frac_reward_zero_std`: fraction of rollouts whose stdUsed is (close to) 0. */
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
  /** [N] weighted sum of the components (NaN entries skipped, as torch.nansum). */
  rewards: Float64Array;
  /** `rewards/<name>/mean` and `rewards/<name>/std` of each unweighted component. */
  metrics: Record<string, number>;
  /** The components used, the length penalty (if any) appended. */
  components: RewardComponent[];
}

/** Returns the [N] total reward Σ_k w_k·r_k and TRL's per-component metrics. */
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
  const metrics: Record<string, number> = {};
  for (const c of comps) {
    if (c.values.length !== n) throw new RangeError(`reward component ${c.name} has ${c.values.length} values, expected ${n}`);
    for (let i = 0; i < n; i++) {
      const w = c.values[i] * c.weight;
      if (!Number.isNaN(w)) rewards[i] += w;
    }
    metrics[`rewards/${c.name}/mean`] = nanMean(c.values);
    metrics[`rewards/${c.name}/std`] = nanStd(c.values);
  }
  return { rewards, metrics, components: comps };
}

/** Returns TRL's group-relative advantages for N = B·G rewards laid out group after group. */
export function groupAdvantages(
  rewards: ArrayLike<number>,
  groupSize: number,
  scale: RewardScaling,
): GroupAdvantages {
  const n = rewards.length;
  if (!Number.isInteger(groupSize) || groupSize < 1 || n % groupSize !== 0) {
    throw new RangeError(`${n} rewards do not split into groups of ${groupSize}`);
  }
  if (!REWARD_SCALINGS.includes(scale)) throw new RangeError(`unknown reward scaling ${String(scale)}`);
  const numGroups = n / groupSize;
  const groupMean = new Float64Array(numGroups);
  const groupStd = new Float64Array(numGroups);
  for (let g = 0; g < numGroups; g++) {
    const chunk = Array.prototype.slice.call(rewards, g * groupSize, (g + 1) * groupSize) as number[];
    groupMean[g] = mean(chunk);
    groupStd[g] = unbiasedStd(chunk);
  }
  const batchStd = unbiasedStd(rewards);
  const advantages = new Float64Array(n);
  const stdUsed = new Float64Array(n);
  let zero = 0;
  for (let i = 0; i < n; i++) {
    const g = Math.floor(i / groupSize);
    stdUsed[i] = scale === 'batch' ? batchStd : groupStd[g];
    const centred = rewards[i] - groupMean[g];
    advantages[i] = scale === 'none' ? centred : centred / (stdUsed[i] + ADVANTAGE_EPS);
    if (Math.abs(stdUsed[i]) <= ZERO_STD_ATOL) zero++;
  }
  return {
    advantages,
    groupMean,
    groupStd,
    stdUsed,
    batchStd,
    reward: mean(groupMean),
    rewardStd: mean(stdUsed),
    fracZeroStd: zero / n,
  };
}

/** Returns TRL's `completions/*` metrics from [N] lengths (tokens, EOS included) and [N] truncated flags (1 = no EOS). */
export function completionMetrics(
  lengths: ArrayLike<number>,
  truncated?: ArrayLike<number> | null,
): Record<string, number> {
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
