// Faults in the worker's EngineHost, on onnxruntime-web WASM in Node with a stand-in "WebGPU" (real WASM
// sessions whose runs can be made to hang or fail, as on a destroyed GPU device): a lost device fails the
// running request at once with 'device-lost', queued requests wait for the recovery and never touch the
// dead sessions, sessions are recreated on a new device or on WASM, and the retried run gives the
// reference numbers. Also: activity events (busy/idle, idle after cancel) and the cross-origin guard.
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import type { InferenceSession } from 'onnxruntime-web';
import type { BackendInfo, EngineEvent, TensorData } from '../../src/protocol/messages.ts';
import { ortSessionCreator, type SessionCreator } from '../../src/engine/sessions.ts';
import type { WebGpuProbe } from '../../src/worker/backend.ts';
import { registerRoundTrip } from '../../src/worker/handlers/roundtrip.ts';
import { engineFailure, FIXTURE_DIR, folderFetch, readFolder, reference, referencePixels } from './engine-fixture.ts';
import { TINY_BUNDLE } from './infer-helpers.ts';
import { connectHost } from './worker-helpers.ts';

const pixelFeeds = (): Record<string, TensorData> => {
  const dims = reference().pixel_values.dims;
  return { pixel_values: { dtype: 'float32', data: referencePixels(dims), dims } };
};

/** A creator whose 'webgpu' sessions are WASM sessions with a switchable run: 'ok', 'hang' or 'fail'. */
function fakeGpu() {
  const wasm = ortSessionCreator(ort);
  const state = { mode: 'ok' as 'ok' | 'hang' | 'fail' | 'slow', slowDone: 0, gpuCreated: 0, gpuRuns: 0, runsAfterLoss: 0, lost: false };
  const create: SessionCreator = async (bytes, backend) => {
    const session = await wasm(bytes, 'wasm');
    if (backend === 'wasm') return session;
    state.gpuCreated++;
    const born = state.lost;
    return new Proxy(session, {
      get(target, key, receiver) {
        if (key !== 'run') return Reflect.get(target, key, receiver) as unknown;
        return (...args: Parameters<InferenceSession['run']>) => {
          state.gpuRuns++;
          if (state.lost && !born) state.runsAfterLoss++;
          if (state.mode === 'hang' && !born) return new Promise(() => undefined);
          if (state.mode === 'fail' && !born)
            return Promise.reject(new Error("Failed to execute 'mapAsync' on 'GPUBuffer': Buffer was unmapped"));
          if (state.mode === 'slow') {
            return new Promise((r) => setTimeout(r, 1500))
              .then(() => target.run(...args))
              .finally(() => (state.slowDone = performance.now()));
          }
          return target.run(...args);
        };
      },
    });
  };
  return { create, state };
}

function activityOf(events: EngineEvent[]): string[] {
  return events.filter((e): e is Extract<EngineEvent, { type: 'activity' }> => e.type === 'activity').map((e) => e.running ?? 'idle');
}

/** Resolves at the next activity event saying the worker is idle. */
function nextIdle(client: ReturnType<typeof connectHost>['client']): Promise<void> {
  return new Promise((resolve) => {
    const stop = client.onActivity((a) => a.running === null && (stop(), resolve()));
  });
}

const expectReference = (out: Record<string, TensorData>): void => {
  const ref = reference().image_embeds.data;
  Array.from(out.image_embeds.data as Float32Array).forEach((x, i) => expect(Math.abs(x - ref[i])).toBeLessThan(1e-5));
};

