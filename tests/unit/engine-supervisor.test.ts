// The worker supervisor: a dead engine worker (uncaught error, or silence past the heartbeat timeout) is
// terminated and replaced, the client's pending requests fail with 'worker-crashed', listeners move to the
// new worker, heartbeat replies never reach the client, and restarts are capped. The end-to-end test runs
// a real EngineHost per "worker" (ORT WASM) and loads the fixture into the restarted one.
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_PING, HEARTBEAT_PONG } from '../../src/protocol/heartbeat.ts';
import { supervisedClient, WorkerSupervisor, type WorkerLike } from '../../src/client/supervisor.ts';
import { EngineHost } from '../../src/worker/host.ts';
import * as ort from 'onnxruntime-web';
import { engineFailure, FIXTURE_DIR, readFolder } from './engine-fixture.ts';

/** A fake worker: records posts, lets the test emit events, answers pings unless `deaf`. */
class FakeWorker implements WorkerLike {
  readonly posted: unknown[] = [];
  terminated = false;
  deaf = false;
  private readonly handlers = new Map<string, ((e: Event) => void)[]>();
  constructor(private readonly onRequest?: (w: FakeWorker, data: unknown) => void) {}
  postMessage(message: unknown): void {
    if (this.terminated) return;
    this.posted.push(message);
    if ((message as { type?: string }).type === HEARTBEAT_PING) {
      if (!this.deaf) this.emit('message', { data: { type: HEARTBEAT_PONG } });
      return;
    }
    this.onRequest?.(this, message);
  }
  addEventListener(type: string, listener: (e: Event) => void): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), listener]);
  }
  terminate(): void {
    this.terminated = true;
  }
  emit(type: string, init: object): void {
    for (const h of this.handlers.get(type) ?? []) h(init as Event);
  }
}

/** Manual clock and interval for the supervisor. */
function fakeTime() {
  let t = 0;
  let tick: (() => void) | undefined;
  return {
    options: {
      now: () => t,
      setInterval: (fn: () => void) => ((tick = fn), 1),
      clearInterval: () => (tick = undefined),
      heartbeatMs: 1000,
      timeoutMs: 5000,
    },
    advance(ms: number) {
      for (let i = 0; i < ms / 1000; i++) {
        t += 1000;
        tick?.();
      }
    },
    running: () => tick !== undefined,
  };
}

describe('WorkerSupervisor', () => {
  it('restarts a worker that threw, moving listeners to the new one and failing pending requests', async () => {
    const workers: FakeWorker[] = [];
    const time = fakeTime();
    const { client, supervisor } = supervisedClient(
      () => {
        const w = new FakeWorker();
        workers.push(w);
        return w;
      },
      't',
      time.options,
    );
    const restarts: string[] = [];
    supervisor.onRestart((i) => restarts.push(`${i.restarts}:${i.restarted}:${i.reason}`));
    const seen: unknown[] = [];
    client.onEvent((e) => seen.push(e));
    const pending = client.request({ type: 'stats' });
    workers[0].emit('error', { message: 'RuntimeError: unreachable' });
    const err = await engineFailure(pending.done);
    expect([err.code, err.message]).toEqual([
      'worker-crashed',
      'uncaught error in the engine worker: RuntimeError: unreachable; the engine worker was restarted',
    ]);
    expect(restarts).toEqual(['1:true:uncaught error in the engine worker: RuntimeError: unreachable']);
    expect(workers.map((w) => w.terminated)).toEqual([true, false]);
    // The old worker is deaf to the client now; the new one is heard.
    workers[0].emit('message', { data: { type: 'activity', running: null, queued: 0 } });
    workers[1].emit('message', { data: { type: 'activity', running: 'stats', queued: 0 } });
    expect(seen).toEqual([{ type: 'activity', running: 'stats', queued: 0 }]);
    const again = client.request({ type: 'stats' });
    expect(workers[1].posted.some((m) => (m as { id?: string }).id === again.id)).toBe(true);
    supervisor.stop();
  });

  it('pings, hides the replies, and restarts a worker that stays silent past the timeout', () => {
    const workers: FakeWorker[] = [];
    const time = fakeTime();
    const s = new WorkerSupervisor(() => {
      const w = new FakeWorker();
      workers.push(w);
      return w;
    }, time.options);
    const heard: unknown[] = [];
    s.addEventListener('message', (e) => heard.push(e.data));
    const reasons: string[] = [];
    s.onRestart((i) => reasons.push(i.reason));
    time.advance(10_000);
    expect(workers[0].posted.filter((m) => (m as { type: string }).type === HEARTBEAT_PING).length).toBe(10);
    expect(heard).toEqual([]);
    expect(reasons).toEqual([]);
    workers[0].deaf = true;
    time.advance(4000);
    expect(reasons).toEqual([]); // silent for 4 s of a 5 s allowance
    workers[0].emit('message', { data: { type: 'progress', id: 'x', phase: 'run', loaded: 1, total: 2 } });
    time.advance(4000);
    expect(reasons).toEqual([]); // any message counts as alive
    time.advance(3000);
    expect(reasons).toEqual(['the engine worker stopped answering (no reply for 5 s)']);
    expect(workers.length).toBe(2);
    expect(workers[0].terminated).toBe(true);
    time.advance(10_000);
    expect(reasons.length).toBe(1); // the new worker answers
    s.stop();
    expect(time.running()).toBe(false);
  });

  it('stops restarting after maxRestarts within the window', () => {
    const time = fakeTime();
    const workers: FakeWorker[] = [];
    const s = new WorkerSupervisor(
      () => {
        const w = new FakeWorker();
        workers.push(w);
        return w;
      },
      { ...time.options, maxRestarts: 2, restartWindowMs: 60_000 },
    );
    const infos: boolean[] = [];
    s.onRestart((i) => infos.push(i.restarted));
    for (let i = 0; i < 3; i++) workers[workers.length - 1].emit('error', { message: 'boom' });
    expect(infos).toEqual([true, true, false]);
    expect(workers.length).toBe(3);
    expect(workers.every((w) => w.terminated)).toBe(true);
    expect(time.running()).toBe(false);
  });
});

describe('a restarted worker serves the client again (real EngineHost per worker)', () => {
  it('loads the fixture, dies, fails the pending request, and loads again in the new worker', async () => {
    const hosts: EngineHost[] = [];
    const time = fakeTime();
    const factory = (): WorkerLike => {
      const w = new FakeWorker((_, data) => host.handle(structuredClone(data)));
      const host = new EngineHost({
        ort,
        post: (event) => queueMicrotask(() => w.emit('message', { data: structuredClone(event) })),
        probeWebGpu: async () => ({ ok: false, reason: 'no WebGPU in Node' }),
        maxWasmThreads: 1,
      });
      hosts.push(host);
      return w;
    };
    const { client, supervisor } = supervisedClient(factory, 'e', time.options);
    await client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
    expect(hosts[0].stats().bundleId).toBe('fixture-tiny');
    const stalled = client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) });
    supervisor.restart('test: worker killed');
    expect((await engineFailure(stalled.done)).code).toBe('worker-crashed');
    const summary = await client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
    expect(summary.id).toBe('fixture-tiny');
    expect(hosts.length).toBe(2);
    expect(hosts[1].stats().bundleId).toBe('fixture-tiny');
    supervisor.stop();
  }, 120_000);
});
