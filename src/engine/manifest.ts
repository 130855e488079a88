/**
 * The bundle manifest ("uae-bundle/1"): its TypeScript type and a hand-written validator whose errors
 * name the file and the field ("manifest.json: files[2].sha256 must be 64 hex chars").
 * docs/bundle-format.md documents every field.
 */
import { EngineError } from './errors.ts';
import { isObj, Reader } from './json-reader.ts';

/** The schema string every manifest of this version carries. */
export const BUNDLE_SCHEMA = 'uae-bundle/1';

/** One file of the bundle: path relative to manifest.json, exact byte size, lowercase hex sha256. */
export interface BundleFileEntry {
  path: string;
  bytes: number;
  sha256: string;
}

/** Element types a graph input/output may declare. */
export type IoDType = 'float32' | 'float16' | 'int32' | 'int64' | 'uint8' | 'bool';

/** One graph input or output; string dims are symbolic (e.g. 'batch'). */
export interface IoTensorSpec {
  name: string;
  dtype: IoDType;
  shape: (number | string)[];
}

/** Inputs and outputs of one ONNX graph. */
export interface GraphIo {
  inputs: IoTensorSpec[];
  outputs: IoTensorSpec[];
}

/** How an image becomes `pixel_values`: resize to width×height, x*scale, then (x-mean)/std per channel. */
export interface ImagePreprocessing {
  width: number;
  height: number;
  channels: 3;
  layout: 'NCHW';
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  resize: 'cover' | 'contain' | 'stretch';
}

/** Default settings the UI starts from. */
export interface BundleDefaults {
  flowSteps: number;
  maxTokens: number;
  loops: number;
  groupSize: number;
  temperature: number;
  topP: number;
  seed: number;
}

/** Understanding model (image → caption): a vision graph and an autoregressive text decoder with KV cache. */
export interface EncoderRole {
  vision: string;
  decoder: string;
  numLayers: number;
  numHeads: number;
  headDim: number;
  maxTokens: number;
  bosId: number;
  eosId: number;
  padId: number;
}

/** Generation model (caption → image); extra numeric params (e.g. sigmaA) are allowed by name. */
export interface DecoderRole {
  textEncoder: string;
  transformer: string;
  vaeDecoder?: string;
  latentShape: number[];
  [param: string]: string | number | number[] | undefined;
}

/** Fidelity scorer: image and text towers into a shared embedding of size embedDim. */
export interface ScorerRole {
  vision: string;
  text: string;
  embedDim: number;
}

/**
 * A vision backbone besides the scorer: one image graph (pixel_values → image_embeds, unit norm) whose image-image
 * cosine is a similarity measure of its own (Unified-Bench's backbones; a reward term). `id` names it in results
 * and reward mixes.
 */
export interface BackboneRole {
  id: string;
  label: string;
  vision: string;
  embedDim: number;
}

/** An encoder snapshot from training, for before/after comparisons. */
export interface CheckpointEntry {
  step: number;
  label: string;
  encoder: { vision: string; decoder: string };
}

/** A recorded training run (e.g. a TRL trainer_state.json) shipped with the bundle. */
export interface RunEntry {
  id: string;
  label: string;
  stage: string;
  path: string;
}

/** The roles a bundle may fill; every path in them appears in `files`. */
export interface BundleRoles {
  encoder?: EncoderRole;
  referenceEncoder?: EncoderRole;
  decoder?: DecoderRole;
  scorer?: ScorerRole;
  backbones?: BackboneRole[];
  checkpoints?: CheckpointEntry[];
  runs?: RunEntry[];
}

/** A validated manifest.json. */
export interface BundleManifest {
  schema: typeof BUNDLE_SCHEMA;
  id: string;
  name: string;
  version: string;
  description: string;
  tokenizer?: string;
  files: BundleFileEntry[];
  io: Record<string, GraphIo>;
  preprocessing: { image: ImagePreprocessing };
  defaults: BundleDefaults;
  roles: BundleRoles;
}

/** Outcome of validation: the typed manifest, or every problem found (each naming file and field). */
export type ManifestValidation = { ok: true; manifest: BundleManifest } | { ok: false; errors: string[] };

const IO_DTYPES: readonly IoDType[] = ['float32', 'float16', 'int32', 'int64', 'uint8', 'bool'];
const DECODER_PATH_KEYS = ['textEncoder', 'transformer', 'vaeDecoder'];

