/**
 * Header and structure readers of the accepted image formats (PNG, JPEG, WebP, GIF, BMP): the declared
 * size, and whether the file is whole, read from the bytes alone without decoding a pixel. Each reader
 * throws an ImageProblem saying what is wrong, in words a person can act on.
 */

/** What is wrong with a file, as a code the UI and the CLI share. */
export type ImageProblemCode = 'empty' | 'not-image' | 'svg' | 'unsupported' | 'truncated' | 'corrupt' | 'too-large' | 'undecodable';

/** A problem found in an image's bytes; `detail` completes the sentence "<file>: …". */
export class ImageProblem extends Error {
  constructor(
    readonly code: ImageProblemCode,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'ImageProblem';
  }
}

/** The header of an accepted image: format, declared size in px, EXIF orientation (1 = as stored). */
export interface ImageHeader {
  format: 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp';
  /** Size as stored, px. */
  width: number;
  height: number;
  /** EXIF orientation 1…8 (JPEG only; 1 elsewhere). 5…8 swap width and height on display. */
  orientation: number;
  /** Bits per channel sample (PNG: 1…16; others 8 or the BMP's bits per pixel). */
  bitDepth: number;
}

const truncated = (format: string, at: number, where?: string): ImageProblem =>
  new ImageProblem('truncated', `truncated ${format}: the file ends at byte ${at}${where ? `, ${where}` : ''}`);
const corrupt = (what: string): ImageProblem => new ImageProblem('corrupt', `damaged ${what}`);

const u16be = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const u16le = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
const u32be = (b: Uint8Array, o: number): number => ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
const u32le = (b: Uint8Array, o: number): number => ((b[o + 3] << 24) >>> 0) + ((b[o + 2] << 16) | (b[o + 1] << 8) | b[o]);
const s32le = (b: Uint8Array, o: number): number => u32le(b, o) | 0;
const ascii = (b: Uint8Array, o: number, n: number): string => String.fromCharCode(...b.subarray(o, o + n));

let crcTable: Uint32Array | null = null;

/** Returns the CRC-32 (PNG/zlib polynomial) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** Returns the header of a PNG after walking every chunk to IEND (lengths, critical-chunk checksums). */
export function readPng(b: Uint8Array, checkSize: (w: number, h: number) => void): ImageHeader {
  if (b.length < 33) throw truncated('PNG', b.length);
  if (ascii(b, 12, 4) !== 'IHDR' || u32be(b, 8) !== 13) throw corrupt('PNG (the first chunk is not IHDR)');
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  const bitDepth = b[24];
  const colourType = b[25];
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff)
    throw corrupt(`PNG (IHDR declares ${width}×${height} pixels)`);
  if (!PNG_DEPTHS[colourType]?.includes(bitDepth))
    throw corrupt(`PNG (IHDR: bit depth ${bitDepth} with colour type ${colourType} is not allowed)`);
  checkSize(width, height);
  let at = 8;
  let idat = 0;
  for (;;) {
    if (at + 8 > b.length) throw truncated('PNG', b.length, 'IEND chunk missing');
    const len = u32be(b, at);
    const type = ascii(b, at + 4, 4);
    if (!/^[A-Za-z]{4}$/.test(type) || len > 0x7fffffff) throw corrupt(`PNG (chunk header at byte ${at} is not valid)`);
    if (at + 12 + len > b.length) throw truncated('PNG', b.length, `inside chunk ${type}`);
    // Critical chunks (upper-case first letter) must be intact; decoders differ on ancillary ones.
    if (type.charCodeAt(0) < 97 && crc32(b.subarray(at + 4, at + 8 + len)) !== u32be(b, at + 8 + len)) {
      throw corrupt(`PNG (checksum of chunk ${type} at byte ${at} does not match)`);
    }
    if (type === 'IDAT') idat++;
    at += 12 + len;
    if (type === 'IEND') break;
  }
  if (idat === 0) throw corrupt('PNG (no IDAT chunk: no pixel data)');
  if (colourType === 3 && !hasChunk(b, 'PLTE')) throw corrupt('PNG (palette image without PLTE chunk)');
  return { format: 'png', width, height, orientation: 1, bitDepth };
}

function hasChunk(b: Uint8Array, type: string): boolean {
  for (let at = 8; at + 8 <= b.length; at += 12 + u32be(b, at)) if (ascii(b, at + 4, 4) === type) return true;
  return false;
}

