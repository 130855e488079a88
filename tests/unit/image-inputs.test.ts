// Issue 9 point 1 in Node: the header gate (src/engine/images) and the CLI's decoders on every accepted
// format and variant, every bad input class, and a seeded fuzz of 240 mutated files through `uae roundtrip`
// (in-process for all, as a real process for one file per mutation kind): never a crash, never a stack.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImageFile } from '../../src/cli/image-file.ts';
import { IMAGE_LIMITS, ImageInputError, inspectImage } from '../../src/engine/images/inspect.ts';
import { resizeCover } from '../../src/engine/infer/index.ts';
import { badImages, mutatedImages, seeded, validImages, type BadImage, type CorpusImage } from '../fixtures/image-corpus.mjs';
import { runCli } from './cli-helpers.ts';
import { TINY_BUNDLE } from './infer-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'uae-images-'));
const noBundle = join(tmp, 'no-bundle');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let valid: CorpusImage[] = [];
let bad: BadImage[] = [];
beforeAll(async () => {
  [valid, bad] = await Promise.all([validImages(), badImages()]);
  mkdirSync(noBundle);
});

function write(name: string, bytes: Uint8Array): string {
  const file = join(tmp, name);
  writeFileSync(file, bytes);
  return file;
}

const RED = [255, 0, 0];
const BLUE = [0, 0, 255];

/** Asserts RGB(A) pixel (x, y) of `img` is within `tol` of `rgb` (and alpha `a` when given). */
function pixel(
  img: { data: ArrayLike<number>; width: number; channels: number },
  x: number,
  y: number,
  rgb: number[],
  tol: number,
  a?: number,
): void {
  const o = (y * img.width + x) * img.channels;
  const got = Array.from({ length: img.channels }, (_, c) => img.data[o + c]);
  rgb.forEach((v, c) => expect(Math.abs(got[c] - v), `pixel (${x},${y}) = ${got}, expected ${rgb}`).toBeLessThanOrEqual(tol));
  if (a !== undefined) expect(got[3]).toBe(a);
}

/** Asserts the decoded picture is the one the corpus describes in words. */
function expectPicture(img: { data: ArrayLike<number>; width: number; height: number; channels: number }, f: CorpusImage): void {
  const { width: w, height: h } = img;
  const tol = /\.(jpg|webp)$/.test(f.name) ? 12 : 0;
  const grey = f.expect.startsWith('grey') ? ([51, 51, 51] as number[]) : RED;
  const right = f.expect.startsWith('grey') ? [204, 204, 204] : BLUE;
  if (f.expect === 'split-top') {
    pixel(img, w >> 1, h >> 2, RED, tol);
    pixel(img, w >> 1, (3 * h) >> 2, BLUE, tol);
    return;
  }
  pixel(img, w >> 2, h >> 2, grey, tol, img.channels === 4 ? 255 : undefined);
  pixel(img, (3 * w) >> 2, h >> 2, right, tol);
  if (f.expect.endsWith('white-bottom')) {
    if (img.channels === 4) expect(img.data[((h - 2) * w + 2) * 4 + 3]).toBe(0);
    else pixel(img, w >> 2, h - 2, [255, 255, 255], tol);
  } else {
    pixel(img, w >> 2, (3 * h) >> 2, grey, tol);
  }
}

describe('the header gate: accepted formats', () => {
  it('reads format, size, bit depth and EXIF orientation of every valid variant', () => {
    const seen = new Set<string>();
    for (const f of valid) {
      const h = inspectImage(f.bytes, f.name);
      seen.add(h.format);
      expect([h.width, h.height]).toEqual(f.expect === 'split-top' ? [32, 16] : f.size);
      expect(h.orientation).toBe(f.name.includes('exif6') ? 6 : 1);
      if (f.name.includes('16')) expect(h.bitDepth).toBe(16);
    }
    expect([...seen].sort()).toEqual(['bmp', 'gif', 'jpeg', 'png', 'webp']);
  });
});

describe('the header gate: every bad input class gets its own message', () => {
  it.each([
    ['empty.png', 'empty', /^empty\.png: the file is empty \(0 bytes\)$/],
    ['cut-in-half.png', 'truncated', /^cut-in-half\.png: truncated PNG: the file ends at byte \d+, inside chunk IDAT$/],
    ['cut-in-half.jpg', 'truncated', /^cut-in-half\.jpg: truncated JPEG: the file ends at byte \d+/],
    ['notes.png', 'not-image', /^notes\.png: not an image: it looks like text \(accepted: PNG, JPEG, WebP, GIF, BMP\)$/],
    ['report.jpg', 'not-image', /^report\.jpg: not an image: it looks like a PDF document/],
    ['huge-30000.png', 'too-large', /^huge-30000\.png: 30000×30000 pixels \(900 MP\) is above the limit of 40 MP and 16384 px a side$/],
    ['huge-30000.jpg', 'too-large', /^huge-30000\.jpg: 30000×30000 pixels \(900 MP\) is above the limit/],
    ['logo.svg', 'svg', /^logo\.svg: SVG images are refused \(a vector file can carry scripts\)/],
    ['logo-renamed.png', 'svg', /^logo-renamed\.png: SVG images are refused/],
  ])('%s → %s', (name, code, message) => {
    const f = bad.find((b) => b.name === name);
    expect(f?.problem).toBe(code);
    let caught: unknown;
    try {
      inspectImage((f as { bytes: Buffer }).bytes, name);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ImageInputError);
    expect((caught as ImageInputError).code).toBe(code);
    expect((caught as ImageInputError).message).toMatch(message);
  });

  it('the 30000×30000 PNG is a real, complete file: only its header refuses it', () => {
    const huge = bad.find((b) => b.name === 'huge-30000.png') as BadImage;
    expect(huge.bytes.length).toBeLessThan(200_000);
    const h = inspectImage(huge.bytes, 'huge.png', { ...IMAGE_LIMITS, maxPixels: 1e9, maxSide: 40_000 });
    expect([h.format, h.width, h.height]).toEqual(['png', 30000, 30000]);
  });

  it('names other image formats and other kinds of files', () => {
    const tiff = Uint8Array.from([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 0, 0]);
    expect(() => inspectImage(tiff, 'scan.tif')).toThrow(
      /^scan\.tif: TIFF images are not supported \(accepted: PNG, JPEG, WebP, GIF, BMP\)$/,
    );
    expect(() => inspectImage(Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0]), 'x.png')).toThrow(/looks like a ZIP archive/);
    expect(() => inspectImage(new TextEncoder().encode('<!doctype html><html></html>'), 'x.png')).toThrow(/looks like an HTML page/);
    expect(() => inspectImage(Uint8Array.from([0x89, 0x50]), 'x.png')).toThrow(/truncated image: the file ends at byte 2/);
  });
});

