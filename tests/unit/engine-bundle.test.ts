// The bundle loader on the generated fixture and its broken variants: URL source through an in-memory
// fetch (streamed), local-files source, progress, cache, and every error class naming the file.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bundleCacheName,
  bundleFile,
  loadBundleFromFiles,
  loadBundleFromUrl,
  normalizeLocalFiles,
  startBundleFromUrl,
  sha256Hex,
  type LoadProgress,
} from '../../src/engine/bundle.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { BundleSessions } from '../../src/engine/sessions.ts';
import { nodeOrt } from '../../src/cli/io.ts';
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

  it('leaves deferred files for their first use: fetched once, sha256-checked, cached, listed as deferred', async () => {
    const cache = memoryCache();
    const { fetch, requests, base } = folderFetch(FIXTURE_DIR);
    const defer = (p: string): boolean => p === 'scorer/text.onnx';
    const b = await loadBundleFromUrl(base, { fetch, cache, defer });
    expect(requests).toEqual([`${base}manifest.json`, `${base}scorer/vision.onnx`, `${base}tokenizer.json`]);
    expect(b.files.has('scorer/text.onnx')).toBe(false);
    expect(b.info.map((f) => [f.path, f.deferred === true])).toEqual([
      ['scorer/vision.onnx', false],
      ['scorer/text.onnx', true],
      ['tokenizer.json', false],
    ]);
    const [x, y] = await Promise.all([bundleFile(b, 'scorer/text.onnx'), bundleFile(b, 'scorer/text.onnx')]);
    expect(Buffer.from(x).equals(readFileSync(join(FIXTURE_DIR, 'scorer/text.onnx')))).toBe(true);
    expect(y).toBe(x);
    expect(requests.filter((u) => u.endsWith('scorer/text.onnx'))).toHaveLength(1);
    expect(b.files.get('scorer/text.onnx')).toBe(x);
    expect(cache.entries.has(`${bundleCacheName(b.manifest)}|scorer/text.onnx`)).toBe(true);
    expect((await engineFailure(bundleFile(b, 'nope.onnx'))).code).toBe('bad-request');
    // The next visit takes a deferred file from the cache when first used: no request.
    const again = folderFetch(FIXTURE_DIR);
    const c = await loadBundleFromUrl(again.base, { fetch: again.fetch, cache, defer });
    await bundleFile(c, 'scorer/text.onnx');
    expect(again.requests).toEqual([`${again.base}manifest.json`]);
  });

  it('a deferred file that fails its check fails on first use, naming it, and is tried again on the next use', async () => {
    const { fetch, base } = folderFetch(join(BAD_DIR, 'sha-mismatch'));
    const b = await loadBundleFromUrl(base, { fetch, defer: (p) => p === 'scorer/vision.onnx' });
    const err = await engineFailure(bundleFile(b, 'scorer/vision.onnx'));
    expect(err.code).toBe('sha256-mismatch');
    expect(err.message).toMatch(/^scorer\/vision\.onnx: sha256 mismatch/);
    expect((await engineFailure(bundleFile(b, 'scorer/vision.onnx'))).code).toBe('sha256-mismatch');
    expect(b.files.has('scorer/vision.onnx')).toBe(false);
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

describe('bundle loader: sessions while downloading (startBundleFromUrl + BundleSessions.open)', () => {
  /** folderFetch with the fetch of `held` waiting until release() is called. */
  const gated = (dir: string, held: string) => {
    const inner = folderFetch(dir);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fetch = async (url: string): Promise<Response> => {
      if (url.endsWith(held)) await gate;
      return inner.fetch(url);
    };
    return { ...inner, fetch, release };
  };

  it("creates a graph's session as soon as its file is in, while a later file still downloads", async () => {
    const ort = await nodeOrt();
    const { fetch, base, release } = gated(FIXTURE_DIR, 'scorer/text.onnx');
    const created: string[] = [];
    const events: string[] = [];
    const load = await startBundleFromUrl(base, { fetch, onProgress: (p) => events.push(p.phase) });
    const pathOf = new Map<Uint8Array, string>();
    for (const f of load.manifest.files) void load.file(f.path).then((b) => pathOf.set(b, f.path));
    const create = async (bytes: Uint8Array) => {
      created.push(pathOf.get(bytes) ?? '?');
      // scorer/text.onnx is only fetched once the first session exists: without pipelining this never resolves.
      release();
      return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    };
    const sessionEvents: number[] = [];
    const sessions = await BundleSessions.open(load, create, {
      backend: 'wasm',
      allowFallback: false,
      onProgress: (done) => {
        sessionEvents.push(done);
        events.push('sessions');
      },
    });
    expect(created).toEqual(['scorer/vision.onnx', 'scorer/text.onnx']);
    expect(sessions.openPaths()).toEqual(['scorer/vision.onnx', 'scorer/text.onnx']);
    expect([...sessions.bundle.files.keys()].sort()).toEqual(['scorer/text.onnx', 'scorer/vision.onnx', 'tokenizer.json']);
    // Session progress is reported once the downloads are over, never between download events.
    expect(events.slice(events.indexOf('sessions')).every((e) => e === 'sessions')).toBe(true);
    expect(sessionEvents[sessionEvents.length - 1]).toBe(2);
    await sessions.release();
  });

  it('a file that fails its check after a session was created fails the open, naming it, and releases that session', async () => {
    const ort = await nodeOrt();
    const { fetch, base } = folderFetch(join(BAD_DIR, 'size-mismatch'));
    const load = await startBundleFromUrl(base, { fetch });
    const released: number[] = [];
    const create = async (bytes: Uint8Array) => {
      const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      const rel = s.release.bind(s);
      return Object.assign(s, { release: async () => (released.push(1), rel()) });
    };
    const err = await engineFailure(BundleSessions.open(load, create, { backend: 'wasm', allowFallback: false }));
    expect(err.code).toBe('size-mismatch');
    expect(err.message).toMatch(/^scorer\/text\.onnx: size mismatch/);
    expect(released).toHaveLength(1);
    expect((await engineFailure(load.done)).code).toBe('size-mismatch');
  });
});
