import { create } from 'zustand';
import { createJSONStorage, persist, type StateStorage } from 'zustand/middleware';
import { initialConfig, type ConfigState } from './configSlice';
import { initialEngine, type EngineState } from './engineSlice';
import { initialRuns, type RunsState } from './runsSlice';
import { initialUi, type UiState } from './uiSlice';
import { sanitizeGroup } from './url';

/** The one app store: four slices, no actions inside (actions are module functions). */
export interface Store {
  config: ConfigState;
  engine: EngineState;
  runs: RunsState;
  ui: UiState;
}

const STORAGE_KEY = 'uae-playground';
const STORAGE_VERSION = 1;

/** Returns a validated config from untrusted stored data, defaulting what is missing or wrong. */
export function sanitizeConfig(raw: unknown): ConfigState {
  return sanitizeGroup('config', raw && typeof raw === 'object' ? raw : {}, initialConfig);
}

// persist writes on every setState (progress included); only a changed config reaches storage.
let lastWritten = '';

/**
 * localStorage for the user's last settings (the URL query is laid over them by app/urlSync.ts, so a
 * shared link wins).
 */
const localSettings: StateStorage = {
  getItem(name) {
    let stored: { state?: { config?: unknown }; version?: number };
    try {
      stored = JSON.parse(localStorage.getItem(name) ?? '{}');
    } catch {
      stored = {};
    }
    return JSON.stringify({ state: { config: sanitizeConfig(stored.state?.config) }, version: stored.version ?? STORAGE_VERSION });
  },
  setItem(name, value) {
    if (value === lastWritten) return;
    lastWritten = value;
    try {
      localStorage.setItem(name, value);
    } catch {
      // Storage can be full or disabled; the URL still carries the settings.
    }
  },
  removeItem(name) {
    localStorage.removeItem(name);
  },
};

export const useStore = create<Store>()(
  persist(() => ({ config: initialConfig, engine: initialEngine, runs: initialRuns, ui: initialUi }), {
    name: STORAGE_KEY,
    version: STORAGE_VERSION,
    // Stored configs of any version pass through sanitizeConfig in merge, which drops what it does not know.
    migrate: (persisted) => persisted as Store,
    storage: createJSONStorage(() => localSettings),
    partialize: (s) => ({ config: s.config }),
    merge: (persisted, current) => ({
      ...current,
      config: sanitizeConfig((persisted as { config?: unknown } | undefined)?.config),
    }),
  }),
);
