/**
 * The auto-encoder loop: image₀ → caption₁ → image₁ → caption₂ → … Each loop reports its caption, its
 * reconstruction and fidelity against the original and against the previous image (loop 1's previous
 * image is the original), plus attribute scores when the true Shapes scene is known.
 */
import { createRng, type Rng } from '../../shapes/rng.ts';
import type { Scene } from '../../shapes/scene.ts';
import type { Caption } from './caption.ts';
import type { InferContext } from './context.ts';
import { attributeScores, psnr, ssim, type AttributeScores } from './metrics.ts';
import { captionImages, embedImages, reconstruct } from './pipeline.ts';
import type { DecodingPolicy } from './sampling.ts';
import { cosine } from './scorer.ts';

/** Settings of a round trip. */
export interface RoundTripSettings {
  policy: DecodingPolicy;
  /** Flow (Euler) steps. */
  steps: number;
  /** CFG scale; default the bundle's. */
  guidance?: number;
  /** The true scene when the image is a Shapes scene (enables attribute scores). */
  scene?: Scene;
}

/** Fidelity of one image against another. */
export interface Fidelity {
  /** Scorer cosine (−1…1). */
  sim: number;
  /** dB, capped at 100. */
  psnr: number;
  ssim: number;
}

/** One finished loop. */
export interface LoopResult {
  /** 1-based loop number. */
  loop: number;
  caption: Caption;
  /** The reconstruction, uint8 RGB [H,W,3]. */
  image: Uint8Array;
  vsOriginal: Fidelity;
  vsPrevious: Fidelity;
  /** Attribute precision/recall/F1 of the caption against the scene, or null without a scene. */
  attr: AttributeScores | null;
}

/**
 * Returns every loop's result for `image` (uint8 RGB at the bundle's input size, e.g. after resizeCover);
 * calls onLoop as each loop finishes and checkCancelled (which should throw) before each loop.
 * Per loop, `rng` gives one uint32 for caption sampling (sampling policy only) then one for the decoder noise.
 */
export async function roundTrip(
  ctx: InferContext,
  image: Uint8Array,
  loops: number,
  settings: RoundTripSettings,
  rng: Rng,
  onLoop?: (result: LoopResult) => void,
  checkCancelled?: () => void,
): Promise<LoopResult[]> {
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  if (image.length !== W * H * 3) throw new RangeError(`roundTrip: expected a ${W}x${H} RGB image, got ${image.length} bytes`);
  const original = { image, emb: await embedImages(ctx, image, 1) };
  let previous = original;
  const results: LoopResult[] = [];
  for (let loop = 1; loop <= loops; loop++) {
    checkCancelled?.();
    const [caption] = await captionImages(ctx, previous.image, 1, { policy: settings.policy, rng });
    const rec = await reconstruct(ctx, [caption.ids], [createRng(rng.nextU32())], { steps: settings.steps, guidance: settings.guidance });
    const emb = await embedImages(ctx, rec.images, 1);
    const fid = (other: { image: Uint8Array; emb: typeof emb }): Fidelity => ({
      sim: cosine(emb, 0, other.emb, 0), psnr: psnr(rec.images, other.image, W, H), ssim: ssim(rec.images, other.image, W, H),
    });
    const result: LoopResult = {
      loop, caption, image: rec.images, vsOriginal: fid(original), vsPrevious: fid(previous),
      attr: settings.scene ? attributeScores(caption.text, settings.scene) : null,
    };
    results.push(result);
    onLoop?.(result);
    previous = { image: rec.images, emb };
  }
  return results;
}
