import { useStore } from '../store/store';
import { dismissError } from '../actions';

/** The last error as `{code}: message`; the app keeps working underneath it. */
export function ErrorBanner() {
  const error = useStore((s) => s.engine.error);
  if (!error) return null;
  return (
    <div className="banner" role="alert" data-testid="error-banner" data-code={error.code}>
      <p>
        <code>{error.code}</code>: {error.message}
      </p>
      <button type="button" onClick={dismissError} aria-label="Dismiss error">
        Dismiss
      </button>
    </div>
  );
}
