/**
 * Timing of one benchmark stage: warm-up runs (not kept), then timed repeats, summarised as median, min
 * and max wall time in milliseconds. The clock is `performance.now()` (Node and browsers alike).
 */
import { median } from '../engine/stats.ts';

export { median };

/** Warm-up and repeat counts of one stage. */
export interface Repeats {
  warmup: number;
  repeats: number;
  /**
   * Warm-up runs also go on until this many milliseconds have passed (at most MAX_WARMUP_RUNS). Chromium keeps getting
   * faster for seconds of continuous runs after a few runs look steady (bench/README.md, "Warm-up in the timings").
   */
  warmupMs?: number;
}

/** Most warm-up runs a time-based warm-up makes. */
export const MAX_WARMUP_RUNS = 2000;

/** Wall times of one stage's timed runs (ms) and their summary. */
export interface Timing {
  warmup: number;
  runs: number[];
  median: number;
  min: number;
  max: number;
}

/** Returns the summary (median/min/max, ms) of timed runs. */
export function summarize(runs: readonly number[], warmup: number): Timing {
  return { warmup, runs: runs.slice(), median: median(runs), min: Math.min(...runs), max: Math.max(...runs) };
}

/**
 * Returns the timing of `fn` over `r.warmup` untimed then `r.repeats` timed calls, and the value of the
 * last call (so callers can check what was measured).
 */
export async function measure<T>(fn: () => Promise<T>, r: Repeats): Promise<{ timing: Timing; value: T }> {
  const [one] = await measureInterleaved([fn], [r]);
  return one!;
}

/**
 * Returns the timings (and last values) of several functions run in turn, one call of each per round, so
 * that a machine whose load drifts during the measurement weighs on all of them alike. `r[i]` sets the
 * warm-up and repeat counts of fns[i]; a function with fewer repeats simply sits out the later rounds.
 */
export async function measureInterleaved<T>(
  fns: readonly (() => Promise<T>)[],
  r: readonly Repeats[],
): Promise<{ timing: Timing; value: T }[]> {
  const runs = fns.map(() => [] as number[]);
  const values: (T | undefined)[] = fns.map(() => undefined);
  // Warm-up rounds, interleaved too: a function sits out once it has had its runs and its time.
  const warm = fns.map(() => 0);
  const t0 = performance.now();
  const warming = (i: number): boolean =>
    warm[i] < r[i].warmup || (warm[i] < MAX_WARMUP_RUNS && performance.now() - t0 < (r[i].warmupMs ?? 0));
  while (fns.some((_, i) => warming(i))) {
    for (const [i, fn] of fns.entries()) {
      if (!warming(i)) continue;
      values[i] = await fn();
      warm[i]++;
    }
  }
  const rounds = Math.max(...r.map((x) => Math.max(1, x.repeats)));
  for (let round = 0; round < rounds; round++) {
    for (const [i, fn] of fns.entries()) {
      if (round >= Math.max(1, r[i].repeats)) continue;
      const t0 = performance.now();
      values[i] = await fn();
      runs[i].push(performance.now() - t0);
    }
  }
  return fns.map((_, i) => ({ timing: summarize(runs[i], warm[i]), value: values[i] as T }));
}
