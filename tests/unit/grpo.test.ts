// src/engine/grpo*.ts against numbers written by models/grpo_ref.py (independent numpy reference,
// itself checked against a torch transcription of TRL's lines by tests/models/test_grpo_ref.py).
import { describe, expect, it } from 'vitest';
import {
  LOSS_TYPES,
  completionMask,
  groupAdvantages,
  grpoLoss,
  grpoReport,
  importanceRatio,
  k3Kl,
  lengthPenalty,
  tokenLoss,
  type GrpoLossOptions,
  type GrpoReportInput,
  type LengthPenaltySpec,
  type LossType,
  type RewardScaling,
} from '../../src/engine/grpo.ts';
import { expectClose, fixture, numItemsMode, rewardStdMode, type Num } from './grpo-fixture.ts';

type Grid = Num[][];

const flat = (g: Grid): Float64Array => Float64Array.from(g.flat(), (v) => v ?? NaN);

interface ReportCase {
  name: string;
  input: {
    group_size: number;
    scale_rewards: RewardScaling;
    reward_std?: string;
    components: { name: string; weight: number; values: Num[] }[];
    length_penalty:
      | null
      | { kind: 'overlong'; max_completion_length: number; soft_punish_cache: number; weight: number }
      | { kind: 'linear'; coef: number; weight: number };
    lengths: number[];
    truncated: number[];
    logp: Grid;
    old_logp: Grid | null;
    ref_logp: Grid | null;
    entropies: Grid | null;
    options: {
      loss_type: LossType;
      epsilon_low: number;
      epsilon_high: number;
      beta: number;
      max_completion_length: number | null;
      num_items_in_batch: number | null;
      delta: number | null;
      importance_sampling_level: 'token' | 'sequence';
      mask_truncated_completions: boolean;
      num_items_mode?: string;
    };
  };
  expected: {
    rewards: Num[];
    advantages: Num[];
    group_mean: Num[];
    group_std: Num[];
    std_used: Num[];
    num_items_in_batch: number;
    losses: Record<LossType, number>;
    metrics: Record<string, Num>;
    ratio: Grid;
    per_token_loss: Grid;
    per_token_kl: Grid | null;
    sequence_logp: Num[];
    sequence_kl: Num[] | null;
  };
}

function penaltySpec(p: ReportCase['input']['length_penalty']): LengthPenaltySpec | null {
  if (!p) return null;
  if (p.kind === 'linear') return { kind: 'linear', coef: p.coef, weight: p.weight };
  return { kind: 'overlong', maxCompletionLength: p.max_completion_length, softPunishCache: p.soft_punish_cache, weight: p.weight };
}

function toOptions(o: ReportCase['input']['options']): GrpoLossOptions {
  return {
    lossType: o.loss_type,
    epsilonLow: o.epsilon_low,
    epsilonHigh: o.epsilon_high,
    beta: o.beta,
    maxCompletionLength: o.max_completion_length,
    numItemsInBatch: o.num_items_in_batch,
    delta: o.delta,
    importanceSamplingLevel: o.importance_sampling_level,
    maskTruncatedCompletions: o.mask_truncated_completions,
    numItemsMode: numItemsMode(o.num_items_mode),
  };
}

function toReportInput(c: ReportCase): GrpoReportInput {
  const i = c.input;
  return {
    numSequences: i.logp.length,
    maxLen: i.logp[0].length,
    lengths: Int32Array.from(i.lengths),
    truncated: Uint8Array.from(i.truncated),
    logp: flat(i.logp),
    oldLogp: i.old_logp ? flat(i.old_logp) : null,
    refLogp: i.ref_logp ? flat(i.ref_logp) : null,
    entropies: i.entropies ? flat(i.entropies) : null,
    groupSize: i.group_size,
    scaleRewards: i.scale_rewards,
    rewardStd: rewardStdMode(i.reward_std),
    components: i.components.map((k) => ({ name: k.name, weight: k.weight, values: Float64Array.from(k.values, (v) => v ?? NaN) })),
    lengthPenalty: penaltySpec(i.length_penalty),
    options: toOptions(i.options),
  };
}

const reportCases = fixture<{ cases: ReportCase[] }>('report.json').cases;

