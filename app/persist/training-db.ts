// Imported training runs in IndexedDB (through idb), so they survive a reload. Bundle runs are not
// stored: they come with the bundle. Its own database, so its schema moves independently of others'.
import type { DBSchema } from 'idb';
import { asRunLog, type RunLog } from '../../src/engine/runs/index.ts';
import { committed } from './commit';
import { lazyDb } from './db';

const DB_NAME = 'uae-playground-training';
const VERSION = 1;

interface TrainingSchema extends DBSchema {
  /** `order` keeps import order across reloads. */
  imported: { key: string; value: { id: string; order: number; run: RunLog } };
}

const { open } = lazyDb<TrainingSchema>(DB_NAME, VERSION, (d) => {
  d.createObjectStore('imported', { keyPath: 'id' });
});

/** Returns the stored imported runs in import order; records that are not valid runs are skipped. */
export async function storedRuns(): Promise<RunLog[]> {
  const rows = await (await open()).getAll('imported');
  return rows
    .sort((a, b) => a.order - b.order)
    .map((r) => asRunLog(r.run))
    .filter((r): r is RunLog => r !== null);
}

/** Stores an imported run (replacing one with the same id); resolves once committed. */
export async function storeRun(run: RunLog, order: number): Promise<void> {
  await (await open()).put('imported', { id: run.id, order, run });
}

/** Deletes a stored imported run. */
export async function deleteStoredRun(id: string): Promise<void> {
  await (await open()).delete('imported', id);
}

/** Stores imported runs whose ids are not stored yet, in one transaction (all or none); returns the ones added. */
export async function storeNewRuns(runs: RunLog[], order: number): Promise<RunLog[]> {
  const tx = (await open()).transaction('imported', 'readwrite');
  const store = tx.objectStore('imported');
  const fresh: RunLog[] = [];
  for (const run of runs) if ((await store.getKey(run.id)) === undefined) fresh.push(run);
  await committed(tx, (add) => fresh.forEach((run, i) => add(store.put({ id: run.id, order: order + i, run }))));
  return fresh;
}
