/**
 * EngineHost: the worker's request dispatcher, free of browser globals so Node tests can run it with real
 * onnxruntime-web WASM and a fake port. Requests run one at a time in arrival order (ORT sessions are not
 * re-entrant); `cancel` bypasses the queue and flags its target, which checks the flag between steps.
 */
import type {
  BackendInfo,
  BundleSummary,
  EngineEvent,
  EngineStats,
  PartialOf,
  ProgressEvent,
  RequestOf,
  RequestType,
  ResultOf,
} from '../protocol/messages.ts';
import { collectTransferables } from '../protocol/transfer.ts';
import { loadBundleFromFiles, loadBundleFromUrl, type BundleCache, type LoadedBundle } from '../engine/bundle.ts';
import { EngineError, toErrorPayload } from '../engine/errors.ts';
import { presentRoles, resolveRole } from '../engine/roles.ts';
import { BundleSessions, ortSessionCreator, type SessionCreator } from '../engine/sessions.ts';
import { runSession, TensorTracker, type OrtModule } from '../engine/tensors.ts';

/** Outcome of probing WebGPU: an adapter label, or why there is none. */
export type WebGpuProbe = { ok: true; adapter: string } | { ok: false; reason: string };

/** What the host needs from its environment (the worker passes browser objects, tests pass fakes). */
export interface HostDeps {
  ort: OrtModule;
  post(event: EngineEvent, transfer: Transferable[]): void;
  probeWebGpu(): Promise<WebGpuProbe>;
  /** Most WASM threads usable here: min(4, hardwareConcurrency) when cross-origin isolated, else 1. */
  maxWasmThreads: number;
  cache?: BundleCache;
  fetch?: (url: string) => Promise<Response>;
  createSession?: SessionCreator;
}

/** What a request handler gets besides its request. */
export interface RequestContext<K extends RequestType> {
  id: string;
  host: EngineHost;
  progress(p: Omit<ProgressEvent, 'type' | 'id'>): void;
  partial(value: PartialOf<K>): void;
  /** Throws EngineError('cancelled') once the request was cancelled; call between session runs/steps. */
  checkCancelled(): void;
}

/** Handles one request kind; resolves to its result payload. */
export type Handler<K extends RequestType> = (req: RequestOf<K>, ctx: RequestContext<K>) => Promise<ResultOf<K>>;

type HandlerTable = { [K in RequestType]?: Handler<K> };

/** Returns the adapter label of the WASM backend: "1 thread" / "4 threads". */
export function wasmAdapterLabel(threads: number): string {
  return `${threads} thread${threads === 1 ? '' : 's'}`;
}

/** The engine behind the worker: backend state, the loaded bundle and its sessions, the tensor leak counter. */
export class EngineHost {
  readonly tracker = new TensorTracker();
  private readonly handlers: HandlerTable = {};
  private readonly active = new Set<string>();
  private readonly cancelled = new Set<string>();
  private readonly create: SessionCreator;
  private queue: Promise<void> = Promise.resolve();
  private backendInfo: BackendInfo | undefined;
  private wasmThreads = 1;
  private sessionsCreated = false;
  private current: { bundle: LoadedBundle; sessions: BundleSessions } | undefined;

  constructor(readonly deps: HostDeps) {
    this.create = deps.createSession ?? ortSessionCreator(deps.ort);
    this.register('init', (req) => this.init(req));
    this.register('loadBundle', (req, ctx) => this.loadBundle(req, ctx));
    this.register('runGraph', (req, ctx) => this.runGraph(req, ctx));
    this.register('stats', async () => this.stats());
  }

  /** Adds (or replaces) the handler of a request kind; later features register theirs here. */
  register<K extends RequestType>(type: K, handler: Handler<K>): void {
    (this.handlers as Record<K, Handler<K>>)[type] = handler;
  }

