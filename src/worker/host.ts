/**
 * EngineHost: the worker's request dispatcher, free of browser globals so Node tests can run it with real
 * onnxruntime-web WASM and a fake port. Requests run one at a time in arrival order (ORT sessions are not
 * re-entrant); `cancel` bypasses the queue and flags its target, which checks the flag between steps.
 * Every start and end of a request is broadcast as an `activity` event (the UI's busy/idle). Cancelling
 * the running request answers it at once and the worker reports idle; the session step already submitted
 * finishes in the background and the next request starts after it. When the worker reports a lost WebGPU
 * device, the running request fails at once with 'device-lost' and the sessions are recreated (on a new
 * device, else on WASM) before the next request runs.
 */
import type {
  BackendInfo,
  ErrorPayload,
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
import { crossOriginOf, loadBundleFromFiles, loadBundleFromUrl, type BundleCache, type LoadedBundle } from '../engine/bundle.ts';
import { EngineError, toErrorPayload } from '../engine/errors.ts';
import { presentRoles, resolveRole } from '../engine/roles.ts';
import { BundleSessions, ortSessionCreator, type SessionCreator } from '../engine/sessions.ts';
import { runSession, TensorTracker, type OrtModule } from '../engine/tensors.ts';

/** Outcome of probing WebGPU: an adapter label, or why there is none. */
/** A WebGPU probe: the adapter's label and whether it is a software fallback adapter, or why there is none. */
export type WebGpuProbe = { ok: true; adapter: string; fallback?: boolean } | { ok: false; reason: string };

/** Returns why Auto runs on WASM although WebGPU answered: its only adapter is a software fallback. */
function fallbackReason(adapter: string): string {
  return `the only WebGPU adapter here (${adapter}) is a software fallback adapter, slower than WASM; choose WebGPU to use it anyway`;
}

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
  /** The app's origin: a bundle URL elsewhere loads only with `allowCrossOrigin` (absent: no check). */
  origin?: string;
  /** Bytes of the WebAssembly memories ORT created (stats reports it; absent: unknown). */
  wasmMemoryBytes?: () => number;
}

/** How long releasing sessions of a lost device may take before recovery goes on without waiting. */
const LOST_RELEASE_MS = 5000;
/** How long a request that failed on WebGPU waits for a device-lost report before it is answered. */
const LOST_GRACE_MS = 500;

/** Resolves after one turn of the event loop, so queued messages (a cancel) are handled first. */
function nextTask(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  return new Promise((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      r();
    };
    ch.port2.postMessage(null);
  });
}

