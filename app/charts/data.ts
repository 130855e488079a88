// Chart data as plain values: series → recharts rows, y domain, CSV. No React, no DOM (unit-tested in Node).
import { formatCsv } from '../../src/engine/runs/csv.ts';

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

/** Returns [min, max] over values and bands of `series`, padded by 5% but not below 0 for non-negative data (null when empty). */
export function seriesDomain(series: readonly ChartSeries[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const p of s.points) {
      lo = Math.min(lo, p.y, p.lo ?? p.y);
      hi = Math.max(hi, p.y, p.hi ?? p.y);
    }
  }
  if (!(lo <= hi)) return null;
  const pad = hi > lo ? (hi - lo) * 0.05 : Math.abs(hi) * 0.05 || 1;
  // Non-negative metrics (ratios, lengths, KL) keep 0 as their floor rather than a padded negative tick.
  return [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad];
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
  return name.toLowerCase().replace(/[^a-z0-9_]+/g, '-').replace(/^-+|-+$/g, '') || 'chart';
}
