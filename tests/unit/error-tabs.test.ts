// A panel's error belongs to its tab: a bad file on the round trip does not sit over the Bench or the Training
// panel, and it is back when the user returns. Loading and backend errors (no tab) stay over every tab. The
// rendering (banner hidden elsewhere, the tab's mark) is checked in the browser: tests/e2e/rollouts-checks.mjs.
import { afterEach, describe, expect, it } from 'vitest';
import { errorShownOn, panelErrors, showError } from '../../app/lib/errors.ts';
import { useStore } from '../../app/store/store.ts';
import { TABS } from '../../app/components/Tabs.tsx';

afterEach(() => useStore.setState((s) => ({ engine: { ...s.engine, error: null } })));

describe('errors by tab', () => {
  it("a panel's error is stored with its tab and shown on that tab only", () => {
    panelErrors('roundtrip')({ code: 'not-image', message: 'bad.png: not an image' });
    const error = useStore.getState().engine.error;
    expect(error).toEqual({ code: 'not-image', message: 'bad.png: not an image', tab: 'roundtrip' });
    expect(TABS.filter((t) => errorShownOn(error!, t.id)).map((t) => t.id)).toEqual(['roundtrip']);
  });

  it('the latest error replaces the one before, with its own tab', () => {
    panelErrors('roundtrip')({ code: 'not-image', message: 'bad.png: not an image' });
    panelErrors('rollouts')({ code: 'run-failed', message: 'out of memory' });
    expect(useStore.getState().engine.error?.tab).toBe('rollouts');
  });

  it('an error with no tab shows over every tab', () => {
    showError({ code: 'load', message: 'the bundle could not be loaded' });
    const error = useStore.getState().engine.error!;
    expect(error.tab).toBeUndefined();
    expect(TABS.every((t) => errorShownOn(error, t.id))).toBe(true);
  });
});
