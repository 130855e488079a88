import { create } from 'zustand';
import { createJSONStorage, persist, type StateStorage } from 'zustand/middleware';
import { configFromQuery, configToQuery, initialConfig, sanitizeConfig, type ConfigState } from './config';
import { initialEngine, type EngineState } from './engine';
import { initialRuns, type RunsState } from './runs';
import { initialUi, type UiState } from './ui';

/** The one app store: four slices, no actions inside (actions are module functions). */
export interface Store {
  config: ConfigState;
  engine: EngineState;
  runs: RunsState;
  ui: UiState;
}

const STORAGE_KEY = 'uae-playground';
const STORAGE_VERSION = 1;

// persist writes on every setState (progress included); only a changed config reaches storage.
let lastWritten = '';

/**
 * localStorage for the user's last settings, overlaid by the URL query so a shared link wins;
 * every write mirrors the settings back into the URL (replaceState: no history spam).
 */
const urlAndLocalStorage: StateStorage = {
  getItem(name) {
    let stored: { state?: { config?: unknown }; version?: number } = {};
    try {
      stored = JSON.parse(localStorage.getItem(name) ?? '{}');
    } catch {
      stored = {};
    }
    const config = { ...sanitizeConfig(stored.state?.config), ...configFromQuery(location.search) };
    return JSON.stringify({ state: { config }, version: stored.version ?? STORAGE_VERSION });
  },
  setItem(name, value) {
    if (value === lastWritten) return;
    lastWritten = value;
    try {
      localStorage.setItem(name, value);
    } catch {
      // Storage can be full or disabled; the URL still carries the settings.
    }
    const config = sanitizeConfig((JSON.parse(value) as { state?: { config?: unknown } }).state?.config);
    const search = configToQuery(config, location.search);
    if (search !== location.search) history.replaceState(history.state, '', `${location.pathname}${search}${location.hash}`);
  },
  removeItem(name) {
    localStorage.removeItem(name);
  },
};

export const useStore = create<Store>()(
  persist(
    () => ({ config: initialConfig, engine: initialEngine, runs: initialRuns, ui: initialUi }),
    {
      name: STORAGE_KEY,
      version: STORAGE_VERSION,
      // Stored configs of any version pass through sanitizeConfig in merge, which drops what it does not know.
      migrate: (persisted) => persisted as Store,
      storage: createJSONStorage(() => urlAndLocalStorage),
      partialize: (s) => ({ config: s.config }),
      merge: (persisted, current) => ({
        ...current,
        config: sanitizeConfig((persisted as { config?: unknown } | undefined)?.config),
      }),
    },
  ),
);
