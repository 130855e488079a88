// `uae roundtrip` on the tiny bundle (random weights: captions are garbage, so the checks are about
// structure, determinism, inputs, errors, and metrics recomputed independently from the written images).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePng, stabilityLoops, type RoundTripJson, type StabilityJson } from '../../src/cli/roundtrip.ts';
import { rasterizeScene, sampleScene, sceneSeed } from '../../src/shapes/index.ts';
import { cliJson, runCli } from './cli-helpers.ts';
import { FIXTURE_DIR } from './engine-fixture.ts';
import { TINY_BUNDLE } from './infer-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'uae-rt-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = runCli;

const json = (args: string[]) => cliJson<RoundTripJson>(['roundtrip', '--bundle', TINY_BUNDLE, '--steps', '2', '--json', ...args]);

function readRgb(path: string): Uint8Array {
  const png = PNG.sync.read(readFileSync(path));
  return Uint8Array.from({ length: png.width * png.height * 3 }, (_, i) => png.data[Math.floor(i / 3) * 4 + (i % 3)]);
}

/** Independent PSNR (dB) of two equal-size RGB byte arrays. */
function refPsnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return se === 0 ? 100 : Math.min(100, 10 * Math.log10((255 * 255 * a.length) / se));
}

const SCENE = 82995292; // public/gallery scene-00

describe('uae roundtrip --scene', () => {
  it('prints exactly the documented keys per loop, attribute scores, and metrics that match the written images', async () => {
    const out = join(tmp, 'scene');
    const doc = await json(['--scene', String(SCENE), '--loops', '3', '--seed', '4', '--out', out]);
    expect(doc.loops).toHaveLength(3);
    expect(doc.vs_previous).toHaveLength(3);
    expect(doc.bundle).toBe('uae-tiny');
    expect(doc.input).toEqual({ kind: 'scene', seed: SCENE, scene: sampleScene(SCENE) });
    expect(doc.settings).toEqual({ loops: 3, seed: 4, steps: 2, policy: { kind: 'greedy' } });
    const images = [0, 1, 2, 3].map((k) => readRgb(join(out, `loop-${k}.png`)));
    expect(Buffer.from(images[0]).equals(Buffer.from(rasterizeScene(sampleScene(SCENE), 64)))).toBe(true);
    doc.loops.forEach((l, i) => {
      expect(Object.keys(l)).toEqual(['caption', 'tokens', 'sim', 'psnr', 'ssim', 'attr']);
      expect(typeof l.caption).toBe('string');
      expect(l.tokens).toBe(l.caption === '' ? 0 : l.caption.split(' ').length);
      expect(l.attr && Object.keys(l.attr)).toEqual(['precision', 'recall', 'f1']);
      for (const v of Object.values(l.attr ?? {})) expect(v >= 0 && v <= 1).toBe(true);
      expect(l.psnr).toBeCloseTo(refPsnr(images[i + 1], images[0]), 5);
      expect(doc.vs_previous[i].psnr).toBeCloseTo(refPsnr(images[i + 1], images[i]), 5);
      expect(Math.abs(l.sim)).toBeLessThanOrEqual(1 + 1e-6);
      expect(l.ssim).toBeLessThanOrEqual(1);
    });
    // Loop 1's previous image is the original.
    expect(doc.vs_previous[0]).toEqual({ sim: doc.loops[0].sim, psnr: doc.loops[0].psnr, ssim: doc.loops[0].ssim });
  });

  it('same seed gives the same run; another seed draws other decoder noise', async () => {
    const args = ['--scene', '7', '--loops', '2', '--temperature', '1.5', '--top-p', '0.9'];
    const a = await json([...args, '--seed', '11']);
    const b = await json([...args, '--seed', '11']);
    const c = await json([...args, '--seed', '12']);
    expect(b).toEqual(a);
    expect(c.loops.map((l) => l.psnr)).not.toEqual(a.loops.map((l) => l.psnr));
    expect(a.settings.policy).toEqual({ kind: 'sample', temperature: 1.5, topP: 0.9 });
  });

  it('prints a readable report without --json', async () => {
    const r = await cli(['roundtrip', '--bundle', TINY_BUNDLE, '--steps', '1', '--loops', '2', '--scene', '3']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^loop 1: ".*" \(\d+ tokens\)\n {2}vs original: sim -?\d\.\d{3} {2}PSNR [\d.]+ dB {2}SSIM -?[\d.]+ {2}attr P [\d.]+ R [\d.]+ F1 [\d.]+\n/,
    );
    expect(r.out).toContain('loop 2: ');
  });
});