/** Returns the EXIF orientation (1…8) of an APP1 Exif payload starting at `o` (length `n`), or 1. */
export function exifOrientation(b: Uint8Array, o: number, n: number): number {
  if (n < 14 || ascii(b, o, 6) !== 'Exif\0\0') return 1;
  const t = o + 6;
  const end = o + n;
  const le = ascii(b, t, 2) === 'II';
  if (!le && ascii(b, t, 2) !== 'MM') return 1;
  const r16 = (p: number) => (le ? u16le(b, p) : u16be(b, p));
  const r32 = (p: number) => (le ? u32le(b, p) : u32be(b, p));
  const ifd = t + r32(t + 4);
  if (ifd + 2 > end) return 1;
  const count = r16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > end) return 1;
    if (r16(e) === 0x0112) {
      const v = r16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Returns the header of a JPEG after walking its segments to the first scan and finding its end (EOI). */
export function readJpeg(b: Uint8Array, checkSize: (w: number, h: number) => void): ImageHeader {
  let at = 2;
  let orientation = 1;
  let size: { width: number; height: number; bits: number } | null = null;
  for (;;) {
    if (at + 2 > b.length) throw truncated('JPEG', b.length, 'before the image data');
    if (b[at] !== 0xff) throw corrupt(`JPEG (no segment marker at byte ${at})`);
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xd9) throw corrupt('JPEG (the image ends before any image data)');
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01 || marker === 0xd8) {
      at += 2;
      continue;
    }
    if (at + 4 > b.length) throw truncated('JPEG', b.length, 'inside a segment header');
    const len = u16be(b, at + 2);
    if (len < 2) throw corrupt(`JPEG (segment at byte ${at} has length ${len})`);
    if (at + 2 + len > b.length) throw truncated('JPEG', b.length, 'inside a segment');
    const body = at + 4;
    if (marker === 0xe1 && orientation === 1) orientation = exifOrientation(b, body, len - 2);
    if (SOF.has(marker)) {
      if (len < 8) throw corrupt('JPEG (frame header too short)');
      size = { bits: b[body], height: u16be(b, body + 1), width: u16be(b, body + 3) };
      if (size.width === 0 || size.height === 0) throw corrupt(`JPEG (frame header declares ${size.width}×${size.height} pixels)`);
      checkSize(size.width, size.height);
    }
    if (marker === 0xda) {
      if (!size) throw corrupt('JPEG (image data before the frame header)');
      // Entropy-coded data never holds FF D9 (an FF there is stuffed as FF 00): its first FF D9 is the end.
      for (let i = at + 2 + len; i + 1 < b.length; i++) {
        if (b[i] === 0xff && b[i + 1] === 0xd9)
          return { format: 'jpeg', width: size.width, height: size.height, orientation, bitDepth: size.bits };
      }
      throw truncated('JPEG', b.length, 'end-of-image marker missing');
    }
    at += 2 + len;
  }
}

/** Returns the header of a GIF after reading up to the end of its first frame. */
export function readGif(b: Uint8Array, checkSize: (w: number, h: number) => void): ImageHeader {
  if (b.length < 13) throw truncated('GIF', b.length);
  let width = u16le(b, 6);
  let height = u16le(b, 8);
  let at = 13 + (b[10] & 0x80 ? 3 * (2 << (b[10] & 7)) : 0);
  const subBlocks = (p: number): number => {
    for (;;) {
      if (p >= b.length) throw truncated('GIF', b.length, 'inside the first frame');
      if (b[p] === 0) return p + 1;
      p += 1 + b[p];
    }
  };
  for (;;) {
    if (at >= b.length) throw truncated('GIF', b.length, 'before the first frame');
    const kind = b[at];
    if (kind === 0x21) {
      at = subBlocks(at + 2);
    } else if (kind === 0x2c) {
      if (at + 11 > b.length) throw truncated('GIF', b.length, 'inside the first frame header');
      const fw = u16le(b, at + 5);
      const fh = u16le(b, at + 7);
      if (fw === 0 || fh === 0) throw corrupt(`GIF (the first frame is ${fw}×${fh} pixels)`);
      // Decoders grow the canvas to hold a frame that sticks out of the declared screen.
      width = Math.max(width, u16le(b, at + 1) + fw);
      height = Math.max(height, u16le(b, at + 3) + fh);
      checkSize(width, height);
      const flags = b[at + 9];
      at += 10 + (flags & 0x80 ? 3 * (2 << (flags & 7)) : 0);
      if (at >= b.length) throw truncated('GIF', b.length, 'inside the first frame');
      const minCode = b[at];
      if (minCode < 1 || minCode > 11) throw corrupt(`GIF (LZW code size ${minCode})`);
      subBlocks(at + 1);
      return { format: 'gif', width, height, orientation: 1, bitDepth: 8 };
    } else if (kind === 0x3b) {
      throw corrupt('GIF (no frame in the file)');
    } else {
      throw corrupt(`GIF (unknown block 0x${kind.toString(16)} at byte ${at})`);
    }
  }
}

