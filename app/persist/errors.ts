// Storage failures in words: a full disk (QuotaExceededError) is said plainly, with what to do about it.
import type { AppError } from '../store/types';

/** True when `e` is the browser's "storage is full" error (from IndexedDB, a transaction abort, or the Cache API). */
export function isQuotaError(e: unknown): boolean {
  const name = e && typeof e === 'object' && 'name' in e ? String(e.name) : '';
  const message = e instanceof Error ? e.message : String(e);
  return name === 'QuotaExceededError' || /quota/i.test(message);
}

/** Returns the banner error for a failed write of `what` (e.g. "this run"): 'storage-full' for quota, else 'storage'. */
export function storageError(e: unknown, what: string): AppError {
  if (isQuotaError(e)) {
    return {
      code: 'storage-full',
      message: `Browser storage is full: ${what} was not saved. Export your runs (Stored runs → Export all runs), delete old ones, or free space for this site, then try again.`,
    };
  }
  return { code: 'storage', message: `${what} was not saved (${e instanceof Error ? e.message : String(e)})` };
}