/** Reads `files`; `seen` gets every well-formed path, even of entries with other errors (no cascades). */
function readFiles(r: Reader, v: unknown, seen: Set<string>): BundleFileEntry[] | undefined {
  const list = r.arr(v, 'files');
  if (!list) return undefined;
  const out: BundleFileEntry[] = [];
  list.forEach((item, i) => {
    const f = `files[${i}]`;
    const o = r.obj(item, f);
    if (!o) return;
    const path = r.path(o.path, `${f}.path`);
    const bytes = r.num(o.bytes, `${f}.bytes`, { int: true, min: 0 });
    let sha256: string | undefined;
    if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) r.fail(`${f}.sha256`, 'must be 64 hex chars');
    else sha256 = o.sha256;
    if (path !== undefined && seen.has(path)) r.fail(`${f}.path`, `'${path}' is listed twice`);
    if (path !== undefined) seen.add(path);
    if (path !== undefined && bytes !== undefined && sha256 !== undefined) out.push({ path, bytes, sha256 });
  });
  return out;
}

function readIoList(r: Reader, v: unknown, field: string): IoTensorSpec[] | undefined {
  const list = r.arr(v, field);
  if (!list) return undefined;
  const out: IoTensorSpec[] = [];
  list.forEach((item, i) => {
    const f = `${field}[${i}]`;
    const o = r.obj(item, f);
    if (!o) return;
    const name = r.str(o.name, `${f}.name`);
    const dtype = r.oneOf(o.dtype, `${f}.dtype`, IO_DTYPES);
    const dims = r.arr(o.shape, `${f}.shape`);
    const shape: (number | string)[] = [];
    dims?.forEach((d, j) => {
      if ((typeof d === 'number' && Number.isInteger(d) && d >= 0) || (typeof d === 'string' && d.length > 0)) shape.push(d);
      else r.fail(`${f}.shape[${j}]`, 'must be a non-negative integer or a symbolic name');
    });
    if (name !== undefined && dtype !== undefined && dims !== undefined) out.push({ name, dtype, shape });
  });
  return out;
}

function readIo(r: Reader, v: unknown, files: Set<string>): Record<string, GraphIo> | undefined {
  const o = r.obj(v, 'io');
  if (!o) return undefined;
  const out: Record<string, GraphIo> = {};
  for (const [key, spec] of Object.entries(o)) {
    const f = `io["${key}"]`;
    if (!files.has(key)) r.fail(f, `'${key}' is not listed in files`);
    const s = r.obj(spec, f);
    if (!s) continue;
    const inputs = readIoList(r, s.inputs, `${f}.inputs`);
    const outputs = readIoList(r, s.outputs, `${f}.outputs`);
    if (inputs && outputs) out[key] = { inputs, outputs };
  }
  return out;
}

function readImage(r: Reader, v: unknown): ImagePreprocessing | undefined {
  const root = r.obj(v, 'preprocessing');
  const o = root && r.obj(root.image, 'preprocessing.image');
  if (!o) return undefined;
  const f = 'preprocessing.image';
  const width = r.num(o.width, `${f}.width`, { int: true, min: 1 });
  const height = r.num(o.height, `${f}.height`, { int: true, min: 1 });
  const channels = o.channels === 3 ? 3 : r.fail(`${f}.channels`, 'must be 3');
  const layout = o.layout === 'NCHW' ? 'NCHW' : r.fail(`${f}.layout`, "must be 'NCHW'");
  const scale = r.num(o.scale, `${f}.scale`, { gt: 0 });
  const mean = r.nums(o.mean, `${f}.mean`, 3);
  const std = r.nums(o.std, `${f}.std`, 3, { gt: 0 });
  const resize = r.oneOf(o.resize, `${f}.resize`, ['cover', 'contain', 'stretch'] as const);
  if (width === undefined || height === undefined || channels === undefined || layout === undefined) return undefined;
  if (scale === undefined || mean === undefined || std === undefined || resize === undefined) return undefined;
  return { width, height, channels, layout, scale, mean: [mean[0], mean[1], mean[2]], std: [std[0], std[1], std[2]], resize };
}

function readDefaults(r: Reader, v: unknown): BundleDefaults | undefined {
  const o = r.obj(v, 'defaults');
  if (!o) return undefined;
  const int = { int: true, min: 1 };
  const d = {
    flowSteps: r.num(o.flowSteps, 'defaults.flowSteps', int),
    maxTokens: r.num(o.maxTokens, 'defaults.maxTokens', int),
    loops: r.num(o.loops, 'defaults.loops', int),
    groupSize: r.num(o.groupSize, 'defaults.groupSize', int),
    temperature: r.num(o.temperature, 'defaults.temperature', { min: 0 }),
    topP: r.num(o.topP, 'defaults.topP', { gt: 0 }),
    seed: r.num(o.seed, 'defaults.seed', { int: true, min: 0 }),
  };
  if (d.topP !== undefined && d.topP > 1) r.fail('defaults.topP', 'must be <= 1');
  const { flowSteps, maxTokens, loops, groupSize, temperature, topP, seed } = d;
  if (flowSteps === undefined || maxTokens === undefined || loops === undefined || groupSize === undefined) return undefined;
  if (temperature === undefined || topP === undefined || topP > 1 || seed === undefined) return undefined;
  return { flowSteps, maxTokens, loops, groupSize, temperature, topP, seed };
}

