/**
 * The caption decoder's cache between steps, for either graph layout (../kv-layout.ts). With the 'cross'
 * layout the first run (empty cache, use_cache_branch false) returns the cross-attention keys/values of the
 * image states, and every later run reads them back instead of recomputing them from encoder_hidden_states.
 */
import type { InferenceSession } from 'onnxruntime-web';
import type { TensorData } from '../vocab.ts';
import type { EncoderRole } from '../manifest.ts';
import { kvLayoutOf, kvNames, USE_CACHE_BRANCH, type KvLayout } from '../kv-layout.ts';
import { deviceToData, isDevice, type Feed, type RunOutputs } from '../tensors.ts';
import { f32Output, gatherRows, type F32, type InferContext } from './context.ts';

/** A decoder's cache feeds between steps: plain data, or (WebGPU) the tensors the last run left on the GPU. */
export type CacheFeeds = Record<string, Feed>;

/** True when the cache's use_cache_branch is on (the image's keys/values are in it). */
function cacheOn(past: CacheFeeds): boolean {
  const flag = past[USE_CACHE_BRANCH];
  return flag !== undefined && !isDevice(flag) && flag.data[0] === 1;
}

/** Returns cache output `name` of a run: the tensor left on the device, or the float32 data read back. */
function cacheOutput(out: RunOutputs, name: string, label: string): Feed {
  return out.device[name] ?? f32Output(out.data, name, label);
}

/** Returns the cache layout of a role's decoder graph, read from its session's input names. */
export async function decoderLayout(ctx: InferContext, role: EncoderRole): Promise<KvLayout> {
  return kvLayoutOf((await ctx.sessions.get(role.decoder)).inputNames);
}

function useCacheBranch(on: boolean): TensorData {
  return { dtype: 'bool', data: Uint8Array.of(on ? 1 : 0), dims: [1] };
}

/** Returns the feeds of an empty cache: every past tensor [R,H,0,Dh] (and use_cache_branch false). */
export function emptyCache(role: EncoderRole, layout: KvLayout, rows: number): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (const { name } of kvNames(layout, role.numLayers, 'past_key_values'))
    feeds[name] = { dtype: 'float32', data: new Float32Array(0), dims: [rows, role.numHeads, 0, role.headDim] };
  if (layout === 'cross') feeds[USE_CACHE_BRANCH] = useCacheBranch(false);
  return feeds;
}

/**
 * Returns the outputs a cached step needs: the logits and the self-attention cache, plus the cross-attention
 * keys/values only while the cache does not hold them yet (afterwards they are the past ones passed through).
 */
export function stepFetches(role: EncoderRole, layout: KvLayout, past: CacheFeeds): string[] {
  const present = kvNames(layout, role.numLayers, 'present');
  const first = !cacheOn(past);
  return ['logits', ...present.filter((k) => k.side === 'decoder' || first).map((k) => k.name)];
}

/**
 * Returns the next step's cache feeds: present.* renamed past_key_values.*; with the 'cross' layout the
 * cross-attention keys/values are taken from the first run's outputs once and kept, and use_cache_branch is true.
 * Device tensors move from `out` (or stay from `past`) into the result; the caller releases what `past` had and the
 * result does not (releaseDeviceFeeds).
 */
export function nextCache(role: EncoderRole, layout: KvLayout, out: RunOutputs, past: CacheFeeds, label: string): CacheFeeds {
  const feeds: CacheFeeds = {};
  const present = kvNames(layout, role.numLayers, 'present');
  const on = cacheOn(past);
  kvNames(layout, role.numLayers, 'past_key_values').forEach((p, j) => {
    const cached = layout === 'cross' && p.side === 'encoder' && on;
    feeds[p.name] = cached ? past[p.name] : cacheOutput(out, present[j].name, label);
  });
  if (layout === 'cross') feeds[USE_CACHE_BRANCH] = useCacheBranch(true);
  return feeds;
}

/**
 * Returns the cache with only rows `keep` of every past tensor; use_cache_branch, and the tensors named in `asIs`
 * (one image's keys/values shared by every row), unchanged. A device tensor to gather is read back first (a finished
 * row leaving a WebGPU batch: at most once per row); the caller releases what `past` had and the result does not.
 */
export async function gatherCache(past: CacheFeeds, keep: readonly number[], asIs?: ReadonlySet<string>): Promise<CacheFeeds> {
  const out: CacheFeeds = {};
  for (const [name, t] of Object.entries(past)) {
    if (name === USE_CACHE_BRANCH || asIs?.has(name)) out[name] = t;
    else out[name] = gatherRows((isDevice(t) ? await deviceToData(t, name) : t) as F32, keep);
  }
  return out;
}

/** The names of the cross-attention (image) keys/values among the past_key_values.* feeds; none for 'self'. */
export function imageKvNames(role: EncoderRole, layout: KvLayout): Set<string> {
  return new Set(
    kvNames(layout, role.numLayers, 'past_key_values')
      .filter((k) => k.side === 'encoder')
      .map((k) => k.name),
  );
}

/**
 * Returns the feeds of a graph's empty cache read from its session: every `past_key_values.*` input zero-length
 * ([rows, then the declared fixed dims, 0 for symbolic ones]) and use_cache_branch false; {} when the graph has
 * no use_cache_branch input (then it recomputes everything each run).
 */
export function emptyCacheOf(session: InferenceSession, rows: number): Record<string, TensorData> {
  if (!session.inputNames.includes(USE_CACHE_BRANCH)) return {};
  const feeds: Record<string, TensorData> = { [USE_CACHE_BRANCH]: useCacheBranch(false) };
  for (const m of session.inputMetadata) {
    if (!m.name.startsWith('past_key_values.') || !m.isTensor) continue;
    const dims = m.shape.map((d, i) => (i === 0 ? rows : typeof d === 'number' ? d : 0));
    feeds[m.name] = { dtype: 'float32', data: new Float32Array(0), dims };
  }
  return feeds;
}

/**
 * Returns the feeds that read back what a first (no-cache) run computed: its present.* as past_key_values.* (left on
 * the device where the run left them there: the caller releases them when the sampling run ends).
 */
export function cachedFrom(out: RunOutputs, empty: CacheFeeds, label: string): CacheFeeds {
  const feeds: CacheFeeds = { [USE_CACHE_BRANCH]: useCacheBranch(true) };
  for (const name of Object.keys(empty))
    if (name !== USE_CACHE_BRANCH) feeds[name] = cacheOutput(out, name.replace('past_key_values', 'present'), label);
  return feeds;
}
