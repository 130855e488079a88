/**
 * EngineHost: the worker's request dispatcher, free of browser globals so Node tests can run it with real
 * onnxruntime-web WASM and a fake port. It joins the request queue (src/worker/queue.ts: order, cancel,
 * activity), the backend (src/worker/backend.ts: choice, WebGPU probing, device-loss recovery) and the
 * handler table: init, loadBundle, runGraph and stats built in, later features' jobs registered on it.
 */
import type { BundleCache } from '../engine/bundle.ts';
import { EngineError } from '../engine/errors.ts';
import { TensorTracker } from '../engine/tensors.ts';
import type { BackendInfo, EngineEvent, EngineStats, RequestType } from '../protocol/messages.ts';
import { collectTransferables } from '../protocol/transfer.ts';
import { EngineBackend, type BackendDeps, type LoadedEngine } from './backend.ts';
import { loadBundle, registerRunGraph } from './handlers/bundle.ts';
import type { Handler, JobHost } from './job.ts';
import { RequestQueue } from './queue.ts';

/** What the host needs from its environment (the worker passes browser objects, tests pass fakes). */
export interface HostDeps extends BackendDeps {
  post(event: EngineEvent, transfer: Transferable[]): void;
  cache?: BundleCache;
  fetch?: (url: string) => Promise<Response>;
  /** The app's origin: a bundle URL elsewhere loads only with `allowCrossOrigin` (absent: no check). */
  origin?: string;
  /** Bytes of the WebAssembly memories ORT created (stats reports it; absent: unknown). */
  wasmMemoryBytes?: () => number;
}

type HandlerTable = { [K in RequestType]?: Handler<K> };

/** The engine behind the worker: backend state, the loaded bundle and its sessions, the tensor leak counter. */
export class EngineHost implements JobHost {
  readonly tracker = new TensorTracker();
  private readonly handlers: HandlerTable = {};
  private readonly backendState: EngineBackend;
  private readonly requests: RequestQueue;

  constructor(readonly deps: HostDeps) {
    this.backendState = new EngineBackend(deps, {
      announce: (info) => this.post({ type: 'backend', ...info }),
      recovering: (busy) => this.requests.announce(busy),
    });
    this.requests = new RequestQueue({
      post: (event) => this.post(event),
      handler: (type) => this.handlers[type],
      ready: () => this.backendState.recovering(),
      watchFailure: () => this.backendState.watchFailure(),
    });
    this.register('init', (req) => this.backendState.init(req.backend, req.wasmThreads));
    this.register('loadBundle', (req, ctx) => loadBundle(this.backendState, deps, req, ctx));
    registerRunGraph(this);
    this.register('stats', async () => this.stats());
  }

  /** Adds (or replaces) the handler of a request kind; later features register theirs here. */
  register<K extends RequestType>(type: K, handler: Handler<K>): void {
    (this.handlers as Record<K, Handler<K>>)[type] = handler;
  }

  /** Returns the loaded bundle and its sessions, or throws 'no-bundle'. */
  loaded(): LoadedEngine {
    const current = this.backendState.engine();
    if (!current) throw new EngineError('no-bundle', 'no model bundle is loaded');
    return current;
  }

  /** Returns the backend in use (undefined before the first init). */
  backend(): BackendInfo | undefined {
    return this.backendState.info();
  }

  /** Returns the leak counter, open sessions and backend. */
  stats(): EngineStats {
    const current = this.backendState.engine();
    return {
      liveTensors: this.tracker.live(),
      createdTensors: this.tracker.created(),
      deviceKeptTensors: this.tracker.deviceKept(),
      bundleId: current?.bundle.manifest.id,
      sessions: current?.sessions.openPaths() ?? [],
      backend: this.backendState.info(),
      ...(this.deps.wasmMemoryBytes ? { wasmMemoryBytes: this.deps.wasmMemoryBytes() } : {}),
    };
  }

  /** Accepts one message from the UI; never throws (problems become error events). */
  handle(message: unknown): void {
    this.requests.handle(message);
  }

  /** Resolves when every request received so far has finished, including the last step of aborted ones. */
  idle(): Promise<void> {
    return this.requests.idle();
  }

  /**
   * Called by the worker when the WebGPU device the sessions run on is lost: fails the running request with
   * 'device-lost' (its handler stops at its next step) and queues the recovery ahead of later requests.
   */
  deviceLost(reason: string): void {
    this.backendState.deviceLost(reason, (error) => this.requests.abort(error));
  }

  private post(event: EngineEvent): void {
    this.deps.post(event, event.type === 'result' || event.type === 'partial' ? collectTransferables(event.value) : []);
  }
}