/** Returns the header of a BMP (any DIB header version) after checking its pixel data is all there. */
export function readBmp(b: Uint8Array, checkSize: (w: number, h: number) => void): ImageHeader {
  if (b.length < 26) throw truncated('BMP', b.length);
  const offset = u32le(b, 10);
  const dib = u32le(b, 14);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = 0;
  if (dib === 12) {
    width = u16le(b, 18);
    height = u16le(b, 20);
    bpp = u16le(b, 24);
  } else if (dib >= 40 && dib <= 124) {
    if (b.length < 54) throw truncated('BMP', b.length, 'inside the header');
    width = s32le(b, 18);
    height = Math.abs(s32le(b, 22));
    bpp = u16le(b, 28);
    compression = u32le(b, 30);
  } else {
    throw corrupt(`BMP (unknown header size ${dib})`);
  }
  if (width <= 0 || height <= 0) throw corrupt(`BMP (header declares ${width}×${height} pixels)`);
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw corrupt(`BMP (${bpp} bits per pixel)`);
  if (compression === 4 || compression === 5)
    throw new ImageProblem('unsupported', `BMP with embedded ${compression === 4 ? 'JPEG' : 'PNG'} data is not supported`);
  if (compression > 6) throw corrupt(`BMP (compression ${compression})`);
  checkSize(width, height);
  if (offset < 14 + dib || offset >= b.length)
    throw offset >= b.length ? truncated('BMP', b.length, 'no pixel data') : corrupt(`BMP (pixel data offset ${offset})`);
  if (compression === 0 || compression === 3 || compression === 6) {
    const stride = Math.ceil((width * bpp) / 32) * 4;
    if (offset + stride * height > b.length) throw truncated('BMP', b.length, `needs ${offset + stride * height} bytes`);
  }
  return { format: 'bmp', width, height, orientation: 1, bitDepth: bpp };
}

/** Returns the header of a WebP (simple lossy, lossless, or extended) after checking the RIFF size. */
export function readWebp(b: Uint8Array, checkSize: (w: number, h: number) => void): ImageHeader {
  if (b.length < 30) throw truncated('WebP', b.length);
  const riff = u32le(b, 4);
  if (riff < 22) throw corrupt(`WebP (RIFF size ${riff})`);
  const chunk = ascii(b, 12, 4);
  const chunkLen = u32le(b, 16);
  let width: number;
  let height: number;
  if (chunk === 'VP8 ') {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) throw corrupt('WebP (VP8 start code missing)');
    width = u16le(b, 26) & 0x3fff;
    height = u16le(b, 28) & 0x3fff;
  } else if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) throw corrupt('WebP (VP8L signature missing)');
    const bits = u32le(b, 21);
    width = (bits & 0x3fff) + 1;
    height = ((bits >>> 14) & 0x3fff) + 1;
  } else if (chunk === 'VP8X') {
    width = (b[24] | (b[25] << 8) | (b[26] << 16)) + 1;
    height = (b[27] | (b[28] << 8) | (b[29] << 16)) + 1;
  } else {
    throw corrupt(`WebP (unknown first chunk "${chunk.replace(/[^\x20-\x7e]/g, '?')}")`);
  }
  if (width === 0 || height === 0) throw corrupt(`WebP (declares ${width}×${height} pixels)`);
  checkSize(width, height);
  if (8 + riff > b.length || 20 + chunkLen > b.length) throw truncated('WebP', b.length);
  return { format: 'webp', width, height, orientation: 1, bitDepth: 8 };
}
