/**
 * Fidelity metrics on uint8 RGB images [H,W,3] (pure functions):
 * - PSNR (dB): 10·log10(255² / MSE) over all H·W·3 values, capped at PSNR_CAP_DB (identical images give the cap).
 * - SSIM: Wang et al. 2004 — Gaussian window 11×11, σ=1.5 (normalised), K1=0.01, K2=0.03, L=255, computed
 *   per RGB channel over 'valid' windows only (no padding, as the reference MATLAB ssim_index), mean of the
 *   SSIM map, then the mean of the three channels. Images smaller than 11×11 use one window of the whole image.
 * - Attribute precision/recall/F1 of a caption against a Shapes scene (src/shapes' parser and scorer).
 */
import { captionErrors, parseCaption, scoreCaption, type CaptionInput } from '../../shapes/parse.ts';
import type { Scene } from '../../shapes/scene.ts';

/** PSNR reported for identical images (and the ceiling of every value), in dB. */
export const PSNR_CAP_DB = 100;

function checkPair(a: Uint8Array, b: Uint8Array, width: number, height: number): void {
  if (a.length !== b.length) throw new RangeError(`images differ in size: ${a.length} vs ${b.length} bytes`);
  if (a.length !== width * height * 3) throw new RangeError(`${a.length} bytes are not a ${width}x${height} RGB image`);
}

/** Returns PSNR in dB (peak 255, capped at PSNR_CAP_DB) of two uint8 RGB images [H,W,3]. */
export function psnr(a: Uint8Array, b: Uint8Array, width = 64, height = 64): number {
  checkPair(a, b, width, height);
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    se += d * d;
  }
  if (se === 0) return PSNR_CAP_DB;
  return Math.min(PSNR_CAP_DB, 10 * Math.log10((255 * 255 * a.length) / se));
}

/** Returns the normalised 1-D Gaussian taps (length `size`, std `sigma`); their outer product is the 2-D window. */
export function gaussianWindow(size = 11, sigma = 1.5): Float64Array {
  const w = new Float64Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) s += w[i] = Math.exp(-((i - c) * (i - c)) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) w[i] /= s;
  return w;
}

/** Returns the 'valid' separable filtering of plane [h,w] by taps `g` → [h−k+1, w−k+1]. */
function filterValid(plane: Float64Array, w: number, h: number, g: Float64Array): Float64Array {
  const k = g.length;
  const ow = w - k + 1;
  const oh = h - k + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += g[i] * plane[y * w + x + i];
      tmp[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += g[i] * tmp[(y + i) * ow + x];
      out[y * ow + x] = s;
    }
  }
  return out;
}

/** Returns the mean SSIM (−1…1) of one channel of two uint8 RGB images. */
function channelSsim(a: Uint8Array, b: Uint8Array, width: number, height: number, ch: number): number {
  const k = Math.min(11, width, height);
  const g = k === 11 ? gaussianWindow(11, 1.5) : new Float64Array(k).fill(1 / k);
  const n = width * height;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = a[i * 3 + ch];
    y[i] = b[i * 3 + ch];
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const [mx, my, sxx, syy, sxy] = [x, y, xx, yy, xy].map((p) => filterValid(p, width, height, g));
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let total = 0;
  for (let i = 0; i < mx.length; i++) {
    const mu1 = mx[i];
    const mu2 = my[i];
    const v1 = sxx[i] - mu1 * mu1;
    const v2 = syy[i] - mu2 * mu2;
    const cov = sxy[i] - mu1 * mu2;
    total += ((2 * mu1 * mu2 + C1) * (2 * cov + C2)) / ((mu1 * mu1 + mu2 * mu2 + C1) * (v1 + v2 + C2));
  }
  return total / mx.length;
}

/** Returns SSIM (−1…1; 1 for identical images): the mean over R,G,B of each channel's mean SSIM map. */
export function ssim(a: Uint8Array, b: Uint8Array, width = 64, height = 64): number {
  checkPair(a, b, width, height);
  return (channelSsim(a, b, width, height, 0) + channelSsim(a, b, width, height, 1) + channelSsim(a, b, width, height, 2)) / 3;
}

/** Attribute-level scores of a caption (fractions 0…1). */
export interface AttributeScores {
  precision: number;
  recall: number;
  f1: number;
}

/** Returns precision/recall/F1 of what `caption` asserts about `scene` (parseCaption + scoreCaption). */
export function attributeScores(caption: CaptionInput, scene: Scene): AttributeScores {
  const s = scoreCaption(parseCaption(caption), scene);
  return { precision: s.precision, recall: s.recall, f1: s.f1 };
}

/** What a caption covers beyond precision and recall: whether it names a background and an object count, and how many
 * of its asserted attributes belong to objects the scene does not have (captionErrors' extraObject). */
export interface CaptionCoverage {
  namesBackground: boolean;
  namesCount: boolean;
  extraObject: number;
  asserted: number;
}

/** Returns the coverage of `caption` against `scene` (parseCaption, scoreCaption, captionErrors). */
export function captionCoverage(caption: CaptionInput, scene: Scene): CaptionCoverage {
  const a = parseCaption(caption);
  return {
    namesBackground: a.backgrounds.length > 0,
    namesCount: a.counts.length > 0,
    extraObject: captionErrors(a, scene).extraObject,
    asserted: scoreCaption(a, scene).asserted,
  };
}
