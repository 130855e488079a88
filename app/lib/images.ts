// Inputs as pixels: a user's file checked by its header (src/engine/images) and decoded by the browser itself
// (createImageBitmap + OffscreenCanvas, no upload anywhere), a Shapes scene rasterized; each turned into an
// RtInput with its model view; and RGB bytes back into PNGs for exports.
import { IMAGE_LIMITS, inspectImage, undecodable } from '../../src/engine/images/inspect.ts';
import { resizeCover } from '../../src/engine/infer/index.ts';
import { rasterizeScene, sampleScene } from '../../src/shapes/index.ts';
import type { RgbaImage, RtInput, RtInputKind } from '../store/roundtripSlice';

/** Largest side of the stored/displayed original. */
export const PREVIEW_MAX = 256;
/** Images above this many pixels are refused from their header, before decoding (decoding them could exhaust memory). */
export const MAX_SOURCE_PIXELS = IMAGE_LIMITS.maxPixels;

/** Returns the cover crop of a w×h source for a W×H target as source fractions [x, y, width, height]. */
export function coverCrop(w: number, h: number, W: number, H: number): [number, number, number, number] {
  const scale = Math.max(W / w, H / h);
  const cw = W / scale / w;
  const ch = H / scale / h;
  return [(1 - cw) / 2, (1 - ch) / 2, cw, ch];
}

/** Returns the sentence that states how a w×h image became the W×H model input. */
export function coverPolicyText(w: number, h: number, W: number, H: number): string {
  const scale = Math.max(W / w, H / h);
  const how =
    scale < 1
      ? `shrunk ×${scale.toPrecision(3)} (area average)`
      : scale > 1
        ? `enlarged ×${scale.toPrecision(3)} (bilinear)`
        : 'kept at scale 1';
  const crop = w * scale > W + 1e-9 || h * scale > H + 1e-9 ? `, centre-cropped to ${W}×${H}` : '';
  return `cover: ${w}×${h} ${how} so the short side is ${Math.min(W, H)} px${crop}; transparency over white`;
}

/** Returns RGBA (alpha 255) from uint8 RGB [h,w,3]. */
export function rgbToRgba(rgb: Uint8Array, width: number, height: number): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[i * 4] = rgb[i * 3];
    data[i * 4 + 1] = rgb[i * 3 + 1];
    data[i * 4 + 2] = rgb[i * 3 + 2];
    data[i * 4 + 3] = 255;
  }
  return { data, width, height };
}

function canvas2d(width: number, height: number): OffscreenCanvasRenderingContext2D {
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas available');
  return ctx;
}

/**
 * Returns the RtInput of an image file (PNG, JPEG, WebP, GIF first frame, BMP; EXIF orientation applied), model
 * input W×H. The bytes pass the header gate first (format from the bytes, pixel limit, truncation, SVG refused),
 * so the browser's decoder only ever sees an accepted format of an accepted size.
 */
export async function inputFromBlob(blob: Blob, kind: RtInputKind, label: string, W: number, H: number): Promise<RtInput> {
  const header = inspectImage(new Uint8Array(await blob.arrayBuffer()), label);
  let bmp: ImageBitmap;
  try {
    // A Blob typed from the checked bytes: the browser never sniffs a type the gate did not accept.
    const typed = new Blob([blob], { type: `image/${header.format}` });
    bmp = await createImageBitmap(typed, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch {
    throw undecodable(label, header, 'this browser');
  }
  try {
    const { width: w, height: h } = bmp;
    if (w * h > MAX_SOURCE_PIXELS || w === 0 || h === 0) throw undecodable(label, header, 'this browser');
    const full = canvas2d(w, h);
    full.drawImage(bmp, 0, 0);
    const pixels = full.getImageData(0, 0, w, h).data;
    const modelView = resizeCover({ data: pixels, width: w, height: h, channels: 4 }, W, H);
    const s = Math.min(1, PREVIEW_MAX / Math.max(w, h));
    const pw = Math.max(1, Math.round(w * s));
    const ph = Math.max(1, Math.round(h * s));
    const small = canvas2d(pw, ph);
    small.imageSmoothingQuality = 'high';
    small.drawImage(bmp, 0, 0, pw, ph);
    const preview = { data: small.getImageData(0, 0, pw, ph).data, width: pw, height: ph };
    const crop = coverCrop(w, h, W, H);
    // No box when nothing is cut away.
    const cropped = crop[2] < 1 - 1e-9 || crop[3] < 1 - 1e-9;
    return {
      kind,
      label,
      sourceWidth: w,
      sourceHeight: h,
      preview,
      modelView,
      width: W,
      height: H,
      resize: coverPolicyText(w, h, W, H),
      ...(cropped ? { crop } : {}),
    };
  } finally {
    bmp.close();
  }
}

/** Returns the RtInput of Shapes scene sampleScene(seed): rasterized at the model size, and at 256 px to show. */
export function inputFromScene(seed: number, kind: RtInputKind, label: string, W: number, H: number): RtInput {
  const scene = sampleScene(seed);
  // Scenes are square; a non-square bundle gets the W×W raster cover-cropped like any image.
  const raster = rasterizeScene(scene, W);
  const modelView = W === H ? raster : resizeCover({ data: raster, width: W, height: W, channels: 3 }, W, H);
  return {
    kind,
    label,
    sceneSeed: seed,
    scene,
    sourceWidth: PREVIEW_MAX,
    sourceHeight: PREVIEW_MAX,
    preview: rgbToRgba(rasterizeScene(scene, PREVIEW_MAX), PREVIEW_MAX, PREVIEW_MAX),
    modelView,
    width: W,
    height: H,
    resize: `rasterized at ${W}×${W} directly, as in training (the 256 px view is the same scene drawn larger)`,
  };
}

/** Returns a PNG Blob of RGBA pixels. */
export async function rgbaToPng(img: RgbaImage): Promise<Blob> {
  const ctx = canvas2d(img.width, img.height);
  ctx.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  return ctx.canvas.convertToBlob({ type: 'image/png' });
}

/** Returns a data: URL of a PNG of RGB pixels. */
export async function rgbToPngDataUrl(rgb: Uint8Array, width: number, height: number): Promise<string> {
  const blob = await rgbaToPng(rgbToRgba(rgb, width, height));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(bin)}`;
}
