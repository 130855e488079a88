/** Whole-model steps built from the graph-level functions: images → captions, captions → images, embeddings. */
import { createRng, mix32, type Rng } from '../../shapes/rng.ts';
import { concatRows, decoderRole, type F32, type InferContext } from './context.ts';
import { encodeImages, generateCaptions, type Caption, type GenerateOptions } from './caption.ts';
import { captionInputIds, decoderTokens, eulerSample, latentNoise, textStates, vaeDecode, type EulerOptions } from './flow.ts';
import { toPixelValues, toUint8Images } from './image.ts';
import { backboneEmbeds, imageEmbeds } from './scorer.ts';

/** Returns pixel_values float32 [N,3,H,W] of uint8 RGB images [N,H,W,3] with the bundle's preprocessing. */
export function bundlePixels(ctx: InferContext, images: Uint8Array, count: number): F32 {
  return toPixelValues(images, count, ctx.manifest.preprocessing.image);
}

/** Returns N·G captions of N uint8 RGB images [N,H,W,3] (G = opts.groupSize, rows grouped per image). */
export async function captionImages(ctx: InferContext, images: Uint8Array, count: number, opts: GenerateOptions): Promise<Caption[]> {
  const hidden = await encodeImages(ctx, bundlePixels(ctx, images, count), opts.role ?? 'encoder', opts.batch ?? 32);
  return generateCaptions(ctx, hidden, opts);
}

/** Returns the seed of scene/row `index`'s decoder noise for a run seeded with `seed`. */
export function noiseSeed(seed: number, index: number): number {
  return mix32(mix32(seed, 0xdec0de), index);
}

/** Reconstruction settings: flow steps, CFG, rows per session run, and an optional per-step callback (called per batch). */
export interface ReconstructOptions extends EulerOptions {
  batch?: number;
}

/** A batch of reconstructions. */
export interface Reconstruction {
  /** uint8 RGB images [B,H,W,3]. */
  images: Uint8Array;
  /** Decoder output float32 [B,3,H,W] in [−1,1] (before rounding to uint8). */
  pixels: F32;
}

/**
 * Returns the decoder's images for caption content ids (no [BOS]/[EOS]); row b starts from noise drawn
 * from rngs[b], so a row's image does not depend on the batching. Euler sampler, batched per `batch` rows.
 */
export async function reconstruct(
  ctx: InferContext,
  contents: readonly (readonly number[])[],
  rngs: readonly Rng[],
  opts: ReconstructOptions,
): Promise<Reconstruction> {
  if (rngs.length !== contents.length) throw new RangeError(`reconstruct: ${rngs.length} rngs for ${contents.length} captions`);
  const role = decoderRole(ctx);
  const batch = Math.max(1, Math.floor(opts.batch ?? 32));
  const parts: F32[] = [];
  for (let s = 0; s < contents.length; s += batch) {
    const e = Math.min(contents.length, s + batch);
    const states = await textStates(ctx, captionInputIds(contents.slice(s, e), decoderTokens(ctx)), batch);
    const latents = await eulerSample(ctx, states, latentNoise(role, rngs.slice(s, e)), opts);
    parts.push(await vaeDecode(ctx, latents, batch));
  }
  const pixels = concatRows(parts);
  return { images: toUint8Images(pixels), pixels };
}

/** Returns scorer image embeddings [N,E] of uint8 RGB images [N,H,W,3]. */
export async function embedImages(ctx: InferContext, images: Uint8Array, count: number, batch = 32): Promise<F32> {
  return imageEmbeds(ctx, bundlePixels(ctx, images, count), batch);
}

/** Returns backbone `id`'s image embeddings [N,E] of uint8 RGB images [N,H,W,3]. */
export async function embedImagesWith(ctx: InferContext, id: string, images: Uint8Array, count: number, batch = 32): Promise<F32> {
  return backboneEmbeds(ctx, id, bundlePixels(ctx, images, count), batch);
}

/** Returns `count` generators seeded noiseSeed(seed, start + i). */
export function noiseRngs(seed: number, start: number, count: number): Rng[] {
  return Array.from({ length: count }, (_, i) => createRng(noiseSeed(seed, start + i)));
}
