// Chart data as plain values: series → recharts rows, axes, CSV. No React, no DOM (unit-tested in Node).
import { formatCsv } from '../../src/engine/runs/csv.ts';
import { niceScale, type NiceScale } from './ticks.ts';

/** One point of a line, with an optional band [lo, hi] around it (± std, or min–max). */
export interface XY {
  x: number;
  y: number;
  lo?: number;
  hi?: number;
}

/** One line of a chart. `id` only keys React; labels and colours are what a person sees. */
export interface ChartSeries {
  id: string;
  label: string;
  color: string;
  /** SVG stroke-dasharray, e.g. "6 3" for the second overlaid run. */
  dash?: string;
  points: XY[];
  /**
   * Series of one group share a scale (the panel groups by run): a group whose values are of another
   * magnitude than the first group's is drawn against a right axis. Without it a series is its own group.
   */
  group?: string;
  /**
   * What the values measure, when the panel knows it (the reward chart: the run's reward functions): a group
   * measuring something else than the first group does never shares its axis, whatever the magnitudes.
   */
  scale?: string;
  /** Shown as the legend entry's tooltip, e.g. the key as the log file wrote it. */
  note?: string;
}

/** A recharts row: `x` plus, per series i, `s{i}` (value) and `b{i}` ([lo, hi] band). */
export type ChartRow = { x: number } & Record<string, number | [number, number] | undefined>;

/** Returns the row key of series `i`'s value; plain names, since recharts reads dots in keys as paths. */
export function valueKey(i: number): string {
  return `s${i}`;
}

/** Returns the row key of series `i`'s band. */
export function bandKey(i: number): string {
  return `b${i}`;
}

/** Returns one row per distinct x over all series (sorted by x); a series missing at an x leaves a gap. */
export function seriesRows(series: readonly ChartSeries[]): ChartRow[] {
  const rows = new Map<number, ChartRow>();
  series.forEach((s, i) => {
    for (const p of s.points) {
      let row = rows.get(p.x);
      if (!row) rows.set(p.x, (row = { x: p.x }));
      row[valueKey(i)] = p.y;
      if (p.lo !== undefined && p.hi !== undefined) row[bandKey(i)] = [p.lo, p.hi];
    }
  });
  return [...rows.values()].sort((a, b) => a.x - b.x);
}

