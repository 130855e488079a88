/**
 * The Web Worker entry: the only place the UI's inference runs. onnxruntime-web's WebGPU build for WebGPU
 * sessions and its plain WASM build for WASM sessions (the WebGPU build's asyncify runtime is a 26.8 MB download,
 * the plain one 14.2 MB; bench/README.md), their wasm files served by the app under `<BASE_URL>ort/` (each build
 * fetches its runtime at its first session only), WebGPU probed via navigator.gpu, files cached with the
 * Cache API. WebGPU sessions run on a device this worker owns (GpuDeviceKeeper), so a lost device is seen
 * and replaced. Heartbeat pings are answered here, ahead of the request queue. Everything else lives in
 * EngineHost (src/worker/host.ts).
 */
// Before onnxruntime-web: records the WebAssembly memories ORT creates, so stats can report their size
// (shared with the bench worker; the endurance E2E reads it through the stats request).
import { wasmBytes } from './wasm-memory.ts';
import * as ortWebGpu from 'onnxruntime-web/webgpu';
import * as ortWasm from 'onnxruntime-web/wasm';
import type { BackendName } from '../engine/vocab.ts';
import type { OrtModule } from '../engine/tensors.ts';
import { cacheOnGpu } from '../engine/sessions.ts';
import { HEARTBEAT_PING, HEARTBEAT_PONG, isHeartbeat } from '../protocol/heartbeat.ts';
import { cacheApiStore } from './cache.ts';
import { GpuDeviceKeeper, gpuOf, probeWebGpu, type GpuFullAdapterLike } from './gpu.ts';
import { EngineHost } from './host.ts';
import { registerRoundTrip } from './handlers/roundtrip.ts';
import { registerRollouts } from './handlers/rollouts.ts';
import { registerCheckpointEval } from './handlers/checkpoint.ts';
import { registerTrain } from './handlers/train.ts';
import { registerTrainExport } from './handlers/train-export.ts';
import { registerBench } from './handlers/bench.ts';
import { registerWarmUp } from './handlers/warmup.ts';

const scope = globalThis as unknown as DedicatedWorkerGlobalScope;

for (const m of [ortWebGpu, ortWasm]) {
  m.env.wasm.wasmPaths = new URL(`${import.meta.env.BASE_URL}ort/`, scope.location.href).href;
  // ORT's warnings (e.g. shape ops placed on the CPU beside the WebGPU EP) are expected, not faults: log errors only.
  m.env.logLevel = 'error';
  m.env.wasm.proxy = false;
}
/** The ORT build that runs sessions on `backend`. */
const ortFor = (backend: BackendName | undefined): OrtModule => (backend === 'webgpu' ? ortWebGpu : ortWasm);
let backendInUse: () => BackendName | undefined = () => undefined;
/** The build of the sessions in use: the tensors fed to a session are made by that session's build. */
const ort = new Proxy({} as OrtModule, { get: (_, key) => Reflect.get(ortFor(backendInUse()), key) });

// Threads need SharedArrayBuffer, i.e. a cross-origin isolated page (COOP/COEP headers).
const maxWasmThreads = scope.crossOriginIsolated ? Math.max(1, Math.min(4, scope.navigator.hardwareConcurrency || 1)) : 1;

const gpu = gpuOf(scope.navigator);
// TypeScript's lib has no WebGPU types: the adapter is read through the keeper's structural types.
const devices = new GpuDeviceKeeper(gpu as { requestAdapter(): Promise<GpuFullAdapterLike | null> } | undefined);
const sessionOptions = { graphOptimizationLevel: 'all', logSeverityLevel: 3 } as const;

const host = new EngineHost({
  ort,
  post: (event, transfer) => scope.postMessage(event, transfer),
  probeWebGpu: () => probeWebGpu(gpu),
  maxWasmThreads,
  cache: cacheApiStore(scope.location.origin),
  origin: scope.location.origin,
  wasmMemoryBytes: wasmBytes,
  setWasmThreads: (n) => {
    ortWebGpu.env.wasm.numThreads = n;
    ortWasm.env.wasm.numThreads = n;
  },
  createSession: async (bytes, backend) =>
    ortFor(backend).InferenceSession.create(bytes, {
      ...sessionOptions,
      ...cacheOnGpu(backend),
      executionProviders: backend === 'webgpu' ? [{ name: 'webgpu', device: await devices.device() }] : ['wasm'],
    }),
});
backendInUse = () => host.backend()?.backend;
devices.onLost((reason) => host.deviceLost(reason));
registerRoundTrip(host);
registerRollouts(host);
registerCheckpointEval(host);
registerTrain(host);
registerTrainExport(host);
registerBench(host);
registerWarmUp(host);

// Fault injection for the E2E (tests/e2e/resilience-faults.spec.mjs reaches it with Playwright's
// worker.evaluate): destroys the device the WebGPU sessions run on, as a GPU reset or driver crash would.
Object.defineProperty(scope, '__uaeLoseGpuDevice', { value: () => devices.destroyCurrent() });

scope.addEventListener('message', (event: MessageEvent) => {
  if (isHeartbeat(event.data, HEARTBEAT_PING)) {
    scope.postMessage({ type: HEARTBEAT_PONG });
    return;
  }
  host.handle(event.data);
});
