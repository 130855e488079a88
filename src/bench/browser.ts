/**
 * The benchmark as the browser runs it, inside a Web Worker like the app's engine: the bundle fetched and
 * sha256-checked by the engine's loader, sessions on onnxruntime-web's WASM (1 or more threads) or WebGPU
 * EP, every stage of stages.ts, optionally the transformers.js peer, and a memory soak of N one-loop round
 * trips reporting JS heap and WASM memory before and after. Browser objects come in as `deps`.
 */
import { bundleFile, loadBundleFromUrl, startBundleFromUrl } from '../engine/bundle.ts';
import { deferredAtLoad } from '../engine/roles.ts';
import type { InferenceSession } from 'onnxruntime-web';
import { createInferContext, type InferContext } from '../engine/infer/index.ts';
import { BundleSessions, ortSessionCreator } from '../engine/sessions.ts';
import { TensorTracker, type OrtModule } from '../engine/tensors.ts';
import type { BackendName } from '../protocol/messages.ts';
import { resolveImage } from '../engine/rollouts/index.ts';
import { runRoundTripJob } from '../engine/roundtrip/index.ts';
import { runPeer, type PeerResult } from './peer.ts';
import { gpuKvSessionOptions } from './raw-decode.ts';
import { kvLayoutOf } from '../engine/kv-layout.ts';
import { firstResults, firstResultsLine, type FirstResults, type FirstResultsMode } from './first-results.ts';
import { runStages, type OpenedEngine, type StageResult } from './stages.ts';
import type { Repeats } from './timing.ts';
import { startTrainDevice } from '../engine/train/device.ts';
import { disposeTrainPrograms } from '../engine/train/update.ts';
import { timeTrainSteps, type TrainBenchSettings, type TrainBenchTiming } from './train.ts';

/** What one browser run does (read from the bench page's URL). */
export interface BrowserBenchParams {
  backend: BackendName;
  threads: number;
  repeats: Repeats;
  slowRepeats: Repeats;
  loadRepeats: Repeats;
  stages?: string[];
  /** Time transformers.js on the same ORT module (model folder under `peerRoot`). */
  peer: boolean;
  peerRoot: string;
  /** One-loop round trips of the memory soak; 0 = none. */
  memoryRoundTrips: number;
  /** URL of the bundle folder (holding manifest.json). */
  bundleUrl: string;
  /** Only the first results in this fresh page (src/bench/first-results.ts), cold or after the app's warm-up. */
  firstResults?: FirstResultsMode;
}

/** Memory readings in bytes (undefined where the browser does not expose a number). */
export interface MemorySample {
  jsHeap: number | undefined;
  wasm: number;
  /** ORT tensors the engine holds (0 between runs). */
  liveTensors: number;
}

/** The memory soak's result. */
export interface MemoryReport {
  roundTrips: number;
  before: MemorySample;
  /** After half the round trips, to tell a one-off step from steady growth. */
  middle: MemorySample;
  after: MemorySample;
  /** (after − before) / before × 100. */
  jsHeapGrowthPct: number | undefined;
  wasmGrowthPct: number;
  ms: number;
  /** Where the JS heap number comes from. */
  jsHeapSource: string;
}

/** One browser backend's report. */
export interface BrowserBenchReport {
  backend: string;
  runtime: string;
  adapter: string;
  crossOriginIsolated: boolean;
  stages: StageResult[];
  peer?: PeerResult;
  memory?: MemoryReport;
  firstResults?: FirstResults[];
}

/** What the worker hands in. */
export interface BrowserDeps {
  ort: OrtModule;
  /** Adapter label ("google swiftshader", "2 threads"). */
  adapter: string;
  crossOriginIsolated: boolean;
  /** Bytes of every WebAssembly.Memory the page created. */
  wasmBytes(): number;
  /** JS heap bytes after a full GC where the browser can say; undefined otherwise. */
  jsHeapBytes(): Promise<number | undefined>;
  jsHeapSource: string;
  say(line: string): void;
}

