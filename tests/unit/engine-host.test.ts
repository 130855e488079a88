// The worker's EngineHost behind a real MessageChannel and EngineClient, running the fixture on
// onnxruntime-web's WASM backend in Node: numbers vs PyTorch, leak counter, failed loads, cancel, fallback.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../../src/protocol/messages.ts';
import { int64Tensor } from '../../src/engine/vocab.ts';
import { adapterLabel, probeWebGpu, type GpuLike } from '../../src/worker/gpu.ts';
import type { WebGpuProbe } from '../../src/worker/backend.ts';
import { BAD_DIR, FIXTURE_DIR, folderFetch, readFolder, reference, referencePixels, engineFailure } from './engine-fixture.ts';
import { connectHost } from './worker-helpers.ts';

const connect = connectHost;

function expectClose(actual: TensorData, expected: { dims: number[]; data: number[] }, what: string): void {
  expect(actual.dims, what).toEqual(expected.dims);
  expect(actual.dtype).toBe('float32');
  const a = Array.from(actual.data as Float32Array);
  expect(a.length).toBe(expected.data.length);
  a.forEach((x, i) => expect(Math.abs(x - expected.data[i]), `${what}[${i}]: ${x} vs ${expected.data[i]}`).toBeLessThanOrEqual(1e-5));
}

const pixelFeeds = (): Record<string, TensorData> => {
  const dims = reference().pixel_values.dims;
  return { pixel_values: { dtype: 'float32', data: referencePixels(dims), dims } };
};

