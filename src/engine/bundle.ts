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
  /**
   * Files left for their first use (URL loads only): not fetched by the load, fetched, verified and cached by
   * bundleFile() when something asks for them (e.g. checkpoints, the reference encoder; roles.ts deferredAtLoad).
   */
  defer?: (path: string, manifest: BundleManifest) => boolean;
}

/**
 * A bundle in memory: the validated manifest and the verified bytes of its files — every listed file, except
 * those a URL load left for their first use (info[].deferred), which bundleFile() fetches into `files`.
 */
export interface LoadedBundle {
  manifest: BundleManifest;
  files: Map<string, Uint8Array>;
  info: LoadedFileInfo[];
  /** Where it came from, for messages ('http://…/fixture-tiny/' or 'local files'). */
  origin: string;
  /** Fetches (or reads from the cache) and verifies a file the load deferred; set by URL loads that defer. */
  fetchDeferred?: (path: string) => Promise<Uint8Array>;
}

/** A URL load in flight (startBundleFromUrl): the manifest, each file as it comes in, the whole bundle at the end. */
export interface BundleLoad {
  manifest: BundleManifest;
  /** The verified bytes of a file the load fetches, as soon as it is in (rejects with the load's error). */
  file(path: string): Promise<Uint8Array>;
  /** The bundle, once every file not deferred is in. */
  done: Promise<LoadedBundle>;
  /** Stops the downloads at the next chunk (done then rejects with 'cancelled'). */
  stop(): void;
}

/** A promise with its settle functions; its rejection never goes unhandled (whoever awaits it still sees it). */
interface Settle<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

function settleLater<T>(): Settle<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Returns the verified bytes of bundle file `path`: from memory, or (a file the load deferred) fetched once,
 * verified, cached and kept. Throws 'bad-request' for a path the manifest does not list.
 */
