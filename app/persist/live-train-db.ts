// A run trained in the page, in IndexedDB (through idb), so a reload loses nothing finished: the run (settings, log,
// evaluations, status), the state to resume from (float32 weights + AdamW's moments, rewritten after every step) and
// the checkpoints' weights by step. One run is kept: starting a new one replaces it. Its own database.
import type { DBSchema } from 'idb';
import type { DecoderParams } from '../../src/engine/train/params.ts';
import type { TrainState } from '../../src/protocol/train.ts';
import type { LiveRun } from '../store/liveTrainSlice';
import { committed } from './commit';
import { lazyDb } from './db';

const DB_NAME = 'uae-playground-live-train';
const VERSION = 1;
const CURRENT = 'current';

interface LiveTrainSchema extends DBSchema {
  runs: { key: string; value: { key: string; run: LiveRun } };
  states: { key: string; value: { key: string; runId: string; state: TrainState } };
  checkpoints: { key: number; value: { step: number; runId: string; params: DecoderParams } };
}

const db = lazyDb<LiveTrainSchema>(DB_NAME, VERSION, (d) => {
  d.createObjectStore('runs', { keyPath: 'key' });
  d.createObjectStore('states', { keyPath: 'key' });
  d.createObjectStore('checkpoints', { keyPath: 'step' });
});

/** Returns the stored run, or null when there is none. */
export async function storedLiveRun(): Promise<LiveRun | null> {
  return (await (await db.open()).get('runs', CURRENT))?.run ?? null;
}

/** Replaces whatever was stored by a new run (its state and checkpoints go too). */
export async function startStoredRun(run: LiveRun): Promise<void> {
  const tx = (await db.open()).transaction(['runs', 'states', 'checkpoints'], 'readwrite');
  await committed(tx, (add) => {
    add(tx.objectStore('states').clear());
    add(tx.objectStore('checkpoints').clear());
    add(tx.objectStore('runs').put({ key: CURRENT, run }));
  });
}

/** Stores the run (rows, status), and with a finished step its resume state and, when it is one, its checkpoint: all or none. */
export async function saveLiveRun(run: LiveRun, step?: { state: TrainState; checkpoint: boolean }): Promise<void> {
  const tx = (await db.open()).transaction(['runs', 'states', 'checkpoints'], 'readwrite');
  await committed(tx, (add) => {
    add(tx.objectStore('runs').put({ key: CURRENT, run }));
    if (!step) return;
    add(tx.objectStore('states').put({ key: CURRENT, runId: run.id, state: step.state }));
    if (step.checkpoint) add(tx.objectStore('checkpoints').put({ step: step.state.step, runId: run.id, params: step.state.params }));
  });
}

/** Returns the stored resume state of run `runId`, or null. */
export async function storedState(runId: string): Promise<TrainState | null> {
  const row = await (await db.open()).get('states', CURRENT);
  return row && row.runId === runId ? row.state : null;
}

/** Returns the stored weights of checkpoint `step` of run `runId`, or null. */
export async function storedCheckpoint(runId: string, step: number): Promise<DecoderParams | null> {
  const row = await (await db.open()).get('checkpoints', step);
  return row && row.runId === runId ? row.params : null;
}

/** Deletes the stored run, its state and checkpoints. */
export async function clearLiveRun(): Promise<void> {
  const tx = (await db.open()).transaction(['runs', 'states', 'checkpoints'], 'readwrite');
  await committed(tx, (add) => {
    add(tx.objectStore('runs').clear());
    add(tx.objectStore('states').clear());
    add(tx.objectStore('checkpoints').clear());
  });
}
