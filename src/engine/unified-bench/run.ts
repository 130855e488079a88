/**
 * Unified-Bench, the paper's protocol on a UAE bundle: each reference image is captioned by the chosen encoder
 * (greedy), the caption is drawn back by the bundle's flow decoder (Euler, seeded noise) and every backbone scores the
 * reconstruction against its reference: each similarity backbone by the image-image cosine of its embeddings (the
 * bundle's scorer and every vision backbone it ships) and two pixel measures, PSNR and SSIM. Per backbone the
 * mean over images; `overall` = 100 × the mean over the similarity backbones of their means (PSNR and SSIM are not in
 * it). On Shapes scenes the computation is `uae eval`'s, batch for batch, so the scorer's mean equals its `sim`.
 */
import { sceneRecord } from '../../shapes/dataset.ts';
import { rasterizeInto } from '../../shapes/raster.ts';
import { EngineError } from '../errors.ts';
import { decoderRole, encoderRole, type EncoderChoice, type F32, type InferContext } from '../infer/context.ts';
import { psnr, ssim } from '../infer/metrics.ts';
import { captionImages, embedImages, embedImagesWith, noiseRngs, reconstruct } from '../infer/pipeline.ts';
import { pairedSim } from '../infer/scorer.ts';

/** One reference image: a name (file name or scene) and uint8 RGB [H,W,3] at the bundle's input size. */
export interface ReferenceImage {
  name: string;
  rgb: Uint8Array;
}

/** The reference set: N held-out Shapes scenes (scene i = sceneRecord(seed, i)), or the user's images. */
export type UnifiedReference = { kind: 'scenes'; scenes: number } | { kind: 'images'; images: readonly ReferenceImage[] };

/** A backbone that scores by the cosine of two images' embeddings. */
export interface SimilarityBackbone {
  /** Key in the result (`backbones[name]`). */
  name: string;
  /** What it is, for tables. */
  label: string;
  /** Returns embeddings [N,E] of uint8 RGB images [N,H,W,3]. */
  embed(ctx: InferContext, images: Uint8Array, count: number, batch: number): Promise<F32>;
}

/** The pixel measures every run adds after the similarity backbones. */
export const PIXEL_BACKBONES = ['psnr', 'ssim'] as const;

/** Returns the similarity backbones `ctx`'s bundle has: its scorer's vision tower (if any), then each of its roles.backbones. */
export function similarityBackbones(ctx: InferContext): SimilarityBackbone[] {
  const { scorer, backbones } = ctx.manifest.roles;
  const out: SimilarityBackbone[] = [];
  if (scorer) out.push({ name: 'scorer', label: `scorer (${scorer.embedDim}-d image embeddings)`, embed: embedImages });
  for (const b of backbones ?? []) {
    out.push({
      name: b.id,
      label: `${b.label} (${b.embedDim}-d image embeddings)`,
      embed: (c, images, count, batch) => embedImagesWith(c, b.id, images, count, batch),
    });
  }
  return out;
}

