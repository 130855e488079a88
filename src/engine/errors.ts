/** Errors with a protocol code: thrown inside the engine, sent as `{code, message}`, rejected by the client. */
import type { ErrorCode, ErrorPayload } from './vocab.ts';

/** An error carrying a protocol `code`; `message` names the file/field concerned. */
export class EngineError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }

  /** Returns the serialisable `{code, message}` form. */
  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message };
  }
}

/** Returns `{code, message}` for any thrown value (EngineError keeps its code, others get `fallback`). */
export function toErrorPayload(e: unknown, fallback: ErrorCode = 'internal'): ErrorPayload {
  if (e instanceof EngineError) return e.toPayload();
  if (e instanceof Error) return { code: fallback, message: e.message };
  return { code: fallback, message: String(e) };
}

/** Returns true when `e` is an EngineError with code 'cancelled'. */
export function isCancelled(e: unknown): boolean {
  return e instanceof EngineError && e.code === 'cancelled';
}
