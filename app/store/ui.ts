import type { BundleListing, Tab } from './types';

export interface UiState {
  tab: Tab;
  /** public/models/index.json once fetched; null while loading. */
  catalog: { defaultId: string; bundles: BundleListing[] } | null;
}

export const initialUi: UiState = { tab: 'bundle', catalog: null };
