/**
 * The gate every user image passes before any decoder sees it (the browser's createImageBitmap, or the
 * CLI's decoders): the format is told from the bytes (never from the name or MIME type), the declared
 * size is checked against a stated pixel limit, and a missing end or a damaged header is named.
 */
import { ImageProblem, readBmp, readGif, readJpeg, readPng, readWebp, type ImageHeader } from './headers.ts';

export { ImageProblem, type ImageHeader, type ImageProblemCode } from './headers.ts';

/** Limits on a source image: total pixels, longest side (px), file size (bytes). */
export interface ImageLimits {
  maxPixels: number;
  maxSide: number;
  maxBytes: number;
}

/**
 * 40 MP (a 7.3k×5.5k photo) decodes to 160 MB of RGBA: the most one page should hold for a 64 px model
 * input. 16384 px is below every browser's canvas side limit.
 */
export const IMAGE_LIMITS: ImageLimits = { maxPixels: 40_000_000, maxSide: 16_384, maxBytes: 100 * 1024 * 1024 };

/** Accepted formats, as named to the user. */
export const ACCEPTED_FORMATS = 'PNG, JPEG, WebP, GIF, BMP';

/** An image refused before or while decoding; `message` is "<name>: <what is wrong>". */
export class ImageInputError extends Error {
  constructor(
    readonly code: ImageProblem['code'],
    readonly fileName: string,
    detail: string,
  ) {
    super(`${fileName}: ${detail}`);
    this.name = 'ImageInputError';
  }
}

const starts = (b: Uint8Array, sig: number[], at = 0): boolean => b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const text = (b: Uint8Array, o: number, n: number): string => String.fromCharCode(...b.subarray(o, Math.min(b.length, o + n)));

/** Other image formats that are recognised (and refused by name). */
function otherImage(b: Uint8Array): string | null {
  if (starts(b, [0x49, 0x49, 0x2a, 0x00]) || starts(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'TIFF';
  if (text(b, 4, 4) === 'ftyp') {
    const brand = text(b, 8, 4);
    if (brand.startsWith('avi')) return 'AVIF';
    if (/^(heic|heix|mif1|msf1|hevc)/.test(brand)) return 'HEIC';
  }
  if (starts(b, [0, 0, 1, 0]) || starts(b, [0, 0, 2, 0])) return 'ICO/CUR';
  if (starts(b, [0xff, 0x0a]) || text(b, 4, 8) === 'jP  \r\n\x87\n') return 'JPEG XL/2000';
  if (text(b, 0, 4) === '8BPS') return 'Photoshop (PSD)';
  return null;
}

/** What a non-image file looks like, for the message. */
function lookalike(b: Uint8Array): string {
  if (text(b, 0, 5) === '%PDF-') return 'a PDF document';
  if (starts(b, [0x50, 0x4b, 0x03, 0x04])) return 'a ZIP archive (or an Office document)';
  if (starts(b, [0x1f, 0x8b])) return 'a gzip archive';
  if (starts(b, [0x7f, 0x45, 0x4c, 0x46]) || text(b, 0, 2) === 'MZ') return 'a program';
  const head = b.subarray(0, 512);
  const printable = head.filter((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 128).length;
  if (printable / head.length > 0.95) return /^\s*<(!doctype html|html)/i.test(text(b, 0, 64)) ? 'an HTML page' : 'text';
  return 'binary data of an unknown kind';
}

/** True for SVG (or any XML that holds an <svg> element) in UTF-8/Latin-1, with or without a BOM. */
function isSvg(b: Uint8Array): boolean {
  const head = text(b, 0, 4096)
    .replace(/^\xef\xbb\xbf/, '')
    .trimStart();
  return head.startsWith('<') && /<svg[\s>]/i.test(head);
}

/** Returns the header of `bytes` if it is an accepted image within `limits`; throws ImageInputError naming the problem. */
export function inspectImage(bytes: Uint8Array, fileName: string, limits: ImageLimits = IMAGE_LIMITS): ImageHeader {
  try {
    return readHeader(bytes, limits);
  } catch (e) {
    if (e instanceof ImageProblem) throw new ImageInputError(e.code, fileName, e.detail);
    // A reader bug must still come out as a refusal of this file, not as a crash.
    throw new ImageInputError('corrupt', fileName, `damaged or unreadable image (${e instanceof Error ? e.message : String(e)})`);
  }
}

function readHeader(b: Uint8Array, limits: ImageLimits): ImageHeader {
  if (b.length === 0) throw new ImageProblem('empty', 'the file is empty (0 bytes)');
  if (b.length > limits.maxBytes)
    throw new ImageProblem('too-large', `the file is ${mb(b.length)} MB, above the ${mb(limits.maxBytes)} MB limit`);
  const checkSize = (w: number, h: number): void => {
    if (w * h > limits.maxPixels || Math.max(w, h) > limits.maxSide) {
      throw new ImageProblem(
        'too-large',
        `${w}×${h} pixels (${((w * h) / 1e6).toPrecision(3)} MP) is above the limit of ${limits.maxPixels / 1e6} MP and ${limits.maxSide} px a side`,
      );
    }
  };
  if (starts(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return readPng(b, checkSize);
  if (starts(b, [0x89, 0x50, 0x4e, 0x47]))
    throw b.length < 8 ? trunc('PNG', b.length) : new ImageProblem('corrupt', 'damaged PNG (its signature bytes are altered)');
  if (starts(b, [0xff, 0xd8, 0xff])) return readJpeg(b, checkSize);
  if (text(b, 0, 6) === 'GIF87a' || text(b, 0, 6) === 'GIF89a') return readGif(b, checkSize);
  if (text(b, 0, 4) === 'RIFF' && text(b, 8, 4) === 'WEBP') return readWebp(b, checkSize);
  if (text(b, 0, 2) === 'BM' && b.length >= 18 && [12, 40, 52, 56, 64, 108, 124].includes(b[14] | (b[15] << 8)))
    return readBmp(b, checkSize);
  if (b.length < 6 && MAGIC_PREFIXES.some((m) => starts(m, [...b]))) throw trunc('image', b.length);
  if (isSvg(b)) throw new ImageProblem('svg', 'SVG images are refused (a vector file can carry scripts); export it as PNG first');
  const other = otherImage(b);
  if (other) throw new ImageProblem('unsupported', `${other} images are not supported (accepted: ${ACCEPTED_FORMATS})`);
  throw new ImageProblem('not-image', `not an image: it looks like ${lookalike(b)} (accepted: ${ACCEPTED_FORMATS})`);
}

/** Starts of accepted formats: a file shorter than its magic number that matches it is a truncated image. */
const MAGIC_PREFIXES = [
  [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a],
  [0xff, 0xd8, 0xff],
  [...'GIF89a'].map((c) => c.charCodeAt(0)),
  [...'GIF87a'].map((c) => c.charCodeAt(0)),
  [...'RIFF'].map((c) => c.charCodeAt(0)),
].map((m) => Uint8Array.from(m));

const mb = (n: number): string => (n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0);
const trunc = (what: string, at: number): ImageProblem => new ImageProblem('truncated', `truncated ${what}: the file ends at byte ${at}`);

/** Returns the one-line message for a decoder's failure on a file the header check passed. */
export function undecodable(fileName: string, h: ImageHeader, decoder: string): ImageInputError {
  return new ImageInputError(
    'undecodable',
    fileName,
    `${decoder} could not decode this ${h.format.toUpperCase()} (its image data is damaged)`,
  );
}
