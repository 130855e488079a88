// The bundle loader on the generated fixture and its broken variants: URL source through an in-memory
// fetch (streamed), local-files source, progress, cache, and every error class naming the file.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bundleCacheName,
  loadBundleFromFiles,
  loadBundleFromUrl,
  normalizeLocalFiles,
  sha256Hex,
  type LoadProgress,
} from '../../src/engine/bundle.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { BAD_DIR, FIXTURE_DIR, folderFetch, memoryCache, readFolder, engineFailure } from './engine-fixture.ts';

describe('bundle loader (URL source)', () => {
  it('downloads every listed file, verified, with monotone per-file and overall byte progress', async () => {
    const { fetch, requests, base } = folderFetch(FIXTURE_DIR, 1000);
    const events: LoadProgress[] = [];
    const b = await loadBundleFromUrl(base, { fetch, onProgress: (p) => events.push(p) });
    const manifest = JSON.parse(readFileSync(join(FIXTURE_DIR, 'manifest.json'), 'utf8')) as { files: { path: string; bytes: number }[] };
    const total = manifest.files.reduce((a, f) => a + f.bytes, 0);
    expect(b.manifest.id).toBe('fixture-tiny');
    expect([...b.files.keys()]).toEqual(manifest.files.map((f) => f.path));
    for (const f of manifest.files) {
      const onDisk = readFileSync(join(FIXTURE_DIR, f.path));
      expect(Buffer.from(b.files.get(f.path) ?? []).equals(onDisk), f.path).toBe(true);
    }
    expect(requests).toEqual([`${base}manifest.json`, ...manifest.files.map((f) => `${base}${f.path}`)]);
    const dl = events.filter((e) => e.phase === 'download');
    expect(dl.every((e) => e.total === total)).toBe(true);
    expect(dl.map((e) => e.loaded)).toEqual([...dl.map((e) => e.loaded)].sort((x, y) => x - y));
    expect(dl[dl.length - 1].loaded).toBe(total);
    const vision = dl.filter((e) => e.file === 'scorer/vision.onnx');
    expect(vision.some((e) => (e.fileLoaded ?? 0) > 0 && (e.fileLoaded ?? 0) < (e.fileTotal ?? 0))).toBe(true);
    expect(vision[vision.length - 1].fileLoaded).toBe(manifest.files[0].bytes);
  });

  it('serves a second load from the versioned cache without downloading files again', async () => {
    const cache = memoryCache();
    const first = folderFetch(FIXTURE_DIR);
    await loadBundleFromUrl(first.base, { fetch: first.fetch, cache });
    expect([...cache.entries.keys()].every((k) => k.startsWith('uae-bundle-v1:fixture-tiny@1.0.0|'))).toBe(true);
    const second = folderFetch(FIXTURE_DIR);
    const b = await loadBundleFromUrl(second.base, { fetch: second.fetch, cache });
    expect(second.requests).toEqual([`${second.base}manifest.json`]);
    expect(b.info.every((f) => f.fromCache)).toBe(true);
    // A corrupted cache entry is not trusted: that file alone is fetched again.
    cache.entries.set(`${bundleCacheName(b.manifest)}|scorer/text.onnx`, new Uint8Array([1, 2, 3]));
    const third = folderFetch(FIXTURE_DIR);
    const c = await loadBundleFromUrl(third.base, { fetch: third.fetch, cache });
    expect(third.requests).toEqual([`${third.base}manifest.json`, `${third.base}scorer/text.onnx`]);
    expect(c.info.find((f) => f.path === 'scorer/text.onnx')?.fromCache).toBe(false);
  });

  it.each([
    ['malformed-manifest', 'manifest-json', /^manifest\.json: is not valid JSON/],
    ['schema-error', 'manifest-schema', /^manifest\.json: files\[1\]\.sha256 must be 64 hex chars$/],
    ['missing-file', 'missing-file', /^scorer\/text\.onnx: not found at http:\/\/bundles\.test\/b\/scorer\/text\.onnx \(HTTP 404\)$/],
    ['sha-mismatch', 'sha256-mismatch', /^scorer\/vision\.onnx: sha256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}$/],
    ['size-mismatch', 'size-mismatch', /^scorer\/text\.onnx: size mismatch: manifest says 6128 bytes, got more$/],
  ])('%s fails with %s naming the file', async (variant, code, message) => {
    const { fetch, base } = folderFetch(join(BAD_DIR, variant));
    const err = await engineFailure(loadBundleFromUrl(base, { fetch }));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it('reports a network failure as fetch-failed and stops when cancelled', async () => {
    const down = await engineFailure(
      loadBundleFromUrl('http://bundles.test/b/', { fetch: () => Promise.reject(new TypeError('network down')) }),
    );
    expect(down.code).toBe('fetch-failed');
    expect(down.message).toMatch(/^manifest\.json: could not fetch .* \(network down\)$/);
    const { fetch, base, requests } = folderFetch(FIXTURE_DIR, 512);
    let chunks = 0;
    const err = await engineFailure(
      loadBundleFromUrl(base, {
        fetch,
        onProgress: (p) => {
          if (p.phase === 'download' && (p.fileLoaded ?? 0) > 0) chunks++;
        },
        checkCancelled: () => {
          if (chunks >= 3) throw new EngineError('cancelled', 'stop');
        },
      }),
    );
    expect(err.code).toBe('cancelled');
    expect(requests.length).toBe(2); // manifest + the first file, abandoned mid-stream
  });
});

describe('bundle loader (local files)', () => {
  it('loads a dropped folder (one wrapping directory) and checks sha256 with crypto.subtle', async () => {
    const b = await loadBundleFromFiles(readFolder(FIXTURE_DIR, 'fixture-tiny/'));
    expect(b.origin).toBe('local files');
    const vision = readFileSync(join(FIXTURE_DIR, 'scorer/vision.onnx'));
    expect(await sha256Hex(new Uint8Array(vision))).toBe(createHash('sha256').update(vision).digest('hex'));
    expect(b.info.map((f) => f.path)).toEqual(['scorer/vision.onnx', 'scorer/text.onnx', 'tokenizer.json']);
  });

  it('normalises paths and rejects ambiguous folders', () => {
    const d = new ArrayBuffer(1);
    expect(
      normalizeLocalFiles([
        { path: './manifest.json', data: d },
        { path: 'a\\b.onnx', data: d },
      ]).map((f) => f.path),
    ).toEqual(['manifest.json', 'a/b.onnx']);
    expect(() =>
      normalizeLocalFiles([
        { path: 'x/manifest.json', data: d },
        { path: 'y/manifest.json', data: d },
      ]),
    ).toThrow(/more than one manifest\.json/);
    expect(() => normalizeLocalFiles([{ path: 'x/a.onnx', data: d }])).toThrow(/no manifest\.json/);
  });

  it.each([
    ['malformed-manifest', 'manifest-json', /^manifest\.json: is not valid JSON/],
    ['missing-file', 'missing-file', /^scorer\/text\.onnx: not in the selected folder$/],
    ['sha-mismatch', 'sha256-mismatch', /^scorer\/vision\.onnx: sha256 mismatch/],
    ['size-mismatch', 'size-mismatch', /^scorer\/text\.onnx: size mismatch: manifest says 6128 bytes, got 6135$/],
  ])('%s fails with %s naming the file', async (variant, code, message) => {
    const err = await engineFailure(loadBundleFromFiles(readFolder(join(BAD_DIR, variant))));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });
});
