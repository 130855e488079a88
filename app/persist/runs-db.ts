// Stored runs in IndexedDB (through idb): a small summary per run for the history list, and the full
// round trip (settings, input, every loop's image and metrics) read only when a run is opened.
import type { DBSchema } from 'idb';
import type { RtRun } from '../store/roundtripSlice';
import type { RunSummary } from '../store/runsSlice';
import { committed } from './commit';
import { lazyDb } from './db';

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

const db = lazyDb<RunsSchema>(RUNS_DB, VERSION, (d) => {
  d.createObjectStore('summaries', { keyPath: 'id' }).createIndex('startedAt', 'startedAt');
  d.createObjectStore('roundtrips', { keyPath: 'id' });
});
const open = db.open;

/** Closes the connection (the next call reopens it); used by tests to simulate a reload. */
export function closeRunsDb(): Promise<void> {
  return db.close();
}

/** Stores a round trip and its summary in one transaction; resolves only once both are committed. */
export async function saveRoundTrip(run: RtRun, summary: RunSummary): Promise<void> {
  const d = await open();
  const tx = d.transaction(['summaries', 'roundtrips'], 'readwrite');
  await committed(tx, (add) => {
    add(tx.objectStore('summaries').put(summary));
    add(tx.objectStore('roundtrips').put({ id: run.id, version: ROUNDTRIP_RECORD_VERSION, run }));
  });
}

/** Returns every stored round trip of the current record version with its summary, newest first. */
export async function allRoundTrips(): Promise<{ summary: RunSummary; run: RtRun }[]> {
  const d = await open();
  const summaries = await listRuns();
  const out: { summary: RunSummary; run: RtRun }[] = [];
  for (const summary of summaries) {
    const rec = await d.get('roundtrips', summary.id);
    if (rec && rec.version === ROUNDTRIP_RECORD_VERSION) out.push({ summary, run: rec.run });
  }
  return out;
}

/** Stores the round trips whose ids are not stored yet, all in one transaction (all or none); returns how many were added. */
export async function addRoundTrips(records: { summary: RunSummary; run: RtRun }[]): Promise<number> {
  const d = await open();
  const tx = d.transaction(['summaries', 'roundtrips'], 'readwrite');
  const summaries = tx.objectStore('summaries');
  const fresh: typeof records = [];
  for (const r of records) if ((await summaries.getKey(r.run.id)) === undefined) fresh.push(r);
  await committed(tx, (add) => {
    for (const r of fresh) {
      add(summaries.put(r.summary));
      add(tx.objectStore('roundtrips').put({ id: r.run.id, version: ROUNDTRIP_RECORD_VERSION, run: r.run }));
    }
  });
  return fresh.length;
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
