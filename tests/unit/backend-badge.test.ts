// The backend badge's tooltip line about the warm-up after a load: a warm-up now runs tens of rounds (at least 2.5 s,
// src/engine/infer/warmup.ts), so the line gives their count and the first and last round, not every round.
import { describe, expect, it } from 'vitest';
import { warmUpLine } from '../../app/components/BackendBadge';

describe('warm-up line', () => {
  it('sums the rounds and names the first and the last', () => {
    const roundsMs = [368.4, 116, ...Array.from({ length: 36 }, () => 60), 55.2];
    expect(warmUpLine({ status: 'done', bundleId: 'b', roundsMs, stoppedBy: 'settled' })).toBe(
      ' · warmed up in 2700 ms (39 rounds, 368 → 55 ms each)',
    );
    expect(warmUpLine({ status: 'done', bundleId: 'b', roundsMs: [40.4], stoppedBy: 'rounds' })).toBe(' · warmed up in 40 ms (1 round)');
  });

  it('says when it runs, gave way or failed, and nothing before a load', () => {
    expect(warmUpLine(null)).toBe('');
    expect(warmUpLine({ status: 'running', bundleId: 'b' })).toBe(' · warming up');
    expect(warmUpLine({ status: 'gave-way', bundleId: 'b', message: 'x' })).toBe(' · warm-up gave way to the first request');
    expect(warmUpLine({ status: 'failed', bundleId: 'b', message: 'out of memory' })).toBe(' · warm-up failed: out of memory');
  });
});
