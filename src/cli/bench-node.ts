/**
 * The Node backends of `uae bench`: onnxruntime-web's WASM build (what `uae` and the unit tests run) and
 * native onnxruntime-node on the same ONNX files (the CPU reference). Both open the bundle with the engine's
 * own loader and BundleSessions; only the session creator differs.
 */
import { cpus, release, type } from 'node:os';
import { createRequire } from 'node:module';
import type { InferenceSession } from 'onnxruntime-web';
import { createInferContext } from '../engine/infer/index.ts';
import { ortSessionCreator, type SessionCreator } from '../engine/sessions.ts';
import type { OrtModule } from '../engine/tensors.ts';
import type { OpenedEngine } from '../bench/stages.ts';
import { CliError, openBundleDir } from './io.ts';
import { deferredAtLoad } from '../engine/roles.ts';

/** The Node backends. */
export const NODE_BACKENDS = ['node-wasm', 'node-native'] as const;

/** A Node backend name. */
export type NodeBackend = (typeof NODE_BACKENDS)[number];

/** An ORT module ready for the bench, with a description of what it is. */
export interface NodeRuntime {
  ort: OrtModule;
  create: SessionCreator;
  /** "onnxruntime-web 1.30.0 WASM, 1 thread" / "onnxruntime-node 1.30.0 CPU EP, 1 intra-op thread". */
  description: string;
  version: string;
  /** The same provider and threads for transformers.js's sessions. */
  peerSessionOptions: { executionProviders: string[]; intraOpNumThreads?: number };
}

/** Returns onnxruntime-web (WASM, `threads` threads) or onnxruntime-node (CPU EP, `threads` intra-op threads). */
export async function nodeRuntime(backend: NodeBackend, threads: number): Promise<NodeRuntime> {
  if (backend === 'node-wasm') {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    const version = ort.env.versions.web ?? ort.env.versions.common ?? '?';
    return {
      ort,
      create: ortSessionCreator(ort),
      version,
      peerSessionOptions: { executionProviders: ['wasm'] },
      description: `onnxruntime-web ${version} WASM, ${threads} thread${threads === 1 ? '' : 's'}`,
    };
  }
  let native: OrtModule;
  try {
    // onnxruntime-node shares onnxruntime-common's API (Tensor, InferenceSession) with onnxruntime-web.
    native = createRequire(import.meta.url)('onnxruntime-node') as OrtModule;
  } catch (e) {
    throw new CliError(`onnxruntime-node could not be loaded (${e instanceof Error ? e.message : String(e)}); run npm install`);
  }
  const version = native.env.versions.node ?? native.env.versions.common ?? '?';
  const create: SessionCreator = (bytes) =>
    native.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      // With more than one thread, each session's pool spins between runs by default and the pools of the bundle's
      // sessions take the 2 cores from each other: measured on 2 cores, a one-loop round trip 142 ms spinning, 53 ms
      // not (GRPO group 591 / 267 ms; 1 thread 45 / 243 ms). The native reference runs at its best.
      ...(threads > 1 ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    } as InferenceSession.SessionOptions);
  return {
    ort: native,
    create,
    version,
    peerSessionOptions: { executionProviders: ['cpu'], intraOpNumThreads: threads },
    description: `onnxruntime-node ${version} CPU EP, ${threads} intra-op thread${threads === 1 ? '' : 's, no spinning'}`,
  };
}

/**
 * Returns an opener of the bundle in `dir` on `rt`, loaded as the app's worker loads it: the files a round trip
 * runs read and sha256-checked with their sessions created, the rest (checkpoints, reference encoder) on first use.
 */
export function nodeOpener(dir: string, rt: NodeRuntime): () => Promise<OpenedEngine> {
  return async () => {
    const { ort, bundle, sessions, tracker } = await openBundleDir(dir, rt, deferredAtLoad);
    const ctx = createInferContext({ ort, tracker, sessions, bundle });
    return { ctx, release: () => sessions.release() };
  };
}

/** What the machine is: CPU model, cores, OS, Node. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  os: string;
  node: string;
}

/** Returns this machine's CPU model, core count, OS and Node version. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return { cpu: list[0]?.model.trim() ?? 'unknown', cores: list.length, os: `${type()} ${release()}`, node: process.version };
}
