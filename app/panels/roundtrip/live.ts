// Progress inside a running loop: the worker's streamed events folded into one state (the caption as it
// grows, the flow step, the latest preview), and the words and fraction the panel shows for it. Pure functions.
import type { RoundTripProgress } from '../../../src/protocol/roundtrip.ts';
import type { RtLive } from '../../store/roundtripSlice';

/** Returns the live state after event `p` of run `runId`; a new loop (or another run) starts from scratch. */
export function foldLive(prev: RtLive | null, runId: string, p: RoundTripProgress): RtLive {
  const base: RtLive =
    prev && prev.runId === runId && prev.loop === p.loop
      ? prev
      : { runId, loop: p.loop, phase: 'caption', text: '', tokens: 0, step: 0, steps: 0, preview: null, previewStep: 0 };
  if (p.phase === 'caption') return { ...base, phase: 'caption', text: p.text, tokens: p.tokens };
  return {
    ...base,
    phase: 'flow',
    step: p.step,
    steps: p.steps,
    ...(p.preview ? { preview: p.preview, previewStep: p.step } : {}),
  };
}

/** Returns `live` if it is the running loop of a run with `done` finished loops, else null (a stale or foreign state). */
export function liveFor(live: RtLive | null, runId: string, done: number): RtLive | null {
  return live && live.runId === runId && live.loop === done + 1 ? live : null;
}

/**
 * Returns the run's progress in words: "loop 1/5 · encoding the image" (before the loop's first token),
 * "loop 2/5 · caption 7 tokens", "loop 2/5 · flow step 12/20".
 */
export function progressLabel(live: RtLive | null, done: number, loops: number): string {
  const loop = `loop ${Math.min(done + 1, loops)}/${loops}`;
  if (!live) return `${loop} · encoding the image`;
  if (live.phase === 'caption') return `${loop} · caption ${live.tokens} token${live.tokens === 1 ? '' : 's'}`;
  return `${loop} · flow step ${live.step}/${live.steps}`;
}

/**
 * Returns how much of the run is done, 0…1: each loop counts as one unit for its caption (done when the flow
 * starts) plus one per flow step, so the bar moves on every step.
 */
export function progressFraction(live: RtLive | null, done: number, loops: number, steps: number): number {
  const per = steps + 1;
  const within = live && live.phase === 'flow' ? 1 + Math.min(live.step, steps) : 0;
  return Math.min(1, (done * per + within) / (loops * per));
}
