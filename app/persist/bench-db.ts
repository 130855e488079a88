// Finished benchmark runs in IndexedDB (through idb), so the Bench tab's tables, charts and worst cases survive a
// reload. Its own database, so its schema moves independently of the other stores.
import type { DBSchema } from 'idb';
import type { BenchEntry } from '../store/benchSlice';
import { lazyDb } from './db';

export const BENCH_DB = 'uae-playground-bench';
const VERSION = 1;
/** Bumped when the stored entry shape changes; records of another version are not read back. */
export const BENCH_RECORD_VERSION = 1;

interface BenchSchema extends DBSchema {
  results: { key: string; value: { id: string; version: number; entry: BenchEntry } };
}

const db = lazyDb<BenchSchema>(BENCH_DB, VERSION, (d) => {
  d.createObjectStore('results', { keyPath: 'id' });
});

/** Returns the stored runs of the current record version, oldest first. */
export async function storedBenchEntries(): Promise<BenchEntry[]> {
  const rows = await (await db.open()).getAll('results');
  return rows
    .filter((r) => r.version === BENCH_RECORD_VERSION)
    .map((r) => r.entry)
    .sort((a, b) => a.startedAt - b.startedAt);
}

/** Stores a run (replacing one with the same id); resolves once committed. */
export async function storeBenchEntry(entry: BenchEntry): Promise<void> {
  await (await db.open()).put('results', { id: entry.id, version: BENCH_RECORD_VERSION, entry });
}

/** Deletes stored run `id`. */
export async function deleteBenchEntry(id: string): Promise<void> {
  await (await db.open()).delete('results', id);
}

/** Deletes every stored run. */
export async function clearBenchEntries(): Promise<void> {
  await (await db.open()).clear('results');
}
