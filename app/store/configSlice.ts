import type { BackendChoice } from './types';

/** Shareable settings: persisted to localStorage and mirrored into the URL query (see url.ts). */
export interface ConfigState {
  backend: BackendChoice;
  /** A bundle id from public/models/index.json, or a bundle URL; null = the catalog's default. */
  bundle: string | null;
  /** Seed for every sampled run, so a shared link reproduces it. */
  seed: number;
}

export const initialConfig: ConfigState = { backend: 'auto', bundle: null, seed: 0 };
