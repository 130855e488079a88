/**
 * Replaying a recorded run: which prefix of it is visible at a time t. Pure and deterministic: every
 * function takes the clock reading (`nowMs`, milliseconds) instead of reading a clock.
 */
import type { RunLog, RunPoint, RunTextPoint } from './types.ts';

/**
 * Replay state: a position in training steps, `origin` at wall time `anchorMs`, advancing at
 * `stepsPerSecond` while playing, clamped to [start, end].
 */
export interface ReplayState {
  start: number;
  end: number;
  stepsPerSecond: number;
  playing: boolean;
  origin: number;
  anchorMs: number;
}

function clamp(s: Pick<ReplayState, 'start' | 'end'>, step: number): number {
  return Math.min(s.end, Math.max(s.start, step));
}

/** Returns a paused replay over steps [start, end] showing everything (position = end). */
export function createReplay(start: number, end: number, stepsPerSecond: number, nowMs: number): ReplayState {
  if (!(stepsPerSecond > 0)) throw new RangeError(`stepsPerSecond must be > 0, got ${stepsPerSecond}`);
  const lo = Math.min(start, end);
  const hi = Math.max(start, end);
  return { start: lo, end: hi, stepsPerSecond, playing: false, origin: hi, anchorMs: nowMs };
}

/** Returns the replay position at `nowMs`, in steps (fractional), within [start, end]. */
export function replayPosition(s: ReplayState, nowMs: number): number {
  if (!s.playing) return clamp(s, s.origin);
  return clamp(s, s.origin + (Math.max(0, nowMs - s.anchorMs) / 1000) * s.stepsPerSecond);
}

/** Returns true when the replay has reached its last step at `nowMs`. */
export function replayFinished(s: ReplayState, nowMs: number): boolean {
  return replayPosition(s, nowMs) >= s.end;
}

/** Returns the state playing from the current position (from `start` when it had finished). */
export function play(s: ReplayState, nowMs: number): ReplayState {
  const at = replayPosition(s, nowMs);
  return { ...s, playing: true, origin: at >= s.end ? s.start : at, anchorMs: nowMs };
}

/** Returns the state paused at the position reached at `nowMs`. */
export function pause(s: ReplayState, nowMs: number): ReplayState {
  return { ...s, playing: false, origin: replayPosition(s, nowMs), anchorMs: nowMs };
}

/** Returns the state moved to `step` (clamped), playing or paused as before. */
export function seek(s: ReplayState, step: number, nowMs: number): ReplayState {
  return { ...s, origin: clamp(s, step), anchorMs: nowMs };
}

/** Returns the state back at `start`, playing or paused as before. */
export function restart(s: ReplayState, nowMs: number): ReplayState {
  return seek(s, s.start, nowMs);
}

/** Returns the state with a new speed (steps per second) that keeps the position reached at `nowMs`. */
export function setSpeed(s: ReplayState, stepsPerSecond: number, nowMs: number): ReplayState {
  if (!(stepsPerSecond > 0)) throw new RangeError(`stepsPerSecond must be > 0, got ${stepsPerSecond}`);
  return { ...s, stepsPerSecond, origin: replayPosition(s, nowMs), anchorMs: nowMs };
}

/** Returns the state over a new step range, keeping the position (clamped into it). */
export function setRange(s: ReplayState, start: number, end: number, nowMs: number): ReplayState {
  const at = replayPosition(s, nowMs);
  const next = { ...s, start: Math.min(start, end), end: Math.max(start, end) };
  return { ...next, origin: clamp(next, at), anchorMs: nowMs };
}

/** Returns [first, last] step over all series of `runs`, or null when they have no points. */
export function stepRange(runs: readonly Pick<RunLog, 'series'>[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const run of runs) {
    for (const points of Object.values(run.series)) {
      if (points.length === 0) continue;
      lo = Math.min(lo, points[0].step);
      hi = Math.max(hi, points[points.length - 1].step);
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** Returns how many points of step-sorted `points` have step <= `position` (binary search). */
export function visibleCount(points: readonly { step: number }[], position: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].step <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Returns `run` cut to the points logged at steps <= `position` (series and text; arrays are sliced, not copied deep). */
export function runPrefix(run: RunLog, position: number): RunLog {
  const series: Record<string, RunPoint[]> = {};
  const text: Record<string, RunTextPoint[]> = {};
  for (const [k, pts] of Object.entries(run.series)) series[k] = pts.slice(0, visibleCount(pts, position));
  for (const [k, pts] of Object.entries(run.text)) text[k] = pts.slice(0, visibleCount(pts, position));
  return { ...run, series, text };
}
