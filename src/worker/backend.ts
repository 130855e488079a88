/**
 * The worker's backend: which one runs (WebGPU probed for Auto, else WASM), the loaded bundle's sessions on
 * it, moving them when the choice changes, and recovery from a lost WebGPU device: the running request
 * fails at once with 'device-lost' and the sessions are recreated (on a new device, else on WASM) before
 * the next request runs.
 */
import type { BundleLoad, LoadedBundle } from '../engine/bundle.ts';
import { EngineError, toErrorPayload } from '../engine/errors.ts';
import { BundleSessions, ortSessionCreator, type SessionCreator } from '../engine/sessions.ts';
import type { OrtModule } from '../engine/tensors.ts';
import type { BackendChoice, ErrorPayload } from '../engine/vocab.ts';
import type { BackendInfo, RequestType } from '../protocol/messages.ts';
import type { RequestContext } from './job.ts';

/** A WebGPU probe: the adapter's label and whether it is a software fallback adapter, or why there is none. */
export type WebGpuProbe = { ok: true; adapter: string; fallback?: boolean } | { ok: false; reason: string };

/** Returns the adapter label of the WASM backend: "1 thread" / "4 threads". */
export function wasmAdapterLabel(threads: number): string {
  return `${threads} thread${threads === 1 ? '' : 's'}`;
}

/** Returns why Auto runs on WASM although WebGPU answered: its only adapter is a software fallback. */
function fallbackReason(adapter: string): string {
  return `the only WebGPU adapter here (${adapter}) is a software fallback adapter, slower than WASM; choose WebGPU to use it anyway`;
}