/** Returns a WebGPU session of the encoder's merged decoder whose present.* outputs stay in GPU buffers. */
async function gpuKvDecoder(ort: OrtModule, ctx: InferContext, files: Map<string, Uint8Array>): Promise<InferenceSession> {
  const role = ctx.manifest.roles.encoder;
  const bytes = role && files.get(role.decoder);
  if (!role || !bytes) throw new Error('bench: the bundle has no encoder decoder graph');
  const layout = kvLayoutOf((ctx.manifest.io[role.decoder]?.inputs ?? []).map((t) => t.name));
  return ort.InferenceSession.create(bytes, gpuKvSessionOptions(role.numLayers, layout));
}

function growth(before: number | undefined, after: number | undefined): number | undefined {
  return before !== undefined && after !== undefined && before > 0 ? ((after - before) / before) * 100 : undefined;
}

/** Returns the report of one browser backend's run. */
export async function runBrowserBench(p: BrowserBenchParams, deps: BrowserDeps): Promise<BrowserBenchReport> {
  const { ort } = deps;
  if (p.backend === 'wasm') ort.env.wasm.numThreads = p.threads;
  const create = ortSessionCreator(ort);
  let bundleBytes = new Map<string, Uint8Array>();
  const open = async (): Promise<OpenedEngine> => {
    // As the app's worker loads: files a round trip does not run are left for their first use, and each session is
    // created as soon as its file is in.
    const load = await startBundleFromUrl(p.bundleUrl, { defer: deferredAtLoad });
    const sessions = await BundleSessions.open(load, create, { backend: p.backend, allowFallback: false });
    const { bundle } = sessions;
    bundleBytes = bundle.files;
    const ctx = createInferContext({ ort, tracker: new TensorTracker(), sessions, bundle });
    return { ctx, release: () => sessions.release() };
  };
  const version = ort.env.versions.web ?? ort.env.versions.common ?? '?';
  const runtime =
    p.backend === 'wasm'
      ? `onnxruntime-web ${version} WASM, ${p.threads} thread${p.threads === 1 ? '' : 's'}`
      : `onnxruntime-web ${version} WebGPU EP`;
  const base = { backend: p.backend, runtime, adapter: deps.adapter, crossOriginIsolated: deps.crossOriginIsolated };
  if (p.firstResults) {
    const probe = await firstResults(open, { mode: p.firstResults, sceneSeed: 7 });
    deps.say(firstResultsLine(probe));
    return { ...base, stages: [], firstResults: [probe] };
  }
  const { results, engine } = await runStages(open, {
    repeats: p.repeats,
    slowRepeats: p.slowRepeats,
    loadRepeats: p.loadRepeats,
    only: p.stages,
    createSession: (bytes) => create(bytes, p.backend),
    gpuKvDecoder: p.backend === 'webgpu' ? (ctx) => gpuKvDecoder(ort, ctx, bundleBytes) : undefined,
    onStage: (r) => deps.say(`${r.label}: median ${r.timing.median.toFixed(1)} ms`),
  });
  const report: BrowserBenchReport = { ...base, stages: results };
  try {
    if (p.memoryRoundTrips > 0) report.memory = await soak(engine, p.memoryRoundTrips, deps);
    if (p.peer) {
      report.peer = await runPeer(ort, engine.ctx, {
        repeats: p.repeats,
        sceneSeeds: [7, 11, 23, 42],
        modelRoot: p.peerRoot,
        sessionOptions: { executionProviders: [p.backend] },
      });
      deps.say(`transformers.js: median ${report.peer.timing.median.toFixed(1)} ms, ours ${report.peer.oursTiming.median.toFixed(1)} ms`);
    }
  } finally {
    await engine.release();
  }
  return report;
}

