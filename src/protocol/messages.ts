/**
 * The typed protocol between the UI (engine client) and the inference worker: one union per direction.
 * Tensors cross as typed arrays + dims (their buffers go in the transfer list), never as nested arrays.
 *
 * Extension point: a later feature adds one entry to `RequestSpecs` (params, partial, result) and the
 * request/event unions, the client's typing and the worker's handler registry follow from it.
 */
import type { BundleManifest } from '../engine/manifest.ts';
import type { BackendChoice, BackendName, BundleFileData, ErrorPayload, LoadedFileInfo, TensorData } from '../engine/vocab.ts';
import type { RoundTripSpec } from './roundtrip.ts';
import type { RolloutsSpec } from './rollouts.ts';
import type { CheckpointEvalSpec } from './checkpoint.ts';
import type { TrainExportSpec, TrainSpec } from './train.ts';
import type { BenchSpec } from './bench.ts';
import type { WarmUpReport } from '../engine/infer/warmup.ts';

// The engine's vocabulary, as the protocol carries it.
export type { BackendChoice, BackendName, BundleFileData, ErrorCode, ErrorPayload, LoadedFileInfo, TensorData } from '../engine/vocab.ts';

/**
 * Where a bundle comes from: a URL folder holding manifest.json, or files picked/dropped by the user. A URL
 * on another origin than the app's loads only with `allowCrossOrigin` (set once the user agreed).
 */
export type BundleSource = { kind: 'url'; baseUrl: string; allowCrossOrigin?: boolean } | { kind: 'files'; files: BundleFileData[] };

/** The backend in use, as the header shows it ("WebGPU · swiftshader", "WASM · 2 threads"). */
export interface BackendInfo {
  backend: BackendName;
  /** Human-readable adapter: GPU adapter description/vendor/architecture for WebGPU, "<n> threads" for WASM. */
  adapter: string;
  /** What the user asked for. */
  requested: BackendChoice;
  /** WASM threads in use (1 when not cross-origin isolated). */
  wasmThreads: number;
  /** Why the engine fell back to WASM (no navigator.gpu, no adapter, session creation failed, device lost). */
  reason?: string;
  /** Set after the engine recovered from a lost WebGPU device: what happened and what it did. */
  recovered?: string;
}

/** Result of loadBundle: what is now loaded (the manifest is the validated one). */
export interface BundleSummary {
  id: string;
  name: string;
  version: string;
  manifest: BundleManifest;
  files: LoadedFileInfo[];
  /** Names of roles present in the manifest: 'encoder', 'decoder', 'scorer', ... */
  roles: string[];
  /** Files whose ORT session was created at load (the rest are created on first use). */
  sessions: string[];
  backend: BackendInfo;
}

/** Which graph runGraph runs: a bundle file path, or a dotted role path such as 'scorer.vision'. */
export type GraphTarget = { file: string } | { role: string };

/** Parameters of the generic runGraph request (diagnostics and tests). */
export interface RunGraphParams {
  target: GraphTarget;
  feeds: Record<string, TensorData>;
  /** Output names to fetch; all outputs when omitted. */
  fetches?: string[];
}

/** Engine diagnostics: the tensor leak counter (0 between requests), open sessions, backend. */
export interface EngineStats {
  liveTensors: number;
  createdTensors: number;
  /** Run outputs kept on the GPU for the next run instead of read back (WebGPU key/value caches; 0 on WASM). */
  deviceKeptTensors: number;
  bundleId?: string;
  sessions: string[];
  backend?: BackendInfo;
  /** Bytes of the worker's WebAssembly memories (ORT's heap), where the worker can tell. */
  wasmMemoryBytes?: number;
}

/**
 * Registry of request kinds: params (besides `type` and `id`), partial-result payload, result payload.
 * A new kind is added here (additively) with its spec in its own protocol module (e.g. roundtrip.ts).
 */
export interface RequestSpecs {
  init: { params: { backend: BackendChoice; wasmThreads?: number }; partial: never; result: BackendInfo };
  loadBundle: { params: { source: BundleSource }; partial: never; result: BundleSummary };
  cancel: { params: { targetId: string }; partial: never; result: { cancelled: boolean } };
  runGraph: { params: RunGraphParams; partial: never; result: { outputs: Record<string, TensorData> } };
  stats: { params: Record<never, never>; partial: never; result: EngineStats };
  roundtrip: RoundTripSpec;
  rollouts: RolloutsSpec;
  checkpointEval: CheckpointEvalSpec;
  train: TrainSpec;
  trainExport: TrainExportSpec;
  bench: BenchSpec;
  /**
   * Warm-up rounds on the loaded bundle (src/engine/infer/warmup.ts), sent by the app after a load: pre-empted
   * (answered 'cancelled') by any request that arrives while it runs, so nobody waits on it.
   */
  warmUp: {
    params: { budgetMs?: number; minMs?: number; maxRounds?: number; settle?: number; window?: number };
    partial: never;
    result: WarmUpReport;
  };
}

/** Name of a request kind. */
export type RequestType = keyof RequestSpecs;
/** A request body as the caller writes it (the client adds the id). */
export type RequestBody<K extends RequestType> = { type: K } & RequestSpecs[K]['params'];
/** A request as it travels to the worker. */
export type RequestOf<K extends RequestType> = RequestBody<K> & { id: string };
/** Result payload of a request kind. */
export type ResultOf<K extends RequestType> = RequestSpecs[K]['result'];
/** Partial-result payload of a request kind. */
export type PartialOf<K extends RequestType> = RequestSpecs[K]['partial'];

/** UI → worker. */
export type EngineRequest = { [K in RequestType]: RequestOf<K> }[RequestType];

/** Phases progress is reported in; units: bytes for 'download'/'verify', files for 'sessions', steps for 'run'. */
export type ProgressPhase = 'manifest' | 'download' | 'verify' | 'sessions' | 'run';

/** Progress of request `id`: overall loaded/total, and for downloads the current file's bytes. */
export interface ProgressEvent {
  type: 'progress';
  id: string;
  phase: ProgressPhase;
  loaded: number;
  total: number;
  file?: string;
  fileLoaded?: number;
  fileTotal?: number;
}

/** A partial result of request `id` (streamed tokens, flow steps, rollouts...). */
export type PartialEvent = {
  [K in RequestType]: { type: 'partial'; id: string; request: K; value: PartialOf<K> };
}[RequestType];

/** The final result of request `id`; nothing else follows for that id. */
export type ResultEvent = {
  [K in RequestType]: { type: 'result'; id: string; request: K; value: ResultOf<K> };
}[RequestType];

/** Request `id` failed (or was cancelled: code 'cancelled'); nothing else follows for that id. */
export interface ErrorEvent {
  type: 'error';
  id: string;
  error: ErrorPayload;
}

/** Broadcast (no id) whenever the backend in use is decided or changes (init, fallback at load). */
export type BackendEvent = { type: 'backend' } & BackendInfo;

/**
 * Broadcast (no id) when the worker starts or finishes a request: `running` is the request kind in
 * progress (null: idle), `queued` how many wait behind it. Cancel is done when `running` goes null.
 */
export interface ActivityEvent {
  type: 'activity';
  running: RequestType | null;
  queued: number;
}

/** Worker → UI. */
export type EngineEvent = ProgressEvent | PartialEvent | ResultEvent | ErrorEvent | BackendEvent | ActivityEvent;
