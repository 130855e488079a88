/**
 * Loading a bundle: manifest (validated), then every listed file with streamed per-file and overall byte
 * progress, exact byte size and sha256 checks (crypto.subtle), and an optional versioned cache
 * (`uae-bundle-v1:<id>@<version>`; the worker plugs in the Cache API, Node runs without one).
 * Sources: a URL folder, or local files (folder picker / dropped folder).
 */
import type { BundleFileData, LoadedFileInfo } from './vocab.ts';
import { EngineError } from './errors.ts';
import { parseManifestText, type BundleManifest } from './manifest.ts';

/** Storage for verified bundle files, keyed by cache name + file path. */
export interface BundleCache {
  get(cacheName: string, path: string): Promise<Uint8Array | undefined>;
  put(cacheName: string, path: string, data: Uint8Array): Promise<void>;
  /** Drops caches of other versions of the same bundle id. */
  prune?(keepCacheName: string, bundleId: string): Promise<void>;
}

/** Byte progress of a load: overall `loaded`/`total`, and the current file's bytes. */
export interface LoadProgress {
  phase: 'manifest' | 'download' | 'verify';
  loaded: number;
  total: number;
  file?: string;
  fileLoaded?: number;
  fileTotal?: number;
}

/** Options of a bundle load. */
export interface LoadOptions {
  fetch?: (url: string) => Promise<Response>;
  cache?: BundleCache;
  onProgress?: (p: LoadProgress) => void;
  /** Throws (EngineError 'cancelled') when the load should stop; checked between chunks. */
  checkCancelled?: () => void;
}

/** A bundle in memory: the validated manifest and the verified bytes of every listed file. */
export interface LoadedBundle {
  manifest: BundleManifest;
  files: Map<string, Uint8Array>;
  info: LoadedFileInfo[];
  /** Where it came from, for messages ('http://…/fixture-tiny/' or 'local files'). */
  origin: string;
}

const CACHE_PREFIX = 'uae-bundle-v1:';

/** Returns the Cache API name of a bundle version: `uae-bundle-v1:<id>@<version>`. */
export function bundleCacheName(manifest: Pick<BundleManifest, 'id' | 'version'>): string {
  return `${CACHE_PREFIX}${manifest.id}@${manifest.version}`;
}

/** Returns lowercase hex sha256 of `data` (64 chars). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Returns `data` after checking its byte size and sha256 against the manifest entry (EngineError otherwise). */
export async function verifyFile(entry: { path: string; bytes: number; sha256: string }, data: Uint8Array): Promise<Uint8Array> {
  if (data.byteLength !== entry.bytes) {
    throw new EngineError('size-mismatch', `${entry.path}: size mismatch: manifest says ${entry.bytes} bytes, got ${data.byteLength}`);
  }
  const actual = await sha256Hex(data);
  if (actual !== entry.sha256) {
    throw new EngineError('sha256-mismatch', `${entry.path}: sha256 mismatch: expected ${entry.sha256}, got ${actual}`);
  }
  return data;
}

function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`}${path.split('/').map(encodeURIComponent).join('/')}`;
}

async function fetchOrThrow(fetchFn: (url: string) => Promise<Response>, url: string, path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (e) {
    throw new EngineError('fetch-failed', `${path}: could not fetch ${url} (${e instanceof Error ? e.message : String(e)})`);
  }
  if (res.status === 404) throw new EngineError('missing-file', `${path}: not found at ${url} (HTTP 404)`);
  if (!res.ok) throw new EngineError('fetch-failed', `${path}: HTTP ${res.status} fetching ${url}`);
  return res;
}

/** Reads a response body in chunks, calling onChunk with the file's running byte count; stops past `limit`. */
async function readBody(
  res: Response,
  path: string,
  limit: number,
  onChunk: (fileLoaded: number) => void,
  check: () => void,
): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      check();
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.byteLength;
      if (n > limit) throw new EngineError('size-mismatch', `${path}: size mismatch: manifest says ${limit} bytes, got more`);
      onChunk(n);
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    throw e;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** Emits progress when the overall count moved by >= 0.5% of the total (about 200 events per load), and at file boundaries. */
function throttled(onProgress: ((p: LoadProgress) => void) | undefined, total: number): (p: LoadProgress, force: boolean) => void {
  let last = -Infinity;
  const step = total / 200;
  return (p, force) => {
    if (!onProgress) return;
    if (!force && p.loaded - last < step) return;
    last = p.loaded;
    onProgress(p);
  };
}

