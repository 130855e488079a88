// The benchmark's time-to-first-round-trip section, pure parts: the table is formed from the visits given.
import { describe, expect, it } from 'vitest';
import { renderFirstTripMarkdown } from '../../src/bench/first-trip.ts';

describe('first round trip section', () => {
  it('shows the median visit and its round trip against the steady one', () => {
    const visits = [
      { loadedMs: 4000, pressedMs: 4500, finishedMs: 6000 },
      { loadedMs: 5000, pressedMs: 5400, finishedMs: 7000 },
      { loadedMs: 3000, pressedMs: 3600, finishedMs: 5000 },
    ];
    const md = renderFirstTripMarkdown({ link: '?rt-loops=1', visits, median: { ...visits[0], tripMs: 1500 } }, 100).join('\n');
    expect(md).toContain('median of 3 visits (each: 6000, 7000, 5000 ms)');
    expect(md).toContain('| 4000 | 4500 | 6000 | 1500 | 100 | 15.00× |');
  });

  it('says why when it failed, and nothing when it did not run', () => {
    expect(renderFirstTripMarkdown({ error: 'vite build failed\nstack' }, 100).at(-1)).toBe('FAILED: vite build failed');
    expect(renderFirstTripMarkdown(undefined, 100)).toEqual([]);
  });
});