describe('EngineHost + EngineClient on onnxruntime-web WASM', () => {
  it('loads the fixture by URL, matches the PyTorch reference within 1e-5, and leaks no tensor', async () => {
    const { fetch, base } = folderFetch(FIXTURE_DIR);
    const { client, backends } = connect({ fetch });
    const phases = new Set<string>();
    const summary = await client.loadBundle({ kind: 'url', baseUrl: base }, (p) => phases.add(p.phase)).done;
    expect(summary.id).toBe('fixture-tiny');
    expect(summary.roles).toEqual(['scorer']);
    expect(summary.sessions).toEqual(['scorer/vision.onnx', 'scorer/text.onnx']);
    expect([...phases]).toEqual(['manifest', 'download', 'verify', 'sessions']);
    expect(backends.map((b) => [b.backend, b.adapter, b.reason])).toEqual([['wasm', '1 thread', 'no navigator.gpu in Node']]);

    const ref = reference();
    const image = await client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() }).done;
    expectClose(image.outputs.image_embeds, ref.image_embeds, 'image_embeds');
    const ids = int64Tensor(ref.input_ids.data, ref.input_ids.dims);
    const text = await client.request({ type: 'runGraph', target: { file: 'scorer/text.onnx' }, feeds: { input_ids: ids } }).done;
    expectClose(text.outputs.text_embeds, ref.text_embeds, 'text_embeds');
    const norms = Array.from({ length: 2 }, (_, r) =>
      Math.hypot(...Array.from(image.outputs.image_embeds.data as Float32Array).slice(r * 16, r * 16 + 16)),
    );
    norms.forEach((n) => expect(Math.abs(n - 1)).toBeLessThan(1e-5));

    const bad = await engineFailure(
      client.request({
        type: 'runGraph',
        target: { role: 'scorer.vision' },
        feeds: { pixel_values: { dtype: 'float32', data: new Float32Array(5), dims: [1, 5] } },
      }).done,
    );
    expect(bad.code).toBe('run-failed');
    expect(bad.message).toMatch(/^scorer\/vision\.onnx: /);
    const stats = await client.request({ type: 'stats' }).done;
    expect(stats.createdTensors).toBe(5); // 2 runs x (input + output) + the failed run's input
    expect(stats.liveTensors).toBe(0);
  });

  it('each broken bundle fails with a clear error and leaves the previous bundle usable', async () => {
    const { client, host } = connect();
    await client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
    const cases: [string, string, RegExp][] = [
      ['malformed-manifest', 'manifest-json', /^manifest\.json: is not valid JSON/],
      ['schema-error', 'manifest-schema', /files\[1\]\.sha256 must be 64 hex chars/],
      ['missing-file', 'missing-file', /^scorer\/text\.onnx: not in the selected folder/],
      ['sha-mismatch', 'sha256-mismatch', /^scorer\/vision\.onnx: sha256 mismatch/],
      ['not-onnx', 'not-onnx', /^scorer\/vision\.onnx: is not a valid ONNX model/],
    ];
    for (const [variant, code, message] of cases) {
      const err = await engineFailure(client.loadBundle({ kind: 'files', files: readFolder(join(BAD_DIR, variant)) }).done);
      expect([variant, err.code]).toEqual([variant, code]);
      expect(err.message).toMatch(message);
      expect(host.stats().bundleId).toBe('fixture-tiny');
      const out = await client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() }).done;
      expectClose(out.outputs.image_embeds, reference().image_embeds, `after ${variant}`);
    }
    expect(host.tracker.live()).toBe(0);
  });

  it('cancel stops a load mid-download; the previous bundle stays; queued requests cancel exactly', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const { fetch: plain, base } = folderFetch(FIXTURE_DIR, 1024);
    // The second load's vision.onnx stalls after its first chunk until the test cancels.
    let loads = 0;
    const fetch = async (url: string): Promise<Response> => {
      const res = await plain(url);
      if (!url.endsWith('vision.onnx') || ++loads < 2 || !res.body) return res;
      const reader = res.body.getReader();
      let first = true;
      const body = new ReadableStream<Uint8Array>({
        async pull(ctrl) {
          if (!first) await gate;
          first = false;
          const { done, value } = await reader.read();
          if (done) ctrl.close();
          else ctrl.enqueue(value);
        },
      });
      return new Response(body);
    };
    const { client, host } = connect({ fetch });
    await client.loadBundle({ kind: 'url', baseUrl: base }).done;
    let sawBytes!: () => void;
    const started = new Promise<void>((r) => (sawBytes = r));
    const load = client.loadBundle({ kind: 'url', baseUrl: base }, (p) => {
      if ((p.fileLoaded ?? 0) > 0) sawBytes();
    });
    const queued = client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() });
    const after = client.request({ type: 'stats' });
    await started;
    load.cancel();
    queued.cancel();
    release();
    expect((await engineFailure(load.done)).code).toBe('cancelled');
    expect((await engineFailure(queued.done)).code).toBe('cancelled');
    const stats = await after.done;
    expect(stats.bundleId).toBe('fixture-tiny');
    expect(stats.liveTensors).toBe(0);
    expect(stats.createdTensors).toBe(0); // the cancelled run never started
    await host.idle();
  });

  it('Auto takes WASM over a software fallback adapter and says why; WebGPU chosen by hand still uses it', async () => {
    const soft: WebGpuProbe = { ok: true, adapter: 'google swiftshader', fallback: true };
    const auto = connect({}, soft);
    const info = await auto.client.init('auto').done;
    expect(info.backend).toBe('wasm');
    expect(info.reason).toMatch(
      /only WebGPU adapter here \(google swiftshader\) is a software fallback adapter, slower than WASM; choose WebGPU/,
    );
    const forced = connect({}, soft);
    const chosen = await forced.client.init('webgpu').done;
    expect(chosen.backend).toBe('webgpu');
    expect(chosen.adapter).toBe('google swiftshader');
    const real = connect({}, { ok: true, adapter: 'NVIDIA H200', fallback: false });
    expect((await real.client.init('auto').done).backend).toBe('webgpu');
  });

  it('falls back to WASM when WebGPU sessions cannot be created, and honours a forced backend', async () => {
    // Node's onnxruntime-web has no WebGPU EP: a "found" adapter makes session creation fail for real.
    const gpu: WebGpuProbe = { ok: true, adapter: 'fake adapter' };
    const auto = connect({}, gpu);
    expect((await auto.client.init('auto').done).backend).toBe('webgpu');
    const summary = await auto.client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
    expect(summary.backend.backend).toBe('wasm');
    expect(summary.backend.reason).toMatch(/^WebGPU session creation failed for scorer\/vision\.onnx/);
    expect(auto.backends.map((b) => b.backend)).toEqual(['webgpu', 'wasm']);

    const forced = connect({}, gpu);
    await forced.client.init('webgpu').done;
    const err = await engineFailure(forced.client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done);
    expect(err.code).toBe('session-failed');
    expect(err.message).toMatch(/^scorer\/vision\.onnx: WebGPU session creation failed/);

    const none = connect();
    const unavailable = await engineFailure(none.client.init('webgpu').done);
    expect(unavailable.code).toBe('backend-unavailable');
    expect((await none.client.init('wasm').done).reason).toBeUndefined();
  });

  it('answers unknown request types and role paths with bad-request', async () => {
    const { client } = connect();
    const noBundle = await engineFailure(client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: {} }).done);
    expect(noBundle.code).toBe('no-bundle');
    await client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
    const role = await engineFailure(client.request({ type: 'runGraph', target: { role: 'encoder.vision' }, feeds: {} }).done);
    expect([role.code, role.message]).toEqual(['bad-request', "role 'encoder.vision' does not name a file of bundle fixture-tiny"]);
    const missing = await engineFailure(client.request({ type: 'runGraph', target: { file: 'scorer/vision.onnx' }, feeds: {} }).done);
    expect(missing.message).toBe('scorer/vision.onnx: missing input(s) pixel_values');
    const unknown = await engineFailure(client.request({ type: 'nope' } as never).done);
    expect(unknown.code).toBe('bad-request');
  });
});