describe('grpoReport against grpo_ref.py fixtures', () => {
  it('covers every loss type, scaling and the edge cases', () => {
    expect(new Set(reportCases.map((c) => c.input.options.loss_type))).toEqual(new Set(LOSS_TYPES));
    expect(new Set(reportCases.map((c) => c.input.scale_rewards))).toEqual(new Set(['group', 'batch', 'none']));
    expect(reportCases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(reportCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = grpoReport(toReportInput(c));
    const e = c.expected;
    expectClose(r.rewards, e.rewards, 'rewards');
    expectClose(r.advantages.advantages, e.advantages, 'advantages');
    expectClose(r.advantages.groupMean, e.group_mean, 'group_mean');
    expectClose(r.advantages.groupStd, e.group_std, 'group_std');
    expectClose(r.advantages.stdUsed, e.std_used, 'std_used');
    expectClose(r.loss.numItemsInBatch, e.num_items_in_batch, 'num_items_in_batch');
    for (const lt of LOSS_TYPES) expectClose(r.loss.losses[lt], e.losses[lt], `loss ${lt}`);
    expect(Object.keys(r.metrics).sort()).toEqual(Object.keys(e.metrics).sort());
    for (const [k, v] of Object.entries(e.metrics)) expectClose(r.metrics[k], v, k);
    expectClose(r.loss.ratio, e.ratio.flat(), 'ratio');
    expectClose(r.loss.perTokenLoss, e.per_token_loss.flat(), 'per_token_loss');
    expect(r.loss.perTokenKl === null).toBe(e.per_token_kl === null);
    if (r.loss.perTokenKl && e.per_token_kl) expectClose(r.loss.perTokenKl, e.per_token_kl.flat(), 'per_token_kl');
    expectClose(r.loss.sequenceLogp, e.sequence_logp, 'sequence_logp');
    if (r.loss.sequenceKl && e.sequence_kl) expectClose(r.loss.sequenceKl, e.sequence_kl, 'sequence_kl');
  });
});

describe('clip edges', () => {
  it('builds ratios exactly on 1−ε_low and 1+ε_high under V8 too', () => {
    const c = reportCases.find((k) => k.name.startsWith('clip_edges'));
    expect(c).toBeDefined();
    if (!c) return;
    const r = grpoReport(toReportInput(c));
    expect(r.loss.ratio[0]).toBe(1 - 0.2);
    expect(r.loss.ratio[1]).toBe(1 + 0.28);
    // A>0 rows 0 (10 tokens) and 2 (7): 3 tokens strictly above; A<0 rows 1 and 3: 4 strictly below
    expect(r.metrics['clip_ratio/high_mean']).toBeCloseTo(3 / 37, 12);
    expect(r.metrics['clip_ratio/low_mean']).toBeCloseTo(4 / 37, 12);
  });
});

interface AdvCase {
  name: string;
  rewards: Num[];
  group_size: number;
  scale_rewards: RewardScaling;
  reward_std?: string;
  expected: {
    advantages: Num[];
    group_mean: Num[];
    group_std: Num[];
    std_used: Num[];
    reward: Num;
    reward_std: Num;
    frac_reward_zero_std: number;
  };
}

describe('groupAdvantages against grpo_ref.py fixtures', () => {
  const cases = fixture<{ cases: AdvCase[] }>('advantages.json').cases;
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = groupAdvantages(
      Float64Array.from(c.rewards, (v) => v ?? NaN),
      c.group_size,
      c.scale_rewards,
      rewardStdMode(c.reward_std),
    );
    expectClose(r.advantages, c.expected.advantages, 'advantages');
    expectClose(r.groupMean, c.expected.group_mean, 'group_mean');
    expectClose(r.groupStd, c.expected.group_std, 'group_std');
    expectClose(r.stdUsed, c.expected.std_used, 'std_used');
    expectClose(r.reward, c.expected.reward, 'reward');
    expectClose(r.rewardStd, c.expected.reward_std, 'reward_std');
    expectClose(r.fracZeroStd, c.expected.frac_reward_zero_std, 'frac_reward_zero_std');
  });
});

