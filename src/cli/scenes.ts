/**
 * `uae scenes --count N --seed S --out DIR`: exports the shapes dataset as uint8 image shards
 * (N×H×W×3, row-major RGB) plus JSONL records; layout documented in docs/shapes.md.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { BACKGROUND_RGB, COLOUR_RGB, DEFAULT_RESOLUTION, LEVELS, renderRange } from '../shapes/index.ts';

export const DATASET_FORMAT = 'uae-shapes/1';
export const DEFAULT_SHARD_SIZE = 10_000;

/** Options of `uae scenes`. */
export interface ScenesOptions {
  count: number;
  seed: number;
  out: string;
  shardSize?: number;
  resolution?: number;
}

/** One shard entry of dataset.json (file names are relative to the dataset folder). */
export interface ShardInfo {
  images: string;
  records: string;
  count: number;
  start: number;
}

/** The dataset.json written next to the shards. */
export interface DatasetManifest {
  format: string;
  count: number;
  seed: number;
  height: number;
  width: number;
  channels: 3;
  dtype: 'uint8';
  layout: 'NHWC';
  levels: number[];
  shardSize: number;
  shards: ShardInfo[];
  palette: { objects: typeof COLOUR_RGB; backgrounds: typeof BACKGROUND_RGB };
}

/** Writes the dataset to opts.out and returns its manifest plus the wall time in seconds. */
export async function runScenes(opts: ScenesOptions): Promise<{ manifest: DatasetManifest; seconds: number }> {
  const t0 = performance.now();
  const res = opts.resolution ?? DEFAULT_RESOLUTION;
  const shardSize = opts.shardSize ?? DEFAULT_SHARD_SIZE;
  for (const [name, v] of Object.entries({ count: opts.count, resolution: res, shardSize })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`scenes: --${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff) {
    throw new Error(`scenes: --seed must be an integer in [0, 2^32), got ${opts.seed}`);
  }
  mkdirSync(opts.out, { recursive: true });
  const stride = res * res * 3;
  const shards: ShardInfo[] = [];
  for (let start = 0; start < opts.count; start += shardSize) {
    const n = Math.min(shardSize, opts.count - start);
    const { images, records } = renderRange(opts.seed, start, n, res);
    const lines = records.map((r, i) => {
      const sha256 = createHash('sha256')
        .update(images.subarray(i * stride, (i + 1) * stride))
        .digest('hex');
      return JSON.stringify({ ...r, sha256 });
    });
    const id = String(shards.length).padStart(5, '0');
    const shard: ShardInfo = { images: `shard-${id}.u8`, records: `shard-${id}.jsonl`, count: n, start };
    writeFileSync(join(opts.out, shard.images), images);
    writeFileSync(join(opts.out, shard.records), lines.join('\n') + '\n');
    shards.push(shard);
    // Yield between shards so a long export does not starve the event loop.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const manifest: DatasetManifest = {
    format: DATASET_FORMAT,
    count: opts.count,
    seed: opts.seed,
    height: res,
    width: res,
    channels: 3,
    dtype: 'uint8',
    layout: 'NHWC',
    levels: [...LEVELS],
    shardSize,
    shards,
    palette: { objects: COLOUR_RGB, backgrounds: BACKGROUND_RGB },
  };
  writeFileSync(join(opts.out, 'dataset.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, seconds: (performance.now() - t0) / 1000 };
}

/** Returns the non-negative integer in `text`, or throws for anything else. */
function parseCount(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`expected a non-negative integer, got "${text}"`);
  return Number(text);
}

/** Registers the `scenes` subcommand on `program`; returns the subcommand. */
export function registerScenes(program: Command): Command {
  return program
    .command('scenes')
    .description('export shapes-world scenes (uint8 image shards + JSONL captions) for training')
    .option('--count <n>', 'number of scenes', parseCount, 1000)
    .option('--seed <s>', 'dataset seed (uint32)', parseCount, 0)
    .requiredOption('--out <dir>', 'output folder')
    .option('--shard-size <n>', 'scenes per shard', parseCount, DEFAULT_SHARD_SIZE)
    .option('--resolution <px>', 'image side in pixels', parseCount, DEFAULT_RESOLUTION)
    .action(async (o: { count: number; seed: number; out: string; shardSize: number; resolution: number }) => {
      const { manifest, seconds } = await runScenes(o);
      console.log(
        `wrote ${manifest.count} scenes (${manifest.height}x${manifest.width}) in ${manifest.shards.length} shard(s) to ${o.out} in ${seconds.toFixed(2)} s`,
      );
    });
}
