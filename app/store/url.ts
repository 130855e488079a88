// Every shareable setting, described once: its URL name, type, default, range or choices, and the slice it
// belongs to. One parser and one writer read and write all of them (config, round trip, rollouts); the
// sync that applies them to the store and mirrors changes back is app/urlSync.ts. Pure functions.
import { LOSS_TYPES, REWARD_SCALINGS } from '../../src/engine/grpo.ts';
import { GROUP_SIZE_RANGE, REWARD_NAMES } from '../../src/engine/rollouts/index.ts';
import { BENCH_LIMITS } from '../../src/protocol/bench.ts';
import { ROUNDTRIP_MAX_LOOPS, ROUNDTRIP_MIN_LOOPS } from '../../src/protocol/roundtrip.ts';
import { DEFAULT_TRAIN_FORM, TRAIN_FORM_FIELDS } from '../../src/engine/train/form.ts';
import { initialConfig } from './configSlice';
import { DEFAULT_BENCH_FORM } from './benchSlice';
import { DEFAULT_FORM } from './rolloutsSlice';
import { DEFAULT_RT_SETTINGS } from './roundtripSlice';

/** The store part a setting belongs to: `config`, `runs.roundtrip.settings` (+ its scene), `runs.rollouts.form`, `runs.liveTrain.form`. */
export type UrlGroup = 'config' | 'roundtrip' | 'rollouts' | 'train' | 'bench';

export type UrlValue = string | number | null;

/** A group's settings as flat fields; a dotted field (`weights.sim`) names a nested one. */
export type UrlValues = Record<string, unknown>;

export interface UrlParam {
  /** The query key. */
  key: string;
  group: UrlGroup;
  /** The field in the group's values (dotted for nested fields). */
  field: string;
  /** int / number: a range (`lowOpen`: min itself excluded); enum: one of `values`; text: any non-empty string. */
  type: 'int' | 'number' | 'enum' | 'text';
  /** Left out of the URL when the value equals it; null: the setting may be unset (then left out). */
  default: UrlValue;
  min?: number;
  max?: number;
  lowOpen?: boolean;
  /** enum: the choices; int: words accepted besides numbers (e.g. 'current'). */
  values?: readonly string[];
  /** Written only while this holds of the group's values (e.g. sampling knobs only when sampling). */
  when?: (v: UrlValues) => boolean;
}

const UINT32_MAX = 0xffffffff;
const C = initialConfig;
const RT = DEFAULT_RT_SETTINGS;
const RO = DEFAULT_FORM;
const sampling = (v: UrlValues): boolean => v.decoding === 'sample';
const mixing = (v: UrlValues): boolean => v.reward === 'mix';
const penalised = (v: UrlValues): boolean => v.penalty !== 'none';

