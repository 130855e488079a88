/**
 * What every inference function needs: the ORT module, the tensor leak tracker, the bundle's sessions,
 * its manifest and tokenizer. Functions here turn a role graph path + TensorData feeds into TensorData
 * outputs (every ORT tensor disposed by `runSession`), and slice/tile plain tensors.
 */
import type { InferenceSession } from 'onnxruntime-web';
import type { TensorData } from '../vocab.ts';
import { loadTokenizer, type WordTokenizer } from '../../shapes/tokenizer.ts';
import { bundleText, type LoadedBundle } from '../bundle.ts';
import { EngineError } from '../errors.ts';
import type { BundleManifest, DecoderRole, EncoderRole, ScorerRole } from '../manifest.ts';
import { runSession, runSessionKeeping, type Feed, type OrtModule, type RunOutputs, type TensorTracker } from '../tensors.ts';

/** Anything that hands out a session per bundle file (BundleSessions does). */
export interface SessionSource {
  get(path: string): Promise<InferenceSession>;
  /** The session of a graph the engine writes itself, made from `bytes()` on first use (BundleSessions.builtin). */
  builtin?(name: string, bytes: () => Uint8Array): Promise<InferenceSession>;
}

/** Everything inference needs; created once per loaded bundle by the worker or the CLI. */
export interface InferContext {
  ort: OrtModule;
  tracker: TensorTracker;
  sessions: SessionSource;
  manifest: BundleManifest;
  tokenizer: WordTokenizer;
  /** Throws EngineError('cancelled') when the current request should stop; called between session runs. */
  checkCancelled?: () => void;
}

/** Returns an InferContext for a loaded bundle and its sessions (tokenizer read from the bundle's tokenizer file). */
export function createInferContext(deps: {
  ort: OrtModule;
  tracker: TensorTracker;
  sessions: SessionSource;
  bundle: LoadedBundle;
  checkCancelled?: () => void;
}): InferContext {
  const { manifest } = deps.bundle;
  const tokenizer = loadTokenizer(bundleText(deps.bundle, manifest.tokenizer ?? 'tokenizer.json'));
  return { ort: deps.ort, tracker: deps.tracker, sessions: deps.sessions, manifest, tokenizer, checkCancelled: deps.checkCancelled };
}

/** A float32 tensor: data row-major with dims. */
export type F32 = { dtype: 'float32'; data: Float32Array; dims: number[] };

/** Returns the named outputs of one run of bundle graph `path` (checks cancellation first). */
export async function runGraph(
  ctx: InferContext,
  path: string,
  feeds: Record<string, Feed>,
  label: string,
  fetches?: string[],
): Promise<Record<string, TensorData>> {
  ctx.checkCancelled?.();
  const session = await ctx.sessions.get(path);
  // get() yields to the worker's message queue first: a cancel that arrived then stops the run here.
  ctx.checkCancelled?.();
  return runSession(ctx.ort, ctx.tracker, session, feeds, fetches, label);
}

/**
 * runGraph for a loop that feeds a run's key/value cache to the next one: outputs the session leaves on the device
 * (WebGPU sessions keep every present.* there, ../sessions.ts) come back in `device`, owned by the caller, who feeds
 * them back and releases them (releaseDeviceFeeds); on WASM everything comes back in `data`.
 */
export async function runGraphKeeping(
  ctx: InferContext,
  path: string,
  feeds: Record<string, Feed>,
  label: string,
  fetches?: string[],
): Promise<RunOutputs> {
  ctx.checkCancelled?.();
  const session = await ctx.sessions.get(path);
  ctx.checkCancelled?.();
  return runSessionKeeping(ctx.ort, ctx.tracker, session, feeds, fetches, label, true);
}

/**
 * runGraphKeeping for a graph the engine writes itself (SessionSource.builtin: `name`, made from `bytes()` on first
 * use), e.g. the flow sampler's Euler step; throws 'bad-request' where the session source has none.
 */
export async function runBuiltin(
  ctx: InferContext,
  name: string,
  bytes: () => Uint8Array,
  feeds: Record<string, Feed>,
  label: string,
): Promise<RunOutputs> {
  ctx.checkCancelled?.();
  if (!ctx.sessions.builtin) throw new EngineError('bad-request', `${label}: this session source makes no engine graphs`);
  const session = await ctx.sessions.builtin(name, bytes);
  ctx.checkCancelled?.();
  return runSessionKeeping(ctx.ort, ctx.tracker, session, feeds, undefined, label, true);
}

