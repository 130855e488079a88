/**
 * Images as the models see them. A user image is resized with the 'cover' policy (scale so the short
 * side fills the target, centre crop) by a pure, separable filter — area averaging when shrinking,
 * bilinear when enlarging — in plain double arithmetic, so Node and every browser give the same bytes.
 * Then uint8 RGB [N,H,W,3] ↔ pixel_values float32 [N,3,H,W] = (u8·scale − mean)/std.
 */
import { rasterizeScene } from '../../shapes/raster.ts';
import type { Scene } from '../../shapes/scene.ts';
import type { ImagePreprocessing } from '../manifest.ts';
import type { F32 } from './context.ts';

/** A decoded image: row-major pixels with 3 (RGB) or 4 (RGBA, straight alpha) channels. */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** One output coordinate's source taps: indices and weights (weights sum to 1). */
interface Taps {
  index: number[];
  weight: number[];
}

/** Returns per-output-coordinate taps mapping [0,outSize) onto source window [offset, offset + outSize/scale). */
function axisTaps(srcSize: number, outSize: number, scale: number, offset: number): Taps[] {
  const taps: Taps[] = [];
  const foot = 1 / scale;
  for (let o = 0; o < outSize; o++) {
    const index: number[] = [];
    const weight: number[] = [];
    if (foot >= 1) {
      // Area: the exact overlap of the output pixel's footprint with each source pixel.
      const s0 = offset + o * foot;
      const s1 = s0 + foot;
      for (let s = Math.max(0, Math.floor(s0)); s < Math.min(srcSize, Math.ceil(s1)); s++) {
        const w = Math.min(s1, s + 1) - Math.max(s0, s);
        if (w > 0) {
          index.push(s);
          weight.push(w / foot);
        }
      }
    } else {
      // Bilinear at the footprint centre, in source pixel-centre coordinates, clamped at the edges.
      const c = Math.min(Math.max(offset + (o + 0.5) * foot - 0.5, 0), srcSize - 1);
      const i0 = Math.floor(c);
      const f = c - i0;
      index.push(i0);
      weight.push(1 - f);
      if (f > 0 && i0 + 1 < srcSize) {
        index.push(i0 + 1);
        weight.push(f);
      }
    }
    taps.push({ index, weight });
  }
  return taps;
}

/**
 * Returns uint8 RGB [height*width*3] of `img` resized with the 'cover' policy: uniform scale
 * max(width/W, height/H), centred crop; area filter when shrinking, bilinear when enlarging;
 * transparent pixels composited over `background` (default white).
 */
export function resizeCover(
  img: RawImage,
  width = 64,
  height = 64,
  background: readonly [number, number, number] = [255, 255, 255],
): Uint8Array {
  if (img.width < 1 || img.height < 1) throw new RangeError('resizeCover: empty image');
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new RangeError(`resizeCover: ${img.data.length} bytes do not fit ${img.width}x${img.height}x${img.channels}`);
  }
  const scale = Math.max(width / img.width, height / img.height);
  const xs = axisTaps(img.width, width, scale, (img.width - width / scale) / 2);
  const ys = axisTaps(img.height, height, scale, (img.height - height / scale) / 2);
  const src = img.data;
  const ch = img.channels;
  const out = new Uint8Array(width * height * 3);
  const acc = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    const ty = ys[y];
    for (let x = 0; x < width; x++) {
      const tx = xs[x];
      acc[0] = acc[1] = acc[2] = 0;
      for (let j = 0; j < ty.index.length; j++) {
        const row = ty.index[j] * img.width;
        for (let i = 0; i < tx.index.length; i++) {
          const w = ty.weight[j] * tx.weight[i];
          const p = (row + tx.index[i]) * ch;
          // Straight alpha composited over the background before filtering.
          const a = ch === 4 ? src[p + 3] / 255 : 1;
          for (let c = 0; c < 3; c++) acc[c] += w * (a === 1 ? src[p + c] : src[p + c] * a + background[c] * (1 - a));
        }
      }
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.min(255, Math.max(0, Math.round(acc[c])));
    }
  }
  return out;
}

/** Returns pixel_values float32 [N,3,H,W] = (u8·scale − mean)/std from uint8 RGB images [N,H,W,3]. */
export function toPixelValues(images: Uint8Array, count: number, pre: ImagePreprocessing): F32 {
  const { width: w, height: h, scale, mean, std } = pre;
  const plane = w * h;
  if (images.length !== count * plane * 3) {
    throw new RangeError(`toPixelValues: ${images.length} bytes are not ${count} images of ${w}x${h}x3`);
  }
  const data = new Float32Array(count * 3 * plane);
  for (let n = 0; n < count; n++) {
    for (let p = 0; p < plane; p++) {
      const src = (n * plane + p) * 3;
      for (let c = 0; c < 3; c++) data[(n * 3 + c) * plane + p] = (images[src + c] * scale - mean[c]) / std[c];
    }
  }
  return { dtype: 'float32', data, dims: [count, 3, h, w] };
}

/** Returns uint8 RGB images [N,H,W,3] from a float32 image tensor [N,3,H,W] in [−1,1] (clamped, ×127.5+127.5, rounded). */
export function toUint8Images(sample: F32): Uint8Array {
  const [n, c, h, w] = sample.dims;
  if (c !== 3) throw new RangeError(`toUint8Images: expected 3 channels, got ${c}`);
  const plane = h * w;
  const out = new Uint8Array(n * plane * 3);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < 3; ch++) {
      for (let p = 0; p < plane; p++) {
        const v = Math.min(1, Math.max(-1, sample.data[(b * 3 + ch) * plane + p]));
        out[(b * plane + p) * 3 + ch] = Math.round((v * 0.5 + 0.5) * 255);
      }
    }
  }
  return out;
}

/** Returns a Shapes scene rasterised square at the larger side, then resized (cover) to uint8 RGB width×height. */
export function sceneImage(scene: Scene, width: number, height: number): Uint8Array {
  const res = Math.max(width, height);
  const raw = rasterizeScene(scene, res);
  return res === width && res === height ? raw : resizeCover({ data: raw, width: res, height: res, channels: 3 }, width, height);
}