describe('uae roundtrip <image-file>', () => {
  // 128x64: left half red, right half blue. Cover to 64x64 keeps the centre columns 32..95 unscaled.
  const W = 128;
  const H = 64;
  const rgba = new Uint8Array(W * H * 4);
  for (let i = 0; i < W * H; i++) rgba.set(i % W < W / 2 ? [255, 0, 0, 255] : [0, 0, 255, 255], i * 4);
  const expected = new Uint8Array(64 * 64 * 3);
  for (let i = 0; i < 64 * 64; i++) expected.set(i % 64 < 32 ? [255, 0, 0] : [0, 0, 255], i * 3);

  it('reads a PNG, crops it with the cover policy, and reports attr null', async () => {
    const png = new PNG({ width: W, height: H });
    png.data.set(rgba);
    const file = join(tmp, 'halves.png');
    writeFileSync(file, PNG.sync.write(png));
    const out = join(tmp, 'png');
    const doc = await json([file, '--loops', '2', '--out', out]);
    expect(doc.input).toEqual({ kind: 'file', path: file, width: W, height: H, resize: 'cover 64x64' });
    expect(doc.loops.map((l) => l.attr)).toEqual([null, null]);
    expect(Buffer.from(readRgb(join(out, 'loop-0.png'))).equals(Buffer.from(expected))).toBe(true);
  });

  it('reads a JPEG', async () => {
    const file = join(tmp, 'halves.jpg');
    writeFileSync(file, jpeg.encode({ width: W, height: H, data: rgba }, 95).data);
    const out = join(tmp, 'jpg');
    const doc = await json([file, '--loops', '1', '--out', out]);
    expect(doc.loops).toHaveLength(1);
    expect(doc.input).toMatchObject({ kind: 'file', width: W, height: H });
    // JPEG is lossy: the model input is close to, not equal to, the halves.
    expect(refPsnr(readRgb(join(out, 'loop-0.png')), expected)).toBeGreaterThan(25);
  });
});

describe('uae roundtrip --scenes (loop stability)', () => {
  it('summarises N scenes per loop: the means, medians and ratios of the single-scene trips', async () => {
    const doc = await cliJson<StabilityJson>([
      'roundtrip',
      '--bundle',
      TINY_BUNDLE,
      '--steps',
      '2',
      '--json',
      '--scenes',
      '3',
      '--dataset-seed',
      '5',
      '--loops',
      '2',
    ]);
    expect(Object.keys(doc)).toEqual(['bundle', 'scenes', 'dataset_seed', 'loops', 'ratio_last', 'settings']);
    expect(doc.loops.map((l) => l.loop)).toEqual([1, 2]);
    expect(doc.loops[0].ratio_median).toBe(1);
    const singles: RoundTripJson[] = [];
    for (const i of [0, 1, 2]) singles.push(await json(['--scene', String(sceneSeed(5, i)), '--loops', '2']));
    const expected = stabilityLoops(
      singles.map((d) => d.loops.map((l) => l.sim)),
      singles.map((d) => d.loops.map((l) => l.tokens)),
    );
    for (let k = 0; k < 2; k++) {
      expect(doc.loops[k].sim_mean).toBeCloseTo(expected[k].sim_mean, 5);
      expect(doc.loops[k].sim_median).toBeCloseTo(expected[k].sim_median, 5);
      expect(doc.loops[k].ratio_median).toBeCloseTo(expected[k].ratio_median, 4);
      expect(doc.loops[k].tokens_mean).toBe(expected[k].tokens_mean);
    }
    expect(doc.ratio_last).toBe(doc.loops[1].ratio_median);
  });

  it('stabilityLoops: the median of per-scene ratios, not the ratio of medians', () => {
    const l = stabilityLoops(
      [
        [0.8, 0.4],
        [0.5, 0.5],
        [0.9, 0.9],
      ],
      [
        [10, 8],
        [4, 4],
        [6, 6],
      ],
    );
    expect(l[1]).toEqual({ loop: 2, sim_mean: 0.6, sim_median: 0.5, ratio_median: 1, tokens_mean: 6 });
    expect(l[0].ratio_median).toBe(1);
  });
});

describe('uae roundtrip errors: one line, exit code', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['no input', [], 2, /^uae: give exactly one input: an image file, --scene SEED or --scenes N\n$/],
    ['--scenes with --scene', ['--scenes', '2', '--scene', '1'], 2, /give exactly one input/],
    [
      '--scenes with --out',
      ['--scenes', '2', '--out', join(tmp, 'x')],
      1,
      /--out writes one trip's images; it does not combine with --scenes/,
    ],
    ['--scenes 0', ['--scenes', '0'], 1, /--scenes must be an integer/],
    ['two inputs', ['x.png', '--scene', '1'], 2, /give exactly one input/],
    ['a missing file', [join(tmp, 'nope.png')], 1, /nope\.png: no such file\n$/],
    [
      'a file that is no image',
      ['package.json'],
      1,
      /^uae: package\.json: not an image: it looks like text \(accepted: PNG, JPEG, WebP, GIF, BMP\)\n$/,
    ],
    ['loops out of range', ['--scene', '1', '--loops', '21'], 1, /--loops must be an integer in \[1, 20\]/],
    ['a bad seed', ['--scene', '1', '--seed', '-3'], 1, /--seed must be an integer/],
    [
      'a bundle without encoder',
      ['--scene', '1', '--bundle', FIXTURE_DIR],
      1,
      /^uae: bundle fixture-tiny has no encoder role: it cannot run a round trip\n$/,
    ],
  ];
  it.each(cases)('%s', async (_name, args, code, message) => {
    const r = await cli(['roundtrip', ...(args.includes('--bundle') ? [] : ['--bundle', TINY_BUNDLE]), ...args]);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
  });

  it('a corrupt PNG', async () => {
    const file = join(tmp, 'corrupt.png');
    writeFileSync(file, Buffer.concat([encodePng(new Uint8Array(12), 2, 2).subarray(0, 30), Buffer.alloc(20)]));
    const r = await cli(['roundtrip', '--bundle', TINY_BUNDLE, file]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^uae: .*corrupt\.png: damaged PNG \(checksum of chunk IHDR at byte 8 does not match\)\n$/);
  });
});