describe('GRPO building blocks', () => {
  it('k3 KL is 0 when policy equals reference and positive otherwise', () => {
    const logp = Float64Array.of(-1, -2, -0.5);
    expect(Array.from(k3Kl(logp, logp))).toEqual([0, 0, 0]);
    const kl = k3Kl(logp, Float64Array.of(-1.5, -1, -0.5));
    expect(kl[0]).toBeCloseTo(Math.exp(-0.5) + 0.5 - 1, 12);
    expect(kl[1]).toBeCloseTo(Math.exp(1) - 1 - 1, 12);
    expect(kl[2]).toBe(0);
  });

  it('masks padded tokens out of ratios and KL', () => {
    const mask = completionMask({ numSequences: 2, maxLen: 3, lengths: [2, 3] });
    expect(Array.from(mask)).toEqual([1, 1, 0, 1, 1, 1]);
    const r = importanceRatio(Float64Array.of(0, 0, 9, 0, 0, 0), Float64Array.of(0, 0, 0, 0, 0, 0), mask);
    expect(Array.from(r)).toEqual([1, 1, 0, 1, 1, 1]);
    const truncatedMasked = completionMask({ numSequences: 2, maxLen: 3, lengths: [2, 3] }, [0, 1], true);
    expect(Array.from(truncatedMasked)).toEqual([1, 1, 0, 0, 0, 0]);
  });

  it('clips the surrogate pessimistically on each side', () => {
    const o = { epsilonLow: 0.2, epsilonHigh: 0.28, beta: 0 };
    expect(tokenLoss(1.5, 1, 0, o)).toBeCloseTo(-1.28, 12); // A>0: gain capped at 1+ε_high
    expect(tokenLoss(0.5, 1, 0, o)).toBeCloseTo(-0.5, 12); // A>0, ratio low: unclipped (pessimistic)
    expect(tokenLoss(0.5, -1, 0, o)).toBeCloseTo(0.8, 12); // A<0: capped at 1−ε_low
    expect(tokenLoss(1.5, -1, 0, o)).toBeCloseTo(1.5, 12); // A<0, ratio high: unclipped
    expect(tokenLoss(1, 0.3, 0.5, { ...o, beta: 0.1 })).toBeCloseTo(-0.3 + 0.05, 12);
  });

  it('uses ratio 1 when no old policy is given', () => {
    const r = grpoLoss(
      { numSequences: 2, maxLen: 2, lengths: [2, 1], logp: Float64Array.of(-1, -2, -3, 7), advantages: [1, -1] },
      { lossType: 'grpo', epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0 },
    );
    expect(Array.from(r.ratio)).toEqual([1, 1, 1, 0]);
    expect(r.losses.grpo).toBeCloseTo(0, 12); // mean over sequences of (−1, +1)
    expect(r.losses.bnpo).toBeCloseTo(-1 / 3, 12);
    expect(r.losses.dr_grpo).toBeCloseTo(-1 / 4, 12);
    expect(r.metrics['clip_ratio/region_mean']).toBe(0);
  });

  it('defaults to TRL 1.9.0: dapo counts active tokens after truncated rows are masked; reward_std is the nanstd of all rewards', () => {
    // row 1 is truncated (3 tokens) and masked: 2 active tokens remain, all with loss −A = −1
    const base = { numSequences: 2, maxLen: 3, lengths: [2, 3], truncated: [0, 1], logp: new Float64Array(6).fill(-1), advantages: [1, 1] };
    const o = { lossType: 'dapo' as const, epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0, maskTruncatedCompletions: true };
    const after = grpoLoss(base, o);
    expect(after.numItemsInBatch).toBe(2);
    expect(after.losses.dapo).toBeCloseTo(-1, 12);
    const before = grpoLoss(base, { ...o, numItemsMode: 'before-mask' });
    expect(before.numItemsInBatch).toBe(5);
    expect(before.losses.dapo).toBeCloseTo(-2 / 5, 12);
    // every row masked: the normaliser is clamped to 1
    expect(grpoLoss({ ...base, truncated: [1, 1] }, o).losses.dapo).toBe(0);
    // two groups with zero std: TRL >= 0.27 logs the std of all rewards, 0.22-0.26 the mean group std (0)
    const adv = groupAdvantages([1, 1, 3, 3], 2, 'group');
    expect(adv.rewardStd).toBeCloseTo(Math.sqrt(4 / 3), 12);
    expect(groupAdvantages([1, 1, 3, 3], 2, 'group', 'group-mean').rewardStd).toBe(0);
    expect(adv.fracZeroStd).toBe(1);
  });

  it('computes the soft overlong punishment of DAPO eq. 13', () => {
    const p = lengthPenalty([5, 7, 8, 10, 11], { kind: 'overlong', maxCompletionLength: 10, softPunishCache: 3 });
    expectClose(p, [0, 0, -1 / 3, -1, -1], 'overlong');
    expectClose(lengthPenalty([4], { kind: 'linear', coef: 0.5 }), [-2], 'linear');
  });

  it('rejects inconsistent shapes and unknown options', () => {
    expect(() => groupAdvantages([1, 2, 3], 2, 'group')).toThrow(RangeError);
    expect(() => groupAdvantages([1, 2], 2, 'grp' as RewardScaling)).toThrow(RangeError);
    const base = { numSequences: 1, maxLen: 2, lengths: [2], logp: Float64Array.of(-1, -1), advantages: [1] };
    expect(() => grpoLoss({ ...base, lengths: [3] }, { lossType: 'bnpo', epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0 })).toThrow(RangeError);
    expect(() => grpoLoss(base, { lossType: 'ppo' as LossType, epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0 })).toThrow(RangeError);
    expect(() =>
      grpoLoss({ ...base, oldLogp: Float64Array.of(1) }, { lossType: 'bnpo', epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0 }),
    ).toThrow(RangeError);
  });
});
