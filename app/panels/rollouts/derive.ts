// What the rollouts views show, derived from the run as plain values (no React; unit-tested in Node):
// advantages (final once the run is done, provisional over the rollouts finished so far before that),
// sorting, each group's best and worst rollout, the table's length, the reward histogram's bins, the status
// line's sentence on flow steps.
import { ADVANTAGE_EPS, mean, unbiasedStd, type RewardScaling } from '../../../src/engine/grpo.ts';
import type { RolloutRecord } from '../../../src/engine/rollouts/index.ts';
import { formatTick, formatValue, niceScale } from '../../charts/ticks';
import type { RolloutsRun, RolloutsSort } from '../../store/rolloutsSlice';

/** One table row: the record, its advantage, and whether that advantage is final. */
export interface RowView {
  record: RolloutRecord;
  advantage: number;
  final: boolean;
}

/**
 * Returns advantages of the rollouts finished so far, as TRL would compute them if those were the whole
 * group: centred on the finished rows' group mean, divided by (their std + 1e-4) under 'group' (the std
 * of every finished reward under 'batch'). Equal to the final advantages once every row is in.
 */
export function provisionalAdvantages(rows: readonly RolloutRecord[], scale: RewardScaling): Map<number, number> {
  const byGroup = new Map<number, RolloutRecord[]>();
  for (const r of rows) byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), r]);
  const batchStd = unbiasedStd(rows.map((r) => r.reward));
  const out = new Map<number, number>();
  for (const members of byGroup.values()) {
    const rewards = members.map((r) => r.reward);
    const m = mean(rewards);
    const std = scale === 'batch' ? batchStd : unbiasedStd(rewards);
    for (const r of members) out.set(r.index, scale === 'none' ? r.reward - m : (r.reward - m) / (std + ADVANTAGE_EPS));
  }
  return out;
}

/** Returns the table rows of a run: final advantages from the result, provisional ones before it. */
export function rowViews(run: RolloutsRun): RowView[] {
  const final = run.result?.advantages;
  const provisional = final ? null : provisionalAdvantages(run.rows, run.settings.scaleRewards);
  return run.rows.map((record) => ({
    record,
    advantage: final ? final[record.index] : (provisional?.get(record.index) ?? 0),
    final: Boolean(final),
  }));
}

/**
 * Returns a rollout's length as the table shows it: its completion length, TRL's len(completion_ids) (the
 * completion tokens including the [EOS] when one was generated; a truncated caption's sampled tokens). It
 * is what `lengths`, completions/*_length and the length penalty count, so the mean over a group's rows is
 * its completions/mean_length. (`record.tokens`, the caption's content tokens without [EOS], is not it.)
 */
export function rowLength(record: RolloutRecord): number {
  return record.completion.length;
}

/** Returns the sort value of a row for a column (NaN sorts last). */
function sortValue(v: RowView, key: RolloutsSort['key']): number {
  switch (key) {
    case 'index':
      return v.record.index;
    case 'length':
      return rowLength(v.record);
    case 'reward':
      return v.record.reward;
    case 'advantage':
      return v.advantage;
    case 'kl':
      return v.record.meanKl ?? NaN;
    case 'logp':
      return v.record.sequenceLogp;
  }
}

/** Returns the rows sorted by a column (stable; ties by rollout index; NaN last either way). */
export function sortRows(rows: readonly RowView[], sort: RolloutsSort): RowView[] {
  const sign = sort.dir === 'asc' ? 1 : -1;
  return rows.slice().sort((a, b) => {
    const x = sortValue(a, sort.key);
    const y = sortValue(b, sort.key);
    if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
    return (x === y || (Number.isNaN(x) && Number.isNaN(y)) ? 0 : x < y ? -sign : sign) || a.record.index - b.record.index;
  });
}

/** Returns, per group with at least two finished rollouts, the index of its highest and lowest reward (first on ties). */
export function bestAndWorst(rows: readonly RolloutRecord[]): { best: Set<number>; worst: Set<number> } {
  const groups = new Map<number, RolloutRecord[]>();
  for (const r of rows) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  const best = new Set<number>();
  const worst = new Set<number>();
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const hi = members.reduce((a, b) => (b.reward > a.reward ? b : a));
    const lo = members.reduce((a, b) => (b.reward < a.reward ? b : a));
    if (hi.reward === lo.reward) continue;
    best.add(hi.index);
    worst.add(lo.index);
  }
  return { best, worst };
}

/** Returns the status line's sentence on the reconstructions: "Each reconstruction takes 8 flow steps (the bundle’s default)." */
export function flowStepsSentence(run: Pick<RolloutsRun, 'flowSteps' | 'settings'>): string {
  const n = run.flowSteps;
  return `Each reconstruction takes ${n} flow step${n === 1 ? '' : 's'}${run.settings.flowSteps === undefined ? ' (the bundle’s default)' : ''}.`;
}

/** One histogram bin: [x0, x1) (the last bin includes x1) and how many values fall in it. */
export interface Bin {
  x0: number;
  x1: number;
  count: number;
  label: string;
}

/**
 * Returns at most `n` equal bins on nice edges (steps of 1, 2, 2.5, 5 × 10^k) covering [min, max] of the finite
 * values, each labelled with its left edge (0.5 / 0.6 / 0.7, never bin centres such as −0.354); one bin of
 * width 0 when all values are equal.
 */
export function histogram(values: readonly number[], n = 10): Bin[] {
  const xs = values.filter(Number.isFinite);
  if (xs.length === 0) return [];
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  if (hi === lo) return [{ x0: lo, x1: hi, count: xs.length, label: formatValue(lo) }];
  const scale = niceScale(lo, hi, { maxIntervals: n });
  const [from, to] = scale.domain;
  const count = Math.max(1, Math.round((to - from) / scale.step));
  const edge = (i: number) => Number((from + i * scale.step).toFixed(scale.decimals)) + 0;
  const bins: Bin[] = Array.from({ length: count }, (_, i) => ({
    x0: edge(i),
    x1: edge(i + 1),
    count: 0,
    label: formatTick(edge(i), scale),
  }));
  for (const x of xs) bins[Math.min(count - 1, Math.max(0, Math.floor((x - from) / scale.step + 1e-9)))].count++;
  return bins;
}
