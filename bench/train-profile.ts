/**
 * Where one stage-2 step's ORT time goes, per graph: the trainer of `uae train` on the shipped bundle (the shipped
 * preset, 1 warm-up step, then 1 step profiled), every session's `run` timed and summed by bundle path.
 * Usage: node --import tsx bench/train-profile.ts [wasm|native]  (onnxruntime-web WASM or onnxruntime-node, 1 thread)
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeRuntime } from '../src/cli/bench-node.ts';
import { loadBundleDir } from '../src/cli/io.ts';
import { createInferContext } from '../src/engine/infer/index.ts';
import { BundleSessions, type SessionCreator } from '../src/engine/sessions.ts';
import { TensorTracker } from '../src/engine/tensors.ts';
import { initJaxNode } from '../src/engine/train/node.ts';
import { removeOrtWorkerGlobal } from '../src/engine/train/node-worker.ts';
import { timeTrainSteps, TRAIN_BENCH_DEFAULTS } from '../src/bench/train.ts';

const which = process.argv[2] === 'native' ? 'node-native' : 'node-wasm';
await initJaxNode();
const rt = await nodeRuntime(which, 1);
const bundle = await loadBundleDir(join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'models', 'uae-shapes'));
const byBytes = new Map<unknown, string>([...bundle.files.entries()].map(([p, b]) => [b, p]));
const totals = new Map<string, { ms: number; n: number }>();
const create: SessionCreator = async (bytes, b) => {
  const s = await rt.create(bytes, b);
  const label = byBytes.get(bytes) ?? 'policy (rebuilt)';
  const run = s.run.bind(s);
  (s as { run: unknown }).run = async (...args: unknown[]) => {
    const t = performance.now();
    try {
      return await (run as (...a: unknown[]) => Promise<unknown>)(...args);
    } finally {
      const e = totals.get(label) ?? { ms: 0, n: 0 };
      e.ms += performance.now() - t;
      e.n++;
      totals.set(label, e);
    }
  };
  return s;
};
const sessions = await BundleSessions.open(bundle, create, { backend: 'wasm', allowFallback: false });
removeOrtWorkerGlobal();
const ctx = createInferContext({ ort: rt.ort, tracker: new TensorTracker(), sessions, bundle });
const refPath = ctx.manifest.roles.referenceEncoder?.decoder ?? '';
const referenceGraph = bundle.files.get(refPath)!;
const timing = await timeTrainSteps(
  { ctx, referenceGraph, createSession: (m) => create(m, 'wasm') },
  { ...TRAIN_BENCH_DEFAULTS, warmup: 1, steps: 1 },
  (l) => {
    if (l.includes('warm-up')) totals.clear();
    process.stderr.write(`${l}\n`);
  },
);
console.log(which, JSON.stringify(timing.phases), timing.secondsPerStep.toFixed(2));
for (const [k, v] of [...totals.entries()].sort((a, b) => b[1].ms - a[1].ms))
  console.log(`${(v.ms / 1000).toFixed(3)} s  ${String(v.n).padStart(5)} runs  ${k}`);
