/**
 * Seeded image degradations that imitate how the flow decoder spoils the world's renders: Gaussian blur, additive
 * Gaussian noise, a small colour shift (per-channel gain and offset) and JPEG-like 8×8 DCT quantisation. The checker
 * is validated on renders passed through them. Images are uint8 RGB [res, res, 3], row-major.
 */
import type { Rng } from '../../shapes/rng.ts';

/** Returns a normalised 1-D Gaussian kernel of standard deviation `sigma` (radius ⌈3σ⌉). */
export function gaussianKernel(sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Blurs `planes` planes of a w×h float image in place (interleaved, `planes` values per pixel), edges clamped. */
export function blurPlanes(img: Float32Array, w: number, h: number, planes: number, sigma: number): void {
  if (sigma <= 0) return;
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const tmp = new Float32Array(img.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < planes; c++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += k[i + r] * img[(y * w + Math.min(w - 1, Math.max(0, x + i))) * planes + c];
        tmp[(y * w + x) * planes + c] = s;
      }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < planes; c++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += k[i + r] * tmp[(Math.min(h - 1, Math.max(0, y + i)) * w + x) * planes + c];
        img[(y * w + x) * planes + c] = s;
      }
}

const toU8 = (f: Float32Array): Uint8Array => Uint8Array.from(f, (v) => Math.min(255, Math.max(0, Math.round(v))));

/** Returns the image blurred with a Gaussian of `sigma` pixels. */
export function gaussianBlur(rgb: Uint8Array, res: number, sigma: number): Uint8Array {
  const f = Float32Array.from(rgb);
  blurPlanes(f, res, res, 3, sigma);
  return toU8(f);
}

/** Returns a standard normal draw (Box–Muller) from rng. */
function normal(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Returns the image plus i.i.d. Gaussian noise of `sigma` (0–255 units) drawn from rng. */
export function addNoise(rgb: Uint8Array, sigma: number, rng: Rng): Uint8Array {
  return toU8(Float32Array.from(rgb, (v) => v + sigma * normal(rng)));
}

/** Returns the image with channel c mapped to gain[c]·v + offset[c]. */
export function colourShift(rgb: Uint8Array, gain: readonly number[], offset: readonly number[]): Uint8Array {
  return toU8(Float32Array.from(rgb, (v, i) => gain[i % 3] * v + offset[i % 3]));
}

const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22,
  37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];
const COS = Array.from({ length: 64 }, (_, i) => Math.cos(((2 * (i >> 3) + 1) * (i & 7) * Math.PI) / 16));
const alpha = (u: number): number => (u === 0 ? Math.SQRT1_2 : 1);

/** Quantises one 8×8 block (64 values, row-major) through the DCT with table `q`, in place. */
function quantiseBlock(block: Float32Array, q: readonly number[]): void {
  const coef = new Float32Array(64);
  for (let v = 0; v < 8; v++)
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) s += block[y * 8 + x] * COS[x * 8 + u] * COS[y * 8 + v];
      const c = 0.25 * alpha(u) * alpha(v) * s;
      coef[v * 8 + u] = Math.round(c / q[v * 8 + u]) * q[v * 8 + u];
    }
  for (let y = 0; y < 8; y++)
    for (let x = 0; x < 8; x++) {
      let s = 0;
      for (let v = 0; v < 8; v++) for (let u = 0; u < 8; u++) s += alpha(u) * alpha(v) * coef[v * 8 + u] * COS[x * 8 + u] * COS[y * 8 + v];
      block[y * 8 + x] = 0.25 * s;
    }
}

/** Returns the image through JPEG-like compression at `quality` (1–100): YCbCr, 8×8 DCT, the standard tables scaled. */
export function jpegLike(rgb: Uint8Array, res: number, quality: number): Uint8Array {
  const qs = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  const scale = (t: number[]): number[] => t.map((v) => Math.max(1, Math.floor((v * qs + 50) / 100)));
  const tables = [scale(LUMA_Q), scale(CHROMA_Q), scale(CHROMA_Q)];
  const n = res * res;
  const ycc = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  for (let i = 0; i < n; i++) {
    const [r, g, b] = [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]];
    ycc[0][i] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
    ycc[1][i] = -0.168736 * r - 0.331264 * g + 0.5 * b;
    ycc[2][i] = 0.5 * r - 0.418688 * g - 0.081312 * b;
  }
  const block = new Float32Array(64);
  for (let c = 0; c < 3; c++)
    for (let by = 0; by < res; by += 8)
      for (let bx = 0; bx < res; bx += 8) {
        for (let i = 0; i < 64; i++) block[i] = ycc[c][Math.min(res - 1, by + (i >> 3)) * res + Math.min(res - 1, bx + (i & 7))];
        quantiseBlock(block, tables[c]);
        for (let i = 0; i < 64; i++) {
          const y = by + (i >> 3);
          const x = bx + (i & 7);
          if (y < res && x < res) ycc[c][y * res + x] = block[i];
        }
      }
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const Y = ycc[0][i] + 128;
    out[3 * i] = Y + 1.402 * ycc[2][i];
    out[3 * i + 1] = Y - 0.344136 * ycc[1][i] - 0.714136 * ycc[2][i];
    out[3 * i + 2] = Y + 1.772 * ycc[1][i];
  }
  return toU8(out);
}

/** Ranges of the random degradation (each drawn uniformly). */
export interface DegradeRanges {
  blur: readonly [number, number];
  noise: readonly [number, number];
  /** Largest per-channel offset (0–255 units); gains are 1 ± offset/255. */
  shift: number;
  jpegQuality: readonly [number, number];
}

/** The validation's setting: about as blurred, noisy and colour-shifted as the flow decoder's images. */
export const DECODER_LIKE: DegradeRanges = { blur: [0.5, 1.3], noise: [2, 8], shift: 12, jpegQuality: [75, 95] };

/** Returns the image blurred, colour-shifted, JPEG-smoothed and noised with settings drawn from rng. */
export function degrade(rgb: Uint8Array, res: number, rng: Rng, ranges: DegradeRanges = DECODER_LIKE): Uint8Array {
  const u = (r: readonly [number, number]): number => r[0] + (r[1] - r[0]) * rng.next();
  const sigma = u(ranges.blur);
  const offset = [0, 1, 2].map(() => ranges.shift * (2 * rng.next() - 1));
  const gain = [0, 1, 2].map(() => 1 + (ranges.shift / 255) * (2 * rng.next() - 1));
  const quality = Math.round(u(ranges.jpegQuality));
  const noise = u(ranges.noise);
  return addNoise(jpegLike(colourShift(gaussianBlur(rgb, res, sigma), gain, offset), res, quality), noise, rng);
}