function lostError(reason: string): EngineError {
  return new EngineError('device-lost', `the WebGPU device was lost (${reason}); the engine recreates its sessions: run it again`);
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

/** What the backend needs from its environment (the worker passes browser objects, tests pass fakes). */
export interface BackendDeps {
  ort: OrtModule;
  probeWebGpu(): Promise<WebGpuProbe>;
  /** Most WASM threads usable here: min(4, hardwareConcurrency) when cross-origin isolated, else 1. */
  maxWasmThreads: number;
  createSession?: SessionCreator;
  /** Sets the WASM thread count where ORT reads it (default: deps.ort.env.wasm.numThreads). */
  setWasmThreads?(n: number): void;
}

/** What the backend tells its host: the backend now in use, and recovery starting (true) or done (false). */
export interface BackendEvents {
  announce(info: BackendInfo): void;
  recovering(busy: boolean): void;
}

/** The loaded bundle and its sessions. */
export interface LoadedEngine {
  bundle: LoadedBundle;
  sessions: BundleSessions;
}

/** Backend state: the backend in use, the loaded bundle's sessions, device losses and the recovery in progress. */
export class EngineBackend {
  private readonly create: SessionCreator;
  private backendInfo: BackendInfo | undefined;
  private wasmThreads = 1;
  private sessionsCreated = false;
  private current: LoadedEngine | undefined;
  /** Recreating sessions after a lost WebGPU device; every request waits for it. */
  private recovery: Promise<void> | undefined;
  /** Device losses so far, and why the last one happened. */
  private losses = 0;
  private lostReason = '';

  constructor(
    private readonly deps: BackendDeps,
    private readonly events: BackendEvents,
  ) {
    this.create = deps.createSession ?? ortSessionCreator(deps.ort);
  }

  /** Returns the backend in use (undefined before the first init). */
  info(): BackendInfo | undefined {
    return this.backendInfo;
  }

  /** Returns the loaded bundle and its sessions (undefined before the first load). */
  engine(): LoadedEngine | undefined {
    return this.current;
  }

  /** Returns the recovery after a lost device while one runs: requests wait for it. */
  recovering(): Promise<void> | undefined {
    return this.recovery;
  }

  /**
   * Returns, while the sessions run on WebGPU, the error payload maker for a request starting now: a run
   * that failed on WebGPU may have failed because the device is being lost, reported a moment later, so it
   * waits for that briefly and says so. Undefined when not on WebGPU.
   */
  watchFailure(): ((e: unknown) => Promise<ErrorPayload>) | undefined {
    if (this.current?.sessions.backend !== 'webgpu') return undefined;
    const lossesBefore = this.losses;
    return async (e) => {
      const payload = toErrorPayload(e);
      if (payload.code === 'cancelled' || payload.code === 'device-lost') return payload;
      for (let waited = 0; this.losses === lossesBefore && waited < LOST_GRACE_MS; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      return this.losses === lossesBefore
        ? payload
        : { code: 'device-lost', message: `${lostError(this.lostReason).message} (${payload.message})` };
    };
  }

  /** Chooses the backend (probing WebGPU unless WASM is asked for) and moves loaded sessions to it; returns it. */
  async init(choice: BackendChoice, wasmThreads?: number): Promise<BackendInfo> {
    if (!['auto', 'webgpu', 'wasm'].includes(choice)) throw new EngineError('bad-request', `unknown backend '${String(choice)}'`);
    if (!this.sessionsCreated) {
      // ORT reads numThreads once, when its WASM module starts (the first session).
      const wanted = wasmThreads ?? this.deps.maxWasmThreads;
      this.wasmThreads = Math.max(1, Math.min(Math.floor(wanted), this.deps.maxWasmThreads));
      if (this.deps.setWasmThreads) this.deps.setWasmThreads(this.wasmThreads);
      else this.deps.ort.env.wasm.numThreads = this.wasmThreads;
    }
    const wasm = {
      backend: 'wasm' as const,
      adapter: wasmAdapterLabel(this.wasmThreads),
      requested: choice,
      wasmThreads: this.wasmThreads,
    };
    let next: BackendInfo = wasm;
    if (choice !== 'wasm') {
      const probe = await this.deps.probeWebGpu();
      // Auto wants a real GPU: an emulated one (SwiftShader) runs these models many times slower than WASM.
      if (probe.ok && probe.fallback && choice === 'auto') next = { ...wasm, reason: fallbackReason(probe.adapter) };
      else if (probe.ok) next = { backend: 'webgpu', adapter: probe.adapter, requested: choice, wasmThreads: this.wasmThreads };
      else if (choice === 'webgpu') throw new EngineError('backend-unavailable', `WebGPU is not available: ${probe.reason}`);
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

  /** Returns the sessions of `bundle` (loaded, or loading: BundleSessions.open) on the backend `info` names (Auto may fall back). */
  async openSessions(bundle: LoadedBundle | BundleLoad, info: BackendInfo, ctx?: RequestContext<RequestType>): Promise<BundleSessions> {
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

  /** Makes `bundle` with `sessions` the loaded one (the previous one is released); returns the backend now in use. */
  async commit(bundle: LoadedBundle, sessions: BundleSessions, info: BackendInfo): Promise<BackendInfo> {
    const previous = this.current;
    this.current = { bundle, sessions };
    await previous?.sessions.release();
    if (sessions.backend === info.backend) return info;
    return this.setBackend({
      backend: 'wasm',
      adapter: wasmAdapterLabel(this.wasmThreads),
      requested: info.requested,
      wasmThreads: this.wasmThreads,
      reason: sessions.fallbackReason,
    });
  }

  /**
   * Called when the WebGPU device the sessions run on is lost: fails the running request through `abort`
   * (its handler stops at its next step) and queues the recovery ahead of later requests.
   */
  deviceLost(reason: string, abort: (error: EngineError) => void): void {
    if (this.backendInfo?.backend !== 'webgpu' && this.current?.sessions.backend !== 'webgpu') return;
    this.losses++;
    this.lostReason = reason;
    // A handler still holding these sessions must not reach them again: its next get() throws instead.
    const dead = this.current?.sessions;
    if (dead?.backend === 'webgpu') dead.beforeRun = () => Promise.reject(lostError(reason));
    abort(lostError(reason));
    const recovery: Promise<void> = (this.recovery ?? Promise.resolve())
      .then(() => this.recoverFromLostDevice(reason))
      .catch(() => undefined)
      .finally(() => {
        if (this.recovery === recovery) this.recovery = undefined;
      });
    this.recovery = recovery;
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
      this.events.recovering(true);
      try {
        // Whatever the user asked for, a lost device must not leave the engine without sessions.
        const sessions = await BundleSessions.open(current.bundle, this.create, { backend: next.backend, allowFallback: true });
        sessions.beforeRun = nextTask;
        this.current = { bundle: current.bundle, sessions };
        if (sessions.backend !== next.backend)
          next = { ...wasm, reason: `WebGPU device lost (${reason}); ${sessions.fallbackReason ?? 'no WebGPU sessions'}` };
      } catch (e) {
        this.current = undefined;
        next = { ...next, reason: `WebGPU device lost (${reason}); reopening the bundle failed: ${toErrorPayload(e).message}` };
      } finally {
        this.events.recovering(false);
      }
    }
    const where = next.backend === 'webgpu' ? `a new WebGPU device (${next.adapter})` : 'WASM';
    this.setBackend({ ...next, recovered: `the WebGPU device was lost (${reason}); sessions were recreated on ${where}` });
  }

  private setBackend(info: BackendInfo): BackendInfo {
    this.backendInfo = info;
    this.events.announce(info);
    return info;
  }
}