function readEncoder(r: Reader, v: unknown, field: string, files: Set<string>): EncoderRole | undefined {
  const o = r.obj(v, field);
  if (!o) return undefined;
  const vision = r.ref(o.vision, `${field}.vision`, files);
  const decoder = r.ref(o.decoder, `${field}.decoder`, files);
  const ints = ['numLayers', 'numHeads', 'headDim', 'maxTokens', 'bosId', 'eosId', 'padId'] as const;
  const n = ints.map((k) => r.num(o[k], `${field}.${k}`, { int: true, min: k.endsWith('Id') ? 0 : 1 }));
  if (vision === undefined || decoder === undefined || !n.every((x): x is number => x !== undefined)) return undefined;
  const [numLayers, numHeads, headDim, maxTokens, bosId, eosId, padId] = n;
  return { vision, decoder, numLayers, numHeads, headDim, maxTokens, bosId, eosId, padId };
}

function readDecoder(r: Reader, v: unknown, files: Set<string>): DecoderRole | undefined {
  const o = r.obj(v, 'roles.decoder');
  if (!o) return undefined;
  const textEncoder = r.ref(o.textEncoder, 'roles.decoder.textEncoder', files);
  const transformer = r.ref(o.transformer, 'roles.decoder.transformer', files);
  const vaeDecoder = o.vaeDecoder === undefined ? undefined : r.ref(o.vaeDecoder, 'roles.decoder.vaeDecoder', files);
  const latentShape = r.nums(o.latentShape, 'roles.decoder.latentShape', undefined, { int: true, min: 1 });
  const extra: Record<string, number> = {};
  for (const [k, val] of Object.entries(o)) {
    if (DECODER_PATH_KEYS.includes(k) || k === 'latentShape') continue;
    const x = r.num(val, `roles.decoder.${k}`);
    if (x !== undefined) extra[k] = x;
  }
  if (textEncoder === undefined || transformer === undefined || latentShape === undefined) return undefined;
  if (o.vaeDecoder !== undefined && vaeDecoder === undefined) return undefined;
  return { ...extra, textEncoder, transformer, ...(vaeDecoder ? { vaeDecoder } : {}), latentShape };
}

function readScorer(r: Reader, v: unknown, files: Set<string>): ScorerRole | undefined {
  const o = r.obj(v, 'roles.scorer');
  if (!o) return undefined;
  const vision = r.ref(o.vision, 'roles.scorer.vision', files);
  const text = r.ref(o.text, 'roles.scorer.text', files);
  const embedDim = r.num(o.embedDim, 'roles.scorer.embedDim', { int: true, min: 1 });
  return vision !== undefined && text !== undefined && embedDim !== undefined ? { vision, text, embedDim } : undefined;
}

function readBackbones(r: Reader, v: unknown, files: Set<string>): BackboneRole[] | undefined {
  const list = r.arr(v, 'roles.backbones');
  if (!list) return undefined;
  const out: BackboneRole[] = [];
  list.forEach((item, i) => {
    const f = `roles.backbones[${i}]`;
    const o = r.obj(item, f);
    if (!o) return;
    const id = r.str(o.id, `${f}.id`);
    if (id !== undefined && !/^[a-z][a-z0-9_]*$/.test(id)) r.fail(`${f}.id`, `must be lower-case letters, digits and _ (got '${id}')`);
    else if (id !== undefined && (id === 'scorer' || out.some((b) => b.id === id))) r.fail(`${f}.id`, `'${id}' is already taken`);
    const label = r.str(o.label, `${f}.label`);
    const vision = r.ref(o.vision, `${f}.vision`, files);
    const embedDim = r.num(o.embedDim, `${f}.embedDim`, { int: true, min: 1 });
    if (id !== undefined && label !== undefined && vision !== undefined && embedDim !== undefined)
      out.push({ id, label, vision, embedDim });
  });
  return out;
}

function readCheckpoints(r: Reader, v: unknown, files: Set<string>): CheckpointEntry[] | undefined {
  const list = r.arr(v, 'roles.checkpoints');
  if (!list) return undefined;
  const out: CheckpointEntry[] = [];
  list.forEach((item, i) => {
    const f = `roles.checkpoints[${i}]`;
    const o = r.obj(item, f);
    if (!o) return;
    const step = r.num(o.step, `${f}.step`, { int: true, min: 0 });
    const label = r.str(o.label, `${f}.label`);
    const enc = r.obj(o.encoder, `${f}.encoder`);
    const vision = enc && r.ref(enc.vision, `${f}.encoder.vision`, files);
    const decoder = enc && r.ref(enc.decoder, `${f}.encoder.decoder`, files);
    if (step !== undefined && label !== undefined && vision !== undefined && decoder !== undefined) {
      out.push({ step, label, encoder: { vision, decoder } });
    }
  });
  return out;
}

