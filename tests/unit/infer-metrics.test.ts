/**
 * Metrics and image preprocessing, pure functions: PSNR and SSIM against hand-computed values, a direct
 * (non-separable) SSIM and an independent numpy SSIM; the 'cover' resize on cases with known answers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRng, rasterizeScene, sampleScene, sceneCaptions, sceneSeed, LEVELS } from '../../src/shapes/index.ts';
import {
  attributeScores,
  captionCoverage,
  gaussianWindow,
  psnr,
  PSNR_CAP_DB,
  resizeCover,
  ssim,
  toPixelValues,
  toUint8Images,
} from '../../src/engine/infer/index.ts';

const PYTHON = process.env.UAE_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

const fill = (w: number, h: number, f: (x: number, y: number, c: number) => number): Uint8Array => {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = f(x, y, c);
  return out;
};
const noisy = (seed: number, w = 64, h = 64): Uint8Array => {
  const rng = createRng(seed);
  return fill(w, h, () => rng.int(256));
};

describe('PSNR', () => {
  it('matches 10·log10(255²/MSE) computed by hand', () => {
    const a = fill(64, 64, () => 100);
    const b = fill(64, 64, (x) => (x === 0 ? 110 : 100)); // 64 rows × 3 channels differ by 10
    const mse = (64 * 3 * 100) / (64 * 64 * 3);
    expect(psnr(a, b)).toBeCloseTo(10 * Math.log10((255 * 255) / mse), 10);
    expect(
      psnr(
        fill(64, 64, () => 0),
        fill(64, 64, () => 255),
      ),
    ).toBeCloseTo(0, 12);
    expect(
      psnr(
        a,
        fill(64, 64, () => 103),
      ),
    ).toBeCloseTo(10 * Math.log10((255 * 255) / 9), 10);
  });

  it('is capped at PSNR_CAP_DB for identical images and is symmetric', () => {
    const a = noisy(1);
    expect(psnr(a, a)).toBe(PSNR_CAP_DB);
    expect(psnr(a, noisy(2))).toBe(psnr(noisy(2), a));
    expect(() => psnr(a, new Uint8Array(10))).toThrow(RangeError);
  });
});

/** SSIM straight from the definition: every 11×11 window, 2-D Gaussian weights, no separable filtering. */
function directSsim(a: Uint8Array, b: Uint8Array, w: number, h: number): number {
  const g = gaussianWindow(11, 1.5);
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let total = 0;
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let y0 = 0; y0 + 11 <= h; y0++) {
      for (let x0 = 0; x0 + 11 <= w; x0++) {
        let mx = 0,
          my = 0;
        for (let j = 0; j < 11; j++)
          for (let i = 0; i < 11; i++) {
            const p = ((y0 + j) * w + x0 + i) * 3 + c;
            mx += g[j] * g[i] * a[p];
            my += g[j] * g[i] * b[p];
          }
        let vx = 0,
          vy = 0,
          cov = 0;
        for (let j = 0; j < 11; j++)
          for (let i = 0; i < 11; i++) {
            const p = ((y0 + j) * w + x0 + i) * 3 + c;
            vx += g[j] * g[i] * (a[p] - mx) ** 2;
            vy += g[j] * g[i] * (b[p] - my) ** 2;
            cov += g[j] * g[i] * (a[p] - mx) * (b[p] - my);
          }
        sum += ((2 * mx * my + C1) * (2 * cov + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      }
    }
    total += sum / ((w - 10) * (h - 10));
  }
  return total / 3;
}

