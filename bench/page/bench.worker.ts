/**
 * The bench worker: the app worker's ORT setup (the onnxruntime-web/webgpu build for WebGPU, the plain
 * onnxruntime-web/wasm build for WASM, wasm files under <base>ort/, no proxy), then src/bench/browser.ts.
 * Posts {type:'log'} lines and one {type:'done'} or {type:'error'}. Params of kind 'train' time the stage-2 trainer
 * instead (runBrowserTrainBench), with jax-js's worker pool sized to the run's threads; of kind 'train-fixture', the
 * GRPO-update parity fixture on jax-js WASM and WebGPU (runBrowserTrainFixture).
 * JS heap numbers come from the page (performance.measureUserAgentSpecificMemory), asked by message.
 */
import { wasmBytes } from '../../src/worker/wasm-memory.ts';
import * as ortWebGpu from 'onnxruntime-web/webgpu';
import * as ortWasm from 'onnxruntime-web/wasm';
import {
  runBrowserBench,
  runBrowserTrainBench,
  type BrowserBenchParams,
  type BrowserTrainParams,
  type BrowserTrainReport,
} from '../../src/bench/browser.ts';
import { gpuOf, probeWebGpu } from '../../src/worker/gpu.ts';
import {
  runBrowserTrainFixture,
  type BrowserTrainFixtureParams,
  type BrowserTrainFixtureReport,
} from '../../src/bench/train-fixture-browser.ts';

const scope = globalThis as unknown as DedicatedWorkerGlobalScope & { gc?: () => void };
for (const m of [ortWebGpu, ortWasm]) {
  m.env.wasm.wasmPaths = new URL(`${import.meta.env.BASE_URL}ort/`, scope.location.href).href;
  m.env.logLevel = 'error';
  m.env.wasm.proxy = false;
}

const say = (line: string): void => scope.postMessage({ type: 'log', line });

let heapReply: ((bytes: number | undefined) => void) | undefined;
const jsHeapBytes = (): Promise<number | undefined> => {
  scope.gc?.();
  return new Promise((resolve) => {
    heapReply = resolve;
    scope.postMessage({ type: 'heap?' });
  });
};

scope.addEventListener('message', (event: MessageEvent) => {
  const msg = event.data as {
    type: string;
    params?: BrowserBenchParams | BrowserTrainParams | BrowserTrainFixtureParams;
    bytes?: number;
    source?: string;
  };
  if (msg.type === 'heap') {
    heapReply?.(msg.bytes);
    heapReply = undefined;
    return;
  }
  if (msg.type !== 'run' || !msg.params) return;
  const params = msg.params;
  if ('kind' in params) void reply(() => (params.kind === 'train' ? runTrain(params) : runFixture(params)));
  else
    void reply(async () => {
      const threads = `${params.threads} thread${params.threads === 1 ? '' : 's'}`;
      return runBrowserBench(params, {
        ort: params.backend === 'webgpu' ? ortWebGpu : ortWasm,
        adapter: params.backend === 'webgpu' ? await gpuAdapter() : threads,
        crossOriginIsolated: scope.crossOriginIsolated,
        wasmBytes,
        jsHeapBytes,
        jsHeapSource: msg.source ?? 'none',
        say,
      });
    });
});

/** Posts `work`'s report as {type:'done'}, or its failure as {type:'error'} with the stack. */
async function reply(work: () => Promise<unknown>): Promise<void> {
  try {
    scope.postMessage({ type: 'done', report: await work() });
  } catch (e) {
    scope.postMessage({ type: 'error', message: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
  }
}

/** The WebGPU adapter's label; throws when there is none. */
async function gpuAdapter(): Promise<string> {
  const probe = await probeWebGpu(gpuOf(scope.navigator));
  if (!probe.ok) throw new Error(`WebGPU unavailable: ${probe.reason}`);
  return probe.adapter;
}

/** The trainer section: jax-js sizes its WASM worker pool by navigator.hardwareConcurrency, so it is set to the run's threads first. */
function runTrain(params: BrowserTrainParams): Promise<BrowserTrainReport> {
  Object.defineProperty(scope.navigator, 'hardwareConcurrency', { value: params.threads, configurable: true });
  return runBrowserTrainBench(params, {
    ort: ortWasm,
    crossOriginIsolated: scope.crossOriginIsolated,
    jaxThreads: scope.navigator.hardwareConcurrency,
    say,
  });
}

/** The parity fixture on jax-js's devices; the adapter is named when WebGPU is one of them. */
async function runFixture(params: BrowserTrainFixtureParams): Promise<BrowserTrainFixtureReport> {
  const adapter = params.devices.includes('webgpu') ? await gpuAdapter() : undefined;
  return runBrowserTrainFixture(params, { say, adapter });
}

scope.postMessage({ type: 'ready' });