/** The table: every setting a link can carry, in the order its keys are written. */
export const URL_PARAMS: readonly UrlParam[] = [
  { key: 'backend', group: 'config', field: 'backend', type: 'enum', default: C.backend, values: ['auto', 'webgpu', 'wasm'] },
  { key: 'bundle', group: 'config', field: 'bundle', type: 'text', default: null },
  { key: 'seed', group: 'config', field: 'seed', type: 'int', default: C.seed, min: 0, max: Number.MAX_SAFE_INTEGER },

  {
    key: 'rt-loops',
    group: 'roundtrip',
    field: 'loops',
    type: 'int',
    default: RT.loops,
    min: ROUNDTRIP_MIN_LOOPS,
    max: ROUNDTRIP_MAX_LOOPS,
  },
  { key: 'rt-decode', group: 'roundtrip', field: 'decoding', type: 'enum', default: RT.decoding, values: ['greedy', 'sample'] },
  {
    key: 'rt-temp',
    group: 'roundtrip',
    field: 'temperature',
    type: 'number',
    default: RT.temperature,
    min: 0,
    lowOpen: true,
    max: 10,
    when: sampling,
  },
  { key: 'rt-topp', group: 'roundtrip', field: 'topP', type: 'number', default: RT.topP, min: 0, lowOpen: true, max: 1, when: sampling },
  { key: 'rt-steps', group: 'roundtrip', field: 'steps', type: 'int', default: RT.steps, min: 1, max: 200 },
  { key: 'rt-scene', group: 'roundtrip', field: 'scene', type: 'int', default: null, min: 0, max: UINT32_MAX },

  { key: 'ro-source', group: 'rollouts', field: 'source', type: 'enum', default: RO.source, values: ['scene', 'image'] },
  { key: 'ro-scene', group: 'rollouts', field: 'sceneSeed', type: 'int', default: RO.sceneSeed, min: 0, max: UINT32_MAX },
  { key: 'ro-batch', group: 'rollouts', field: 'batch', type: 'int', default: RO.batch, min: 1, max: 16 },
  {
    key: 'ro-group',
    group: 'rollouts',
    field: 'groupSize',
    type: 'int',
    default: RO.groupSize,
    min: GROUP_SIZE_RANGE.min,
    max: GROUP_SIZE_RANGE.max,
  },
  { key: 'ro-temp', group: 'rollouts', field: 'temperature', type: 'number', default: RO.temperature, min: 0, lowOpen: true, max: 10 },
  { key: 'ro-topp', group: 'rollouts', field: 'topP', type: 'number', default: RO.topP, min: 0, lowOpen: true, max: 1 },
  { key: 'ro-reconstruct', group: 'rollouts', field: 'reconstructBatch', type: 'int', default: RO.reconstructBatch, min: 1, max: 32 },
  { key: 'ro-steps', group: 'rollouts', field: 'flowSteps', type: 'int', default: RO.flowSteps, min: 1, max: 200 },
  { key: 'ro-reward', group: 'rollouts', field: 'reward', type: 'enum', default: RO.reward, values: [...REWARD_NAMES, 'mix'] },
  ...REWARD_NAMES.map((n): UrlParam => ({
    key: `ro-w-${n}`,
    group: 'rollouts',
    field: `weights.${n}`,
    type: 'number',
    default: RO.weights[n],
    min: -1e6,
    max: 1e6,
    when: mixing,
  })),
  { key: 'ro-penalty', group: 'rollouts', field: 'penalty', type: 'enum', default: RO.penalty, values: ['none', 'overlong', 'linear'] },
  {
    key: 'ro-overlong-max',
    group: 'rollouts',
    field: 'overlongMax',
    type: 'int',
    default: RO.overlongMax,
    min: 1,
    max: 100_000,
    when: (v) => v.penalty === 'overlong',
  },
  {
    key: 'ro-overlong-cache',
    group: 'rollouts',
    field: 'overlongCache',
    type: 'int',
    default: RO.overlongCache,
    min: 1,
    max: 100_000,
    when: (v) => v.penalty === 'overlong',
  },
  {
    key: 'ro-linear-coef',
    group: 'rollouts',
    field: 'linearCoef',
    type: 'number',
    default: RO.linearCoef,
    min: 0,
    max: 1e6,
    when: (v) => v.penalty === 'linear',
  },
  {
    key: 'ro-penalty-weight',
    group: 'rollouts',
    field: 'penaltyWeight',
    type: 'number',
    default: RO.penaltyWeight,
    min: -1e6,
    max: 1e6,
    when: penalised,
  },
  { key: 'ro-scale', group: 'rollouts', field: 'scale', type: 'enum', default: RO.scale, values: REWARD_SCALINGS },
  {
    key: 'ro-old',
    group: 'rollouts',
    field: 'old',
    type: 'int',
    default: RO.old,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    values: ['current'],
  },
  { key: 'ro-beta', group: 'rollouts', field: 'beta', type: 'number', default: RO.beta, min: 0, max: 1e6 },
  { key: 'ro-eps-low', group: 'rollouts', field: 'epsLow', type: 'number', default: RO.epsLow, min: 0, max: 1e6 },
  { key: 'ro-eps-high', group: 'rollouts', field: 'epsHigh', type: 'number', default: RO.epsHigh, min: 0, max: 1e6 },
  { key: 'ro-loss', group: 'rollouts', field: 'lossType', type: 'enum', default: RO.lossType, values: LOSS_TYPES },
  // Train live: the form's text as typed (the form names an invalid field; the link carries what was shared).
  ...TRAIN_FORM_FIELDS.map((f): UrlParam => ({
    key: f.key,
    group: 'train',
    field: f.field,
    type: 'text',
    default: DEFAULT_TRAIN_FORM[f.field],
  })),
  // Bench: the sizes and seeds (the benchmarks, encoders and a user's folder are chosen on the page).
  ...(
    [
      ['bn-scenes', 'scenes', BENCH_LIMITS.scenes],
      ['bn-seed', 'unifiedSeed', BENCH_LIMITS.seed],
      ['bn-prompts', 'promptsPerTask', BENCH_LIMITS.promptsPerTask],
      ['bn-per-prompt', 'perPrompt', BENCH_LIMITS.perPrompt],
      ['bn-gseed', 'genevalSeed', BENCH_LIMITS.seed],
      ['bn-steps', 'steps', BENCH_LIMITS.steps],
      ['bn-batch', 'batch', BENCH_LIMITS.batch],
    ] as const
  ).map(([key, field, r]): UrlParam => ({ key, group: 'bench', field, type: 'int', default: DEFAULT_BENCH_FORM[field], ...r })),
];