/** Returns [min, max] over the values and bands of `series` (null when they have no point). */
export function seriesExtent(series: readonly ChartSeries[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const p of s.points) {
      lo = Math.min(lo, p.y, p.lo ?? p.y);
      hi = Math.max(hi, p.y, p.hi ?? p.y);
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** Returns the x range of `series` (null when empty) and whether every x is a whole number (steps). */
export function xExtent(series: readonly ChartSeries[]): { range: [number, number]; integer: boolean } | null {
  let lo = Infinity;
  let hi = -Infinity;
  let integer = true;
  for (const s of series) {
    for (const p of s.points) {
      lo = Math.min(lo, p.x);
      hi = Math.max(hi, p.x);
      integer &&= Number.isInteger(p.x);
    }
  }
  return lo <= hi ? { range: [lo, hi], integer } : null;
}

/** Groups whose largest |value| differs from the first group's by more than this factor get the right axis. */
export const SCALE_RATIO = 3;

/** The y axes of a chart: the left one, and a right one when some groups are of another scale. */
export interface ChartAxes {
  left: NiceScale;
  right: NiceScale | null;
  /** Ids of the series drawn against the right axis. */
  rightIds: string[];
}

/** Returns the largest |value| of an extent (0 for an all-zero series). */
function magnitude([lo, hi]: [number, number]): number {
  return Math.max(Math.abs(lo), Math.abs(hi));
}

/**
 * Returns which groups of `series` (see ChartSeries.group) share the first group's scale: a group is of
 * another scale when its largest |value| is more than SCALE_RATIO times off the reference's (the first
 * group with a non-zero value), or when both name what they measure (ChartSeries.scale) and it differs.
 * All-zero groups fit any scale. Returns the ids of the series of another scale.
 */
export function otherScaleIds(series: readonly ChartSeries[]): string[] {
  const groups = new Map<string, ChartSeries[]>();
  for (const s of series) groups.set(s.group ?? s.id, [...(groups.get(s.group ?? s.id) ?? []), s]);
  const sizes = [...groups.values()].map((g) => ({ g, m: magnitude(seriesExtent(g) ?? [0, 0]), scale: g[0].scale }));
  const ref = sizes.find((x) => x.m > 0);
  if (ref === undefined) return [];
  const otherSize = (m: number) => Math.max(m, ref.m) / Math.min(m, ref.m) > SCALE_RATIO;
  const otherMeasure = (scale: string | undefined) => scale !== undefined && ref.scale !== undefined && scale !== ref.scale;
  const other = ({ m, scale }: (typeof sizes)[number]) => m > 0 && (otherSize(m) || otherMeasure(scale));
  return sizes.filter(other).flatMap(({ g }) => g.map((s) => s.id));
}

/**
 * Returns the nice y axes for `series` (values and bands): one left axis, plus a right axis for the groups
 * of another scale (otherScaleIds), so a run logging rewards in −3…5 does not flatten one in 0…1.
 * Null when there is no point.
 */
export function chartAxes(series: readonly ChartSeries[]): ChartAxes | null {
  const rightIds = otherScaleIds(series);
  const left = seriesExtent(series.filter((s) => !rightIds.includes(s.id)));
  const right = seriesExtent(series.filter((s) => rightIds.includes(s.id)));
  if (!left) return null;
  return { left: niceScale(left[0], left[1]), right: right ? niceScale(right[0], right[1]) : null, rightIds: right ? rightIds : [] };
}

/** Returns the series of `series` that have points and whose every value (and band) is 0. */
export function zeroSeries(series: readonly ChartSeries[]): ChartSeries[] {
  return series.filter((s) => s.points.length > 0 && s.points.every((p) => p.y === 0 && (p.lo ?? 0) === 0 && (p.hi ?? 0) === 0));
}

/**
 * Returns the note a chart shows for all-zero series (null when none): "All values are 0 in this run."
 * when every series is 0 (runs, when several groups), else which lines are all 0.
 */
export function zeroNote(series: readonly ChartSeries[]): string | null {
  const zero = zeroSeries(series);
  if (zero.length === 0) return null;
  const runs = (list: readonly ChartSeries[]) => (new Set(list.map((s) => s.group ?? s.id)).size > 1 ? 'these runs' : 'this run');
  if (zero.length === series.length) return `All values are 0 in ${runs(series)}.`;
  return `${zero.map((s) => s.label).join('; ')}: all values are 0 in ${runs(zero)}.`;
}

/** Returns the side of a vertical marker at `x` its label goes: left of the line in the right half of the x range. */
export function markerSide(x: number, [lo, hi]: [number, number]): 'left' | 'right' {
  return x > (lo + hi) / 2 ? 'left' : 'right';
}

/** Returns the total number of points over `series`. */
export function pointCount(series: readonly ChartSeries[]): number {
  return series.reduce((n, s) => n + s.points.length, 0);
}

/**
 * Returns the chart's data as CSV: column `xLabel`, then per series its label, and "<label> (low)" /
 * "<label> (high)" when it has a band; one row per x, empty cells where a series has no point.
 */
export function seriesCsv(series: readonly ChartSeries[], xLabel: string): string {
  const banded = series.map((s) => s.points.some((p) => p.lo !== undefined && p.hi !== undefined));
  const header: string[] = [xLabel];
  series.forEach((s, i) => {
    header.push(s.label);
    if (banded[i]) header.push(`${s.label} (low)`, `${s.label} (high)`);
  });
  const body = seriesRows(series).map((row) => {
    const cells: (number | undefined)[] = [row.x];
    series.forEach((_, i) => {
      cells.push(row[valueKey(i)] as number | undefined);
      if (banded[i]) {
        const band = row[bandKey(i)] as [number, number] | undefined;
        cells.push(band?.[0], band?.[1]);
      }
    });
    return cells;
  });
  return formatCsv([header, ...body]);
}

/** Returns a file-name-safe stem: lowercase letters, digits, '-' and '_'. */
export function fileStem(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'chart'
  );
}
