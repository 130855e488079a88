// Round-trip settings ⇄ URL query (`rt-*` keys of the table in store/url.ts; seed, bundle and backend are the
// config slice's), and the decoding policy a setting means. Pure functions.
import type { DecodingPolicy } from '../../../src/engine/infer/index.ts';
import { DEFAULT_RT_SETTINGS, type RtSettings } from '../../store/roundtripSlice';
import { parseQuery, sanitizeGroup, writeQuery } from '../../store/url';

/** Returns settings from untrusted values (query strings or numbers), defaults for what is missing or invalid. */
export function sanitizeRtSettings(raw: Partial<Record<keyof RtSettings, unknown>>): RtSettings {
  const { loops, decoding, temperature, topP, steps } = sanitizeGroup('roundtrip', raw, DEFAULT_RT_SETTINGS);
  return { loops, decoding, temperature, topP, steps };
}

/** Returns the round-trip settings and scene seed a URL query carries (absent keys: defaults / undefined). */
export function rtFromQuery(search: string): { settings: RtSettings; scene?: number; present: boolean } {
  const { values, present } = parseQuery(search);
  const settings = sanitizeRtSettings(values.roundtrip);
  const scene = values.roundtrip.scene as number | undefined;
  return scene === undefined ? { settings, present: present.roundtrip } : { settings, scene, present: present.roundtrip };
}

/** Returns `search` with the settings' non-default values and the scene seed written in (other keys kept). */
export function rtToQuery(settings: RtSettings, scene: number | undefined, search: string): string {
  return writeQuery('roundtrip', { ...settings, scene }, search);
}

/** Returns the decoding policy of the settings. */
export function decodingPolicy(s: RtSettings): DecodingPolicy {
  return s.decoding === 'greedy' ? { kind: 'greedy' } : { kind: 'sample', temperature: s.temperature, topP: s.topP };
}

/** Returns a short description of a policy: "greedy" or "T 0.8 · top-p 0.9". */
export function policyLabel(p: DecodingPolicy): string {
  return p.kind === 'greedy' ? 'greedy' : `T ${p.temperature} · top-p ${p.topP}`;
}
