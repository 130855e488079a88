/**
 * ORT sessions of one loaded bundle: created once (role graphs at load, checkpoints on first use) and reused.
 * WebGPU first; when a session cannot be created on WebGPU but can on WASM, the whole bundle moves to WASM
 * (when allowed) and the reason is kept; a file no backend can open is reported by name.
 */
import type { InferenceSession } from 'onnxruntime-web';
import type { BackendName } from './vocab.ts';
import { bundleFile, type BundleLoad, type LoadedBundle } from './bundle.ts';
import { checkGraphIo, roleContracts, type GraphContract } from './contract.ts';
import { EngineError } from './errors.ts';
import { roleGraphs } from './roles.ts';
import { kvCacheOutputNames } from './kv-layout.ts';
import { FLOW_STEP_OUTPUTS } from './flow-step.ts';
import type { OrtModule } from './tensors.ts';

/** Creates an ORT session from model bytes on one backend. */
export type SessionCreator = (bytes: Uint8Array, backend: BackendName) => Promise<InferenceSession>;

/**
 * The session option that keeps a WebGPU session's outputs that the engine feeds to later runs in GPU buffers: the
 * key/value caches (present.*, of any graph that has them), the flow transformer's velocity (out_sample) and the
 * outputs of the engine's own Euler step graph (FLOW_STEP_OUTPUTS). The loops feed them back as they are
 * (runGraphKeeping) instead of reading them back and uploading them again; every other output is read back as usual,
 * and so is one of these wherever a caller asks for data. Nothing on WASM.
 */
export function cacheOnGpu(backend: BackendName): Pick<InferenceSession.SessionOptions, 'preferredOutputLocation'> {
  return backend === 'webgpu' ? { preferredOutputLocation: GPU_OUTPUTS } : {};
}

const GPU_OUTPUTS: Record<string, 'gpu-buffer'> = Object.fromEntries(
  [...kvCacheOutputNames(), 'out_sample', ...FLOW_STEP_OUTPUTS].map((n) => [n, 'gpu-buffer' as const]),
);

