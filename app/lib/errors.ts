// Errors as the app shows them: anything thrown turned into an AppError, and the banner that shows one.
import { useStore } from '../store/store';
import type { AppError } from '../store/types';

/** Returns `e` as an AppError: its own code and message when it has both (engine errors), else `fallback` and its text. */
export function toAppError(e: unknown, fallback = 'internal'): AppError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return { code: String(e.code), message: String(e.message) };
  return { code: fallback, message: e instanceof Error ? e.message : String(e) };
}

/** Shows `error` in the app's banner (until dismissed or the next success). */
export function showError(error: AppError): void {
  useStore.setState((s) => ({ engine: { ...s.engine, error } }));
}
