/**
 * The worker's request queue: requests run one at a time in arrival order (ORT sessions are not
 * re-entrant); `cancel` bypasses the queue and flags its target, which checks the flag between steps.
 * Every start and end of a request is broadcast as an `activity` event (the UI's busy/idle). Cancelling
 * the running request answers it at once and the worker reports idle; the session step already submitted
 * finishes in the background and the next request starts after it. A pre-emptible kind (the warm-up after a load)
 * is cancelled the same way by any request that arrives while it runs: that request starts after its current step.
 */
import { EngineError, toErrorPayload } from '../engine/errors.ts';
import type { ErrorPayload } from '../engine/vocab.ts';
import type { EngineEvent, RequestOf, RequestType, ResultOf } from '../protocol/messages.ts';
import type { Handler, RequestContext } from './job.ts';

/** What the queue needs from the engine it serves. */
export interface QueueDeps {
  post(event: EngineEvent): void;
  /** Returns the handler of a request kind, undefined for an unknown kind. */
  handler<K extends RequestType>(type: K): Handler<K> | undefined;
  /** Returns what a request must wait for before it starts (the recovery from a lost device), if anything. */
  ready(): Promise<void> | undefined;
  /** Returns, for a request starting now, how to explain its failure (undefined: toErrorPayload). */
  watchFailure(): ((e: unknown) => Promise<ErrorPayload>) | undefined;
}

/** Request kinds that give way to any request arriving while they run (answered 'cancelled'). */
const PREEMPTIBLE: ReadonlySet<RequestType> = new Set<RequestType>(['warmUp']);

/** Requests in arrival order, their cancel flags and the activity broadcasts. */
export class RequestQueue {
  private readonly active = new Set<string>();
  private readonly cancelled = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  /** Fails the running request at once (set while one runs). */
  private abortRunning: ((error: EngineError) => void) | undefined;
  private runningId: string | undefined;
  private runningType: RequestType | undefined;
  /** The handler of an aborted request, until it reaches its next step; the next request waits for it. */
  private settling: Promise<void> | undefined;

  constructor(private readonly deps: QueueDeps) {}

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
      this.deps.post({ type: 'result', id, request: 'cancel', value: { cancelled: hit } });
      return;
    }
    if (typeof type !== 'string' || !this.deps.handler(type as RequestType)) {
      this.deps.post({ type: 'error', id, error: { code: 'bad-request', message: `unknown request type '${String(type)}'` } });
      return;
    }
    const running = this.runningId;
    if (running !== undefined && this.runningType !== undefined && PREEMPTIBLE.has(this.runningType)) {
      this.cancelled.add(running);
      this.abortRunning?.(new EngineError('cancelled', `request ${running} (${this.runningType}) gave way to a ${String(type)} request`));
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

  /** Fails the running request at once with `error` (its handler stops at its next step); nothing when idle. */
  abort(error: EngineError): void {
    this.abortRunning?.(error);
  }

  /** Broadcasts the activity now: the running kind (`busy`: 'init' when none runs) and how many are queued. */
  announce(busy: boolean): void {
    this.deps.post({ type: 'activity', running: this.runningType ?? (busy ? 'init' : null), queued: this.active.size });
  }

  private async dispatch<K extends RequestType>(req: RequestOf<K>): Promise<void> {
    const id = req.id;
    /** Set when the request was aborted (cancel while running, or a lost device): it stops at its next step. */
    let stopped: EngineError | undefined;
    const ctx: RequestContext<K> = {
      id,
      progress: (p) => {
        if (!stopped) this.deps.post({ type: 'progress', id, ...p });
      },
      partial: (value) => {
        if (!stopped) this.deps.post({ type: 'partial', id, request: req.type, value } as EngineEvent);
      },
      checkCancelled: () => {
        if (stopped) throw stopped;
        if (this.cancelled.has(id)) throw new EngineError('cancelled', `request ${id} was cancelled`);
      },
    };
    this.runningType = req.type;
    this.deps.post({ type: 'activity', running: req.type, queued: this.active.size - 1 });
    // What an aborted request still had in flight finishes first (sessions are not re-entrant), and a
    // request must never reach sessions of a lost device (ORT can spin forever on them).
    if (this.settling) await this.settling;
    const ready = this.deps.ready();
    if (ready) await ready;
    let abort: (error: EngineError) => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => (abort = reject));
    this.abortRunning = (error) => {
      stopped = error;
      abort(error);
    };
    this.runningId = id;
    const explain = this.deps.watchFailure();
    let work: Promise<ResultOf<K>> | undefined;
    try {
      ctx.checkCancelled();
      const handler = this.deps.handler(req.type) as Handler<K>;
      work = handler(req, ctx);
      // An aborted request's handler settles later (at its next step): its outcome is not reported.
      work.catch(() => undefined);
      const value = await Promise.race([work, aborted]);
      ctx.checkCancelled();
      this.deps.post({ type: 'result', id, request: req.type, value } as EngineEvent);
    } catch (e) {
      this.deps.post({ type: 'error', id, error: explain ? await explain(e) : toErrorPayload(e) });
    } finally {
      // After a lost device the old sessions are dead: nothing to wait for (their runs may never settle).
      if (stopped?.code === 'cancelled' && work) {
        const settling: Promise<void> = work
          .then(
            () => undefined,
            () => undefined,
          )
          .finally(() => {
            if (this.settling === settling) this.settling = undefined;
          });
        this.settling = settling;
      }
      this.abortRunning = undefined;
      this.runningId = undefined;
      this.runningType = undefined;
      this.active.delete(id);
      this.cancelled.delete(id);
      this.deps.post({ type: 'activity', running: null, queued: this.active.size });
    }
  }
}