  /** Returns the loaded bundle and its sessions, or throws 'no-bundle'. */
  loaded(): { bundle: LoadedBundle; sessions: BundleSessions } {
    if (!this.current) throw new EngineError('no-bundle', 'no model bundle is loaded');
    return this.current;
  }

  /** Returns the backend in use (undefined before the first init). */
  backend(): BackendInfo | undefined {
    return this.backendInfo;
  }

  /** Returns the leak counter, open sessions and backend. */
  stats(): EngineStats {
    return {
      liveTensors: this.tracker.live(),
      createdTensors: this.tracker.created(),
      bundleId: this.current?.bundle.manifest.id,
      sessions: this.current?.sessions.openPaths() ?? [],
      backend: this.backendInfo,
    };
  }

  /** Accepts one message from the UI; never throws (problems become error events). */
  handle(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const { id, type } = message as { id?: unknown; type?: unknown };
    if (typeof id !== 'string') return;
    if (type === 'cancel') {
      const targetId = (message as { targetId?: unknown }).targetId;
      const hit = typeof targetId === 'string' && this.active.has(targetId);
      if (hit) this.cancelled.add(targetId);
      this.post({ type: 'result', id, request: 'cancel', value: { cancelled: hit } });
      return;
    }
    if (typeof type !== 'string' || !(type in this.handlers)) {
      this.post({ type: 'error', id, error: { code: 'bad-request', message: `unknown request type '${String(type)}'` } });
      return;
    }
    this.active.add(id);
    const run = (): Promise<void> => this.dispatch(message as RequestOf<RequestType>);
    this.queue = this.queue.then(run, run);
  }

  /** Resolves when every request received so far has finished. */
  idle(): Promise<void> {
    return this.queue;
  }

  private post(event: EngineEvent): void {
    this.deps.post(event, event.type === 'result' || event.type === 'partial' ? collectTransferables(event.value) : []);
  }

  private async dispatch<K extends RequestType>(req: RequestOf<K>): Promise<void> {
    const id = req.id;
    const ctx: RequestContext<K> = {
      id,
      host: this,
      progress: (p) => this.post({ type: 'progress', id, ...p }),
      partial: (value) => this.post({ type: 'partial', id, request: req.type, value } as EngineEvent),
      checkCancelled: () => {
        if (this.cancelled.has(id)) throw new EngineError('cancelled', `request ${id} was cancelled`);
      },
    };
    try {
      ctx.checkCancelled();
      const handler = this.handlers[req.type] as Handler<K>;
      const value = await handler(req, ctx);
      ctx.checkCancelled();
      this.post({ type: 'result', id, request: req.type, value } as EngineEvent);
    } catch (e) {
      this.post({ type: 'error', id, error: toErrorPayload(e) });
    } finally {
      this.active.delete(id);
      this.cancelled.delete(id);
    }
  }

  private setBackend(info: BackendInfo): BackendInfo {
    this.backendInfo = info;
    this.post({ type: 'backend', ...info });
    return info;
  }

  private async init(req: RequestOf<'init'>): Promise<BackendInfo> {
    if (!['auto', 'webgpu', 'wasm'].includes(req.backend)) throw new EngineError('bad-request', `unknown backend '${String(req.backend)}'`);
    if (!this.sessionsCreated) {
      // ORT reads numThreads once, when its WASM module starts (the first session).
      const wanted = req.wasmThreads ?? this.deps.maxWasmThreads;
      this.wasmThreads = Math.max(1, Math.min(Math.floor(wanted), this.deps.maxWasmThreads));
      this.deps.ort.env.wasm.numThreads = this.wasmThreads;
    }
    const wasm = { backend: 'wasm' as const, adapter: wasmAdapterLabel(this.wasmThreads), requested: req.backend, wasmThreads: this.wasmThreads };
    let next: BackendInfo = wasm;
    if (req.backend !== 'wasm') {
      const probe = await this.deps.probeWebGpu();
      if (probe.ok) next = { backend: 'webgpu', adapter: probe.adapter, requested: req.backend, wasmThreads: this.wasmThreads };
      else if (req.backend === 'webgpu') throw new EngineError('backend-unavailable', `WebGPU is not available: ${probe.reason}`);
      else next = { ...wasm, reason: probe.reason };
    }
    if (this.current && this.current.sessions.backend !== next.backend) {
      const sessions = await this.openSessions(this.current.bundle, next);
      await this.current.sessions.release();
      this.current = { bundle: this.current.bundle, sessions };
      if (sessions.backend !== next.backend) next = { ...wasm, reason: sessions.fallbackReason };
    }
    return this.setBackend(next);
  }

