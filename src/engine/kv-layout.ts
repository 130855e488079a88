/**
 * The two cache layouts a caption decoder graph (decoder_model_merged.onnx) may have, told apart by its input
 * names. 'self': past_key_values.{i}.key/value hold the self-attention cache only, and every step reads
 * encoder_hidden_states and recomputes the cross-attention keys/values. 'cross' (Optimum's merged
 * encoder-decoder layout): past_key_values.{i}.decoder.* and .encoder.*, plus a boolean use_cache_branch; with
 * it false the graph computes the cross-attention keys/values (present.{i}.encoder.*) from the image states,
 * with it true it reads them back from past_key_values.{i}.encoder.* instead.
 */

/** A decoder graph's cache layout. */
export type KvLayout = 'self' | 'cross';

/** The boolean [1] input of the 'cross' layout: false on the first step (empty cache), true after. */
export const USE_CACHE_BRANCH = 'use_cache_branch';

/** One cache tensor of a layer: `side` says whose keys/values it holds (self-attention or the image's). */
export interface KvName {
  name: string;
  layer: number;
  side: 'decoder' | 'encoder';
}

/** Returns the layout of a decoder graph with these input names. */
export function kvLayoutOf(inputNames: readonly string[]): KvLayout {
  return inputNames.includes(USE_CACHE_BRANCH) ? 'cross' : 'self';
}

/** Returns the cache tensors of `kind` ('past_key_values' inputs or 'present' outputs), in graph order. */
export function kvNames(layout: KvLayout, numLayers: number, kind: 'past_key_values' | 'present'): KvName[] {
  const out: KvName[] = [];
  for (let layer = 0; layer < numLayers; layer++) {
    if (layout === 'self') for (const kv of ['key', 'value']) out.push({ name: `${kind}.${layer}.${kv}`, layer, side: 'decoder' });
    else
      for (const side of ['decoder', 'encoder'] as const)
        for (const kv of ['key', 'value']) out.push({ name: `${kind}.${layer}.${side}.${kv}`, layer, side });
  }
  return out;
}

/** The most layers kvCacheOutputNames lists names for. */
const MAX_CACHE_LAYERS = 64;

/**
 * Every name a key/value cache output (present.*) can have, in either layout, for layers 0…63: the outputs a WebGPU
 * session leaves on the GPU (../sessions.ts `cacheOnGpu`), known before the session says which of them it has.
 */
export function kvCacheOutputNames(): string[] {
  return [...kvNames('self', MAX_CACHE_LAYERS, 'present'), ...kvNames('cross', MAX_CACHE_LAYERS, 'present')].map((k) => k.name);
}
