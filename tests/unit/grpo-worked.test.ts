// src/engine against tests/fixtures/grpo/worked-examples.json: small GRPO steps whose every number was
// derived by hand from TRL v1.9.0's lines (tests/models/worked_examples_calc.py: plain arithmetic, no
// grpo_ref, no torch). Logits-form examples go through the same tempered log-softmax and entropy that
// caption generation and the rollouts job use (src/engine/infer/sampling.ts); logp-form examples hold junk
// past each row's length, which must not matter. Tolerance 1e-9, absolute or relative.
import { describe, expect, it } from 'vitest';
import {
  LOSS_TYPES,
  completionMask,
  groupAdvantages,
  grpoLoss,
  grpoReport,
  importanceRatio,
  k3Kl,
  type GrpoReportInput,
  type LossType,
  type NumItemsMode,
  type RewardScaling,
  type RewardStdMode,
} from '../../src/engine/grpo.ts';
import { entropy, isTruncated, logSoftmax, policyTemperature } from '../../src/engine/infer/index.ts';
import { fixture, numItemsMode, rewardStdMode, type Num, type TrlLossOptions } from './grpo-fixture.ts';

type Grid = Num[][];
type Cube = number[][][];

interface WorkedInput {
  num_sequences: number;
  width: number;
  group_size: number;
  lengths: number[];
  truncated: number[];
  temperature?: number;
  vocab?: { size: number; pad_id: number; eos_id: number };
  completion_ids?: number[][];
  logits?: Cube;
  old_logits?: Cube | null;
  ref_logits?: Cube | null;
  logp?: Grid;
  old_logp?: Grid | null;
  ref_logp?: Grid | null;
  entropies?: Grid | null;
  components: { name: string; weight: number; values: Num[] }[];
  scale_rewards: RewardScaling;
  options: TrlLossOptions & { reward_std?: string };
}

interface WorkedExample {
  name: string;
  input: WorkedInput;
  expected: {
    logp?: Grid;
    old_logp?: Grid;
    ref_logp?: Grid;
    entropies?: Grid;
    rewards: Num[];
    group_mean: Num[];
    group_std: Num[];
    std_used: Num[];
    advantages: Num[];
    loss_mask: Grid;
    ratio: Grid;
    per_token_kl: Grid | null;
    per_token_loss: Grid;
    num_items_in_batch: { after_mask: number; before_mask: number };
    losses: Record<LossType, number>;
    dapo_by_mode: { after_mask: number; before_mask: number };
    reward_std_by_mode: { all: Num; group_mean: Num };
    metrics: Record<string, Num>;
  };
}

const doc = fixture<{ schema: string; pinned: string; tolerance: number; examples: WorkedExample[] }>('worked-examples.json');
const TOL = 1e-9;

/** Fails at the first entry that differs from `expected` by more than 1e-9 absolutely and relatively (null = NaN). */
function close(actual: ArrayLike<number> | number, expected: Num[] | Num, what: string): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = Array.isArray(expected) ? expected : [expected];
  expect(a.length, `${what}: length`).toBe(e.length);
  e.forEach((want, i) => {
    if (want === null) {
      expect(Number.isNaN(a[i]), `${what}[${i}] should be NaN, got ${a[i]}`).toBe(true);
      return;
    }
    const diff = Math.abs(a[i] - want);
    expect(diff <= TOL || diff <= TOL * Math.abs(want), `${what}[${i}]: got ${a[i]}, expected ${want}`).toBe(true);
  });
}

const flat = (g: Grid): Float64Array => Float64Array.from(g.flat(), (v) => v ?? NaN);

/** Returns [N·T] of f(row, t) on completion tokens (t < lengths[row]) and 0 elsewhere. */
function perToken(inp: WorkedInput, f: (i: number, t: number) => number): Float64Array {
  const out = new Float64Array(inp.num_sequences * inp.width);
  for (let i = 0; i < inp.num_sequences; i++) for (let t = 0; t < inp.lengths[i]; t++) out[i * inp.width + t] = f(i, t);
  return out;
}

