/**
 * The peer: transformers.js's `image-to-text` pipeline on our encoder's two ONNX files (Optimum
 * vision-encoder-decoder layout, config files from bench/peer-config.ts), on the very ORT module our engine
 * uses (handed to transformers.js through its `Symbol.for('onnxruntime')` hook), so both run the same
 * backend and build. Local files only (`env.allowRemoteModels = false`). Times it against our greedy
 * captioning of the same images, and checks both give the same greedy caption.
 */
import { sampleScene } from '../shapes/scene.ts';
import { rasterizeScene } from '../shapes/raster.ts';
import { captionImages, type InferContext } from '../engine/infer/index.ts';
import type { OrtModule } from '../engine/tensors.ts';
import { measureInterleaved, type Repeats, type Timing } from './timing.ts';

/** The Optimum-layout folder name the pipeline loads (under the model root). */
export const PEER_MODEL_ID = 'uae-shapes-encoder';

/** One scene's greedy captions, ours and the peer's. */
export interface PeerCaption {
  scene: number;
  ours: string;
  peer: string;
  same: boolean;
}

/** What the peer comparison measured. */
export interface PeerResult {
  library: string;
  /** The pipeline's time per greedy caption of one image (ms), and ours on the same images. */
  timing: Timing;
  oursTiming: Timing;
  captions: PeerCaption[];
  sameCaptions: boolean;
}

/** Options of the comparison. */
export interface PeerOptions {
  repeats: Repeats;
  /** Scenes whose captions are compared; the first one is timed. */
  sceneSeeds: readonly number[];
  /** Where the model folder PEER_MODEL_ID lives: a file path in Node, a URL path in a browser. */
  modelRoot: string;
  /**
   * ORT session options of both peer sessions: the execution provider our engine uses (transformers.js's
   * `device` list is empty when it is handed an ORT module, so 'auto' plus explicit providers is the way).
   */
  sessionOptions: { executionProviders: string[]; intraOpNumThreads?: number };
}

/** Returns words separated by single spaces (both tokenizers join WordLevel tokens with spaces). */
function normalizeText(s: string): string {
  return s.trim().split(/\s+/).filter(Boolean).join(' ');
}

/** The slice of transformers.js this file uses. */
type Transformers = typeof import('@huggingface/transformers');

/** Returns transformers.js set up to use `ort` and local files only (first call decides the ORT module). */
export async function loadTransformers(ort: OrtModule, modelRoot: string): Promise<Transformers> {
  (globalThis as Record<symbol, unknown>)[Symbol.for('onnxruntime')] = ort;
  // On import transformers.js points an unset wasmPaths at a CDN; keep ORT's own (local) setting instead.
  const wasmPaths = ort.env.wasm.wasmPaths;
  const tf = await import('@huggingface/transformers');
  ort.env.wasm.wasmPaths = wasmPaths;
  tf.env.useWasmCache = false;
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = modelRoot.endsWith('/') ? modelRoot : `${modelRoot}/`;
  tf.env.useBrowserCache = false;
  return tf;
}

/** Returns the timing of transformers.js image-to-text vs our captioning, and both greedy captions per scene. */
export async function runPeer(ort: OrtModule, ctx: InferContext, opts: PeerOptions): Promise<PeerResult> {
  const tf = await loadTransformers(ort, opts.modelRoot);
  const captioner = await tf.pipeline('image-to-text', PEER_MODEL_ID, {
    dtype: 'fp32',
    subfolder: '',
    local_files_only: true,
    device: 'auto',
    session_options: opts.sessionOptions,
  });
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  const maxNew = (ctx.manifest.roles.encoder?.maxTokens ?? 48) - 1;
  try {
    const images = opts.sceneSeeds.map((seed) => ({ seed, rgb: rasterizeScene(sampleScene(seed), W) }));
    const peerCaption = async (rgb: Uint8Array): Promise<string> => {
      const out = await captioner(new tf.RawImage(new Uint8ClampedArray(rgb), W, H, 3), { max_new_tokens: maxNew, do_sample: false });
      const first = Array.isArray(out) ? out[0] : out;
      const text = first && typeof first === 'object' && 'generated_text' in first ? first.generated_text : '';
      return normalizeText(typeof text === 'string' ? text : '');
    };
    const oursCaption = async (rgb: Uint8Array): Promise<string> =>
      normalizeText((await captionImages(ctx, rgb, 1, { policy: { kind: 'greedy' } }))[0].text);
    const captions: PeerCaption[] = [];
    for (const im of images) {
      const ours = await oursCaption(im.rgb);
      const peer = await peerCaption(im.rgb);
      captions.push({ scene: im.seed, ours, peer, same: ours === peer });
    }
    const timed = images[0].rgb;
    const [peerT, oursT] = await measureInterleaved([() => peerCaption(timed), () => oursCaption(timed)], [opts.repeats, opts.repeats]);
    return {
      library: `@huggingface/transformers ${tf.env.version}`,
      timing: peerT.timing,
      oursTiming: oursT.timing,
      captions,
      sameCaptions: captions.every((c) => c.same),
    };
  } finally {
    await captioner.dispose();
  }
}
