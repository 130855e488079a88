import type { AppError, BackendInfo, BundleSummary, LoadProgress } from './types';

/** What the worker is doing now: the request kind it runs (null: idle) and how many wait. */
export interface EngineActivityState {
  running: string | null;
  queued: number;
}

/** The last restart of the engine worker after it died, as the notice shows it. */
export interface EngineRestart {
  reason: string;
  restarts: number;
  /** False when the restart cap was hit and no worker runs. */
  restarted: boolean;
  /** ms since epoch. */
  at: number;
}

/** A bundle URL on another origin, waiting for the user's yes or no before anything is fetched. */
export interface OriginPrompt {
  url: string;
  baseUrl: string;
  origin: string;
}

export type EngineStatus = 'starting' | 'ready' | 'failed';

/**
 * The warm-up after a load (src/engine/infer/warmup.ts): running, done (each round's ms, why it stopped), gave way
 * to a request that arrived first (that request did the warming), or failed (its message; nothing else is affected).
 */
export type WarmUpState =
  | { status: 'running'; bundleId: string }
  | { status: 'done'; bundleId: string; roundsMs: number[]; stoppedBy: string }
  | { status: 'gave-way' | 'failed'; bundleId: string; message: string };

/** What the UI knows about the worker: all plain data, copied from engine events. */
export interface EngineState {
  status: EngineStatus;
  backend: BackendInfo | null;
  /** The bundle in use; stays set when a later load fails. */
  bundle: BundleSummary | null;
  /** Where the loaded bundle came from: a URL, or local files (label = folder name). */
  bundleOrigin: { kind: 'url' | 'files'; label: string } | null;
  /** Set while a bundle is downloading / being verified. */
  loading: { source: string; progress: LoadProgress | null } | null;
  /** The last error, shown in the banner until dismissed or the next success. */
  error: AppError | null;
  activity: EngineActivityState;
  restart: EngineRestart | null;
  originPrompt: OriginPrompt | null;
  warmUp: WarmUpState | null;
}

export const initialEngine: EngineState = {
  status: 'starting',
  backend: null,
  bundle: null,
  bundleOrigin: null,
  loading: null,
  error: null,
  activity: { running: null, queued: 0 },
  restart: null,
  originPrompt: null,
  warmUp: null,
};

/**
 * True when a request can be sent to the loaded bundle now: the engine is up, on a backend, with a bundle, and no
 * (re)load is in progress (after a worker restart the old summary stays shown while the bundle is reloaded).
 */
export function engineReady(e: EngineState): boolean {
  return e.status === 'ready' && e.backend !== null && e.bundle !== null && e.loading === null;
}