describe('WebGPU probe', () => {
  const fakeGpu = (info: Record<string, string> | null, device = true): GpuLike => ({
    requestAdapter: async () =>
      info && {
        info,
        requestDevice: async () => {
          if (!device) throw new Error('device lost');
          return { destroy: () => undefined };
        },
      },
  });

  it('labels adapters, says which are software fallbacks, and explains why there is none', async () => {
    expect(await probeWebGpu(fakeGpu({ vendor: 'google', architecture: 'swiftshader', description: '' }))).toEqual({
      ok: true,
      adapter: 'google swiftshader',
      fallback: false,
    });
    // Chromium reports SwiftShader as a fallback adapter in GPUAdapterInfo (older browsers: on the adapter)
    const swiftshader = fakeGpu({ vendor: 'google', architecture: 'swiftshader' });
    const viaInfo: GpuLike = {
      requestAdapter: async () => ({
        ...(await swiftshader.requestAdapter())!,
        info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true },
      }),
    };
    const viaAdapter: GpuLike = { requestAdapter: async () => ({ ...(await swiftshader.requestAdapter())!, isFallbackAdapter: true }) };
    expect(await probeWebGpu(viaInfo)).toEqual({ ok: true, adapter: 'google swiftshader', fallback: true });
    expect(await probeWebGpu(viaAdapter)).toEqual({ ok: true, adapter: 'google swiftshader', fallback: true });
    expect(adapterLabel({ vendor: 'nvidia', description: 'NVIDIA H100' })).toBe('NVIDIA H100');
    expect(await probeWebGpu(undefined)).toEqual({ ok: false, reason: expect.stringMatching(/navigator\.gpu is not available/) });
    expect(await probeWebGpu(fakeGpu(null))).toEqual({ ok: false, reason: 'no WebGPU adapter available' });
    expect(await probeWebGpu(fakeGpu({}, false))).toEqual({ ok: false, reason: 'WebGPU device creation failed: device lost' });
  });
});
