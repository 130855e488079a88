/**
 * The auto-encoder loop: image₀ → caption₁ → image₁ → caption₂ → … Each loop reports its caption, its
 * reconstruction and fidelity against the original and against the previous image (loop 1's previous
 * image is the original), plus attribute scores when the true Shapes scene is known. With a stream, a
 * running loop also reports its caption token by token and its flow step by step, with a preview image
 * (the decoder's x0 estimate after that step); streaming draws no random numbers and changes no result.
 */
import { createRng, type Rng } from '../../shapes/rng.ts';
import type { Scene } from '../../shapes/scene.ts';
import type { Caption } from './caption.ts';
import type { F32, InferContext } from './context.ts';
import { attributeScores, psnr, ssim, type AttributeScores } from './metrics.ts';
import { captionImages, embedImages, reconstruct } from './pipeline.ts';
import { vaeDecode } from './flow.ts';
import { toUint8Images } from './image.ts';
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

/** Where a running loop has got to: the caption so far, or the flow step just done. */
export type LoopProgress =
  | {
      loop: number;
      phase: 'caption';
      /** The token just chosen (the final [EOS] included). */
      token: number;
      /** Its word ('' for a special token). */
      word: string;
      /** Content tokens so far (special tokens not counted). */
      tokens: number;
      /** The caption so far, as the finished caption's text is made (special tokens skipped). */
      text: string;
    }
  | {
      loop: number;
      phase: 'flow';
      /** Euler steps done (1…steps). */
      step: number;
      steps: number;
      /** uint8 RGB [H,W,3] of the x0 estimate after this step, or null on a step without a preview. */
      preview: Uint8Array | null;
    };

/** Streaming of a round trip: progress inside each loop. */
export interface RoundTripStream {
  onProgress: (p: LoopProgress) => void;
  /**
   * Decode the x0 estimate into a preview every k-th flow step (0: never; default defaultPreviewEvery(steps)).
   * The last step never has one: its estimate is the loop's image, which the loop's result brings right after.
   */
  previewEvery?: number;
}

/**
 * Returns the default preview interval for `steps` flow steps: ⌈steps/3⌉, i.e. previews at about a third and
 * two thirds of the flow (one for 2 steps, none for 1). One preview is one VAE decode, ~5% of a 12-step loop
 * on WASM (docs/roundtrip.md), so this keeps streaming within ~10% of a loop.
 */
export function defaultPreviewEvery(steps: number): number {
  return Math.max(1, Math.ceil(steps / 3));
}

/** Returns whether flow step `step` of `steps` gets a preview image when previews come every `every` steps. */
export function previewAt(step: number, steps: number, every: number): boolean {
  return every > 0 && step < steps && step % every === 0;
}

/**
 * Returns every loop's result for `image` (uint8 RGB at the bundle's input size, e.g. after resizeCover);
 * calls onLoop as each loop finishes and checkCancelled (which should throw) before each loop.
 * Per loop, `rng` gives one uint32 for caption sampling (sampling policy only) then one for the decoder noise.
 * With `stream`, progress inside each loop goes to stream.onProgress (the results are the same without it).
 */
export async function roundTrip(
  ctx: InferContext,
  image: Uint8Array,
  loops: number,
  settings: RoundTripSettings,
  rng: Rng,
  onLoop?: (result: LoopResult) => void,
  checkCancelled?: () => void,
  stream?: RoundTripStream,
): Promise<LoopResult[]> {
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  if (image.length !== W * H * 3) throw new RangeError(`roundTrip: expected a ${W}x${H} RGB image, got ${image.length} bytes`);
  const original = { image, emb: await embedImages(ctx, image, 1) };
  let previous = original;
  const results: LoopResult[] = [];
  for (let loop = 1; loop <= loops; loop++) {
    checkCancelled?.();
    const onToken = stream && captionStream(ctx, loop, stream);
    const [caption] = await captionImages(ctx, previous.image, 1, { policy: settings.policy, rng, onToken });
    const rec = await reconstruct(ctx, [caption.ids], [createRng(rng.nextU32())], {
      steps: settings.steps,
      guidance: settings.guidance,
      onStep: stream && flowStream(ctx, loop, stream),
    });
    const emb = await embedImages(ctx, rec.images, 1);
    const fid = (other: { image: Uint8Array; emb: typeof emb }): Fidelity => ({
      sim: cosine(emb, 0, other.emb, 0),
      psnr: psnr(rec.images, other.image, W, H),
      ssim: ssim(rec.images, other.image, W, H),
    });
    const result: LoopResult = {
      loop,
      caption,
      image: rec.images,
      vsOriginal: fid(original),
      vsPrevious: fid(previous),
      attr: settings.scene ? attributeScores(caption.text, settings.scene) : null,
    };
    results.push(result);
    onLoop?.(result);
    previous = { image: rec.images, emb };
  }
  return results;
}

/** Returns the onToken callback that streams loop `loop`'s caption (one row) as it grows. */
function captionStream(ctx: InferContext, loop: number, stream: RoundTripStream): (row: number, token: number) => void {
  const t = ctx.tokenizer;
  const special = new Set([t.padId, t.bosId, t.eosId, t.unkId]);
  const ids: number[] = [];
  return (_row, token) => {
    if (token !== t.eosId) ids.push(token);
    const content = ids.filter((id) => !special.has(id)).length;
    stream.onProgress({ loop, phase: 'caption', token, word: t.decode([token]), tokens: content, text: t.decode(ids) });
  };
}

/** Returns the onStep callback that streams loop `loop`'s flow steps, decoding a preview where previewAt says so. */
function flowStream(
  ctx: InferContext,
  loop: number,
  stream: RoundTripStream,
): (step: number, steps: number, x0: () => Promise<F32>) => Promise<void> {
  return async (step, steps, estimate) => {
    const every = stream.previewEvery ?? defaultPreviewEvery(steps);
    // The estimate is read (on WebGPU: back from the GPU) only for a preview.
    const preview = previewAt(step, steps, every) ? toUint8Images(await vaeDecode(ctx, await estimate(), 1)) : null;
    stream.onProgress({ loop, phase: 'flow', step, steps, preview });
  };
}