describe('a lost WebGPU device', () => {
  it('fails the running request at once, recreates sessions on a new device, and the retry matches the reference', async () => {
    const gpu = fakeGpu();
    const { client, host, backends } = connectHost({ createSession: gpu.create }, { ok: true, adapter: 'fake gpu' });
    await client.init('auto').done;
    await client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
    expect(host.stats().backend?.backend).toBe('webgpu');
    expect(gpu.state.gpuCreated).toBe(2);
    gpu.state.mode = 'hang';
    const running = client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() });
    const queued = client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() });
    await new Promise<void>((resolve) => {
      const stop = client.onActivity((a) => a.running === 'runGraph' && (stop(), resolve()));
    });
    const dead = host.loaded().sessions;
    gpu.state.lost = true;
    host.deviceLost('destroyed: test');
    // A handler still holding the old sessions cannot reach them again.
    expect((await engineFailure(dead.get('scorer/text.onnx'))).code).toBe('device-lost');
    const err = await engineFailure(running.done);
    expect(err.code).toBe('device-lost');
    expect(err.message).toBe('the WebGPU device was lost (destroyed: test); the engine recreates its sessions: run it again');
    // The queued request ran after the recovery, on the new sessions: no run reached a dead session.
    expectReference((await queued.done).outputs);
    expect(gpu.state.runsAfterLoss).toBe(0);
    expect(gpu.state.gpuCreated).toBe(4);
    const last = backends[backends.length - 1] as BackendInfo;
    expect([last.backend, last.adapter, last.reason]).toEqual(['webgpu', 'fake gpu', undefined]);
    expect(last.recovered).toBe('the WebGPU device was lost (destroyed: test); sessions were recreated on a new WebGPU device (fake gpu)');
    expectReference((await client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() }).done).outputs);
    expect(host.tracker.live()).toBe(1); // the hung run's input: that run never settles (a real lost device rejects it)
  });

  it('falls back to WASM when no new device can be had; a run that failed as the device went is reported as device-lost', async () => {
    const gpu = fakeGpu();
    let probe: WebGpuProbe = { ok: true, adapter: 'fake gpu' };
    const { client, host, backends } = connectHost({ createSession: gpu.create, probeWebGpu: async () => probe });
    await client.init('auto').done;
    await client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
    gpu.state.mode = 'fail';
    const failing = client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() });
    // The loss is reported a moment after the run failed (as device.lost resolves after mapAsync rejects).
    setTimeout(() => {
      gpu.state.lost = true;
      probe = { ok: false, reason: 'no WebGPU adapter available' };
      host.deviceLost('destroyed: test');
    }, 100);
    const err = await engineFailure(failing.done);
    expect(err.code).toBe('device-lost');
    expect(err.message).toMatch(/^the WebGPU device was lost \(destroyed: test\); .* \(scorer\/vision\.onnx: Failed to execute 'mapAsync'/);
    expectReference((await client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() }).done).outputs);
    const last = backends[backends.length - 1] as BackendInfo;
    expect(last.backend).toBe('wasm');
    expect(last.reason).toBe('WebGPU device lost (destroyed: test) and no new one: no WebGPU adapter available');
    expect(last.recovered).toBe('the WebGPU device was lost (destroyed: test); sessions were recreated on WASM');
    expect(host.stats().sessions).toEqual(['scorer/vision.onnx', 'scorer/text.onnx']);
  });

  it('a WebGPU run failure without a lost device stays run-failed; a loss on WASM is ignored', async () => {
    const gpu = fakeGpu();
    const { client, host, backends } = connectHost({ createSession: gpu.create }, { ok: true, adapter: 'fake gpu' });
    await client.init('auto').done;
    await client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
    gpu.state.mode = 'fail';
    const err = await engineFailure(client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() }).done);
    expect(err.code).toBe('run-failed');
    const wasm = connectHost({ createSession: gpu.create });
    await wasm.client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
    const before = wasm.backends.length;
    wasm.host.deviceLost('destroyed: unrelated');
    expectReference((await wasm.client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() }).done).outputs);
    expect(wasm.backends.length).toBe(before);
    expect(backends.every((b) => b.recovered === undefined)).toBe(true);
    expect(host.stats().backend?.backend).toBe('webgpu');
  });
});