/** Returns a SessionCreator using `ort.InferenceSession.create` with that backend as the only execution provider. */
export function ortSessionCreator(ort: OrtModule): SessionCreator {
  return (bytes, backend) =>
    ort.InferenceSession.create(bytes, {
      executionProviders: [backend],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...cacheOnGpu(backend),
    });
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Returns the EngineError for a file no backend could open: 'not-onnx' when it does not parse as a model. */
export function sessionOpenError(path: string, e: unknown): EngineError {
  const m = message(e);
  // Truncated or corrupted protobuf, an empty file ("No graph was found"), a graph contradicting itself.
  if (
    /protobuf parsing failed|failed to load model|invalid model|model_proto|no graph was found|ShapeInferenceError|TypeInferenceError/i.test(
      m,
    )
  ) {
    return new EngineError('not-onnx', `${path}: is not a valid ONNX model (${m})`);
  }
  return new EngineError('session-failed', `${path}: session creation failed (${m})`);
}

/** A loaded bundle as a BundleLoad that is already done. */
function loadedSource(bundle: LoadedBundle): BundleLoad {
  return {
    manifest: bundle.manifest,
    file: async (path) => {
      const bytes = bundle.files.get(path);
      if (!bytes) throw new EngineError('missing-file', `${path}: not loaded`);
      return bytes;
    },
    done: Promise.resolve(bundle),
    stop: () => undefined,
  };
}

/** Options for opening a bundle's sessions. */
export interface OpenOptions {
  backend: BackendName;
  /** Move to WASM when a WebGPU session fails but a WASM one works ('auto' mode). */
  allowFallback: boolean;
  onProgress?: (created: number, total: number, file: string) => void;
  checkCancelled?: () => void;
}

/** The sessions of one bundle on one backend. */
export class BundleSessions {
  private readonly lazy = new Map<string, Promise<InferenceSession>>();
  /** Sessions of graphs the engine writes itself (builtin()), by name; released with the bundle's. */
  private readonly builtins = new Map<string, Promise<InferenceSession>>();
  /** Paths of the role graphs opened at load: never released before the bundle is. */
  private readonly eager: ReadonlySet<string>;
  private readonly contracts: Map<string, GraphContract[]>;
  /**
   * Awaited each time a session is handed out, i.e. before every run. The worker yields to its message
   * queue here, so a cancel sent mid-request is seen between steps (ORT's runs may resolve without ever
   * letting a message event in).
   */
  beforeRun: (() => Promise<void>) | undefined;

  private constructor(
    readonly bundle: LoadedBundle,
    readonly backend: BackendName,
    /** Why sessions ended up on WASM though WebGPU was asked for. */
    readonly fallbackReason: string | undefined,
    private readonly create: SessionCreator,
    private readonly sessions: Map<string, InferenceSession>,
  ) {
    this.eager = new Set(sessions.keys());
    this.contracts = roleContracts(bundle.manifest);
  }

  /**
   * Returns the sessions of the bundle's role graphs, created on `opts.backend` (or WASM after a fallback). From a
   * BundleLoad still downloading, each session is created as soon as its file is in, while the rest download (its
   * progress is reported once the downloads are over); the sessions are returned with the whole bundle.
   */
  static async open(source: LoadedBundle | BundleLoad, create: SessionCreator, opts: OpenOptions): Promise<BundleSessions> {
    const load = 'file' in source ? source : loadedSource(source);
    // In the order the files download (manifest order), so each session starts as soon as its file is in.
    const order = new Map(load.manifest.files.map((f, i) => [f.path, i]));
    const paths = [...new Set(roleGraphs(load.manifest).eager.map((g) => g.path))].sort(
      (a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0),
    );
    let downloaded = false;
    const progress = opts.onProgress;
    const quiet: OpenOptions = { ...opts, onProgress: progress && ((...a) => (downloaded ? progress(...a) : undefined)) };
    load.done.then(
      () => (downloaded = true),
      () => undefined,
    );
    let backend = opts.backend;
    let reason: string | undefined;
    for (;;) {
      const created = new Map<string, InferenceSession>();
      try {
        const retry = await BundleSessions.createAll(load, paths, backend, create, created, quiet);
        if (retry === undefined) {
          const bundle = await load.done;
          progress?.(paths.length, paths.length, paths[paths.length - 1] ?? '');
          return new BundleSessions(bundle, backend, reason, create, created);
        }
        backend = 'wasm';
        reason = retry;
      } catch (e) {
        // A session that failed stops the downloads still running; a failed download fails the load.
        load.stop();
        await Promise.all([...created.values()].map((s) => s.release().catch(() => undefined)));
        throw e;
      }
      await Promise.all([...created.values()].map((s) => s.release().catch(() => undefined)));
    }
  }

  /** Returns undefined when all sessions were created, or the reason to retry everything on WASM. */
  private static async createAll(
    load: BundleLoad,
    paths: string[],
    backend: BackendName,
    create: SessionCreator,
    created: Map<string, InferenceSession>,
    opts: OpenOptions,
  ): Promise<string | undefined> {
    const contracts = roleContracts(load.manifest);
    for (const [i, path] of paths.entries()) {
      opts.checkCancelled?.();
      const bytes = await load.file(path);
      opts.checkCancelled?.();
      opts.onProgress?.(i, paths.length, path);
      try {
        const session = await create(bytes, backend);
        // Put in `created` first so the caller releases it when the check below throws.
        created.set(path, session);
        checkGraphIo(load.manifest, path, session, contracts);
      } catch (e) {
        if (e instanceof EngineError && e.code === 'io-mismatch') throw e;
        if (backend === 'wasm') throw sessionOpenError(path, e);
        // Find out whether the file or the backend is at fault.
        let probe: InferenceSession;
        try {
          probe = await create(bytes, 'wasm');
        } catch (e2) {
          throw sessionOpenError(path, e2);
        }
        await probe.release().catch(() => undefined);
        if (!opts.allowFallback) throw new EngineError('session-failed', `${path}: WebGPU session creation failed (${message(e)})`);
        return `WebGPU session creation failed for ${path}: ${message(e)}`;
      }
    }
    return undefined;
  }

  /** Returns the file paths that have a session now. */
  openPaths(): string[] {
    return [...this.sessions.keys()];
  }

  /** Returns the session of bundle file `path`, creating (and keeping) it on first use. */
  async get(path: string): Promise<InferenceSession> {
    if (this.beforeRun) await this.beforeRun();
    const ready = this.sessions.get(path);
    if (ready) return ready;
    let pending = this.lazy.get(path);
    if (!pending) {
      // A file the load deferred (a checkpoint, the reference encoder) is fetched here, on its first use.
      pending = bundleFile(this.bundle, path)
        .catch((e: unknown) => {
          this.lazy.delete(path);
          throw e;
        })
        .then((bytes) => this.openLazy(path, bytes));
      this.lazy.set(path, pending);
    }
    const session = await pending;
    this.sessions.set(path, session);
    this.lazy.delete(path);
    return session;
  }

  /** Returns the checked session of lazily opened file `path` (WASM when this backend cannot open it). */
  private openLazy(path: string, bytes: Uint8Array): Promise<InferenceSession> {
    return this.create(bytes, this.backend)
      .catch(async (e: unknown) => {
        if (this.backend === 'wasm') throw e;
        return this.create(bytes, 'wasm');
      })
      .catch((e: unknown) => {
        this.lazy.delete(path);
        throw sessionOpenError(path, e);
      })
      .then(async (session) => {
        try {
          checkGraphIo(this.bundle.manifest, path, session, this.contracts);
        } catch (e) {
          this.lazy.delete(path);
          await session.release().catch(() => undefined);
          throw e;
        }
        return session;
      });
  }

  /**
   * Returns a session of graph bytes that are not a bundle file (e.g. a decoder holding trained weights) on this
   * backend, on WASM when this backend cannot run it; the caller owns it and releases it.
   */
  async createSession(bytes: Uint8Array): Promise<InferenceSession> {
    if (this.beforeRun) await this.beforeRun();
    try {
      return await this.create(bytes, this.backend);
    } catch (e) {
      if (this.backend === 'wasm') throw sessionOpenError('a trained decoder graph', e);
      return this.create(bytes, 'wasm').catch((e2: unknown) => {
        throw sessionOpenError('a trained decoder graph', e2);
      });
    }
  }

  /**
   * Releases the sessions created on first use (checkpoints) except those of `keep` and the role graphs
   * opened at load; returns the released paths. A later get() creates a released one again.
   */
  async releaseLazy(keep: Iterable<string> = []): Promise<string[]> {
    const kept = new Set(keep);
    const drop = [...this.sessions.keys()].filter((p) => !this.eager.has(p) && !kept.has(p));
    const sessions = drop.map((p) => this.sessions.get(p) as InferenceSession);
    for (const p of drop) this.sessions.delete(p);
    await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
    return drop;
  }

  /**
   * Returns the session of a graph the engine writes itself (e.g. the flow sampler's Euler step), by `name`, made from
   * `bytes()` on this bundle's backend on first use and kept until the bundle's sessions are released.
   */
  async builtin(name: string, bytes: () => Uint8Array): Promise<InferenceSession> {
    if (this.beforeRun) await this.beforeRun();
    let pending = this.builtins.get(name);
    if (!pending) {
      pending = this.create(bytes(), this.backend).catch((e: unknown) => {
        this.builtins.delete(name);
        throw sessionOpenError(`the engine's ${name} graph`, e);
      });
      this.builtins.set(name, pending);
    }
    return pending;
  }

  /** Releases every session (the bundle's bytes stay in `bundle`). */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    const builtins = [...this.builtins.values()];
    this.sessions.clear();
    this.builtins.clear();
    await Promise.all([
      ...all.map((s) => s.release().catch(() => undefined)),
      ...builtins.map((p) => p.then((s) => s.release()).catch(() => undefined)),
    ]);
  }
}
