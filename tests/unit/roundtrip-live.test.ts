// The round-trip panel's live state: streamed progress folded per loop, the words and the bar it shows.
import { describe, expect, it } from 'vitest';
import { foldLive, liveFor, progressFraction, progressLabel } from '../../app/panels/roundtrip/live';
import type { RoundTripProgress } from '../../src/protocol/roundtrip.ts';

const word = (loop: number, tokens: number, text: string): RoundTripProgress => ({
  kind: 'progress',
  loop,
  phase: 'caption',
  token: 5,
  word: 'x',
  tokens,
  text,
});
const step = (loop: number, s: number, steps: number, preview: Uint8Array | null = null): RoundTripProgress => ({
  kind: 'progress',
  loop,
  phase: 'flow',
  step: s,
  steps,
  preview,
});

describe('live progress of a running loop', () => {
  it('folds the caption as it grows, then flow steps keeping the latest preview; a new loop starts afresh', () => {
    const img = new Uint8Array(12).fill(7);
    let live = foldLive(null, 'r', word(1, 1, 'a'));
    live = foldLive(live, 'r', word(1, 2, 'a red'));
    expect(live).toMatchObject({ loop: 1, phase: 'caption', text: 'a red', tokens: 2, step: 0, preview: null });
    expect(progressLabel(live, 0, 5)).toBe('loop 1/5 · caption 2 tokens');
    live = foldLive(live, 'r', step(1, 1, 4, img));
    live = foldLive(live, 'r', step(1, 2, 4));
    expect(live).toMatchObject({ phase: 'flow', text: 'a red', tokens: 2, step: 2, steps: 4, preview: img, previewStep: 1 });
    expect(progressLabel(live, 0, 5)).toBe('loop 1/5 · flow step 2/4');
    const next = foldLive(live, 'r', word(2, 1, 'a'));
    expect(next).toMatchObject({ loop: 2, text: 'a', preview: null, previewStep: 0, step: 0 });
    expect(foldLive(live, 'other run', word(1, 1, 'b'))).toMatchObject({ runId: 'other run', text: 'b', preview: null });
  });

  it('is shown only for the loop that is running now', () => {
    const live = foldLive(null, 'r', word(2, 1, 'a'));
    expect(liveFor(live, 'r', 1)).toBe(live);
    expect(liveFor(live, 'r', 2)).toBeNull();
    expect(liveFor(live, 'x', 1)).toBeNull();
    expect(progressLabel(null, 0, 3)).toBe('loop 1/3 · encoding the image');
    expect(progressLabel(foldLive(null, 'r', word(1, 1, 'a')), 0, 3)).toBe('loop 1/3 · caption 1 token');
  });

  it('moves the bar with every flow step: a loop is one unit of caption plus one per step', () => {
    expect(progressFraction(null, 0, 2, 3)).toBe(0);
    expect(progressFraction(foldLive(null, 'r', word(1, 4, 'a b c d')), 0, 2, 3)).toBe(0);
    expect(progressFraction(foldLive(null, 'r', step(1, 1, 3)), 0, 2, 3)).toBe(2 / 8);
    expect(progressFraction(foldLive(null, 'r', step(2, 3, 3)), 1, 2, 3)).toBe(1);
    expect(progressFraction(null, 1, 2, 3)).toBe(0.5);
  });
});