/** Per-token log-probs of the completion ids under `logits` [N][T][V] at the example's temperature (sampling.ts, as caption.ts). */
function tokenLogp(inp: WorkedInput, logits: Cube): Float64Array {
  const T = policyTemperature({ kind: 'sample', temperature: inp.temperature as number, topP: 1 });
  const ids = inp.completion_ids as number[][];
  return perToken(inp, (i, t) => logSoftmax(logits[i][t], 0, logits[i][t].length, T)[ids[i][t]]);
}

/** The per-token arrays grpoReport reads: from logits (tempered) or as given. */
function tokenArrays(inp: WorkedInput): Pick<GrpoReportInput, 'logp' | 'oldLogp' | 'refLogp' | 'entropies'> {
  if (inp.logits) {
    const logits = inp.logits;
    const T = policyTemperature({ kind: 'sample', temperature: inp.temperature as number, topP: 1 });
    return {
      logp: tokenLogp(inp, logits),
      oldLogp: inp.old_logits ? tokenLogp(inp, inp.old_logits) : null,
      refLogp: inp.ref_logits ? tokenLogp(inp, inp.ref_logits) : null,
      entropies: perToken(inp, (i, t) => entropy(logits[i][t], 0, logits[i][t].length, T)),
    };
  }
  return {
    logp: flat(inp.logp as Grid),
    oldLogp: inp.old_logp ? flat(inp.old_logp) : null,
    refLogp: inp.ref_logp ? flat(inp.ref_logp) : null,
    entropies: inp.entropies ? flat(inp.entropies) : null,
  };
}

/** Returns grpoReport's input for an example, under a dapo count mode and reward_std mode (default: the example's). */
function reportInput(inp: WorkedInput, items?: NumItemsMode, rewardStd?: RewardStdMode): GrpoReportInput {
  const o = inp.options;
  return {
    numSequences: inp.num_sequences,
    maxLen: inp.width,
    lengths: Int32Array.from(inp.lengths),
    truncated: Uint8Array.from(inp.truncated),
    ...tokenArrays(inp),
    groupSize: inp.group_size,
    scaleRewards: inp.scale_rewards,
    rewardStd: rewardStd ?? rewardStdMode(o.reward_std),
    components: inp.components.map((c) => ({ name: c.name, weight: c.weight, values: Float64Array.from(c.values, (v) => v ?? NaN) })),
    options: {
      lossType: o.loss_type,
      epsilonLow: o.epsilon_low,
      epsilonHigh: o.epsilon_high,
      beta: o.beta,
      maxCompletionLength: o.max_completion_length,
      maskTruncatedCompletions: o.mask_truncated_completions,
      numItemsMode: items ?? numItemsMode(o.num_items_mode),
    },
  };
}

