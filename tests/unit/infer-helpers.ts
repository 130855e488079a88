/** Shared setup of the inference tests: open a bundle folder in Node (WASM) and find parity fixtures. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { basename, join, resolve } from 'node:path';
import { openBundleDir, type NodeEngine } from '../../src/cli/io.ts';
import { createInferContext, encodeImages, toPixelValues, type F32, type InferContext } from '../../src/engine/infer/index.ts';
import { rasterizeScene, sampleScene, sceneSeed } from '../../src/shapes/index.ts';

export const ROOT = resolve(__dirname, '..', '..');
export const PARITY_DIR = join(ROOT, 'tests', 'fixtures', 'parity');
export const TINY_BUNDLE = join(PARITY_DIR, 'uae-tiny');
/** beforeAll/afterAll limit: opening a bundle takes seconds, more on a loaded machine (vitest's default is 10 s). */
export const HOOK_TIMEOUT = 120_000;

/** A bundle opened for the tests. */
export interface Opened {
  ctx: InferContext;
  engine: NodeEngine;
}

/** Returns the bundle in `dir` opened on WASM with an InferContext. */
export async function openContext(dir: string): Promise<Opened> {
  const engine = await openBundleDir(dir);
  const ctx = createInferContext({ ort: engine.ort, tracker: engine.tracker, sessions: engine.sessions, bundle: engine.bundle });
  return { ctx, engine };
}

/** Returns the encoder's hidden states [rows,T,D] of Shapes scenes sceneSeed(datasetSeed, 0 … rows−1), rasterized at 64×64. */
export async function encodeScenes(ctx: InferContext, datasetSeed: number, rows: number): Promise<F32> {
  const images = new Uint8Array(rows * 64 * 64 * 3);
  for (let i = 0; i < rows; i++) images.set(rasterizeScene(sampleScene(sceneSeed(datasetSeed, i))), i * 64 * 64 * 3);
  return encodeImages(ctx, toPixelValues(images, rows, ctx.manifest.preprocessing.image));
}

/** PyTorch reference outputs written by models/uae/bundle.py `parity_fixture`. */
export interface ParityFixture {
  bundle: string;
  /** The encoder role whose graphs the caption numbers come from (absent: 'encoder'). */
  caption_role?: 'encoder' | 'referenceEncoder';
  pixel_values: number[];
  scene_seed: number;
  last_hidden_state: number[];
  hidden_dims: number[];
  greedy_ids: number[];
  greedy_text: string;
  step_logits: number[][];
  text_input_ids: number[];
  text_states: number[];
  noise: number[];
  timestep: number;
  velocity: number[];
  vae_image: number[];
  euler_steps: number;
  euler_image: number[];
  image_embeds: number[];
  /** The image embeddings of each vision backbone (roles.backbones, by id), when the export wrote them. */
  backbones?: Record<string, number[]>;
  text_embeds: number[];
}

/** One fixture and the bundle folder it belongs to (undefined when that bundle is not on disk). */
export interface ParityPair {
  name: string;
  fixture: ParityFixture;
  bundleDir: string | undefined;
}

/** Returns every tests/fixtures/parity/<name>.json with its bundle: tests/fixtures/parity/<name>/ or public/models/<bundle id>/. */
export function parityPairs(): ParityPair[] {
  if (!existsSync(PARITY_DIR)) return [];
  return readdirSync(PARITY_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const name = basename(f, '.json');
      const fixture = JSON.parse(readFileSync(join(PARITY_DIR, f), 'utf8')) as ParityFixture;
      const candidates = [join(PARITY_DIR, name), join(ROOT, 'public', 'models', fixture.bundle)];
      return { name, fixture, bundleDir: candidates.find((d) => existsSync(join(d, 'manifest.json'))) };
    });
}

/** Returns max |a_i − b_i| (Infinity when lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Opens `dir`'s context before the tests of the enclosing file or describe block and releases it after them;
 * returns a getter for it.
 */
export function useContext(dir: string = TINY_BUNDLE): () => Opened {
  let o: Opened | undefined;
  beforeAll(async () => {
    o = await openContext(dir);
  }, HOOK_TIMEOUT);
  afterAll(async () => {
    await o?.engine.sessions.release();
  }, HOOK_TIMEOUT);
  return () => {
    if (!o) throw new Error(`the context of ${dir} is not open`);
    return o;
  };
}
