/**
 * WorkerSupervisor: the engine worker as a port that survives the worker's death. It forwards messages to
 * the current worker, keeps the client's listeners across restarts, and restarts the worker when it dies:
 * an uncaught error in it ('error' event), or silence — a heartbeat ping every `heartbeatMs` must be
 * answered within `timeoutMs` (a worker that closed itself or hangs answers nothing). Restarts are capped
 * (`maxRestarts` within `restartWindowMs`) so a worker that cannot start does not loop.
 */
import { EngineClient, type PortLike } from './client.ts';
import { HEARTBEAT_PING, HEARTBEAT_PONG, isHeartbeat } from '../protocol/heartbeat.ts';

/** The part of Worker the supervisor uses. */
export interface WorkerLike {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: Event) => void): void;
  terminate(): void;
}

/** What the supervisor tells about a restart. */
export interface RestartInfo {
  /** Why the previous worker was considered dead. */
  reason: string;
  /** Restarts so far (1 for the first). */
  restarts: number;
  /** False when the cap was hit: no new worker was started and the engine is gone. */
  restarted: boolean;
}

/** Timing and clock of the supervisor (tests pass fake timers). */
export interface SupervisorOptions {
  heartbeatMs?: number;
  timeoutMs?: number;
  maxRestarts?: number;
  restartWindowMs?: number;
  now?: () => number;
  setInterval?: (fn: () => void, ms: number) => unknown;
  clearInterval?: (handle: unknown) => void;
}

type MessageListener = (event: MessageEvent) => void;

/** A PortLike over a worker that is restarted when it dies; one per page. */
export class WorkerSupervisor implements PortLike {
  private worker!: WorkerLike;
  private generation = 0;
  private readonly listeners = new Set<MessageListener>();
  private readonly restartListeners = new Set<(info: RestartInfo) => void>();
  private readonly restartTimes: number[] = [];
  private restarts = 0;
  private pingSentAt: number | undefined;
  private lastHeard: number;
  private timer: unknown;
  private stopped = false;
  private readonly o: Required<SupervisorOptions>;

  constructor(
    private readonly factory: () => WorkerLike,
    options: SupervisorOptions = {},
  ) {
    this.o = {
      heartbeatMs: 5000,
      timeoutMs: 60_000,
      maxRestarts: 5,
      restartWindowMs: 60_000,
      now: () => Date.now(),
      setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
      clearInterval: (h) => globalThis.clearInterval(h as ReturnType<typeof setInterval>),
      ...options,
    };
    this.lastHeard = this.o.now();
    this.start();
    this.timer = this.o.setInterval(() => this.beat(), this.o.heartbeatMs);
  }

  /** Sends to the current worker. */
  postMessage(message: unknown, transfer: Transferable[]): void {
    this.worker.postMessage(message, transfer);
  }

  /** Adds a message listener that stays attached across restarts (heartbeat replies are not passed on). */
  addEventListener(_type: 'message', listener: MessageListener): void {
    this.listeners.add(listener);
  }

  /** Removes a message listener. */
  removeEventListener(_type: 'message', listener: MessageListener): void {
    this.listeners.delete(listener);
  }

  /** Subscribes to worker deaths (called after the new worker started, or with restarted false); returns the unsubscribe function. */
  onRestart(listener: (info: RestartInfo) => void): () => void {
    this.restartListeners.add(listener);
    return () => this.restartListeners.delete(listener);
  }

  /** Treats the current worker as dead: terminates it and starts another (within the cap). */
  restart(reason: string): void {
    if (this.stopped) return;
    this.worker.terminate();
    this.restarts++;
    const now = this.o.now();
    this.restartTimes.push(now);
    while (this.restartTimes.length > 0 && now - this.restartTimes[0] > this.o.restartWindowMs) this.restartTimes.shift();
    const restarted = this.restartTimes.length <= this.o.maxRestarts;
    if (restarted) this.start();
    else this.stop();
    for (const l of this.restartListeners) l({ reason, restarts: this.restarts, restarted });
  }

  /** Stops the heartbeat and terminates the worker. */
  stop(): void {
    this.stopped = true;
    this.o.clearInterval(this.timer);
    this.worker.terminate();
  }

  private start(): void {
    const generation = ++this.generation;
    const worker = this.factory();
    this.worker = worker;
    this.pingSentAt = undefined;
    this.lastHeard = this.o.now();
    const mine = (): boolean => generation === this.generation && !this.stopped;
    worker.addEventListener('message', (event) => {
      if (!mine()) return;
      this.lastHeard = this.o.now();
      this.pingSentAt = undefined;
      const e = event as MessageEvent;
      if (isHeartbeat(e.data, HEARTBEAT_PONG)) return;
      for (const l of this.listeners) l(e);
    });
    worker.addEventListener('error', (event) => {
      if (!mine()) return;
      const message = (event as ErrorEvent).message;
      this.restart(`uncaught error in the engine worker${message ? `: ${message}` : ''}`);
    });
    worker.addEventListener('messageerror', () => {
      if (mine()) this.restart('a message from the engine worker could not be read');
    });
  }

  private beat(): void {
    if (this.stopped) return;
    const now = this.o.now();
    if (this.pingSentAt !== undefined && now - Math.max(this.pingSentAt, this.lastHeard) >= this.o.timeoutMs) {
      this.restart(`the engine worker stopped answering (no reply for ${Math.round((now - this.pingSentAt) / 1000)} s)`);
      return;
    }
    if (this.pingSentAt === undefined) this.pingSentAt = now;
    this.worker.postMessage({ type: HEARTBEAT_PING }, []);
  }
}

/**
 * Returns an EngineClient over a supervised worker: when the worker dies, every pending request fails with
 * 'worker-crashed' (naming the reason) before restart listeners run.
 */
export function supervisedClient(
  factory: () => WorkerLike,
  idPrefix: string,
  options: SupervisorOptions = {},
): { client: EngineClient; supervisor: WorkerSupervisor } {
  const supervisor = new WorkerSupervisor(factory, options);
  const client = new EngineClient(supervisor, idPrefix);
  // Registered first, so the client has failed its requests when later listeners (the app) react.
  supervisor.onRestart((info) => {
    const what = info.restarted ? 'was restarted' : 'was not restarted (too many restarts)';
    client.failAll({ code: 'worker-crashed', message: `${info.reason}; the engine worker ${what}` });
  });
  return { client, supervisor };
}
