/**
 * Bridge for the Python pipeline: renders scene graphs with the TypeScript rasteriser and captions them
 * with the grammar (the single source of truth for both). Reads a JSON array of {scene, seed} on stdin and
 * writes uint8 RGB [N, 64, 64, 3] (row-major) on stdout; with `--captions FILE`, also writes each scene's
 * five captions (levels 0..4, phrasing drawn from its seed) to FILE as a JSON array.
 */
import { writeFileSync } from 'node:fs';
import { isScene, rasterizeInto, sceneCaptions } from '../src/shapes/index.ts';

const RES = 64;
const flag = process.argv.indexOf('--captions');
const captionsPath = flag >= 0 ? process.argv[flag + 1] : undefined;
const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const items = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { scene: unknown; seed: number }[];
const stride = RES * RES * 3;
const out = new Uint8Array(items.length * stride);
const captions: string[][] = [];
items.forEach(({ scene, seed }, i) => {
  if (!isScene(scene)) throw new Error(`item ${i}: not a valid scene graph`);
  rasterizeInto(scene, out, i * stride, RES);
  if (captionsPath) captions.push(sceneCaptions(scene, seed >>> 0));
});
if (captionsPath) writeFileSync(captionsPath, JSON.stringify(captions));
process.stdout.write(out);
