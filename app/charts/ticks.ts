// "Nice" axis ticks for every recharts axis in the app: steps of 1, 2, 2.5 or 5 × 10^k, the domain widened
// to whole steps, labels with just the decimals the step needs (0 / 0.25 / 0.5, never 0.3 / 0.8).
// Plain numbers: no React, no DOM (unit-tested in Node).

/** An axis: its domain (whole multiples of `step`), the ticks on it, and how many decimals a label needs. */
export interface NiceScale {
  domain: [number, number];
  ticks: number[];
  step: number;
  decimals: number;
}

/** Options of `niceScale`. */
export interface NiceOptions {
  /** At most this many intervals between ticks (so at most one more tick). Default 5. */
  maxIntervals?: number;
  /** Integer data (steps, counts): the step is a whole number, at least 1. */
  integer?: boolean;
}

const MANTISSAS = [1, 2, 2.5, 5];

/** Returns the decimals needed to write `step` (and every multiple of it) exactly: 0.25 → 2, 5 → 0, 2e-6 → 6. */
export function stepDecimals(step: number): number {
  for (let d = 0; d <= 15; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return d;
  }
  return 15;
}

/** Returns the smallest nice step (1, 2, 2.5, 5 × 10^k; whole numbers ≥ 1 when `integer`) that is ≥ `rough`. */
export function niceStep(rough: number, integer = false): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  let k = Math.floor(Math.log10(rough));
  for (;;) {
    for (const m of MANTISSAS) {
      const step = Number((m * 10 ** k).toPrecision(12));
      if (step < rough * (1 - 1e-12)) continue;
      if (integer && (step < 1 || !Number.isInteger(step))) continue;
      return step;
    }
    k++;
  }
}

/** Returns the data range to scale when it is a single value: ± 10% of it (0 → 0…1). */
function widen(lo: number, hi: number): [number, number] {
  if (hi > lo) return [lo, hi];
  if (lo === 0) return [0, 1];
  const pad = Math.abs(lo) * 0.1;
  return [lo - pad, hi + pad];
}

/**
 * Returns the nice axis over data in [lo, hi]: a 1/2/2.5/5 × 10^k step giving at most `maxIntervals`
 * intervals, the domain widened to whole steps (so [0, 1] stays 0…1 and [0.8, 49.2] becomes 0…50),
 * ticks free of float noise. A single value v gets a domain around it (0 gets 0…1).
 */
export function niceScale(lo: number, hi: number, options: NiceOptions = {}): NiceScale {
  const maxIntervals = Math.max(1, options.maxIntervals ?? 5);
  const integer = options.integer ?? false;
  const [a, b] = widen(Math.min(lo, hi), Math.max(lo, hi));
  let step = niceStep((b - a) / maxIntervals, integer);
  let from = Math.floor(a / step + 1e-9) * step;
  let to = Math.ceil(b / step - 1e-9) * step;
  // Widening to whole steps can add an interval; take the next nice step when it goes over the limit.
  while (Math.round((to - from) / step) > maxIntervals) {
    step = niceStep(step * 1.01, integer);
    from = Math.floor(a / step + 1e-9) * step;
    to = Math.ceil(b / step - 1e-9) * step;
  }
  const decimals = stepDecimals(step);
  const clean = (v: number) => Number(v.toFixed(decimals)) + 0; // + 0 turns -0 into 0
  const n = Math.round((to - from) / step);
  const ticks = Array.from({ length: n + 1 }, (_, i) => clean(from + i * step));
  return { domain: [ticks[0], ticks[n]], ticks, step, decimals };
}

/**
 * Returns a tick label: the value rounded to the scale's decimals, written without trailing zeros
 * (0 / 0.25 / 0.5 / 0.75 / 1); k / M when the axis reaches 10 000 / 10 000 000; an exponent for steps
 * below 0.0001 (2e−6 rather than 0.000002).
 */
export function formatTick(value: number, scale: Pick<NiceScale, 'domain' | 'step' | 'decimals'>): string {
  const v = Number(value.toFixed(scale.decimals)) + 0;
  if (v === 0) return '0';
  if (scale.step < 1e-4) return minus(v.toExponential());
  const top = Math.max(Math.abs(scale.domain[0]), Math.abs(scale.domain[1]));
  for (const [unit, suffix] of [
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (top >= 10 * unit && scale.step >= unit / 100) {
      return `${minus(Number((v / unit).toFixed(stepDecimals(scale.step / unit))))}${suffix}`;
    }
  }
  return minus(v);
}

/**
 * The props a recharts number axis needs to draw `scale`: its domain, its ticks, every tick shown, labels by
 * formatTick (with `suffix`, e.g. " dB", after each).
 */
export function niceAxis(scale: NiceScale, suffix = '') {
  return {
    domain: scale.domain,
    ticks: scale.ticks,
    interval: 0,
    tickFormatter: (v: number) => `${formatTick(v, scale)}${suffix}`,
  } as const;
}

/** Returns `v` as text with true minus signs (U+2212), as typeset numbers have them (also in 1e−6). */
function minus(v: number | string): string {
  return String(v).replaceAll('-', '−');
}

/** Returns a tooltip value: up to 4 significant digits, no float noise (0.30000000000000004 → 0.3). */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && Math.abs(v) < 0.001) return minus(v.toExponential(2));
  return minus(String(Number(v.toPrecision(4))));
}
