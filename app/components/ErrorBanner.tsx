import { useEffect, useRef } from 'react';
import { useStore } from '../store/store';
import { dismissError } from '../actions';
import { ErrorText } from './ErrorText';
import { errorShownOn } from '../lib/errors';

/**
 * The last error, sentence first and its code after it (also in `data-code`); the app keeps working underneath
 * it. An error of a panel's action shows while that panel's tab is on screen. A new error is scrolled into view:
 * it sits above the tabs, and the page may be scrolled down to a run.
 */
export function ErrorBanner() {
  const stored = useStore((s) => s.engine.error);
  const tab = useStore((s) => s.ui.tab);
  // A panel's error is shown on its own tab only (its tab is marked elsewhere: Tabs).
  const error = stored && errorShownOn(stored, tab) ? stored : null;
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (error) ref.current?.scrollIntoView({ block: 'nearest' });
  }, [error]);
  if (!error) return null;
  return (
    <div className="banner" role="alert" data-testid="error-banner" data-code={error.code} ref={ref}>
      <p>
        <ErrorText error={error} />
      </p>
      <button type="button" onClick={dismissError} aria-label="Dismiss error">
        Dismiss
      </button>
    </div>
  );
}