/** Returns memory before, halfway and after `n` one-loop round trips (scene i, seed i) in this page. */
async function soak(engine: OpenedEngine, n: number, deps: BrowserDeps): Promise<MemoryReport> {
  const { ctx } = engine;
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  const steps = ctx.manifest.defaults.flowSteps;
  const sample = async (): Promise<MemorySample> => ({
    jsHeap: await deps.jsHeapBytes(),
    wasm: deps.wasmBytes(),
    liveTensors: ctx.tracker.live(),
  });
  const trip = async (i: number): Promise<void> => {
    const input = resolveImage({ kind: 'scene', seed: 1000 + (i % 50) }, W, H);
    await runRoundTripJob(ctx, {
      image: input.image,
      width: W,
      height: H,
      loops: 1,
      steps,
      seed: i,
      policy: { kind: 'greedy' },
      scene: input.scene ?? undefined,
    });
  };
  // Two warm-up trips so one-off allocations (arena growth, lazy kernels) land before the baseline.
  await trip(0);
  await trip(1);
  const before = await sample();
  const t0 = performance.now();
  let middle = before;
  for (let i = 0; i < n; i++) {
    await trip(i);
    if (i === Math.floor(n / 2) - 1) middle = await sample();
    if ((i + 1) % 50 === 0) deps.say(`memory soak: ${i + 1}/${n} round trips`);
  }
  const ms = performance.now() - t0;
  const after = await sample();
  return {
    roundTrips: n,
    before,
    middle,
    after,
    ms,
    jsHeapSource: deps.jsHeapSource,
    jsHeapGrowthPct: growth(before.jsHeap, after.jsHeap),
    wasmGrowthPct: growth(before.wasm, after.wasm) ?? 0,
  };
}

/** What one browser trainer run does: the bench's trainer section on WASM (read from the bench page's URL). */
export interface BrowserTrainParams {
  kind: 'train';
  /** ORT's WASM threads; the worker gives jax-js's worker pool the same count. */
  threads: number;
  bundleUrl: string;
  settings: TrainBenchSettings;
}

/** A browser trainer run's report. */
export interface BrowserTrainReport extends TrainBenchTiming {
  runtime: string;
  crossOriginIsolated: boolean;
}

/**
 * Times the stage-2 trainer in this worker as the app's Train live runs it (src/worker/handlers/train.ts): the
 * bundle's sessions on ORT WASM with `threads` threads, policy sessions from BundleSessions.createSession, jax-js on
 * the gradient device WASM. `jaxThreads` is the size of jax-js's worker pool (navigator.hardwareConcurrency there).
 */
export async function runBrowserTrainBench(
  p: BrowserTrainParams,
  deps: { ort: OrtModule; crossOriginIsolated: boolean; jaxThreads: number; say(line: string): void },
): Promise<BrowserTrainReport> {
  const { ort } = deps;
  ort.env.wasm.numThreads = p.threads;
  const bundle = await loadBundleFromUrl(p.bundleUrl);
  const sessions = await BundleSessions.open(bundle, ortSessionCreator(ort), { backend: 'wasm', allowFallback: false });
  try {
    const { device } = await startTrainDevice('wasm', 'wasm');
    const ctx = createInferContext({ ort, tracker: new TensorTracker(), sessions, bundle });
    const refPath = ctx.manifest.roles.referenceEncoder?.decoder;
    const referenceGraph = refPath ? await bundleFile(bundle, refPath) : undefined;
    if (!referenceGraph) throw new Error(`bench: bundle ${ctx.manifest.id} has no referenceEncoder decoder graph`);
    const timing = await timeTrainSteps({ ctx, referenceGraph, createSession: (m) => sessions.createSession(m) }, p.settings, deps.say);
    const version = ort.env.versions.web ?? ort.env.versions.common ?? '?';
    const t = (n: number): string => `${n} thread${n === 1 ? '' : 's'}`;
    const runtime = `onnxruntime-web ${version} WASM ${t(p.threads)}, jax-js ${device} ${t(deps.jaxThreads)}`;
    return { ...timing, runtime, crossOriginIsolated: deps.crossOriginIsolated };
  } finally {
    disposeTrainPrograms();
    await sessions.release();
  }
}