  private async openSessions(bundle: LoadedBundle, info: BackendInfo, ctx?: RequestContext<RequestType>): Promise<BundleSessions> {
    this.sessionsCreated = true;
    return BundleSessions.open(bundle, this.create, {
      backend: info.backend,
      allowFallback: info.requested === 'auto',
      onProgress: (loaded, total, file) => ctx?.progress({ phase: 'sessions', loaded, total, file }),
      checkCancelled: ctx?.checkCancelled,
    });
  }

  private async loadBundle(req: RequestOf<'loadBundle'>, ctx: RequestContext<'loadBundle'>): Promise<BundleSummary> {
    const info = this.backendInfo ?? (await this.init({ type: 'init', id: req.id, backend: 'auto' }));
    const opts = {
      fetch: this.deps.fetch,
      cache: this.deps.cache,
      checkCancelled: ctx.checkCancelled,
      onProgress: (p: Omit<ProgressEvent, 'type' | 'id'>) => ctx.progress(p),
    };
    const src = req.source;
    if (src?.kind !== 'url' && src?.kind !== 'files') throw new EngineError('bad-request', "loadBundle: source.kind must be 'url' or 'files'");
    const bundle = src.kind === 'url' ? await loadBundleFromUrl(src.baseUrl, opts) : await loadBundleFromFiles(src.files, opts);
    ctx.checkCancelled();
    const sessions = await this.openSessions(bundle, info, ctx);
    try {
      ctx.checkCancelled();
    } catch (e) {
      await sessions.release();
      throw e;
    }
    // Commit only now: a failed load leaves the previous bundle in place.
    const previous = this.current;
    this.current = { bundle, sessions };
    await previous?.sessions.release();
    let backend = info;
    if (sessions.backend !== info.backend) {
      backend = this.setBackend({ backend: 'wasm', adapter: wasmAdapterLabel(this.wasmThreads), requested: info.requested, wasmThreads: this.wasmThreads, reason: sessions.fallbackReason });
    }
    const m = bundle.manifest;
    return { id: m.id, name: m.name, version: m.version, manifest: m, files: bundle.info, roles: presentRoles(m), sessions: sessions.openPaths(), backend };
  }

  private async runGraph(req: RequestOf<'runGraph'>, ctx: RequestContext<'runGraph'>): Promise<ResultOf<'runGraph'>> {
    const { bundle, sessions } = this.loaded();
    const target = req.target;
    let path: string;
    if (target && 'file' in target) {
      if (!bundle.files.has(target.file)) throw new EngineError('bad-request', `${target.file}: not a file of bundle ${bundle.manifest.id}`);
      path = target.file;
    } else if (target && 'role' in target) {
      path = resolveRole(bundle.manifest, target.role);
    } else {
      throw new EngineError('bad-request', 'runGraph: target must be {file} or {role}');
    }
    const session = await sessions.get(path);
    ctx.checkCancelled();
    ctx.progress({ phase: 'run', loaded: 0, total: 1, file: path });
    const outputs = await runSession(this.deps.ort, this.tracker, session, req.feeds ?? {}, req.fetches, path);
    ctx.progress({ phase: 'run', loaded: 1, total: 1, file: path });
    return { outputs };
  }
}
