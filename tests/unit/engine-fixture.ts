// Shared by tests/unit/engine*.test.ts and cli*.test.ts: the fixture bundle on disk (written by
// models/make_fixture.py), an in-memory fetch serving a folder, and an in-memory BundleCache.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BundleCache } from '../../src/engine/bundle.ts';
import { EngineError } from '../../src/engine/errors.ts';
import type { BundleFileData } from '../../src/protocol/messages.ts';

/** Absolute path of public/models/fixture-tiny. */
export const FIXTURE_DIR = fileURLToPath(new URL('../../public/models/fixture-tiny', import.meta.url));
/** Absolute path of tests/fixtures/bad-bundles. */
export const BAD_DIR = fileURLToPath(new URL('../fixtures/bad-bundles', import.meta.url));

/** The PyTorch outputs saved by make_fixture.py. */
export interface Reference {
  pixel_values: { dims: number[] };
  image_embeds: { dims: number[]; data: number[] };
  input_ids: { dims: number[]; data: number[] };
  text_embeds: { dims: number[]; data: number[] };
}

/** Returns reference.json of the fixture. */
export function reference(): Reference {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, 'reference.json'), 'utf8')) as Reference;
}

/** Returns the fixture's fixed input: v[i] = float32(((i*37) % 255)/255 - 0.5), as make_fixture.py builds it. */
export function referencePixels(dims: number[]): Float32Array {
  const n = dims.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => ((i * 37) % 255) / 255 - 0.5);
}

/** Returns every file under `dir` (recursively) with paths relative to `dir`, prefixed by `prefix`. */
export function readFolder(dir: string, prefix = ''): BundleFileData[] {
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  return walk(dir).map((p) => {
    const b = readFileSync(p);
    return { path: prefix + relative(dir, p), data: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
  });
}

/** A fetch serving `dir` at http://bundles.test/<name>/, streaming bodies in `chunk`-byte pieces; counts requests. */
export function folderFetch(dir: string, chunk = 4096): { fetch: (url: string) => Promise<Response>; requests: string[]; base: string } {
  const base = 'http://bundles.test/b/';
  const requests: string[] = [];
  const fetch = async (url: string): Promise<Response> => {
    requests.push(url);
    if (!url.startsWith(base)) return new Response('wrong origin', { status: 403 });
    const file = join(dir, decodeURIComponent(url.slice(base.length)));
    if (!existsSync(file)) return new Response('not found', { status: 404 });
    const bytes = new Uint8Array(readFileSync(file));
    let off = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (off >= bytes.byteLength) return ctrl.close();
        ctrl.enqueue(bytes.slice(off, off + chunk));
        off += chunk;
      },
    });
    return new Response(body, { status: 200, headers: { 'content-length': String(bytes.byteLength) } });
  };
  return { fetch, requests, base };
}

/** An in-memory BundleCache (what the Cache API does in the browser). */
export function memoryCache(): BundleCache & { entries: Map<string, Uint8Array> } {
  const entries = new Map<string, Uint8Array>();
  return {
    entries,
    get: async (name, path) => entries.get(`${name}|${path}`),
    put: async (name, path, data) => {
      entries.set(`${name}|${path}`, data.slice());
    },
  };
}

/** Returns the EngineError `p` rejects with; fails the test when it resolves or rejects otherwise. */
export async function engineFailure(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected an EngineError rejection, but the promise resolved');
}
