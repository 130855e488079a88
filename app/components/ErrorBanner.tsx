import { useStore } from '../store/store';
import { dismissError } from '../actions';
import { ErrorText } from './ErrorText';

/** The last error, sentence first and its code after it (also in `data-code`); the app keeps working underneath it. */
export function ErrorBanner() {
  const error = useStore((s) => s.engine.error);
  if (!error) return null;
  return (
    <div className="banner" role="alert" data-testid="error-banner" data-code={error.code}>
      <p>
        <ErrorText error={error} />
      </p>
      <button type="button" onClick={dismissError} aria-label="Dismiss error">
        Dismiss
      </button>
    </div>
  );
}