function readRuns(r: Reader, v: unknown, files: Set<string>): RunEntry[] | undefined {
  const list = r.arr(v, 'roles.runs');
  if (!list) return undefined;
  const out: RunEntry[] = [];
  list.forEach((item, i) => {
    const f = `roles.runs[${i}]`;
    const o = r.obj(item, f);
    if (!o) return;
    const id = r.str(o.id, `${f}.id`);
    const label = r.str(o.label, `${f}.label`);
    const stage = r.str(o.stage, `${f}.stage`);
    const path = r.ref(o.path, `${f}.path`, files);
    if (id !== undefined && label !== undefined && stage !== undefined && path !== undefined) out.push({ id, label, stage, path });
  });
  return out;
}

function readRoles(r: Reader, v: unknown, files: Set<string>): BundleRoles | undefined {
  const o = r.obj(v, 'roles');
  if (!o) return undefined;
  const known = ['encoder', 'referenceEncoder', 'decoder', 'scorer', 'backbones', 'checkpoints', 'runs'];
  for (const k of Object.keys(o)) if (!known.includes(k)) r.fail(`roles.${k}`, `is not a known role (${known.join(', ')})`);
  const roles: BundleRoles = {};
  if (o.encoder !== undefined) roles.encoder = readEncoder(r, o.encoder, 'roles.encoder', files);
  if (o.referenceEncoder !== undefined) roles.referenceEncoder = readEncoder(r, o.referenceEncoder, 'roles.referenceEncoder', files);
  if (o.decoder !== undefined) roles.decoder = readDecoder(r, o.decoder, files);
  if (o.scorer !== undefined) roles.scorer = readScorer(r, o.scorer, files);
  if (o.backbones !== undefined) roles.backbones = readBackbones(r, o.backbones, files);
  if (o.checkpoints !== undefined) roles.checkpoints = readCheckpoints(r, o.checkpoints, files);
  if (o.runs !== undefined) roles.runs = readRuns(r, o.runs, files);
  return roles;
}

/** Returns the typed manifest, or all schema errors as "<file>: <field> <problem>" lines. */
export function validateManifest(json: unknown, file = 'manifest.json'): ManifestValidation {
  const r = new Reader(file);
  const root = isObj(json) ? json : undefined;
  if (!root) return { ok: false, errors: [`${file}: must be a JSON object`] };
  if (root.schema !== BUNDLE_SCHEMA) r.fail('schema', `must be '${BUNDLE_SCHEMA}'`);
  const id = r.str(root.id, 'id');
  if (id !== undefined && !/^[a-z0-9][a-z0-9._-]*$/.test(id)) r.fail('id', 'must be lowercase letters, digits, ., _ or -');
  const name = r.str(root.name, 'name');
  const version = r.str(root.version, 'version');
  const description = typeof root.description === 'string' ? root.description : r.fail('description', 'must be a string');
  const paths = new Set<string>();
  const files = readFiles(r, root.files, paths) ?? [];
  const tokenizer = root.tokenizer === undefined ? undefined : r.ref(root.tokenizer, 'tokenizer', paths);
  const io = readIo(r, root.io, paths);
  const image = readImage(r, root.preprocessing);
  const defaults = readDefaults(r, root.defaults);
  const roles = readRoles(r, root.roles, paths);
  if (r.errors.length > 0) return { ok: false, errors: r.errors };
  if (!id || !name || !version || description === undefined || !io || !image || !defaults || !roles) {
    return { ok: false, errors: [`${file}: is incomplete`] };
  }
  const manifest: BundleManifest = {
    schema: BUNDLE_SCHEMA,
    id,
    name,
    version,
    description,
    files,
    io,
    preprocessing: { image },
    defaults,
    roles,
  };
  if (tokenizer !== undefined) manifest.tokenizer = tokenizer;
  return { ok: true, manifest };
}

/**
 * Returns the validated manifest parsed from manifest.json text; throws EngineError ('manifest-json' | 'manifest-schema') naming file and
 * field.
 */
export function parseManifestText(text: string, file = 'manifest.json'): BundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new EngineError('manifest-json', `${file}: is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const v = validateManifest(json, file);
  if (!v.ok) throw new EngineError('manifest-schema', v.errors.join('; '));
  return v.manifest;
}
