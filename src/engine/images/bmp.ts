/**
 * A BMP decoder for the CLI (the browser decodes BMP itself): uncompressed 1/4/8-bit palette, 16/24/32-bit
 * RGB and BITFIELDS, bottom-up or top-down. Call it only on bytes that inspectImage accepted as a BMP.
 */
import { ImageProblem } from './headers.ts';

const u16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number): number => ((b[o + 3] << 24) >>> 0) + ((b[o + 2] << 16) | (b[o + 1] << 8) | b[o]);

/** One colour channel of a BITFIELDS mask: where it sits and how to scale it to 8 bits. */
interface Field {
  shift: number;
  max: number;
}

function field(mask: number): Field | null {
  if (mask === 0) return null;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

const read = (px: number, f: Field | null, fallback: number): number =>
  f ? Math.round((((px >>> f.shift) & f.max) * 255) / f.max) : fallback;

/** Returns RGBA pixels [height,width,4] (row 0 at the top) of an uncompressed BMP. */
export function decodeBmp(b: Uint8Array): { data: Uint8Array; width: number; height: number } {
  const dib = u32(b, 14);
  const core = dib === 12;
  const width = core ? u16(b, 18) : u32(b, 18) | 0;
  const rawHeight = core ? u16(b, 20) : u32(b, 22) | 0;
  const height = Math.abs(rawHeight);
  const bpp = u16(b, core ? 24 : 28);
  const compression = core ? 0 : u32(b, 30);
  const offset = u32(b, 10);
  if (compression === 1 || compression === 2)
    throw new ImageProblem('unsupported', 'RLE-compressed BMP is not supported here (save it as PNG)');
  const topDown = rawHeight < 0;
  const stride = Math.ceil((width * bpp) / 32) * 4;
  let masks: [number, number, number, number];
  if (compression === 3 || compression === 6) {
    // Masks follow a 40-byte header, or sit inside a V2+ header at the same place.
    masks = [u32(b, 54), u32(b, 58), u32(b, 62), dib >= 56 || compression === 6 ? u32(b, 66) : 0];
  } else if (bpp === 16) {
    masks = [0x7c00, 0x03e0, 0x001f, 0];
  } else {
    masks = [0xff0000, 0x00ff00, 0x0000ff, 0];
  }
  const [fr, fg, fb, fa] = masks.map(field);
  const entry = core ? 3 : 4;
  const colours = bpp <= 8 ? (!core && u32(b, 46)) || 1 << bpp : 0;
  const palette = 14 + dib + (compression === 3 && dib === 40 ? 12 : compression === 6 && dib === 40 ? 16 : 0);
  if (palette + colours * entry > offset && bpp <= 8)
    throw new ImageProblem('corrupt', `damaged BMP (palette of ${colours} colours overlaps the pixels)`);
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = offset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      let r: number;
      let g: number;
      let bl: number;
      let a = 255;
      if (bpp <= 8) {
        const bit = x * bpp;
        const index = (b[row + (bit >> 3)] >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        const p = palette + Math.min(index, colours - 1) * entry;
        [bl, g, r] = [b[p], b[p + 1], b[p + 2]];
      } else if (bpp === 24) {
        const p = row + x * 3;
        [bl, g, r] = [b[p], b[p + 1], b[p + 2]];
      } else {
        const px = bpp === 16 ? u16(b, row + x * 2) : u32(b, row + x * 4);
        r = read(px, fr, 0);
        g = read(px, fg, 0);
        bl = read(px, fb, 0);
        a = read(px, fa, 255);
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = bl;
      out[o + 3] = a;
    }
  }
  // Writers that declare an alpha mask but leave it all zero mean an opaque image (as browsers read it).
  if (fa && out.every((v, i) => i % 4 !== 3 || v === 0)) for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return { data: out, width, height };
}