/** Returns output `name` of a run result as float32, or throws 'run-failed'. */
export function f32Output(out: Record<string, TensorData>, name: string, label: string): F32 {
  const t = out[name];
  if (!t) throw new EngineError('run-failed', `${label}: no output ${name}`);
  if (t.dtype !== 'float32') throw new EngineError('run-failed', `${label}: output ${name} is ${t.dtype}, expected float32`);
  return t;
}

/**
 * Which encoder captions: a manifest role by name, or an explicit EncoderRole (the extension point for
 * training checkpoints: the main role with a checkpoint's vision/decoder paths).
 */
export type EncoderChoice = 'encoder' | 'referenceEncoder' | EncoderRole;

/** Returns the EncoderRole a choice names, or throws 'bad-request' naming the missing role. */
export function encoderRole(ctx: InferContext, choice: EncoderChoice = 'encoder'): EncoderRole {
  if (typeof choice !== 'string') return choice;
  const role = ctx.manifest.roles[choice];
  if (!role) throw new EngineError('bad-request', `bundle ${ctx.manifest.id} has no ${choice} role`);
  return role;
}

/** Returns a label for messages: the role name, or the vision graph path of an explicit role. */
export function encoderLabel(choice: EncoderChoice): string {
  return typeof choice === 'string' ? choice : choice.vision.replace(/\/[^/]*$/, '');
}

/** Returns the manifest's decoder (T2I) role, or throws 'bad-request'. */
export function decoderRole(ctx: InferContext): DecoderRole {
  const role = ctx.manifest.roles.decoder;
  if (!role) throw new EngineError('bad-request', `bundle ${ctx.manifest.id} has no decoder role`);
  return role;
}

/** Returns the manifest's scorer role, or throws 'bad-request'. */
export function scorerRole(ctx: InferContext): ScorerRole {
  const role = ctx.manifest.roles.scorer;
  if (!role) throw new EngineError('bad-request', `bundle ${ctx.manifest.id} has no scorer role`);
  return role;
}

/** Returns a decoder role number parameter (e.g. guidanceScale), or `fallback` when absent. */
export function decoderNumber(role: DecoderRole, key: string, fallback: number): number {
  const v = role[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

/** Returns the size of one row (product of dims after the first). */
export function rowSize(dims: readonly number[]): number {
  return dims.slice(1).reduce((a, b) => a * b, 1);
}

/** Returns rows [start, end) of a float32 or int64 tensor (copied, own buffer). */
export function sliceRows<T extends F32 | I64>(t: T, start: number, end: number): T {
  const n = rowSize(t.dims);
  return { ...t, data: t.data.slice(start * n, end * n), dims: [end - start, ...t.dims.slice(1)] };
}

/** Returns a tensor whose row i is row `index[i]` of `t` (gather along dim 0; tiling is index [0,0,1,1,…]). */
export function gatherRows(t: F32, index: readonly number[]): F32 {
  const n = rowSize(t.dims);
  const data = new Float32Array(index.length * n);
  index.forEach((src, i) => data.set(t.data.subarray(src * n, (src + 1) * n), i * n));
  return { dtype: 'float32', data, dims: [index.length, ...t.dims.slice(1)] };
}

/** Returns the row-wise concatenation of float32 tensors with the same row shape. */
export function concatRows(parts: readonly F32[]): F32 {
  if (parts.length === 0) throw new EngineError('bad-request', 'concatRows: nothing to concatenate');
  const rows = parts.reduce((a, p) => a + p.dims[0], 0);
  const data = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { dtype: 'float32', data, dims: [rows, ...parts[0].dims.slice(1)] };
}

/** An int64 tensor (caption ids). */
export type I64 = { dtype: 'int64'; data: BigInt64Array; dims: number[] };

/**
 * Returns float32 output `output` of single-input graph `path` run on `input` in chunks of `batch` rows,
 * concatenated row-wise (e.g. pixel_values → image_embeds).
 */
export async function runRowwise(
  ctx: InferContext,
  path: string,
  inputName: string,
  input: F32 | I64,
  output: string,
  label: string,
  batch = 32,
): Promise<F32> {
  return inBatches(input.dims[0], batch, async (s, e) =>
    f32Output(await runGraph(ctx, path, { [inputName]: sliceRows(input, s, e) }, label), output, label),
  );
}

/** Returns `f` applied to consecutive chunks of at most `batch` rows [start, end), outputs concatenated row-wise. */
export async function inBatches(rows: number, batch: number, f: (start: number, end: number) => Promise<F32>): Promise<F32> {
  const size = Math.max(1, Math.floor(batch));
  const parts: F32[] = [];
  for (let s = 0; s < rows; s += size) parts.push(await f(s, Math.min(rows, s + size)));
  return concatRows(parts);
}
