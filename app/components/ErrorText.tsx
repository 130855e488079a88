import { sentenceCase } from '../format';
import type { AppError } from '../store/types';

/**
 * An error in words: the message first, as a sentence in the text's own font, then its code in small muted
 * text ("Choose an image first (bad-request)"). The code is for reports and tests, not the headline; the
 * error banner also keeps it in `data-code`.
 */
export function ErrorText({ error }: { error: AppError }) {
  return (
    <>
      <span className="error-message" data-testid="error-message">
        {sentenceCase(error.message)}
      </span>{' '}
      <span className="error-code" data-testid="error-code">
        ({error.code})
      </span>
    </>
  );
}