describe('SSIM', () => {
  it('is 1 for identical images and symmetric', () => {
    const a = noisy(3);
    expect(ssim(a, a)).toBeCloseTo(1, 12);
    const b = noisy(4);
    expect(ssim(a, b)).toBeCloseTo(ssim(b, a), 12);
  });

  it('of two constant images is the luminance term (2ab+C1)/(a²+b²+C1)', () => {
    const C1 = (0.01 * 255) ** 2;
    for (const [p, q] of [
      [50, 200],
      [0, 255],
      [128, 130],
    ]) {
      expect(
        ssim(
          fill(32, 32, () => p),
          fill(32, 32, () => q),
          32,
          32,
        ),
      ).toBeCloseTo((2 * p * q + C1) / (p * p + q * q + C1), 12);
    }
  });

  it('of an image and its negative matches the closed form on a flat-variance pattern', () => {
    // Stripes of period 2 along x: every window has mean 127.5 and variance 127.5² in both images.
    const a = fill(40, 40, (x) => (x % 2 === 0 ? 0 : 255));
    const b = fill(40, 40, (x) => (x % 2 === 0 ? 255 : 0));
    const C1 = (0.01 * 255) ** 2;
    const C2 = (0.03 * 255) ** 2;
    // Gaussian-weighted mean/variance of the stripes over an 11-wide window (odd and even offsets differ).
    const g = gaussianWindow(11, 1.5);
    const expected = [0, 1].map((phase) => {
      let m = 0;
      for (let i = 0; i < 11; i++) m += g[i] * ((i + phase) % 2 === 0 ? 0 : 255);
      let v = 0;
      for (let i = 0; i < 11; i++) v += g[i] * (((i + phase) % 2 === 0 ? 0 : 255) - m) ** 2;
      const mb = 255 - m;
      return ((2 * m * mb + C1) * (-2 * v + C2)) / ((m * m + mb * mb + C1) * (2 * v + C2));
    });
    expect(ssim(a, b, 40, 40)).toBeCloseTo((expected[0] * 15 + expected[1] * 15) / 30, 10);
  });

  it('equals the direct per-window definition on scenes and noise', () => {
    const a = rasterizeScene(sampleScene(sceneSeed(3, 0)));
    const b = rasterizeScene(sampleScene(sceneSeed(3, 1)));
    expect(ssim(a, b)).toBeCloseTo(directSsim(a, b, 64, 64), 10);
    const n = noisy(5, 24, 20);
    const m = noisy(6, 24, 20);
    expect(ssim(n, m, 24, 20)).toBeCloseTo(directSsim(n, m, 24, 20), 10);
  });

  // Without numpy the independent check cannot run: a skip on a developer's machine, a failure in CI.
  const noNumpy = spawnSync(PYTHON, ['-c', 'import numpy']).status !== 0;
  if (noNumpy && process.env.CI) it('has numpy for the independent SSIM check (CI)', () => expect.fail(`${PYTHON} cannot import numpy`));
  it.skipIf(noNumpy)('equals an independent numpy implementation', () => {
    const a = rasterizeScene(sampleScene(sceneSeed(9, 0)));
    const b = noisy(8);
    const script = `
import json, sys, numpy as np
d = json.load(sys.stdin)
def win(n=11, s=1.5):
    x = np.arange(n) - (n - 1) / 2
    g = np.exp(-x**2 / (2 * s * s)); g /= g.sum(); return np.outer(g, g)
def filt(p, w):
    v = np.lib.stride_tricks.sliding_window_view(p, w.shape)
    return (v * w).sum(axis=(-1, -2))
def ssim1(x, y):
    w = win(); C1 = (0.01 * 255) ** 2; C2 = (0.03 * 255) ** 2
    mx, my = filt(x, w), filt(y, w)
    vx, vy, c = filt(x * x, w) - mx**2, filt(y * y, w) - my**2, filt(x * y, w) - mx * my
    return (((2 * mx * my + C1) * (2 * c + C2)) / ((mx**2 + my**2 + C1) * (vx + vy + C2))).mean()
a = np.array(d["a"], dtype=np.float64).reshape(64, 64, 3); b = np.array(d["b"], dtype=np.float64).reshape(64, 64, 3)
print(json.dumps(float(np.mean([ssim1(a[..., k], b[..., k]) for k in range(3)]))))`;
    const res = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify({ a: Array.from(a), b: Array.from(b) }), encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(ssim(a, b)).toBeCloseTo(Number(JSON.parse(res.stdout)), 9);
  });
});

