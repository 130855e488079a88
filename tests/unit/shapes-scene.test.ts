import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BACKGROUND_RGB,
  COLOUR_RGB,
  SHAPES,
  SIZE_FRACTION,
  createRng,
  isScene,
  mainObjectIndex,
  rasterizeScene,
  sampleScene,
  sceneSeed,
  type Scene,
  type Shape,
} from '../../src/shapes/index.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A scene with every shape, both sizes, in distinct cells, for golden and geometry tests. */
const ALL_SHAPES: Scene = {
  background: 'gray',
  objects: SHAPES.slice(0, 4).map((shape, i) => ({
    shape,
    colour: 'red',
    size: i % 2 ? 'small' : 'large',
    row: Math.floor(i / 3),
    col: i % 3,
  })),
};

// Golden hashes of the rasterizer's bytes; the Chromium test checks the browser gives the same bytes.
const GOLDEN: [string, () => Uint8Array, string][] = [
  ['seed 1', () => rasterizeScene(sampleScene(1)), 'ceffc71606132bf4f116ddb8593028f2d284be0359ccad7469ab7134f457cc37'],
  ['seed 42', () => rasterizeScene(sampleScene(42)), 'cf6e26157ad951f902b5ec909b24831af45b6888957daa58a08407022464f161'],
  ['seed 123456789', () => rasterizeScene(sampleScene(123456789)), '535ce4e49275e37fe26ff801030fee1a3b72154e8969c16e23bbd8c8a1383ed7'],
  ['seed 2^32-1', () => rasterizeScene(sampleScene(4294967295)), 'd454d6ec853ee465c26c498881687c509b7e88468df77a69363295ded1b5222b'],
  ['all shapes 64', () => rasterizeScene(ALL_SHAPES), '7f87d2043ce1d9d70f79c7ceec649dc1e72ae41de925143467d3f04c7fb1ab85'],
  ['all shapes 37', () => rasterizeScene(ALL_SHAPES, 37), '7de57157019638cd66c8d7dd8dcbb43bdb61a0258bb6d3ff522842ce1e2d4220'],
  ['all shapes 96', () => rasterizeScene(ALL_SHAPES, 96), '70cac8fe4cd2ef3d66601ac95eb22161becfae94baafb818d9b18ea721ae3296'],
];

describe('seeded generator', () => {
  it('repeats for a seed and differs across seeds', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const sa = Array.from({ length: 50 }, () => a.nextU32());
    expect(Array.from({ length: 50 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 50 }, () => c.nextU32())).not.toEqual(sa);
    expect(sa.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)).toBe(true);
  });

  it('draws roughly uniform integers', () => {
    const rng = createRng(99);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[rng.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
  });

  it('gives distinct scene seeds across indices and dataset seeds', () => {
    const seen = new Set<number>();
    for (let s = 0; s < 5; s++) for (let i = 0; i < 2000; i++) seen.add(sceneSeed(s, i));
    expect(seen.size).toBe(10000);
  });
});

describe('scene sampler', () => {
  it('samples valid scenes covering every attribute value and count', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const scene = sampleScene(sceneSeed(11, i));
      expect(isScene(scene)).toBe(true);
      seen.add(`n${scene.objects.length}`).add(`b${scene.background}`);
      for (const o of scene.objects) seen.add(o.shape).add(o.colour).add(o.size).add(`c${o.row}${o.col}`);
    }
    // 4 counts + 4 backgrounds + 5 shapes + 6 colours + 2 sizes + 9 cells
    expect(seen.size).toBe(30);
  });

  it('is deterministic and picks the first large object as main', () => {
    expect(sampleScene(12345)).toEqual(sampleScene(12345));
    const scene: Scene = {
      background: 'black',
      objects: [
        { shape: 'circle', colour: 'red', size: 'small', row: 0, col: 0 },
        { shape: 'square', colour: 'blue', size: 'large', row: 0, col: 1 },
        { shape: 'cross', colour: 'green', size: 'large', row: 0, col: 2 },
      ],
    };
    expect(mainObjectIndex(scene)).toBe(1);
    expect(mainObjectIndex({ ...scene, objects: [scene.objects[0]] })).toBe(0);
  });

  it('rejects malformed scenes', () => {
    const ok = sampleScene(3);
    expect(isScene(ok)).toBe(true);
    expect(isScene({ ...ok, background: 'pink' })).toBe(false);
    expect(isScene({ ...ok, objects: [] })).toBe(false);
    const o = { shape: 'circle', colour: 'red', size: 'small', row: 1, col: 1 };
    expect(isScene({ background: 'gray', objects: [o, { ...o, shape: 'square' }] })).toBe(false);
    expect(isScene({ background: 'gray', objects: [{ ...o, row: 3 }] })).toBe(false);
    expect(isScene(null)).toBe(false);
  });
});

