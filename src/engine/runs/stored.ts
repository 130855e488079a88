/** Checking run logs that come back from storage (IndexedDB): old or foreign data must not reach the charts. */
import { isJsonObject } from './json.ts';
import { withAppKeyNames } from './keys.ts';
import type { RunFormat, RunLog, RunPoint, RunTextPoint } from './types.ts';

const FORMATS: readonly RunFormat[] = ['jsonl', 'csv', 'trainer_state'];

function points<T extends 'number' | 'string'>(v: unknown, type: T): v is (T extends 'number' ? RunPoint : RunTextPoint)[] {
  return (
    Array.isArray(v) && v.every((p) => isJsonObject(p) && typeof p.step === 'number' && Number.isFinite(p.step) && typeof p.value === type)
  );
}

function pointMap<T extends 'number' | 'string'>(v: unknown, type: T): boolean {
  return isJsonObject(v) && Object.values(v).every((list) => points(list, type));
}

/**
 * Returns `v` as a RunLog when it has the full shape (ids, source, sorted-number series), else null; a run
 * stored before `eval_*` keys were read as `eval/*` gets them renamed as a fresh import would.
 */
export function asRunLog(v: unknown): RunLog | null {
  if (!isJsonObject(v) || typeof v.id !== 'string' || !v.id || typeof v.label !== 'string') return null;
  const src = v.source;
  if (!isJsonObject(src) || (src.kind !== 'bundle' && src.kind !== 'import') || typeof src.file !== 'string') return null;
  if (!(FORMATS as readonly unknown[]).includes(src.format)) return null;
  if (src.keptFrom !== undefined && typeof src.keptFrom !== 'string') return null;
  if (!pointMap(v.series, 'number') || !pointMap(v.text, 'string')) return null;
  if (v.loggedAs !== undefined && !(isJsonObject(v.loggedAs) && Object.values(v.loggedAs).every((k) => typeof k === 'string'))) return null;
  return withAppKeyNames(v as unknown as RunLog);
}