describe("resizeCover ('cover': scale the short side, centre crop)", () => {
  const rgba = (w: number, h: number, f: (x: number, y: number) => [number, number, number, number]): Uint8Array => {
    const out = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(f(x, y), (y * w + x) * 4);
    return out;
  };

  it('keeps a 64×64 RGB image unchanged', () => {
    const a = noisy(10);
    expect(resizeCover({ data: a, width: 64, height: 64, channels: 3 })).toEqual(a);
  });

  it('halves a 128×128 image by exact 2×2 averages', () => {
    const src = noisy(11, 128, 128);
    const out = resizeCover({ data: src, width: 128, height: 128, channels: 3 });
    for (const [x, y, c] of [
      [0, 0, 0],
      [17, 40, 1],
      [63, 63, 2],
    ]) {
      const at = (i: number, j: number): number => src[((2 * y + j) * 128 + 2 * x + i) * 3 + c];
      expect(out[(y * 64 + x) * 3 + c]).toBe(Math.round((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4));
    }
  });

  it('crops the centre of a wide image', () => {
    // 192×64: left third red, centre green, right third blue → only green survives.
    const src = rgba(192, 64, (x) => (x < 64 ? [255, 0, 0, 255] : x < 128 ? [0, 255, 0, 255] : [0, 0, 255, 255]));
    const out = resizeCover({ data: src, width: 192, height: 64, channels: 4 });
    expect(out).toEqual(fill(64, 64, (_x, _y, c) => (c === 1 ? 255 : 0)));
  });

  it('composites transparency over white and enlarges a constant image to the same constant', () => {
    const out = resizeCover({ data: rgba(10, 20, () => [0, 0, 0, 0]), width: 10, height: 20, channels: 4 });
    expect(out).toEqual(fill(64, 64, () => 255));
    const half = resizeCover({ data: rgba(3, 3, () => [200, 100, 0, 128]), width: 3, height: 3, channels: 4 });
    const a = 128 / 255;
    expect(Array.from(half.subarray(0, 3))).toEqual([200, 100, 0].map((v) => Math.round(v * a + 255 * (1 - a))));
  });

  it('enlarges with bilinear interpolation between pixel centres', () => {
    // 32×32 horizontal ramp 0..248 in steps of 8 → 64 wide: centres map to x/2 − 0.25.
    const src = fill(32, 32, (x) => 8 * x);
    const out = resizeCover({ data: src, width: 32, height: 32, channels: 3 });
    for (const x of [0, 1, 2, 33, 62, 63]) {
      const s = Math.min(Math.max((x + 0.5) / 2 - 0.5, 0), 31);
      expect(out[(10 * 64 + x) * 3]).toBe(Math.round(8 * s));
    }
  });
});

describe('pixel values', () => {
  it('maps uint8 to (u8/255 − 0.5)/0.5 in NCHW and back', () => {
    const img = noisy(12);
    const pre = {
      width: 64,
      height: 64,
      channels: 3 as const,
      layout: 'NCHW' as const,
      scale: 1 / 255,
      mean: [0.5, 0.5, 0.5] as [number, number, number],
      std: [0.5, 0.5, 0.5] as [number, number, number],
      resize: 'cover' as const,
    };
    const px = toPixelValues(img, 1, pre);
    expect(px.dims).toEqual([1, 3, 64, 64]);
    expect(px.data[2 * 4096 + 5 * 64 + 7]).toBeCloseTo((img[(5 * 64 + 7) * 3 + 2] / 255 - 0.5) / 0.5, 6);
    expect(toUint8Images(px)).toEqual(img);
  });
});

describe('attribute scores', () => {
  it('grammar captions are fully precise; level 4 is complete; the empty caption scores 0', () => {
    for (let i = 0; i < 20; i++) {
      const seed = sceneSeed(4, i);
      const scene = sampleScene(seed);
      const caps = sceneCaptions(scene, seed);
      for (const lv of LEVELS) expect(attributeScores(caps[lv], scene).precision).toBe(1);
      expect(attributeScores(caps[4], scene)).toEqual({ precision: 1, recall: 1, f1: 1 });
      expect(attributeScores('', scene)).toEqual({ precision: 0, recall: 0, f1: 0 });
    }
  });

  it('caption coverage: background and count named or not, attributes of objects the scene does not have', () => {
    const seed = sceneSeed(4, 0);
    const scene = sampleScene(seed);
    const caps = sceneCaptions(scene, seed);
    const full = captionCoverage(caps[4], scene);
    expect(full).toMatchObject({ namesBackground: true, namesCount: true, extraObject: 0 });
    expect(full.asserted).toBe(4 * scene.objects.length + 2);
    expect(captionCoverage(caps[3], scene)).toMatchObject({ namesBackground: false, namesCount: false, extraObject: 0 });
    // An object of another shape, colour and place: its attributes count as extra (the matching is one-to-one).
    const o = scene.objects[0];
    const other = ['circle', 'square', 'triangle', 'diamond', 'cross'].find((x) => !scene.objects.some((q) => q.shape === x))!;
    const extra = captionCoverage(`${caps[4]} and a ${o.size} ${o.colour} ${other}`, scene);
    expect(extra.extraObject).toBeGreaterThan(0);
    expect(captionCoverage('', scene)).toEqual({ namesBackground: false, namesCount: false, extraObject: 0, asserted: 0 });
  });
});