/** Independent reference: is point (x, y) (relative to centre, pixels) inside a shape of extent s. */
function inside(shape: Shape, x: number, y: number, s: number): boolean {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  switch (shape) {
    case 'circle':
      return x * x + y * y < (s / 2) ** 2;
    case 'square':
      return ax < 0.44 * s && ay < 0.44 * s;
    case 'diamond':
      return ax + ay < 0.55 * s;
    case 'cross':
      return (ax < 0.5 * s && ay < 0.19 * s) || (ax < 0.19 * s && ay < 0.5 * s);
    case 'triangle': {
      // Side a = 1.1 s, height h; apex at y = -h/2, base at y = +h/2; sides of slope 2h/a.
      const a = 1.1 * s;
      const h = (a * Math.sqrt(3)) / 2;
      return y < h / 2 && ax < ((y + h / 2) / h) * (a / 2);
    }
  }
}

describe('rasterizer', () => {
  it.each(GOLDEN)('matches the golden hash: %s', (_name, render, hash) => {
    expect(sha(render())).toBe(hash);
  });

  it('fills the background and puts each object colour at its cell centre', () => {
    for (let i = 0; i < 200; i++) {
      const scene = sampleScene(sceneSeed(5, i));
      const img = rasterizeScene(scene);
      expect(img.length).toBe(64 * 64 * 3);
      expect([...img.subarray(0, 3)]).toEqual([...BACKGROUND_RGB[scene.background]]);
      for (const o of scene.objects) {
        const x = Math.floor((o.col + 0.5) * (64 / 3));
        const y = Math.floor((o.row + 0.5) * (64 / 3));
        const k = (y * 64 + x) * 3;
        expect([...img.subarray(k, k + 3)]).toEqual([...COLOUR_RGB[o.colour]]);
      }
    }
  });

  it.each(SHAPES.flatMap((shape) => (['small', 'large'] as const).map((size) => [shape, size] as const)))(
    'anti-aliased %s (%s) matches 16x16 supersampled coverage',
    (shape, size) => {
      const res = 64;
      const scene: Scene = { background: 'black', objects: [{ shape, colour: 'yellow', size, row: 1, col: 1 }] };
      const img = rasterizeScene(scene, res);
      const c = res / 2;
      const s = (res / 3) * SIZE_FRACTION[size];
      let sumErr = 0;
      let maxErr = 0;
      let partial = 0;
      for (let y = 0; y < res; y++) {
        for (let x = 0; x < res; x++) {
          let hits = 0;
          for (let j = 0; j < 16; j++) {
            for (let i = 0; i < 16; i++) hits += Number(inside(shape, x + (i + 0.5) / 16 - c, y + (j + 0.5) / 16 - c, s));
          }
          const alpha = img[(y * res + x) * 3] / COLOUR_RGB.yellow[0];
          const err = Math.abs(alpha - hits / 256);
          sumErr += err;
          maxErr = Math.max(maxErr, err);
          if (alpha > 0.02 && alpha < 0.98) partial++;
        }
      }
      expect(partial).toBeGreaterThan(8);
      expect(maxErr).toBeLessThan(0.35);
      expect(sumErr / (res * res)).toBeLessThan(0.01);
    },
  );

  it('keeps every object inside its own cell', () => {
    for (const shape of SHAPES) {
      const scene: Scene = { background: 'black', objects: [{ shape, colour: 'red', size: 'large', row: 1, col: 1 }] };
      const img = rasterizeScene(scene, 63);
      const outside: number[] = [];
      for (let y = 0; y < 63; y++) {
        for (let x = 0; x < 63; x++) {
          const inCell = x >= 21 && x < 42 && y >= 21 && y < 42;
          if (img[(y * 63 + x) * 3] > 0 && !inCell) outside.push(y * 63 + x);
        }
      }
      expect(outside).toEqual([]);
    }
  });
});
