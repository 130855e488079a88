/**
 * EngineClient: the UI side of the worker protocol. Wraps a MessagePort-like object (a real Worker in the
 * browser, a fake port in tests), gives every request an id, routes progress/partial/result/error events
 * to that request, drops events of cancelled or superseded ids, and rejects with EngineError {code, message}.
 */
import type {
  ActivityEvent,
  BackendChoice,
  BackendInfo,
  BundleSource,
  EngineEvent,
  EngineRequest,
  ErrorPayload,
  PartialOf,
  ProgressEvent,
  RequestBody,
  RequestType,
  ResultOf,
} from '../protocol/messages.ts';
import { collectTransferables } from '../protocol/transfer.ts';
import { EngineError } from '../engine/errors.ts';

/** The part of Worker / MessagePort the client needs. */
export interface PortLike {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** Per-request callbacks and options. */
export interface RequestOptions<K extends RequestType> {
  onProgress?: (event: ProgressEvent) => void;
  onPartial?: (value: PartialOf<K>) => void;
  /** A new request in the same lane cancels the pending one (e.g. 'caption': only the latest matters). */
  lane?: string;
  /** Transfer typed-array buffers instead of copying them (default true: the caller's arrays get detached). */
  transfer?: boolean;
}

/** What the worker is doing: the request kind it runs (null: idle) and how many wait behind it. */
export type EngineActivity = Omit<ActivityEvent, 'type'>;

/** A request in flight. `done` rejects with EngineError (code 'cancelled' after cancel()). */
export interface RequestHandle<K extends RequestType> {
  id: string;
  done: Promise<ResultOf<K>>;
  cancel(): void;
}

interface Pending {
  type: RequestType;
  lane?: string;
  onProgress?: (event: ProgressEvent) => void;
  onPartial?: (value: unknown) => void;
  resolve(value: unknown): void;
  reject(error: EngineError): void;
}

/** Talks to the engine worker; one instance per worker. */
export class EngineClient {
  private readonly pending = new Map<string, Pending>();
  private readonly lanes = new Map<string, string>();
  private readonly listeners = new Set<(event: EngineEvent) => void>();
  private readonly backendListeners = new Set<(info: BackendInfo) => void>();
  private readonly activityListeners = new Set<(activity: EngineActivity) => void>();
  private nextId = 1;
  private lastBackend: BackendInfo | undefined;
  private readonly onMessage = (event: MessageEvent): void => this.handle(event.data as EngineEvent);

  constructor(
    private readonly port: PortLike,
    private readonly idPrefix = 'r',
  ) {
    port.addEventListener('message', this.onMessage);
  }

  /** Sends a request; returns its id, a promise of its result, and cancel(). */
  request<K extends RequestType>(body: RequestBody<K>, options: RequestOptions<K> = {}): RequestHandle<K> {
    const id = `${this.idPrefix}${this.nextId++}`;
    if (options.lane !== undefined) {
      const previous = this.lanes.get(options.lane);
      if (previous !== undefined) this.cancel(previous, 'superseded by a newer request');
      this.lanes.set(options.lane, id);
    }
    const done = new Promise<ResultOf<K>>((resolve, reject) => {
      this.pending.set(id, {
        type: body.type,
        lane: options.lane,
        onProgress: options.onProgress,
        onPartial: options.onPartial as ((value: unknown) => void) | undefined,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
    });
    const message = { ...body, id } as EngineRequest;
    this.post(message, options.transfer ?? true);
    return { id, done, cancel: () => this.cancel(id) };
  }

  /** Returns the handle of an init request (backend choice; the result is the backend actually in use). */
  init(backend: BackendChoice, wasmThreads?: number): RequestHandle<'init'> {
    return this.request({ type: 'init', backend, ...(wasmThreads === undefined ? {} : { wasmThreads }) });
  }

  /** Returns the handle of a loadBundle request; progress is byte-level per file and overall. */
  loadBundle(source: BundleSource, onProgress?: (event: ProgressEvent) => void): RequestHandle<'loadBundle'> {
    return this.request<'loadBundle'>({ type: 'loadBundle', source }, { onProgress, lane: 'loadBundle' });
  }

  /** Cancels request `id` locally (its promise rejects with 'cancelled', later events are dropped) and in the worker. */
  cancel(id: string, reason = 'cancelled by the user'): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.settle(id, p);
    this.post({ type: 'cancel', id: `${this.idPrefix}${this.nextId++}`, targetId: id }, false);
    p.reject(new EngineError('cancelled', reason));
  }

  /** Subscribes to every event (diagnostics); returns the unsubscribe function. */
  onEvent(listener: (event: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Subscribes to backend status (called at once with the last known one); returns the unsubscribe function. */
  onBackend(listener: (info: BackendInfo) => void): () => void {
    this.backendListeners.add(listener);
    if (this.lastBackend) listener(this.lastBackend);
    return () => this.backendListeners.delete(listener);
  }

  /** Subscribes to the worker's activity (what it is running now); returns the unsubscribe function. */
  onActivity(listener: (activity: EngineActivity) => void): () => void {
    this.activityListeners.add(listener);
    return () => this.activityListeners.delete(listener);
  }

  /** Returns the number of requests still waiting for a result. */
  pendingCount(): number {
    return this.pending.size;
  }

  /** Rejects every pending request with `error` (call from Worker 'error' events: the worker is gone). */
  failAll(error: ErrorPayload): void {
    for (const [id, p] of [...this.pending]) {
      this.settle(id, p);
      p.reject(new EngineError(error.code, error.message));
    }
  }

  /** Stops listening to the port and rejects whatever is pending. */
  dispose(): void {
    this.port.removeEventListener('message', this.onMessage);
    this.failAll({ code: 'cancelled', message: 'engine client disposed' });
  }

  private post(message: EngineRequest, transfer: boolean): void {
    this.port.postMessage(message, transfer ? collectTransferables(message) : []);
  }

  private settle(id: string, p: Pending): void {
    this.pending.delete(id);
    if (p.lane !== undefined && this.lanes.get(p.lane) === id) this.lanes.delete(p.lane);
  }

  private handle(event: EngineEvent): void {
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') return;
    for (const l of this.listeners) l(event);
    if (event.type === 'backend') {
      const { type: _type, ...info } = event;
      this.lastBackend = info;
      for (const l of this.backendListeners) l(info);
      return;
    }
    if (event.type === 'activity') {
      const { type: _type, ...activity } = event;
      for (const l of this.activityListeners) l(activity);
      return;
    }
    const p = this.pending.get(event.id);
    if (!p) return; // stale: cancelled, superseded, or already settled
    switch (event.type) {
      case 'progress':
        p.onProgress?.(event);
        break;
      case 'partial':
        p.onPartial?.(event.value);
        break;
      case 'result':
        this.settle(event.id, p);
        p.resolve(event.value);
        break;
      case 'error':
        this.settle(event.id, p);
        p.reject(new EngineError(event.error.code, event.error.message));
        break;
    }
  }
}