describe('activity events', () => {
  it('say busy while a request runs and idle after it; a cancelled run is answered at once and stops at its next step', async () => {
    const { fetch, base } = folderFetch(TINY_BUNDLE);
    const { client, host } = connectHost({ fetch });
    registerRoundTrip(host);
    const events: EngineEvent[] = [];
    client.onEvent((e) => events.push(e));
    await client.loadBundle({ kind: 'url', baseUrl: base }).done;
    await nextIdle(client);
    expect(activityOf(events)).toEqual(['loadBundle', 'idle']);
    const W = 64;
    const image = new Uint8Array(W * W * 3).fill(128);
    const params = { type: 'roundtrip' as const, image, width: W, height: W, steps: 30, seed: 1, policy: { kind: 'greedy' as const } };
    // Tensors one full loop makes: the yardstick for "stopped at the next step".
    const c0 = host.tracker.created();
    await client.request({ ...params, image: image.slice(), loops: 1 }).done;
    const perLoop = host.tracker.created() - c0;
    await nextIdle(client);

    let cancelledAt = 0;
    let idleAt = 0;
    client.onActivity((a) => {
      if (a.running === null && cancelledAt > 0 && idleAt === 0) idleAt = performance.now();
    });
    const c1 = host.tracker.created();
    const h = client.request(
      { ...params, image: image.slice(), loops: 20 },
      {
        onPartial: () => {
          if (cancelledAt === 0) {
            cancelledAt = performance.now();
            h.cancel();
          }
        },
      },
    );
    expect((await engineFailure(h.done)).code).toBe('cancelled');
    await host.idle();
    for (let i = 0; i < 100 && idleAt === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(idleAt).toBeGreaterThan(0);
    // Nothing of the cancelled run reaches the client once it is answered, and the handler stopped within
    // the loop after the first (20 loops would make ~20x the tensors).
    const answered = events.findIndex((e) => e.type === 'error' && e.id === h.id);
    expect(answered).toBeGreaterThan(0);
    expect(events.slice(answered).filter((e) => (e.type === 'partial' || e.type === 'progress') && e.id === h.id)).toEqual([]);
    const made = host.tracker.created() - c1;
    expect(made).toBeGreaterThanOrEqual(perLoop);
    expect(made).toBeLessThan(2 * perLoop);
    console.log(`cancel → idle: ${(idleAt - cancelledAt).toFixed(0)} ms; tensors ${made} (one loop: ${perLoop})`);
    expect(host.tracker.live()).toBe(0);
    // The next request runs normally after the cancelled one's last step.
    expect((await client.request({ ...params, image: image.slice(), loops: 1 }).done).loops).toBe(1);
  }, 300_000);
});

describe('cancel during a long step', () => {
  it('answers the cancel and reports idle before the step ends; the next request starts after it', async () => {
    const gpu = fakeGpu();
    const { client, host } = connectHost({ createSession: gpu.create }, { ok: true, adapter: 'fake gpu' });
    await client.init('auto').done;
    await client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
    gpu.state.mode = 'slow'; // each run takes 1.5 s, as a big step on a slow GPU would
    const h = client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() });
    const cancelled = engineFailure(h.done);
    await new Promise<void>((resolve) => {
      const stop = client.onActivity((a) => a.running === 'runGraph' && (stop(), resolve()));
    });
    const idle = nextIdle(client).then(() => performance.now());
    h.cancel();
    expect((await cancelled).code).toBe('cancelled');
    const next = client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() });
    const idleAt = await idle;
    expect(gpu.state.slowDone).toBe(0); // idle came while the step was still running
    expectReference((await next.done).outputs);
    expect(gpu.state.slowDone).toBeGreaterThan(idleAt);
    await host.idle();
    expect(host.tracker.live()).toBe(0);
  });
});

describe('a bundle on another origin', () => {
  it("is refused without the user's yes (nothing fetched), loaded with it; same-origin URLs need none", async () => {
    const { fetch, base, requests } = folderFetch(FIXTURE_DIR);
    const { client } = connectHost({ fetch, origin: 'http://app.test' });
    const err = await engineFailure(client.loadBundle({ kind: 'url', baseUrl: base }).done);
    expect([err.code, err.message]).toEqual([
      'cross-origin',
      'http://bundles.test/b/: the bundle is on another origin (http://bundles.test) and loading it was not confirmed',
    ]);
    expect(requests).toEqual([]);
    expect((await client.loadBundle({ kind: 'url', baseUrl: base, allowCrossOrigin: true }).done).id).toBe('fixture-tiny');
    const same = connectHost({ fetch, origin: 'http://bundles.test' });
    expect((await same.client.loadBundle({ kind: 'url', baseUrl: base }).done).id).toBe('fixture-tiny');
  });
});
