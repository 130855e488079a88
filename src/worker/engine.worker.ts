/**
 * The Web Worker entry: the only place the UI's inference runs. onnxruntime-web's WebGPU build, its wasm
 * files served by the app under `<BASE_URL>ort/`, WebGPU probed via navigator.gpu, files cached with the
 * Cache API. Everything else lives in EngineHost (src/worker/host.ts).
 */
import * as ort from 'onnxruntime-web/webgpu';
import { cacheApiStore } from './cache.ts';
import { gpuOf, probeWebGpu } from './gpu.ts';
import { EngineHost } from './host.ts';
import { registerRoundTrip } from './handlers/roundtrip.ts';
import { registerRollouts } from './handlers/rollouts.ts';
import { registerCheckpointEval } from './handlers/checkpoint.ts';

const scope = globalThis as unknown as DedicatedWorkerGlobalScope;

ort.env.wasm.wasmPaths = new URL(`${import.meta.env.BASE_URL}ort/`, scope.location.href).href;
// ORT's warnings (e.g. shape ops placed on the CPU beside the WebGPU EP) are expected, not faults: log errors only.
ort.env.logLevel = 'error';
ort.env.wasm.proxy = false;

// Threads need SharedArrayBuffer, i.e. a cross-origin isolated page (COOP/COEP headers).
const maxWasmThreads = scope.crossOriginIsolated ? Math.max(1, Math.min(4, scope.navigator.hardwareConcurrency || 1)) : 1;

const host = new EngineHost({
  ort,
  post: (event, transfer) => scope.postMessage(event, transfer),
  probeWebGpu: () => probeWebGpu(gpuOf(scope.navigator)),
  maxWasmThreads,
  cache: cacheApiStore(scope.location.origin),
});
registerRoundTrip(host);
registerRollouts(host);
registerCheckpointEval(host);

scope.addEventListener('message', (event: MessageEvent) => host.handle(event.data));
