// Round-trip settings ⇄ URL query (`rt-*` keys; seed, bundle and backend are the config slice's), and the
// decoding policy a setting means. Pure functions: the panel's URL sync and the tests use them.
import type { DecodingPolicy } from '../../../src/engine/infer/index.ts';
import { ROUNDTRIP_MAX_LOOPS, ROUNDTRIP_MIN_LOOPS } from '../../../src/protocol/roundtrip.ts';
import { DEFAULT_RT_SETTINGS, type RtSettings } from '../../store/roundtrip';

const KEYS = { loops: 'rt-loops', decoding: 'rt-decode', temperature: 'rt-temp', topP: 'rt-topp', steps: 'rt-steps', scene: 'rt-scene' } as const;

function intIn(v: unknown, min: number, max: number): number | undefined {
  const n = typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

function numIn(v: unknown, lowOpen: number, high: number): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) && n > lowOpen && n <= high ? n : undefined;
}

/** Returns settings from untrusted values (query strings or numbers), defaults for what is missing or invalid. */
export function sanitizeRtSettings(raw: Partial<Record<keyof RtSettings, unknown>>): RtSettings {
  const d = DEFAULT_RT_SETTINGS;
  return {
    loops: intIn(raw.loops, ROUNDTRIP_MIN_LOOPS, ROUNDTRIP_MAX_LOOPS) ?? d.loops,
    decoding: raw.decoding === 'sample' || raw.decoding === 'greedy' ? raw.decoding : d.decoding,
    temperature: numIn(raw.temperature, 0, 10) ?? d.temperature,
    topP: numIn(raw.topP, 0, 1) ?? d.topP,
    steps: raw.steps === null ? null : (intIn(raw.steps, 1, 200) ?? d.steps),
  };
}

/** Returns the round-trip settings and scene seed a URL query carries (absent keys: defaults / undefined). */
export function rtFromQuery(search: string): { settings: RtSettings; scene?: number; present: boolean } {
  const q = new URLSearchParams(search);
  const settings = sanitizeRtSettings({
    loops: q.get(KEYS.loops) ?? undefined,
    decoding: q.get(KEYS.decoding) ?? undefined,
    temperature: q.get(KEYS.temperature) ?? undefined,
    topP: q.get(KEYS.topP) ?? undefined,
    steps: q.get(KEYS.steps) ?? undefined,
  });
  const scene = intIn(q.get(KEYS.scene) ?? undefined, 0, 0xffffffff);
  const present = Object.values(KEYS).some((k) => q.has(k));
  return scene === undefined ? { settings, present } : { settings, scene, present };
}

/** Returns `search` with the settings' non-default values and the scene seed written in (other keys kept). */
export function rtToQuery(settings: RtSettings, scene: number | undefined, search: string): string {
  const q = new URLSearchParams(search);
  const d = DEFAULT_RT_SETTINGS;
  const set = (key: string, value: string | null) => (value === null ? q.delete(key) : q.set(key, value));
  set(KEYS.loops, settings.loops === d.loops ? null : String(settings.loops));
  set(KEYS.decoding, settings.decoding === d.decoding ? null : settings.decoding);
  // Sampling knobs only mean something when sampling.
  const sampling = settings.decoding === 'sample';
  set(KEYS.temperature, sampling && settings.temperature !== d.temperature ? String(settings.temperature) : null);
  set(KEYS.topP, sampling && settings.topP !== d.topP ? String(settings.topP) : null);
  set(KEYS.steps, settings.steps === null ? null : String(settings.steps));
  set(KEYS.scene, scene === undefined ? null : String(scene));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Returns the decoding policy of the settings. */
export function decodingPolicy(s: RtSettings): DecodingPolicy {
  return s.decoding === 'greedy' ? { kind: 'greedy' } : { kind: 'sample', temperature: s.temperature, topP: s.topP };
}

/** Returns a short description of a policy: "greedy" or "T 0.8 · top-p 0.9". */
export function policyLabel(p: DecodingPolicy): string {
  return p.kind === 'greedy' ? 'greedy' : `T ${p.temperature} · top-p ${p.topP}`;
}
