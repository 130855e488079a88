import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { runScenes } from '../../src/cli/scenes.ts';
import { rasterizeScene, sampleScene, sceneCaptions, sceneRecord, sceneSeed, type SceneRecord } from '../../src/shapes/index.ts';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'uae-scenes-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('uae scenes export', () => {
  it('writes shards whose bytes and records regenerate scene by scene', async () => {
    const out = tmp();
    const { manifest } = await runScenes({ count: 20, seed: 77, out, shardSize: 7, resolution: 32 });
    const onDisk = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(manifest)));
    expect(onDisk.shards.map((s: { count: number; start: number }) => [s.start, s.count])).toEqual([
      [0, 7],
      [7, 7],
      [14, 6],
    ]);
    const stride = 32 * 32 * 3;
    for (const shard of onDisk.shards) {
      const bytes = readFileSync(join(out, shard.images));
      expect(bytes.length).toBe(shard.count * stride);
      const records: SceneRecord[] = readFileSync(join(out, shard.records), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(records.length).toBe(shard.count);
      records.forEach((r, k) => {
        const index = shard.start + k;
        const seed = sceneSeed(77, index);
        const scene = sampleScene(seed);
        const image = bytes.subarray(k * stride, (k + 1) * stride);
        expect(r).toEqual({ index, seed, scene, captions: sceneCaptions(scene, seed), sha256: r.sha256 });
        expect(Buffer.compare(image, rasterizeScene(scene, 32))).toBe(0);
        expect(r.sha256).toBe(createHash('sha256').update(image).digest('hex'));
      });
    }
  });

  it('runs through the uae command and rejects bad options', async () => {
    const out = tmp();
    expect(await main(['scenes', '--count', '3', '--seed', '5', '--out', out])).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8')).count).toBe(3);
    expect(await main(['scenes', '--count', 'lots', '--out', out])).not.toBe(0);
    expect(await main(['scenes', '--count', '0', '--out', out])).not.toBe(0);
    expect(await main(['scenes', '--count', '2'])).not.toBe(0);
  });
});

describe('public/gallery', () => {
  it('index.json and PNGs are what the scene graph regenerates (run scripts/make-gallery.ts if not)', () => {
    const dir = join(import.meta.dirname, '../../public/gallery');
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    expect(index.scenes.length).toBe(24);
    expect(new Set(index.scenes.map((s: SceneRecord) => s.scene.objects.length))).toEqual(new Set([1, 2, 3, 4]));
    for (const entry of index.scenes) {
      const regenerated = sceneRecord(entry.datasetSeed, entry.index);
      expect({ index: entry.index, seed: entry.seed, scene: entry.scene, captions: entry.captions }).toEqual(regenerated);
      const png = PNG.sync.read(readFileSync(join(dir, entry.file)));
      expect([png.width, png.height]).toEqual([index.resolution, index.resolution]);
      const rgb = rasterizeScene(entry.scene, index.resolution);
      const fromPng = new Uint8Array(rgb.length);
      for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) fromPng.set(png.data.subarray(j, j + 3), i);
      expect(Buffer.compare(fromPng, rgb)).toBe(0);
    }
  });
});
