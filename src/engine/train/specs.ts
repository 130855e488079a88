/**
 * The text forms of a reward mix and a length penalty, as `uae rollouts`, `uae train` and the Training tab's live
 * form take them: one parser each, throwing a RangeError that says what the spec must look like.
 */
import type { LengthPenaltySpec } from '../grpo.ts';
import { REWARD_NAMES, type RewardName, type RewardWeights } from '../rollouts/index.ts';

/** Returns the weights of `NAME` or `NAME=W,NAME=W` (a weighted mix of REWARD_NAMES); throws RangeError. */
export function rewardWeightsOf(spec: string): RewardWeights {
  const out: RewardWeights = {};
  for (const part of spec.split(',')) {
    const [name, w = '1', extra] = part.split('=').map((s) => s.trim());
    if (!(REWARD_NAMES as readonly string[]).includes(name) || extra !== undefined || !Number.isFinite(Number(w)) || w === '')
      throw new RangeError(`takes NAME or NAME=W,NAME=W with NAME in ${REWARD_NAMES.join(', ')}, got '${spec}'`);
    out[name as RewardName] = Number(w);
  }
  return out;
}

/** Returns the text form of reward weights (`sim` for {sim: 1}, else `sim=1,psnr=0.02`). */
export function rewardSpecOf(w: RewardWeights): string {
  const entries = Object.entries(w);
  if (entries.length === 1 && entries[0][1] === 1) return entries[0][0];
  return entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** Returns the penalty of `none | overlong:MAX:CACHE[:W] | linear:COEF[:W]`; throws RangeError. */
export function lengthPenaltyOf(spec: string): LengthPenaltySpec | null {
  const [kind, ...args] = spec.trim().split(':');
  const nums = args.map(Number);
  const ok = nums.every((n, i) => args[i] !== '' && Number.isFinite(n));
  if (kind === 'none' && args.length === 0) return null;
  if (kind === 'overlong' && ok && (nums.length === 2 || nums.length === 3) && nums[1] > 0 && nums[0] >= nums[1])
    return { kind: 'overlong', maxCompletionLength: nums[0], softPunishCache: nums[1], ...(nums.length === 3 ? { weight: nums[2] } : {}) };
  if (kind === 'linear' && ok && (nums.length === 1 || nums.length === 2))
    return { kind: 'linear', coef: nums[0], ...(nums.length === 2 ? { weight: nums[1] } : {}) };
  throw new RangeError(`takes none, overlong:MAX:CACHE[:WEIGHT] (MAX ≥ CACHE > 0) or linear:COEF[:WEIGHT], got '${spec}'`);
}

/** Returns the text form of a length penalty (`none` for null). */
export function lengthPenaltySpecOf(p: LengthPenaltySpec | null): string {
  if (!p) return 'none';
  const w = p.weight !== undefined ? `:${p.weight}` : '';
  return p.kind === 'overlong' ? `overlong:${p.maxCompletionLength}:${p.softPunishCache}${w}` : `linear:${p.coef}${w}`;
}
