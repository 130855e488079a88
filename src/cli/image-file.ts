/**
 * Image files for the CLI: the same gate as the browser (src/engine/images: format from the bytes, pixel
 * limit from the header, truncation and damage named), then sharp (libvips) decodes PNG (any bit depth,
 * grey, alpha), JPEG (EXIF orientation applied, as browsers do), WebP and GIF (first frame); BMP with the
 * project's own reader. Every failure is a one-line CliError naming the file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { decodeBmp } from '../engine/images/bmp.ts';
import { IMAGE_LIMITS, ImageInputError, ImageProblem, inspectImage, undecodable, type ImageHeader } from '../engine/images/inspect.ts';
import type { RawImage } from '../engine/infer/index.ts';
import { CliError } from './io.ts';

/** Returns RGBA pixels of a header-checked image (sharp for all but BMP). */
async function decode(buf: Buffer, path: string, header: ImageHeader): Promise<RawImage> {
  if (header.format === 'bmp') {
    const img = decodeBmp(buf);
    return { ...img, channels: 4 };
  }
  // Loaded on first use: libvips is not needed by the subcommands that take no image.
  const { default: sharp } = await import('sharp');
  try {
    const { data, info } = await sharp(buf, { limitInputPixels: IMAGE_LIMITS.maxPixels, failOn: 'error', pages: 1, page: 0 })
      .autoOrient()
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 4 };
  } catch {
    throw undecodable(path, header, 'the decoder');
  }
}

/** Returns the decoded pixels (RGBA, orientation applied) of an image file, or throws a one-line CliError naming the file. */
export async function readImageFile(path: string): Promise<RawImage> {
  if (!existsSync(path) || !statSync(path).isFile()) throw new CliError(`${path}: no such file`);
  const buf = readFileSync(path);
  try {
    return await decode(buf, path, inspectImage(buf, path));
  } catch (e) {
    if (e instanceof ImageInputError) throw new CliError(e.message);
    if (e instanceof ImageProblem) throw new CliError(`${path}: ${e.detail}`);
    throw new CliError(`${path}: cannot decode (${e instanceof Error ? e.message : String(e)})`);
  }
}
