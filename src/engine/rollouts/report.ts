/**
 * From scored rollouts to GRPO numbers: the right-padded [N, T] token layout grpoReport reads (T = the
 * longest completion), the report itself, and per-group statistics under the batch's advantages.
 */
import { grpoLoss, grpoReport, LOSS_TYPES, maskedMean, mean, type GrpoReport, type GrpoReportInput, type LossType } from '../grpo.ts';
import { rewardComponents } from './rewards.ts';
import type { GroupStats, RolloutRecord, RolloutSettings } from './types.ts';

/** Returns [N·T] row-major, right-padded with 0, of per-rollout arrays (null when `pick` gives null for any row). */
function flatten(records: readonly RolloutRecord[], T: number, pick: (r: RolloutRecord) => Float64Array | null): Float64Array | null {
  const out = new Float64Array(records.length * T);
  for (const [i, r] of records.entries()) {
    const row = pick(r);
    if (!row) return null;
    out.set(row, i * T);
  }
  return out;
}

/**
 * Returns grpoReport's input for rollouts in row order (group after group): lengths are completion
 * lengths (TRL's len(completion_ids): [EOS] counted when terminated, the sampled tokens when truncated),
 * truncated = no [EOS] at the limit, rewards the settings' mix, and `maxCompletionLength` (dr_grpo's
 * normaliser) the most tokens a completion can have.
 */
export function reportInput(records: readonly RolloutRecord[], settings: RolloutSettings, maxCompletionLength: number): GrpoReportInput {
  const T = Math.max(1, ...records.map((r) => r.completion.length));
  return {
    numSequences: records.length,
    maxLen: T,
    lengths: Int32Array.from(records, (r) => r.completion.length),
    truncated: Uint8Array.from(records, (r) => (r.truncated ? 1 : 0)),
    logp: flatten(records, T, (r) => r.logp) ?? new Float64Array(records.length * T),
    oldLogp: flatten(records, T, (r) => r.oldLogp),
    refLogp: flatten(records, T, (r) => r.refLogp),
    entropies: flatten(records, T, (r) => r.entropy),
    groupSize: settings.groupSize,
    scaleRewards: settings.scaleRewards,
    components: rewardComponents(
      settings.rewards,
      records.map((r) => r.scores),
    ),
    lengthPenalty: settings.lengthPenalty,
    options: {
      lossType: settings.lossType,
      epsilonLow: settings.epsilonLow,
      epsilonHigh: settings.epsilonHigh,
      beta: settings.beta,
      maxCompletionLength,
      maskTruncatedCompletions: settings.maskTruncated ?? false,
    },
  };
}

/** Returns rows [start, end) of a [N·T] array (null stays null). */
function rows(x: Float64Array | null | undefined, T: number, start: number, end: number): Float64Array | null {
  return x ? x.subarray(start * T, end * T) : null;
}

/**
 * Returns each group's reward, length, KL and advantage statistics, and the loss of its rows alone (as a batch) under every type, with the
 * batch's advantages.
 */
export function groupStats(input: GrpoReportInput, report: GrpoReport, labels: readonly string[]): GroupStats[] {
  const G = input.groupSize;
  const T = input.maxLen;
  const B = input.numSequences / G;
  const out: GroupStats[] = [];
  for (let g = 0; g < B; g++) {
    const s = g * G;
    const e = s + G;
    const rewards = Array.from(report.rewards.subarray(s, e));
    const adv = Array.from(report.advantages.advantages.subarray(s, e));
    const lengths = Array.from(input.lengths as ArrayLike<number>).slice(s, e);
    const truncated = input.truncated ? Array.from(input.truncated).slice(s, e) : null;
    const loss = grpoLoss(
      {
        numSequences: G,
        maxLen: T,
        lengths,
        truncated,
        advantages: adv,
        logp: input.logp.subarray(s * T, e * T),
        oldLogp: rows(input.oldLogp, T, s, e),
        refLogp: rows(input.refLogp, T, s, e),
        entropies: rows(input.entropies, T, s, e),
      },
      input.options,
    );
    const losses = {} as Record<LossType, number>;
    for (const t of LOSS_TYPES) losses[t] = loss.losses[t];
    out.push({
      group: g,
      label: labels[g] ?? `image ${g}`,
      reward: report.advantages.groupMean[g],
      reward_std: report.advantages.groupStd[g],
      'completions/mean_length': mean(lengths),
      kl: loss.perTokenKl ? maskedMean(loss.perTokenKl, loss.mask) : NaN,
      advantage_min: Math.min(...adv),
      advantage_max: Math.max(...adv),
      losses,
      best: s + argBy(rewards, (a, b) => a > b),
      worst: s + argBy(rewards, (a, b) => a < b),
    });
  }
  return out;
}

/** Returns the index of the first element that `better` prefers over all others, NaN (unscorable) skipped; 0 when all are NaN. */
function argBy(xs: readonly number[], better: (a: number, b: number) => boolean): number {
  let k = -1;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i]) && (k < 0 || better(xs[i], xs[k]))) k = i;
  return Math.max(k, 0);
}

/** Returns the report of rollouts in row order and the input it was computed from (for logging and checks). */
export function rolloutsReport(
  records: readonly RolloutRecord[],
  settings: RolloutSettings,
  maxCompletionLength: number,
): { input: GrpoReportInput; report: GrpoReport } {
  const input = reportInput(records, settings, maxCompletionLength);
  return { input, report: grpoReport(input) };
}