function lostError(reason: string): EngineError {
  return new EngineError('device-lost', `the WebGPU device was lost (${reason}); the engine recreates its sessions: run it again`);
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
  /** Fails the running request at once (set while one runs). */
  private abortRunning: ((error: EngineError) => void) | undefined;
  private runningId: string | undefined;
  private runningType: RequestType | undefined;
  /** The handler of an aborted request, until it reaches its next step; the next request waits for it. */
  private settling: Promise<void> | undefined;
  /** Recreating sessions after a lost WebGPU device; every request waits for it. */
  private recovery: Promise<void> | undefined;
  /** Device losses so far, and why the last one happened. */
  private losses = 0;
  private lostReason = '';

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
      ...(this.deps.wasmMemoryBytes ? { wasmMemoryBytes: this.deps.wasmMemoryBytes() } : {}),
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
      // The running request answers at once; its current step finishes in the background (see dispatch).
      if (hit && targetId === this.runningId) this.abortRunning?.(new EngineError('cancelled', `request ${targetId} was cancelled`));
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

  /** Resolves when every request received so far has finished, including the last step of aborted ones. */
  async idle(): Promise<void> {
    await this.queue;
    await this.settling;
  }

  private post(event: EngineEvent): void {
    this.deps.post(event, event.type === 'result' || event.type === 'partial' ? collectTransferables(event.value) : []);
  }

  private async dispatch<K extends RequestType>(req: RequestOf<K>): Promise<void> {
    const id = req.id;
    /** Set when the request was aborted (cancel while running, or a lost device): it stops at its next step. */
    let stopped: EngineError | undefined;
    const ctx: RequestContext<K> = {
      id,
      host: this,
      progress: (p) => {
        if (!stopped) this.post({ type: 'progress', id, ...p });
      },
      partial: (value) => {
        if (!stopped) this.post({ type: 'partial', id, request: req.type, value } as EngineEvent);
      },
      checkCancelled: () => {
        if (stopped) throw stopped;
        if (this.cancelled.has(id)) throw new EngineError('cancelled', `request ${id} was cancelled`);
      },
    };
    this.runningType = req.type;
    this.post({ type: 'activity', running: req.type, queued: this.active.size - 1 });
    // What an aborted request still had in flight finishes first (sessions are not re-entrant), and a
    // request must never reach sessions of a lost device (ORT can spin forever on them).
    if (this.settling) await this.settling;
    if (this.recovery) await this.recovery;
    let abort: (error: EngineError) => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => (abort = reject));
    this.abortRunning = (error) => {
      stopped = error;
      abort(error);
    };
    this.runningId = id;
    const onGpu = this.current?.sessions.backend === 'webgpu';
    const lossesBefore = this.losses;
    let work: Promise<ResultOf<K>> | undefined;
    try {
      ctx.checkCancelled();
      const handler = this.handlers[req.type] as Handler<K>;
      work = handler(req, ctx);
      // An aborted request's handler settles later (at its next step): its outcome is not reported.
      work.catch(() => undefined);
      const value = await Promise.race([work, aborted]);
      ctx.checkCancelled();
      this.post({ type: 'result', id, request: req.type, value } as EngineEvent);
    } catch (e) {
      this.post({ type: 'error', id, error: onGpu ? await this.explainGpuFailure(e, lossesBefore) : toErrorPayload(e) });
    } finally {
      // After a lost device the old sessions are dead: nothing to wait for (their runs may never settle).
      if (stopped?.code === 'cancelled' && work) {
        const settling: Promise<void> = work.then(() => undefined, () => undefined).finally(() => {
          if (this.settling === settling) this.settling = undefined;
        });
        this.settling = settling;
      }
      this.abortRunning = undefined;
      this.runningId = undefined;
      this.runningType = undefined;
      this.active.delete(id);
      this.cancelled.delete(id);
      this.post({ type: 'activity', running: null, queued: this.active.size });
    }
  }

  /**
   * Called by the worker when the WebGPU device the sessions run on is lost: fails the running request with
   * 'device-lost' (its handler stops at its next step) and queues the recovery ahead of later requests.
   */
  deviceLost(reason: string): void {
    if (this.backendInfo?.backend !== 'webgpu' && this.current?.sessions.backend !== 'webgpu') return;
    this.losses++;
    this.lostReason = reason;
    // A handler still holding these sessions must not reach them again: its next get() throws instead.
    const dead = this.current?.sessions;
    if (dead?.backend === 'webgpu') dead.beforeRun = () => Promise.reject(lostError(reason));
    this.abortRunning?.(lostError(reason));
    const recovery: Promise<void> = (this.recovery ?? Promise.resolve())
      .then(() => this.recoverFromLostDevice(reason))
      .catch(() => undefined)
      .finally(() => {
        if (this.recovery === recovery) this.recovery = undefined;
      });
    this.recovery = recovery;
  }

  /**
   * Returns the error payload of a failed request. A run that failed on WebGPU may have failed because the
   * device is being lost: the loss is reported a moment later, so wait for it briefly and say so.
   */
  private async explainGpuFailure(e: unknown, lossesBefore: number): Promise<ErrorPayload> {
    const payload = toErrorPayload(e);
    if (payload.code === 'cancelled' || payload.code === 'device-lost') return payload;
    for (let waited = 0; this.losses === lossesBefore && waited < LOST_GRACE_MS; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.losses === lossesBefore ? payload : { code: 'device-lost', message: `${lostError(this.lostReason).message} (${payload.message})` };
  }

  /** Reopens the loaded bundle's sessions after a device loss: WebGPU on a new device when there is one, else WASM. */
  private async recoverFromLostDevice(reason: string): Promise<void> {
    const requested = this.backendInfo?.requested ?? 'auto';
    const wasm: BackendInfo = { backend: 'wasm', adapter: wasmAdapterLabel(this.wasmThreads), requested, wasmThreads: this.wasmThreads };
    const probe = await this.deps.probeWebGpu();
    let next: BackendInfo = !probe.ok
      ? { ...wasm, reason: `WebGPU device lost (${reason}) and no new one: ${probe.reason}` }
      : probe.fallback && requested === 'auto'
        ? { ...wasm, reason: fallbackReason(probe.adapter) }
        : { backend: 'webgpu', adapter: probe.adapter, requested, wasmThreads: this.wasmThreads };
    const current = this.current;
    if (current) {
      const released = current.sessions.release().catch(() => undefined);
      await Promise.race([released, new Promise((r) => setTimeout(r, LOST_RELEASE_MS))]);
      this.post({ type: 'activity', running: this.runningType ?? 'init', queued: this.active.size });
      try {
        // Whatever the user asked for, a lost device must not leave the engine without sessions.
        const sessions = await BundleSessions.open(current.bundle, this.create, { backend: next.backend, allowFallback: true });
        sessions.beforeRun = nextTask;
        this.current = { bundle: current.bundle, sessions };
        if (sessions.backend !== next.backend) next = { ...wasm, reason: `WebGPU device lost (${reason}); ${sessions.fallbackReason ?? 'no WebGPU sessions'}` };
      } catch (e) {
        this.current = undefined;
        next = { ...next, reason: `WebGPU device lost (${reason}); reopening the bundle failed: ${toErrorPayload(e).message}` };
      } finally {
        this.post({ type: 'activity', running: this.runningType ?? null, queued: this.active.size });
      }
    }
    const where = next.backend === 'webgpu' ? `a new WebGPU device (${next.adapter})` : 'WASM';
    this.setBackend({ ...next, recovered: `the WebGPU device was lost (${reason}); sessions were recreated on ${where}` });
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
      // Auto wants a real GPU: an emulated one (SwiftShader) runs these models many times slower than WASM.
      if (probe.ok && probe.fallback && req.backend === 'auto') next = { ...wasm, reason: fallbackReason(probe.adapter) };
      else if (probe.ok) next = { backend: 'webgpu', adapter: probe.adapter, requested: req.backend, wasmThreads: this.wasmThreads };
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
    const sessions = await BundleSessions.open(bundle, this.create, {
      backend: info.backend,
      allowFallback: info.requested === 'auto',
      onProgress: (loaded, total, file) => ctx?.progress({ phase: 'sessions', loaded, total, file }),
      checkCancelled: ctx?.checkCancelled,
    });
    sessions.beforeRun = nextTask;
    return sessions;
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
    const foreign = src.kind === 'url' && this.deps.origin !== undefined ? crossOriginOf(src.baseUrl, this.deps.origin) : undefined;
    if (foreign !== undefined && src.kind === 'url' && src.allowCrossOrigin !== true) {
      throw new EngineError('cross-origin', `${src.baseUrl}: the bundle is on another origin (${foreign}) and loading it was not confirmed`);
    }
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
