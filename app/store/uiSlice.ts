import type { BundleListing, Tab } from './types';

export interface UiState {
  /** The tab on screen; a first visit opens on the round trip (the idea of the app, ready to run). */
  tab: Tab;
  /** public/models/index.json once fetched; null while loading. */
  catalog: { defaultId: string; bundles: BundleListing[] } | null;
}

export const initialUi: UiState = { tab: 'roundtrip', catalog: null };
