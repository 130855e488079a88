import type { BackendChoice } from './types';

/** Shareable settings: persisted to localStorage and mirrored into the URL query. */
export interface ConfigState {
  backend: BackendChoice;
  /** A bundle id from public/models/index.json, or a bundle URL; null = the catalog's default. */
  bundle: string | null;
  /** Seed for every sampled run, so a shared link reproduces it. */
  seed: number;
}

export const initialConfig: ConfigState = { backend: 'auto', bundle: null, seed: 0 };

const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];

/** Returns the settings present and valid in a URL query string (others are left out). */
export function configFromQuery(search: string): Partial<ConfigState> {
  const q = new URLSearchParams(search);
  const out: Partial<ConfigState> = {};
  const backend = q.get('backend');
  if (backend && (BACKENDS as readonly string[]).includes(backend)) out.backend = backend as BackendChoice;
  const bundle = q.get('bundle');
  if (bundle) out.bundle = bundle;
  const seed = q.get('seed');
  if (seed !== null && /^\d{1,10}$/.test(seed)) out.seed = Number(seed);
  return out;
}

/** Returns `search` with the config's non-default settings written in (other params kept). */
export function configToQuery(config: ConfigState, search: string): string {
  const q = new URLSearchParams(search);
  const set = (key: string, value: string | null, fallback: string | null) => {
    if (value === null || value === fallback) q.delete(key);
    else q.set(key, value);
  };
  set('backend', config.backend, initialConfig.backend);
  set('bundle', config.bundle, null);
  set('seed', String(config.seed), String(initialConfig.seed));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Returns a validated config from untrusted stored data, defaulting what is missing or wrong. */
export function sanitizeConfig(raw: unknown): ConfigState {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  return {
    backend: (BACKENDS as readonly unknown[]).includes(r.backend) ? (r.backend as BackendChoice) : initialConfig.backend,
    bundle: typeof r.bundle === 'string' && r.bundle ? r.bundle : null,
    seed: Number.isInteger(r.seed) && (r.seed as number) >= 0 ? (r.seed as number) : initialConfig.seed,
  };
}
