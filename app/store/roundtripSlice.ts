// The round-trip slice (`runs.roundtrip`): settings, the chosen input, the run on screen, runs opened for
// comparison. Plain data only (typed arrays included); the history list itself is `runs.items`.
import type { DecodingPolicy } from '../../src/engine/infer/index.ts';
import type { RoundTripLoop } from '../../src/protocol/roundtrip.ts';
import type { Scene } from '../../src/shapes/scene.ts';
import type { AppError } from './types';

/** Round-trip settings the user edits (the seed lives in `config.seed`). Shareable via the URL. */
export interface RtSettings {
  /** 1…20. */
  loops: number;
  decoding: 'greedy' | 'sample';
  temperature: number;
  topP: number;
  /** Flow steps; null = the bundle's default. */
  steps: number | null;
}

export const DEFAULT_RT_SETTINGS: RtSettings = { loops: 3, decoding: 'greedy', temperature: 1, topP: 1, steps: null };

/** RGBA pixels for display (the original image, scaled to fit ≤ 256 px). */
export interface RgbaImage {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

/** How the input arrived. */
export type RtInputKind = 'file' | 'drop' | 'paste' | 'gallery' | 'random' | 'link';

/** The image a round trip starts from: the original (for display) and the model's view of it. */
export interface RtInput {
  kind: RtInputKind;
  /** File name or scene name. */
  label: string;
  /** Set for Shapes scenes: scene = sampleScene(sceneSeed); enables attribute scores. */
  sceneSeed?: number;
  scene?: Scene;
  /** Size of the source image in px. */
  sourceWidth: number;
  sourceHeight: number;
  preview: RgbaImage;
  /** The model's input: uint8 RGB [height,width,3]. */
  modelView: Uint8Array;
  width: number;
  height: number;
  /** How the model view was made, in words. */
  resize: string;
  /** The cover crop in source fractions (x, y, w, h), for the box drawn on the original; absent when nothing is cut (and for scenes). */
  crop?: [number, number, number, number];
}

/** What a run used: enough to reproduce it. */
export interface RtRunSettings {
  loops: number;
  policy: DecodingPolicy;
  steps: number;
  seed: number;
}

export type RtRunStatus = 'running' | 'saving' | 'finished' | 'cancelled' | 'failed';

/** One round trip, live or stored. */
export interface RtRun {
  id: string;
  startedAt: number;
  finishedAt: number | null;
  status: RtRunStatus;
  settings: RtRunSettings;
  bundle: { id: string; name: string; version: string };
  /** The backend label at the start, e.g. "WebGPU · swiftshader". */
  backend: string;
  input: RtInput;
  loops: RoundTripLoop[];
  error: AppError | null;
}

/** Progress inside the running loop of run `runId`, folded from the worker's streamed events (not stored with the run). */
export interface RtLive {
  runId: string;
  /** The running loop (1-based). */
  loop: number;
  phase: 'caption' | 'flow';
  /** The caption so far (the whole caption once the flow runs) and its content tokens. */
  text: string;
  tokens: number;
  /** Flow steps done (0 while captioning) of `steps`. */
  step: number;
  steps: number;
  /** This loop's latest preview (uint8 RGB, the decoder's x0 estimate), null before the first. */
  preview: Uint8Array | null;
  /** The flow step that preview is from (0: none yet). */
  previewStep: number;
}

export interface RoundTripState {
  settings: RtSettings;
  input: RtInput | null;
  /** Set while an image is being decoded. */
  inputBusy: boolean;
  /** The run on screen: the live one, or one opened from the history. */
  current: RtRun | null;
  /** Progress inside the running loop of the live run; null when no loop is running. */
  live: RtLive | null;
  /** Ids (≤ 2) of stored runs ticked for side-by-side comparison. */
  compare: string[];
  /** Stored runs read back from IndexedDB, by id. */
  opened: Record<string, RtRun>;
  /** False until the stored history has been read once. */
  historyLoaded: boolean;
}

export const initialRoundTrip: RoundTripState = {
  settings: DEFAULT_RT_SETTINGS,
  input: null,
  inputBusy: false,
  current: null,
  live: null,
  compare: [],
  opened: {},
  historyLoaded: false,
};