/** Returns the bundle at `baseUrl` (a folder holding manifest.json), downloaded or from cache, fully verified. */
export async function loadBundleFromUrl(baseUrl: string, opts: LoadOptions = {}): Promise<LoadedBundle> {
  const fetchFn = opts.fetch ?? ((url: string) => globalThis.fetch(url, { cache: 'no-cache' }));
  const check = opts.checkCancelled ?? (() => undefined);
  opts.onProgress?.({ phase: 'manifest', loaded: 0, total: 1, file: 'manifest.json' });
  const manifestUrl = joinUrl(baseUrl, 'manifest.json');
  const manifest = parseManifestText(await (await fetchOrThrow(fetchFn, manifestUrl, 'manifest.json')).text());
  check();
  const cacheName = bundleCacheName(manifest);
  const total = manifest.files.reduce((a, f) => a + f.bytes, 0);
  const emit = throttled(opts.onProgress, total);
  const files = new Map<string, Uint8Array>();
  const info: LoadedFileInfo[] = [];
  let done = 0;
  for (const entry of manifest.files) {
    check();
    const cached = await opts.cache?.get(cacheName, entry.path).catch(() => undefined);
    let data: Uint8Array | undefined;
    if (cached) {
      // A corrupt or stale cache entry is refetched rather than trusted.
      data = await verifyFile(entry, cached).catch(() => undefined);
    }
    const fromCache = data !== undefined;
    if (!data) {
      emit({ phase: 'download', loaded: done, total, file: entry.path, fileLoaded: 0, fileTotal: entry.bytes }, true);
      const res = await fetchOrThrow(fetchFn, joinUrl(baseUrl, entry.path), entry.path);
      const body = await readBody(
        res,
        entry.path,
        entry.bytes,
        (n) => emit({ phase: 'download', loaded: done + n, total, file: entry.path, fileLoaded: n, fileTotal: entry.bytes }, false),
        check,
      );
      opts.onProgress?.({
        phase: 'verify',
        loaded: done + body.byteLength,
        total,
        file: entry.path,
        fileLoaded: body.byteLength,
        fileTotal: entry.bytes,
      });
      data = await verifyFile(entry, body);
      await opts.cache?.put(cacheName, entry.path, data).catch(() => undefined);
    }
    done += entry.bytes;
    emit({ phase: 'download', loaded: done, total, file: entry.path, fileLoaded: entry.bytes, fileTotal: entry.bytes }, true);
    files.set(entry.path, data);
    info.push({ path: entry.path, bytes: entry.bytes, fromCache });
  }
  await opts.cache?.prune?.(cacheName, manifest.id).catch(() => undefined);
  return { manifest, files, info, origin: baseUrl };
}

/** Returns `files` with paths made relative to the folder holding manifest.json (one wrapping folder is stripped). */
export function normalizeLocalFiles(files: BundleFileData[]): BundleFileData[] {
  const clean = files.map((f) => ({ path: f.path.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, ''), data: f.data }));
  if (clean.some((f) => f.path === 'manifest.json')) return clean;
  const manifests = clean.filter((f) => f.path.endsWith('/manifest.json'));
  const depth = (p: string): number => p.split('/').length;
  const shallowest = Math.min(...manifests.map((f) => depth(f.path)));
  const candidates = manifests.filter((f) => depth(f.path) === shallowest);
  if (candidates.length !== 1) {
    const why = candidates.length === 0 ? 'no manifest.json among the selected files' : 'more than one manifest.json at the same depth';
    throw new EngineError('missing-file', `manifest.json: ${why}`);
  }
  const prefix = candidates[0].path.slice(0, -'manifest.json'.length);
  return clean.filter((f) => f.path.startsWith(prefix)).map((f) => ({ path: f.path.slice(prefix.length), data: f.data }));
}

/** Returns the bundle made of local files (paths relative to manifest.json), fully verified. */
export async function loadBundleFromFiles(list: BundleFileData[], opts: LoadOptions = {}): Promise<LoadedBundle> {
  const check = opts.checkCancelled ?? (() => undefined);
  const byPath = new Map(normalizeLocalFiles(list).map((f) => [f.path, f.data]));
  const manifestBytes = byPath.get('manifest.json');
  if (!manifestBytes) throw new EngineError('missing-file', 'manifest.json: not in the selected folder');
  const manifest = parseManifestText(new TextDecoder().decode(manifestBytes));
  const total = manifest.files.reduce((a, f) => a + f.bytes, 0);
  const files = new Map<string, Uint8Array>();
  const info: LoadedFileInfo[] = [];
  let done = 0;
  for (const entry of manifest.files) {
    check();
    const buf = byPath.get(entry.path);
    if (!buf) throw new EngineError('missing-file', `${entry.path}: not in the selected folder`);
    opts.onProgress?.({ phase: 'verify', loaded: done, total, file: entry.path, fileLoaded: 0, fileTotal: entry.bytes });
    files.set(entry.path, await verifyFile(entry, new Uint8Array(buf)));
    done += entry.bytes;
    info.push({ path: entry.path, bytes: entry.bytes, fromCache: false });
  }
  opts.onProgress?.({ phase: 'verify', loaded: total, total });
  return { manifest, files, info, origin: 'local files' };
}

/** Returns the text of a loaded bundle file (e.g. tokenizer.json), or throws 'missing-file'. */
export function bundleText(bundle: LoadedBundle, path: string): string {
  const data = bundle.files.get(path);
  if (!data) throw new EngineError('missing-file', `${path}: not part of bundle ${bundle.manifest.id}`);
  return new TextDecoder().decode(data);
}

/** Returns the origin of bundle URL `baseUrl` when it differs from `appOrigin` (the user must agree first), else undefined. */
export function crossOriginOf(baseUrl: string, appOrigin: string): string | undefined {
  let origin: string;
  try {
    origin = new URL(baseUrl, appOrigin).origin;
  } catch {
    return undefined;
  }
  return origin === new URL(appOrigin).origin ? undefined : origin;
}
