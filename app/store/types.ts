// Serialisable shapes the UI keeps in its store. Engine objects (Worker, sessions) never live here.
import type { ProgressPhase } from '../../src/protocol/messages.ts';

export type { BackendChoice, BackendInfo, BundleSummary, LoadedFileInfo } from '../../src/protocol/messages.ts';

/** An error: a code (for docs, tests and data-code) and a sentence (what the banner shows first). Engine codes plus the UI's own. */
export interface AppError {
  code: string;
  message: string;
  /** The tab whose action failed: the banner shows it only there. None: every tab (loading, backend, catalog). */
  tab?: Tab;
}

export interface FileProgress {
  path: string;
  loaded: number;
  total: number;
}

/** Byte progress of one bundle load, overall and per file (files in the order they start). */
export interface LoadProgress {
  phase: ProgressPhase;
  loaded: number;
  total: number;
  files: FileProgress[];
}

/** An entry of public/models/index.json. */
export interface BundleListing {
  id: string;
  name: string;
  description?: string;
}

export type Tab = 'bundle' | 'roundtrip' | 'rollouts' | 'training' | 'bench';
