// EngineClient against a fake port: ids, routing, cancel, stale drop, lanes, error shape, transfer list.
import { describe, expect, it } from 'vitest';
import { EngineClient, type PortLike } from '../../src/client/client.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { engineFailure } from './engine-fixture.ts';
import type { EngineEvent, EngineRequest } from '../../src/protocol/messages.ts';

class FakePort implements PortLike {
  readonly sent: { message: EngineRequest; transfer: Transferable[] }[] = [];
  private readonly listeners = new Set<(e: MessageEvent) => void>();
  postMessage(message: unknown, transfer: Transferable[]): void {
    this.sent.push({ message: message as EngineRequest, transfer });
  }
  addEventListener(_type: 'message', l: (e: MessageEvent) => void): void {
    this.listeners.add(l);
  }
  removeEventListener(_type: 'message', l: (e: MessageEvent) => void): void {
    this.listeners.delete(l);
  }
  emit(event: EngineEvent): void {
    for (const l of this.listeners) l({ data: event } as MessageEvent);
  }
  last(): EngineRequest {
    return this.sent[this.sent.length - 1].message;
  }
}

describe('EngineClient', () => {
  it('gives each request a distinct id and resolves with its result only', async () => {
    const port = new FakePort();
    const client = new EngineClient(port);
    const a = client.request({ type: 'stats' });
    const b = client.request({ type: 'stats' });
    expect(a.id).not.toBe(b.id);
    expect(port.sent.map((s) => s.message.id)).toEqual([a.id, b.id]);
    const stats = { liveTensors: 0, createdTensors: 3, deviceKeptTensors: 0, sessions: [] };
    port.emit({ type: 'result', id: b.id, request: 'stats', value: { ...stats, createdTensors: 7 } });
    port.emit({ type: 'result', id: a.id, request: 'stats', value: stats });
    expect((await a.done).createdTensors).toBe(3);
    expect((await b.done).createdTensors).toBe(7);
    expect(client.pendingCount()).toBe(0);
  });

  it('routes progress to its request and rejects errors as EngineError {code, message}', async () => {
    const port = new FakePort();
    const client = new EngineClient(port);
    const seen: number[] = [];
    const h = client.loadBundle({ kind: 'url', baseUrl: 'http://x/' }, (p) => seen.push(p.loaded));
    port.emit({ type: 'progress', id: 'other', phase: 'download', loaded: 99, total: 100 });
    port.emit({ type: 'progress', id: h.id, phase: 'download', loaded: 10, total: 100, file: 'a.onnx' });
    port.emit({ type: 'error', id: h.id, error: { code: 'sha256-mismatch', message: 'a.onnx: sha256 mismatch' } });
    const err = await engineFailure(h.done);
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(EngineError);
    expect({ code: err.code, message: err.message }).toEqual({ code: 'sha256-mismatch', message: 'a.onnx: sha256 mismatch' });
    expect(seen).toEqual([10]);
  });

  it('cancel rejects at once with code cancelled, tells the worker, and drops later events', async () => {
    const port = new FakePort();
    const client = new EngineClient(port);
    const partials: unknown[] = [];
    const h = client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: {} }, { onPartial: (v) => partials.push(v) });
    h.cancel();
    expect((await engineFailure(h.done)).code).toBe('cancelled');
    const cancelMsg = port.last();
    expect(cancelMsg.type).toBe('cancel');
    expect(cancelMsg.type === 'cancel' && cancelMsg.targetId).toBe(h.id);
    let progressCalls = 0;
    client.onEvent(() => progressCalls++);
    port.emit({ type: 'result', id: h.id, request: 'runGraph', value: { outputs: {} } });
    expect(progressCalls).toBe(1); // seen by diagnostics listeners, dropped for the request
    expect(client.pendingCount()).toBe(0);
  });

  it('a newer request in the same lane supersedes the older one', async () => {
    const port = new FakePort();
    const client = new EngineClient(port);
    const first = client.loadBundle({ kind: 'url', baseUrl: 'http://x/a/' });
    const second = client.loadBundle({ kind: 'url', baseUrl: 'http://x/b/' });
    const err = await engineFailure(first.done);
    expect(err.code).toBe('cancelled');
    expect(err.message).toMatch(/superseded/);
    expect(port.sent.map((s) => s.message.type)).toEqual(['loadBundle', 'cancel', 'loadBundle']);
    // The stale result of the first load must not resolve the second.
    port.emit({ type: 'error', id: first.id, error: { code: 'cancelled', message: 'late' } });
    const summary = { id: 'b' } as never;
    port.emit({ type: 'result', id: second.id, request: 'loadBundle', value: summary });
    expect(await second.done).toBe(summary);
  });

  it('puts typed-array buffers in the transfer list once each, unless asked not to', () => {
    const port = new FakePort();
    const client = new EngineClient(port);
    const data = new Float32Array(6);
    const feeds = { a: { dtype: 'float32' as const, data, dims: [2, 3] }, b: { dtype: 'float32' as const, data, dims: [6] } };
    client.request({ type: 'runGraph', target: { file: 'x.onnx' }, feeds });
    expect(port.sent[0].transfer).toEqual([data.buffer]);
    client.request({ type: 'runGraph', target: { file: 'x.onnx' }, feeds }, { transfer: false });
    expect(port.sent[1].transfer).toEqual([]);
  });

  it('reports backend events to subscribers, including late ones, and failAll rejects everything', async () => {
    const port = new FakePort();
    const client = new EngineClient(port);
    const seen: string[] = [];
    client.onBackend((b) => seen.push(`${b.backend}:${b.adapter}`));
    port.emit({ type: 'backend', backend: 'wasm', adapter: '2 threads', requested: 'auto', wasmThreads: 2, reason: 'no adapter' });
    const late: string[] = [];
    client.onBackend((b) => late.push(b.reason ?? ''));
    expect(seen).toEqual(['wasm:2 threads']);
    expect(late).toEqual(['no adapter']);
    const h = client.init('webgpu');
    client.failAll({ code: 'worker-crashed', message: 'boom' });
    expect((await engineFailure(h.done)).code).toBe('worker-crashed');
  });
});
