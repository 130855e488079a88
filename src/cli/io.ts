/**
 * Node-side helpers every `uae` subcommand uses: read a bundle folder into the same loader the worker uses,
 * create ORT sessions with onnxruntime-web's WASM backend (1 thread), print JSON, fail with one line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BundleFileData } from '../protocol/messages.ts';
import { loadBundleFromFiles, type LoadedBundle, type LoadOptions } from '../engine/bundle.ts';
import { EngineError } from '../engine/errors.ts';
import { parseManifestText, type BundleManifest } from '../engine/manifest.ts';
import { BundleSessions, ortSessionCreator, type SessionCreator } from '../engine/sessions.ts';
import { TensorTracker, type OrtModule } from '../engine/tensors.ts';

/** A failure the CLI reports as one line on stderr with `exitCode` (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

let ortPromise: Promise<OrtModule> | undefined;

/** Returns onnxruntime-web's Node build set to its WASM backend with 1 thread (loaded once). */
export function nodeOrt(): Promise<OrtModule> {
  ortPromise ??= import('onnxruntime-web').then((ort) => {
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    return ort;
  });
  return ortPromise;
}

/** Returns an ArrayBuffer holding exactly the bytes of `path` (Node Buffers may share a larger pool). */
export function readArrayBuffer(path: string): ArrayBuffer {
  const buf = readFileSync(path);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** Returns the paths manifest.json lists, or [] when it is unreadable (the loader then reports why). */
function listedPaths(manifestText: string): string[] {
  try {
    const json: unknown = JSON.parse(manifestText);
    const files = typeof json === 'object' && json !== null ? (json as { files?: unknown }).files : undefined;
    if (!Array.isArray(files)) return [];
    return files.flatMap((f: unknown) => {
      const p = typeof f === 'object' && f !== null ? (f as { path?: unknown }).path : undefined;
      return typeof p === 'string' ? [p] : [];
    });
  } catch {
    return [];
  }
}

/** Returns manifest.json and every file it lists that exists under `dir` (except those `skip` names), as the 'files' bundle source. */
export function readBundleDir(dir: string, skip: (path: string) => boolean = () => false): BundleFileData[] {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new CliError(`${dir}: not a directory`);
  const manifestPath = join(root, 'manifest.json');
  if (!existsSync(manifestPath)) throw new CliError(`${join(dir, 'manifest.json')}: not found`);
  const out: BundleFileData[] = [{ path: 'manifest.json', data: readArrayBuffer(manifestPath) }];
  for (const p of listedPaths(readFileSync(manifestPath, 'utf8'))) {
    const full = join(root, p);
    // Paths escaping the folder are left out; the manifest validator rejects them by name.
    if (!skip(p) && full.startsWith(root) && existsSync(full) && statSync(full).isFile())
      out.push({ path: p, data: readArrayBuffer(full) });
  }
  return out;
}

/**
 * Returns the verified bundle in folder `dir` (same validation, size and sha256 checks as the browser). With
 * `defer` (as the app's worker loads: roles.ts deferredAtLoad), the files it names are read on their first use.
 */
export async function loadBundleDir(dir: string, defer?: LoadOptions['defer']): Promise<LoadedBundle> {
  if (!defer) return loadBundleFromFiles(readBundleDir(dir));
  let manifest: BundleManifest | undefined;
  try {
    manifest = parseManifestText(readFileSync(join(resolve(dir), 'manifest.json'), 'utf8'));
  } catch {
    return loadBundleFromFiles(readBundleDir(dir)); // the loader reports what is wrong
  }
  const later = manifest;
  const root = resolve(dir);
  return loadBundleFromFiles(
    readBundleDir(dir, (p) => defer(p, later)),
    {
      defer,
      readDeferred: async (p) => {
        const full = join(root, p);
        if (!full.startsWith(root) || !existsSync(full)) throw new EngineError('missing-file', `${p}: not in ${dir}`);
        return new Uint8Array(readArrayBuffer(full));
      },
    },
  );
}

/** A bundle opened for inference in Node, and the creator its sessions came from (for graphs made later). */
export interface NodeEngine {
  ort: OrtModule;
  bundle: LoadedBundle;
  sessions: BundleSessions;
  tracker: TensorTracker;
  create: SessionCreator;
}

/**
 * Returns the bundle in `dir` with its role sessions created by `runtime` (default: onnxruntime-web WASM, the
 * browser's; bench-node.ts's nodeRuntime gives onnxruntime-node); call `sessions.release()` when done.
 */
export async function openBundleDir(
  dir: string,
  runtime?: { ort: OrtModule; create: SessionCreator },
  defer?: LoadOptions['defer'],
): Promise<NodeEngine> {
  const ort = runtime?.ort ?? (await nodeOrt());
  const create = runtime?.create ?? ortSessionCreator(ort);
  const bundle = await loadBundleDir(dir, defer);
  const sessions = await BundleSessions.open(bundle, create, { backend: 'wasm', allowFallback: false });
  return { ort, bundle, sessions, tracker: new TensorTracker(), create };
}

/** Returns `value` as pretty JSON; typed arrays become arrays, bigints numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'bigint') return Number(v);
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number | bigint>, Number);
      return v;
    },
    2,
  );
}

/** Writes `value` as JSON to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}
