// The benchmark's time-to-first-round-trip section, pure parts: the medians and the table are formed from the visits given.
import { describe, expect, it } from 'vitest';
import { medianVisit, renderFirstTripMarkdown, visitsOf, type FirstTripVisit } from '../../src/bench/first-trip.ts';

describe('first round trip section', () => {
  it('shows the median visit of each kind, its round trip against the app steady one and the stage', () => {
    const atOnce: FirstTripVisit[] = [
      { mode: 'at-once', loadedMs: 4000, pressedMs: 4500, finishedMs: 6000, steadyTripMs: 150 },
      { mode: 'at-once', loadedMs: 5000, pressedMs: 5400, finishedMs: 7000, steadyTripMs: 120 },
      { mode: 'at-once', loadedMs: 3000, pressedMs: 3600, finishedMs: 5000, steadyTripMs: 100 },
    ];
    const warm: FirstTripVisit[] = [
      { mode: 'after-warm-up', loadedMs: 3000, warmedMs: 4000, warmUp: 'done', pressedMs: 4100, finishedMs: 4300, steadyTripMs: 160 },
      { mode: 'after-warm-up', loadedMs: 3000, warmedMs: 4200, warmUp: 'done', pressedMs: 4300, finishedMs: 4400, steadyTripMs: 100 },
    ];
    const median = medianVisit(atOnce);
    expect(median).toMatchObject({ finishedMs: 6000, tripMs: 1500, steadyMs: 120 });
    const warmMedian = medianVisit(warm);
    // two visits: the mean of the two middle values, as timing.ts's median
    expect(warmMedian).toMatchObject({ finishedMs: 4400, tripMs: 150, steadyMs: 130 });
    const cold: FirstTripVisit[] = [
      { mode: 'at-once', cached: false, loadedMs: 9000, pressedMs: 9100, finishedMs: 12000, steadyTripMs: 200 },
    ];
    const all = [...atOnce, ...warm, ...cold];
    const coldMedian = medianVisit(visitsOf(all, false, 'at-once'));
    expect(visitsOf(all, true, 'at-once')).toEqual(atOnce);
    const md = renderFirstTripMarkdown({ link: '?rt-loops=1', visits: all, median, warmMedian, coldMedian }, 100).join('\n');
    expect(md).toContain(
      'first visit, at once: 12000 ms; bundle cached, at once: 6000, 7000, 5000 ms; bundle cached, after the warm-up: 4300, 4400 ms).',
    );
    expect(md).toContain('| first visit, at once | 9000 | – | 9100 | 12000 | 2900 | 200 | 14.50× | 100 | 29.00× |');
    expect(md).toContain('| bundle cached, at once | 4000 | – | 4500 | 6000 | 1500 | 120 | 12.50× | 100 | 15.00× |');
    expect(md).toContain('| bundle cached, after the warm-up | 3000 | 4200 | 4300 | 4400 | 150 | 130 | 1.15× | 100 | 1.50× |');
    expect(md).not.toContain('first visit, after the warm-up');
  });

  it('reads visits recorded before the warm-up existed as pressed at once', () => {
    const visits = [{ loadedMs: 4000, pressedMs: 4500, finishedMs: 6000 }];
    const md = renderFirstTripMarkdown({ link: '?rt-loops=1', visits, median: medianVisit(visits) }, 100).join('\n');
    expect(md).toContain('(finished: bundle cached, at once: 6000 ms).');
    expect(md).toContain('| bundle cached, at once | 4000 | – | 4500 | 6000 | 1500 | – | – | 100 | 15.00× |');
    expect(medianVisit([])).toBeUndefined();
  });

  it('says why when it failed, and nothing when it did not run', () => {
    expect(renderFirstTripMarkdown({ error: 'vite build failed\nstack' }, 100).at(-1)).toBe('FAILED: vite build failed');
    expect(renderFirstTripMarkdown(undefined, 100)).toEqual([]);
  });
});
