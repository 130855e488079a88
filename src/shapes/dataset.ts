/**
 * Pure dataset generation: scene `index` of a dataset with seed S is sampleScene(sceneSeed(S, index)),
 * so any scene can be regenerated alone. File writing lives in src/cli/scenes.ts.
 */
import { sceneCaptions } from './caption.ts';
import { rasterizeInto } from './raster.ts';
import { sceneSeed } from './rng.ts';
import { sampleScene, type Scene } from './scene.ts';

/** One JSONL line of a shard. `sha256` is the hex digest of that scene's H×W×3 image bytes. */
export interface SceneRecord {
  index: number;
  seed: number;
  scene: Scene;
  captions: string[];
  sha256?: string;
}

/** Returns the record (without sha256) of scene `index` in the dataset with seed `datasetSeed`. */
export function sceneRecord(datasetSeed: number, index: number): SceneRecord {
  const seed = sceneSeed(datasetSeed, index);
  const scene = sampleScene(seed);
  return { index, seed, scene, captions: sceneCaptions(scene, seed) };
}

/** Returns scenes [start, start+count) as records and one image buffer [count, res, res, 3] uint8. */
export function renderRange(
  datasetSeed: number,
  start: number,
  count: number,
  res: number,
): { images: Uint8Array; records: SceneRecord[] } {
  const stride = res * res * 3;
  const images = new Uint8Array(count * stride);
  const records: SceneRecord[] = [];
  for (let i = 0; i < count; i++) {
    const record = sceneRecord(datasetSeed, start + i);
    rasterizeInto(record.scene, images, i * stride, res);
    records.push(record);
  }
  return { images, records };
}
