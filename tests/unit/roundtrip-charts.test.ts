// The round-trip charts re-render only when their points change: a run's status and live progress change several
// times a round trip, and redrawing both recharts charts each time cost the page's main thread (bench/README.md,
// "The app's round trip against the engine's": steady app round trip 315 / 342 ms -> 255 / 279 ms).
import { describe, expect, it } from 'vitest';
import { FidelityChart, LengthChart } from '../../app/panels/roundtrip/Charts';

describe('round-trip charts', () => {
  it('are memoised components (same loops array, same chart)', () => {
    for (const chart of [FidelityChart, LengthChart]) {
      expect((chart as unknown as { $$typeof: symbol }).$$typeof).toBe(Symbol.for('react.memo'));
    }
  });
});
