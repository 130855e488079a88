// Stored runs in IndexedDB (through idb): a small summary per run for the history list, and the full
// round trip (settings, input, every loop's image and metrics) read only when a run is opened.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { RtRun } from '../store/roundtrip';
import type { RunSummary } from '../store/runs';

export const RUNS_DB = 'uae-playground-runs';
const VERSION = 1;
/** Bumped when the stored round-trip shape changes; records of another version are not read back. */
export const ROUNDTRIP_RECORD_VERSION = 1;

interface StoredRoundTrip {
  version: number;
  run: RtRun;
}

interface RunsSchema extends DBSchema {
  summaries: { key: string; value: RunSummary; indexes: { startedAt: number } };
  roundtrips: { key: string; value: StoredRoundTrip & { id: string } };
}

let db: Promise<IDBPDatabase<RunsSchema>> | null = null;

function open(): Promise<IDBPDatabase<RunsSchema>> {
  db ??= openDB<RunsSchema>(RUNS_DB, VERSION, {
    upgrade(d) {
      d.createObjectStore('summaries', { keyPath: 'id' }).createIndex('startedAt', 'startedAt');
      d.createObjectStore('roundtrips', { keyPath: 'id' });
    },
    // Another tab upgrading the schema: let it, and reopen on next use.
    blocking() {
      void closeRunsDb();
    },
  }).catch((e: unknown) => {
    db = null;
    throw e;
  });
  return db;
}

/** Closes the connection (the next call reopens it); used by tests to simulate a reload. */
export async function closeRunsDb(): Promise<void> {
  const d = db;
  db = null;
  if (d) (await d.catch(() => null))?.close();
}

/** Stores a round trip and its summary in one transaction; resolves only once both are committed. */
export async function saveRoundTrip(run: RtRun, summary: RunSummary): Promise<void> {
  const d = await open();
  const tx = d.transaction(['summaries', 'roundtrips'], 'readwrite');
  await Promise.all([
    tx.objectStore('summaries').put(summary),
    tx.objectStore('roundtrips').put({ id: run.id, version: ROUNDTRIP_RECORD_VERSION, run }),
    tx.done,
  ]);
}

/** Returns every stored run's summary, newest first. */
export async function listRuns(): Promise<RunSummary[]> {
  const d = await open();
  return (await d.getAllFromIndex('summaries', 'startedAt')).reverse();
}

/** Returns the stored round trip `id`, or null when absent or written by another record version. */
export async function getRoundTrip(id: string): Promise<RtRun | null> {
  const rec = await (await open()).get('roundtrips', id);
  return rec && rec.version === ROUNDTRIP_RECORD_VERSION ? rec.run : null;
}

/** Deletes run `id` (summary and record). */
export async function deleteRun(id: string): Promise<void> {
  const d = await open();
  const tx = d.transaction(['summaries', 'roundtrips'], 'readwrite');
  await Promise.all([tx.objectStore('summaries').delete(id), tx.objectStore('roundtrips').delete(id), tx.done]);
}
