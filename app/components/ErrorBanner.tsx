import { useEffect, useRef } from 'react';
import { useStore } from '../store/store';
import { dismissError } from '../actions';
import { ErrorText } from './ErrorText';

/**
 * The last error, sentence first and its code after it (also in `data-code`); the app keeps working underneath
 * it. A new error is scrolled into view: it sits above the tabs, and the page may be scrolled down to a run.
 */
export function ErrorBanner() {
  const error = useStore((s) => s.engine.error);
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