/** Returns the params of `group`, in table order. */
export function paramsOf(group: UrlGroup): UrlParam[] {
  return URL_PARAMS.filter((p) => p.group === group);
}

/** Returns `v` if it is an integer in [min, max] (a number, or a string of at most 10 digits), else undefined. */
export function intIn(v: unknown, min: number, max: number): number | undefined {
  const n = typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

/** Returns `v` as a finite number in [min, max] ((min, max] when `lowOpen`), else undefined. */
export function numIn(v: unknown, min: number, max: number, lowOpen = false): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) && (lowOpen ? n > min : n >= min) && n <= max ? n : undefined;
}

/** Returns the value `raw` (a query string or a stored value) means for `p`, or undefined when it is not valid. */
export function parseValue(p: UrlParam, raw: unknown): UrlValue | undefined {
  if (raw === null) return p.default === null ? null : undefined;
  const min = p.min ?? -Infinity;
  const max = p.max ?? Infinity;
  switch (p.type) {
    case 'int':
      return p.values?.includes(raw as string) ? (raw as string) : intIn(raw, min, max);
    case 'number':
      return numIn(raw, min, max, p.lowOpen);
    case 'enum':
      return p.values?.includes(raw as string) ? (raw as string) : undefined;
    case 'text':
      return typeof raw === 'string' && raw ? raw : undefined;
  }
}

/** Returns field `path` of `v` (dotted: nested). */
export function getField(v: UrlValues, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as UrlValues)[k] : undefined), v);
}

/** Returns `v` with field `path` (dotted: nested) set to `value`; `v` itself is not changed. */
export function setField<T extends object>(v: T, path: string, value: unknown): T {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) return { ...v, [head]: value };
  const old = (v as UrlValues)[head];
  return { ...v, [head]: setField(old && typeof old === 'object' ? old : {}, rest.join('.'), value) };
}

/** Returns `base` with every field of `group` that `raw` holds validly set (others keep base's value). */
export function sanitizeGroup<T extends object>(group: UrlGroup, raw: object, base: T): T {
  let out = base;
  for (const p of paramsOf(group)) {
    const v = parseValue(p, getField(raw as UrlValues, p.field));
    if (v !== undefined) out = setField(out, p.field, v);
  }
  return out;
}

/** What a query carries: per group, the valid settings present (dotted fields set nested) and whether any of its keys is there. */
export interface ParsedQuery {
  values: Record<UrlGroup, UrlValues>;
  present: Record<UrlGroup, boolean>;
}

/** Reads every described setting from a URL query; invalid or absent ones are left out. */
export function parseQuery(search: string): ParsedQuery {
  const q = new URLSearchParams(search);
  const out: ParsedQuery = {
    values: { config: {}, roundtrip: {}, rollouts: {}, train: {}, bench: {} },
    present: { config: false, roundtrip: false, rollouts: false, train: false, bench: false },
  };
  for (const p of URL_PARAMS) {
    const raw = q.get(p.key);
    if (raw === null) continue;
    out.present[p.group] = true;
    const v = parseValue(p, raw);
    if (v !== undefined && v !== null) out.values[p.group] = setField(out.values[p.group], p.field, v);
  }
  return out;
}

/** Returns `search` with `group`'s settings written in: non-default values set, the rest removed (other keys kept). */
export function writeQuery(group: UrlGroup, groupValues: object, search: string): string {
  const values = groupValues as UrlValues;
  const q = new URLSearchParams(search);
  for (const p of paramsOf(group)) {
    const v = getField(values, p.field);
    const shown = (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v));
    if (!shown || v === p.default || (p.when && !p.when(values))) q.delete(p.key);
    else q.set(p.key, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