export async function bundleFile(bundle: LoadedBundle, path: string): Promise<Uint8Array> {
  const ready = bundle.files.get(path);
  if (ready) return ready;
  if (!bundle.manifest.files.some((f) => f.path === path))
    throw new EngineError('bad-request', `${path}: not a file of bundle ${bundle.manifest.id}`);
  if (!bundle.fetchDeferred) throw new EngineError('missing-file', `${path}: not loaded`);
  return bundle.fetchDeferred(path);
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

/**
 * Returns the first-use fetcher of a load's deferred files: one `get` per file at a time (concurrent callers share it),
 * the verified bytes kept in `files`; a failure is not kept, so the next use tries again.
 */
function deferredFetcher(
  deferred: BundleManifest['files'],
  files: Map<string, Uint8Array>,
  get: (entry: BundleManifest['files'][number]) => Promise<Uint8Array>,
): (path: string) => Promise<Uint8Array> {
  const pending = new Map<string, Promise<Uint8Array>>();
  return (path) => {
    const entry = deferred.find((f) => f.path === path);
    if (!entry) return Promise.reject(new EngineError('missing-file', `${path}: not loaded`));
    let p = pending.get(path);
    if (!p) {
      p = get(entry).then(
        (data) => {
          files.set(path, data);
          return data;
        },
        (e: unknown) => {
          pending.delete(path);
          throw e;
        },
      );
      pending.set(path, p);
    }
    return p;
  };
}

/** Returns the bundle at `baseUrl` (a folder holding manifest.json), downloaded or from cache, fully verified. */
export async function loadBundleFromUrl(baseUrl: string, opts: LoadOptions = {}): Promise<LoadedBundle> {
  return (await startBundleFromUrl(baseUrl, opts)).done;
}

/**
 * Starts loading the bundle at `baseUrl`: returns once the manifest is read, with each file's bytes as it comes
 * in (`file`) and the whole bundle when every file not deferred is in (`done`), so sessions can be created while
 * the rest downloads (BundleSessions.open). Files are fetched one at a time, in manifest order.
 */
export async function startBundleFromUrl(baseUrl: string, opts: LoadOptions = {}): Promise<BundleLoad> {
  const fetchFn = opts.fetch ?? ((url: string) => globalThis.fetch(url, { cache: 'no-cache' }));
  const checkOpts = opts.checkCancelled ?? (() => undefined);
  opts.onProgress?.({ phase: 'manifest', loaded: 0, total: 1, file: 'manifest.json' });
  const manifestUrl = joinUrl(baseUrl, 'manifest.json');
  const manifest = parseManifestText(await (await fetchOrThrow(fetchFn, manifestUrl, 'manifest.json')).text());
  checkOpts();
  const cacheName = bundleCacheName(manifest);
  const files = new Map<string, Uint8Array>();
  const info: LoadedFileInfo[] = [];
  const deferred = manifest.files.filter((f) => opts.defer?.(f.path, manifest) === true);
  const now = manifest.files.filter((f) => !deferred.includes(f));
  const total = now.reduce((a, f) => a + f.bytes, 0);
  const emit = throttled(opts.onProgress, total);
  /** Returns the verified bytes of `entry` (cache, else network) and whether they came from the cache. */
  const fetchEntry = async (
    entry: BundleManifest['files'][number],
    onBytes: (fileLoaded: number) => void,
    verifying: (n: number) => void,
    stop: () => void,
  ): Promise<{ data: Uint8Array; fromCache: boolean }> => {
    const cached = await opts.cache?.get(cacheName, entry.path).catch(() => undefined);
    // A corrupt or stale cache entry is refetched rather than trusted.
    const hit = cached ? await verifyFile(entry, cached).catch(() => undefined) : undefined;
    if (hit) return { data: hit, fromCache: true };
    onBytes(0);
    const res = await fetchOrThrow(fetchFn, joinUrl(baseUrl, entry.path), entry.path);
    const body = await readBody(res, entry.path, entry.bytes, onBytes, stop);
    verifying(body.byteLength);
    const data = await verifyFile(entry, body);
    await opts.cache?.put(cacheName, entry.path, data).catch(() => undefined);
    return { data, fromCache: false };
  };
  let stopped = false;
  const check = (): void => {
    if (stopped) throw new EngineError('cancelled', 'the bundle load was stopped');
    checkOpts();
  };
  const arrivals = new Map(now.map((f) => [f.path, settleLater<Uint8Array>()]));
  const downloads = async (): Promise<void> => {
    let done = 0;
    for (const entry of now) {
      const arrival = arrivals.get(entry.path) as Settle<Uint8Array>;
      try {
        check();
        const { data, fromCache } = await fetchEntry(
          entry,
          (n) => emit({ phase: 'download', loaded: done + n, total, file: entry.path, fileLoaded: n, fileTotal: entry.bytes }, n === 0),
          (n) => opts.onProgress?.({ phase: 'verify', loaded: done + n, total, file: entry.path, fileLoaded: n, fileTotal: entry.bytes }),
          check,
        );
        done += entry.bytes;
        emit({ phase: 'download', loaded: done, total, file: entry.path, fileLoaded: entry.bytes, fileTotal: entry.bytes }, true);
        files.set(entry.path, data);
        info.push({ path: entry.path, bytes: entry.bytes, fromCache });
        arrival.resolve(data);
      } catch (e) {
        // This file and every later one fail with the load's error.
        for (const a of arrivals.values()) a.reject(e);
        throw e;
      }
    }
  };
  const order = new Map(manifest.files.map((f, i) => [f.path, i]));
  const fetchDeferred = deferredFetcher(
    deferred,
    files,
    async (entry) =>
      (
        await fetchEntry(
          entry,
          () => undefined,
          () => undefined,
          () => undefined,
        )
      ).data,
  );
  const done = downloads().then(async (): Promise<LoadedBundle> => {
    for (const entry of deferred) info.push({ path: entry.path, bytes: entry.bytes, fromCache: false, deferred: true });
    info.sort((a, b) => (order.get(a.path) ?? 0) - (order.get(b.path) ?? 0));
    await opts.cache?.prune?.(cacheName, manifest.id).catch(() => undefined);
    return { manifest, files, info, origin: baseUrl, ...(deferred.length > 0 ? { fetchDeferred } : {}) };
  });
  return {
    manifest,
    file: (path) => arrivals.get(path)?.promise ?? Promise.reject(new EngineError('missing-file', `${path}: not loaded`)),
    done,
    stop: () => {
      stopped = true;
    },
  };
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

/** Reads a file a local load deferred (LocalLoadOptions.readDeferred). */
export type DeferredReader = (path: string) => Promise<Uint8Array>;

/** Options of a local load: `defer` applies only with `readDeferred`, which reads such a file on its first use. */
export interface LocalLoadOptions extends LoadOptions {
  readDeferred?: DeferredReader;
}

/** Returns the bundle made of local files (paths relative to manifest.json), fully verified. */
export async function loadBundleFromFiles(list: BundleFileData[], opts: LocalLoadOptions = {}): Promise<LoadedBundle> {
  const check = opts.checkCancelled ?? (() => undefined);
  const byPath = new Map(normalizeLocalFiles(list).map((f) => [f.path, f.data]));
  const manifestBytes = byPath.get('manifest.json');
  if (!manifestBytes) throw new EngineError('missing-file', 'manifest.json: not in the selected folder');
  const manifest = parseManifestText(new TextDecoder().decode(manifestBytes));
  const total = manifest.files.reduce((a, f) => a + f.bytes, 0);
  const files = new Map<string, Uint8Array>();
  const info: LoadedFileInfo[] = [];
  const read = opts.readDeferred;
  const deferred = read ? manifest.files.filter((f) => opts.defer?.(f.path, manifest) === true) : [];
  let done = 0;
  for (const entry of manifest.files) {
    check();
    if (deferred.includes(entry)) {
      info.push({ path: entry.path, bytes: entry.bytes, fromCache: false, deferred: true });
      continue;
    }
    const buf = byPath.get(entry.path);
    if (!buf) throw new EngineError('missing-file', `${entry.path}: not in the selected folder`);
    opts.onProgress?.({ phase: 'verify', loaded: done, total, file: entry.path, fileLoaded: 0, fileTotal: entry.bytes });
    files.set(entry.path, await verifyFile(entry, new Uint8Array(buf)));
    done += entry.bytes;
    info.push({ path: entry.path, bytes: entry.bytes, fromCache: false });
  }
  opts.onProgress?.({ phase: 'verify', loaded: total, total });
  if (!read || deferred.length === 0) return { manifest, files, info, origin: 'local files' };
  const fetchDeferred = deferredFetcher(deferred, files, async (entry) => verifyFile(entry, await read(entry.path)));
  return { manifest, files, info, origin: 'local files', fetchDeferred };
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