/** Settings of a Unified-Bench run. */
export interface UnifiedBenchOptions {
  reference: UnifiedReference;
  /** Dataset seed of the scenes and seed of the decoder noise (image i starts from noiseSeed(seed, i)). */
  seed: number;
  /** Flow (Euler) steps. */
  steps: number;
  /** Which encoder captions (default the 'encoder' role); a training checkpoint plugs in here. */
  encoder?: EncoderChoice;
  /** Images per session run (default 32). */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called after each batch with its images and numbers (the arrays are the run's own: copy what you keep). */
  onBatch?: (batch: UnifiedBenchBatch) => void;
}

/** One finished batch of a Unified-Bench run: images [start, start+count) of the reference set. */
export interface UnifiedBenchBatch {
  start: number;
  count: number;
  total: number;
  names: string[];
  captions: string[];
  /** Per backbone (as in the result), the batch's scores in order. */
  scores: Record<string, number[]>;
  /** uint8 RGB [count,H,W,3]: the references and their reconstructions. */
  references: Uint8Array;
  reconstructions: Uint8Array;
}

/** One backbone's numbers. */
export interface BackboneScores {
  /** Mean over the images. */
  mean: number;
  /** Per image, in reference order. */
  per_image: number[];
}

/** What a Unified-Bench run returns. */
export interface UnifiedBenchResult {
  /** Reference image names, in order. */
  images: string[];
  /** The encoder's greedy caption of each image. */
  captions: string[];
  /** Similarity backbones first (cosine, −1…1), then psnr (dB, capped at 100) and ssim (−1…1). */
  backbones: Record<string, BackboneScores>;
  /** The names of the similarity backbones (those averaged into `overall`). */
  similarity: string[];
  /** 100 × the mean over the similarity backbones of their mean cosine. */
  overall: number;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Returns the number of reference images and a writer of images [start, start+count) into a buffer. */
function referenceSource(
  ref: UnifiedReference,
  seed: number,
  width: number,
  height: number,
): { total: number; name: (i: number) => string; fill: (start: number, count: number, out: Uint8Array) => void } {
  const stride = width * height * 3;
  if (ref.kind === 'scenes') {
    if (!Number.isInteger(ref.scenes) || ref.scenes < 1) throw new RangeError(`scenes must be a positive integer, got ${ref.scenes}`);
    return {
      total: ref.scenes,
      name: (i) => `scene ${i} (seed ${seed})`,
      fill: (start, count, out) => {
        for (let i = 0; i < count; i++) rasterizeInto(sceneRecord(seed, start + i).scene, out, i * stride, width);
      },
    };
  }
  if (ref.images.length === 0) throw new RangeError('the reference set has no images');
  for (const img of ref.images) {
    if (img.rgb.length !== stride) {
      throw new RangeError(`${img.name}: ${img.rgb.length} bytes are not a ${width}x${height} RGB image (the bundle's input)`);
    }
  }
  return {
    total: ref.images.length,
    name: (i) => ref.images[i].name,
    fill: (start, count, out) => {
      for (let i = 0; i < count; i++) out.set(ref.images[start + i].rgb, i * stride);
    },
  };
}

/** Runs Unified-Bench on `ctx`'s bundle: caption → reconstruct → score by every backbone, in batches. */
export async function runUnifiedBench(ctx: InferContext, opts: UnifiedBenchOptions): Promise<UnifiedBenchResult> {
  const encoder = opts.encoder ?? 'encoder';
  encoderRole(ctx, encoder);
  decoderRole(ctx);
  const sims = similarityBackbones(ctx);
  if (sims.length === 0) {
    throw new EngineError('bad-request', `bundle ${ctx.manifest.id} has no scorer role: Unified-Bench needs a similarity backbone`);
  }
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  if (opts.reference.kind === 'scenes' && W !== H) {
    throw new EngineError('bad-request', `bundle ${ctx.manifest.id}: Shapes scenes are square; its input is ${W}x${H}`);
  }
  const stride = W * H * 3;
  const src = referenceSource(opts.reference, opts.seed, W, H);
  const batch = Math.max(1, Math.floor(opts.batch ?? 32));
  const captions: string[] = [];
  const scores: Record<string, number[]> = {};
  for (const k of [...sims.map((b) => b.name), ...PIXEL_BACKBONES]) scores[k] = [];
  // The same batches, calls and noise as runEval (src/engine/infer/evaluate.ts), so the scorer reproduces its sim.
  for (let start = 0; start < src.total; start += batch) {
    const count = Math.min(batch, src.total - start);
    const images = new Uint8Array(count * stride);
    src.fill(start, count, images);
    const caps = await captionImages(ctx, images, count, { policy: { kind: 'greedy' }, batch, role: encoder });
    const rec = await reconstruct(
      ctx,
      caps.map((c) => c.ids),
      noiseRngs(opts.seed, start, count),
      { steps: opts.steps, batch },
    );
    for (const b of sims) {
      const eo = await b.embed(ctx, images, count, batch);
      const er = await b.embed(ctx, rec.images, count, batch);
      scores[b.name].push(...pairedSim(er, eo));
    }
    for (let i = 0; i < count; i++) {
      const a = images.subarray(i * stride, (i + 1) * stride);
      const r = rec.images.subarray(i * stride, (i + 1) * stride);
      scores.psnr.push(psnr(a, r, W, H));
      scores.ssim.push(ssim(a, r, W, H));
      captions.push(caps[i].text);
    }
    opts.onBatch?.({
      start,
      count,
      total: src.total,
      names: Array.from({ length: count }, (_, i) => src.name(start + i)),
      captions: captions.slice(start),
      scores: Object.fromEntries(Object.entries(scores).map(([k, xs]) => [k, xs.slice(start)])),
      references: images,
      reconstructions: rec.images.subarray(0, count * stride),
    });
    opts.onProgress?.(start + count, src.total);
  }
  const backbones: Record<string, BackboneScores> = {};
  for (const [k, xs] of Object.entries(scores)) backbones[k] = { mean: mean(xs), per_image: xs };
  return {
    images: Array.from({ length: src.total }, (_, i) => src.name(i)),
    captions,
    backbones,
    similarity: sims.map((b) => b.name),
    overall: 100 * mean(sims.map((b) => backbones[b.name].mean)),
  };
}