describe('uae roundtrip: decoding every accepted variant', () => {
  it('decodes each valid file to the picture it holds (16-bit, grey, alpha, palette, EXIF-rotated, GIF first frame, BMP)', async () => {
    for (const f of valid) {
      const img = await readImageFile(write(f.name, f.bytes));
      expect([img.width, img.height], f.name).toEqual(f.size);
      expectPicture(img, f);
      // The model input: alpha over white, cover-cropped like the browser.
      const view = resizeCover(img, 64, 64);
      expectPicture({ data: view, width: 64, height: 64, channels: 3 }, f);
    }
  });

  it('runs a round trip on a WebP, a GIF and a BMP', async () => {
    for (const name of ['lossy.webp', 'two-frames.gif', 'pal8.bmp']) {
      const f = valid.find((v) => v.name === name) as CorpusImage;
      const r = await runCli(['roundtrip', '--bundle', TINY_BUNDLE, '--steps', '1', '--loops', '1', '--json', write(f.name, f.bytes)]);
      expect(r.err, r.err).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).input).toMatchObject({ kind: 'file', width: 32, height: 16 });
    }
  });

  it('refuses each bad input with exit 1 and one line naming the file and the problem', async () => {
    for (const f of bad) {
      const file = write(f.name, f.bytes);
      const r = await runCli(['roundtrip', '--bundle', TINY_BUNDLE, file]);
      expect(r.code, f.name).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toMatch(new RegExp(`^uae: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\S.*\\n$`));
    }
  });
});

describe('fuzz: 240 seeded mutations of valid PNG/JPEG/GIF/BMP/WebP files through `uae roundtrip`', () => {
  const FUZZ_SEED = 9_2026;

  it('every file ends with exit 1 and one line (a refusal naming the file, or the missing bundle after a good decode)', async () => {
    const bases = valid.filter((v) =>
      /^(rgb8\.png|rgba16\.png|photo\.jpg|rotated-exif6\.jpg|two-frames\.gif|rgb24\.bmp|pal8\.bmp|lossy\.webp|lossless-alpha\.webp)$/.test(
        v.name,
      ),
    );
    const files = mutatedImages(bases, 240, seeded(FUZZ_SEED));
    const outcome: Record<string, number> = {};
    for (const f of files) {
      const path = write(f.name, f.bytes);
      const r = await runCli(['roundtrip', '--bundle', noBundle, path]);
      const lines = r.err.trimEnd().split('\n');
      expect(r.code, `${f.name}: ${r.err}`).toBe(1);
      expect(lines, `${f.name}: ${r.err}`).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at |Error:/);
      const refused = lines[0].startsWith(`uae: ${path}: `);
      const decoded = lines[0] === `uae: ${join(noBundle, 'manifest.json')}: not found`;
      expect(refused || decoded, `${f.name}: ${lines[0]}`).toBe(true);
      const key = refused ? lines[0].slice(`uae: ${path}: `.length).replace(/\d+/g, 'N').replace(/\(.*$/, '').slice(0, 40) : 'decoded';
      outcome[key] = (outcome[key] ?? 0) + 1;
    }
    console.info(
      `fuzz outcomes (${files.length} files):\n${Object.entries(outcome)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `  ${String(n).padStart(3)}  ${k}`)
        .join('\n')}`,
    );
    // Mutations that keep a file decodable and ones that break it both occur: the fuzz reaches the decoders.
    expect(outcome.decoded ?? 0).toBeGreaterThan(10);
    expect(files.length - (outcome.decoded ?? 0)).toBeGreaterThan(50);
  });

  it('as a real process (bin/uae.mjs): one file per mutation kind, and the bad inputs, exit 1 with one line on stderr, no stack trace', async () => {
    const bases = valid.filter((v) => /^(rgb8\.png|photo\.jpg|two-frames\.gif|rgb24\.bmp|lossy\.webp)$/.test(v.name));
    const files = mutatedImages(bases, 60, seeded(FUZZ_SEED + 1));
    const oneEach = [...new Map(files.map((f) => [f.mutation, f])).values()];
    expect(oneEach.length).toBe(6);
    // Each start of tsx takes seconds on a loaded machine: one file per kind, plus an empty file and an SVG.
    for (const f of [...oneEach, ...bad.filter((b) => b.name === 'empty.png' || b.name === 'logo.svg')]) {
      const r = spawnSync(process.execPath, ['bin/uae.mjs', 'roundtrip', '--bundle', noBundle, write(f.name, f.bytes)], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, `${f.name}: ${r.stderr}`).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/^uae: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 900_000);
});
