// Errors as the app shows them: anything thrown turned into an AppError, and the banner that shows one.
import { useStore } from '../store/store';
import type { AppError, Tab } from '../store/types';

/** Returns `e` as an AppError: its own code and message when it has both (engine errors), else `fallback` and its text. */
export function toAppError(e: unknown, fallback = 'internal'): AppError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return { code: String(e.code), message: String(e.message) };
  return { code: fallback, message: e instanceof Error ? e.message : String(e) };
}

/**
 * Shows `error` in the app's banner (until dismissed or the next success); with `tab`, only while that tab is on
 * screen, so a bad file on one panel does not sit over the others (it is back when the user returns).
 */
export function showError(error: AppError, tab?: Tab): void {
  useStore.setState((s) => ({ engine: { ...s.engine, error: tab ? { ...error, tab } : error } }));
}

/** Returns the showError of a panel's actions: its errors belong to `tab`. */
export function panelErrors(tab: Tab): (error: AppError) => void {
  return (error) => showError(error, tab);
}

/** Whether the banner shows `error` while `tab` is on screen. */
export function errorShownOn(error: AppError, tab: Tab): boolean {
  return error.tab === undefined || error.tab === tab;
}