describe('worked examples (hand-derived from TRL v1.9.0)', () => {
  it('is the pinned file and covers logits at T ≠ 1, truncated rows masked and not, G = 1, unscorable rows and every loss type', () => {
    expect(doc.schema).toBe('uae-grpo-worked-examples/1');
    expect(doc.pinned).toMatch(/TRL v1\.9\.0/);
    expect(doc.tolerance).toBeLessThanOrEqual(TOL);
    const ex = doc.examples.map((e) => e.input);
    expect(ex.some((i) => i.logits && i.temperature !== 1)).toBe(true);
    expect(ex.some((i) => i.truncated.some(Boolean) && i.options.mask_truncated_completions)).toBe(true);
    expect(ex.some((i) => i.truncated.some(Boolean) && !i.options.mask_truncated_completions)).toBe(true);
    expect(ex.some((i) => i.group_size === 1)).toBe(true);
    expect(ex.some((i) => i.components.some((c) => c.values.includes(null)))).toBe(true);
    expect(new Set(ex.map((i) => i.options.loss_type))).toEqual(new Set(LOSS_TYPES));
  });

  it.each(doc.examples.map((e) => [e.name, e] as const))('%s', (_name, ex) => {
    const inp = ex.input;
    const e = ex.expected;
    const N = inp.num_sequences;
    const W = inp.width;
    const input = reportInput(inp);

    if (inp.logits) {
      // the fixture's truncation convention is TRL's, and ours: last completion token not EOS/PAD; EOS counted
      const { eos_id: eos, pad_id: pad } = inp.vocab as NonNullable<WorkedInput['vocab']>;
      (inp.completion_ids as number[][]).forEach((ids, i) => {
        const completion = ids.slice(0, inp.lengths[i]);
        expect(isTruncated(completion, eos, pad), `row ${i} truncated`).toBe(inp.truncated[i] === 1);
        if (!inp.truncated[i]) expect(completion.indexOf(eos), `row ${i} ends at its first EOS`).toBe(completion.length - 1);
      });
      close(input.logp, (e.logp as Grid).flat(), 'logp (tempered log_softmax of the logits)');
      if (e.old_logp) close(input.oldLogp as Float64Array, e.old_logp.flat(), 'old_logp');
      if (e.ref_logp) close(input.refLogp as Float64Array, e.ref_logp.flat(), 'ref_logp');
      close(input.entropies as Float64Array, (e.entropies as Grid).flat(), 'entropies');
    }

    const r = grpoReport(input);
    close(r.rewards, e.rewards, 'rewards');
    close(r.advantages.groupMean, e.group_mean, 'group_mean');
    close(r.advantages.groupStd, e.group_std, 'group_std');
    close(r.advantages.stdUsed, e.std_used, 'std_used');
    close(r.advantages.advantages, e.advantages, 'advantages');
    close(r.loss.mask, e.loss_mask.flat(), 'loss_mask');

    // ratio and KL on every completion token (the fixture's convention); grpoLoss keeps them where the loss mask is 1
    const completion = completionMask({ numSequences: N, maxLen: W, lengths: inp.lengths });
    close(importanceRatio(input.logp, input.oldLogp ?? input.logp, completion), e.ratio.flat(), 'ratio');
    close(
      r.loss.ratio,
      e.ratio.flat().map((v, j) => (r.loss.mask[j] ? v : 0)),
      'grpoLoss ratio',
    );
    expect(r.loss.perTokenKl === null, 'per_token_kl given').toBe(e.per_token_kl === null);
    if (e.per_token_kl && input.refLogp) {
      close(k3Kl(input.logp, input.refLogp, completion), e.per_token_kl.flat(), 'per_token_kl');
      close(
        r.loss.perTokenKl as Float64Array,
        e.per_token_kl.flat().map((v, j) => (r.loss.mask[j] ? v : 0)),
        'grpoLoss per_token_kl',
      );
    }
    close(r.loss.perTokenLoss, e.per_token_loss.flat(), 'per_token_loss');

    for (const lt of LOSS_TYPES) close(r.loss.losses[lt], e.losses[lt], `loss ${lt}`);
    close(r.loss.loss, e.losses[inp.options.loss_type], 'loss');
    for (const [mode, key] of [
      ['after-mask', 'after_mask'],
      ['before-mask', 'before_mask'],
    ] as const) {
      const byMode = grpoLoss({ ...input, advantages: r.advantages.advantages }, { ...input.options, numItemsMode: mode });
      close(byMode.numItemsInBatch, e.num_items_in_batch[key], `num_items_in_batch ${key}`);
      close(byMode.losses.dapo, e.dapo_by_mode[key], `dapo ${key}`);
    }
    for (const [mode, key] of [
      ['all', 'all'],
      ['group-mean', 'group_mean'],
    ] as const) {
      close(groupAdvantages(r.rewards, inp.group_size, inp.scale_rewards, mode).rewardStd, e.reward_std_by_mode[key], `reward_std ${key}`);
    }

    expect(Object.keys(r.metrics).sort()).toEqual(Object.keys(e.metrics).sort());
    for (const [k, v] of Object.entries(e.metrics)) close(r.metrics[k], v, k);
  });
});
