import type { AppError, BackendInfo, BundleSummary, LoadProgress } from './types';

export type EngineStatus = 'starting' | 'ready' | 'failed';

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
}

export const initialEngine: EngineState = {
  status: 'starting',
  backend: null,
  bundle: null,
  bundleOrigin: null,
  loading: null,
  error: null,
};
