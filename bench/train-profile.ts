/**
 * Where one stage-2 step's ORT time goes, per graph: the trainer of `uae train` on the shipped bundle (the shipped
 * preset, 1 warm-up step, then 1 step profiled), every session's `run` timed and summed by bundle path.
 * Usage: node --import tsx bench/train-profile.ts [wasm|native]  (onnxruntime-web WASM or onnxruntime-node, 1 thread)
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeRuntime } from '../src/cli/bench-node.ts';
import { openBundleDir } from '../src/cli/io.ts';
import { nodeTrainerDeps } from '../src/cli/train.ts';
import type { SessionCreator } from '../src/engine/sessions.ts';
import { initJaxNode } from '../src/engine/train/node.ts';
import { removeOrtWorkerGlobal } from '../src/engine/train/node-worker.ts';
import { timeTrainSteps, TRAIN_BENCH_DEFAULTS } from '../src/bench/train.ts';

const which = process.argv[2] === 'native' ? 'node-native' : 'node-wasm';
await initJaxNode();
const rt = await nodeRuntime(which, 1);
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'models', 'uae-shapes');
/** Session-run time per graph, keyed by the graph's bytes (a bundle file's, or a rebuilt policy's). */
const totals = new Map<Uint8Array, { ms: number; n: number }>();
const create: SessionCreator = async (bytes, backend) => {
  const s = await rt.create(bytes, backend);
  const run = s.run.bind(s);
  (s as { run: unknown }).run = async (...args: unknown[]) => {
    const t = performance.now();
    try {
      return await (run as (...a: unknown[]) => Promise<unknown>)(...args);
    } finally {
      const e = totals.get(bytes) ?? { ms: 0, n: 0 };
      e.ms += performance.now() - t;
      e.n++;
      totals.set(bytes, e);
    }
  };
  return s;
};
const engine = await openBundleDir(dir, { ort: rt.ort, create });
removeOrtWorkerGlobal();
const timing = await timeTrainSteps(await nodeTrainerDeps(engine), { ...TRAIN_BENCH_DEFAULTS, warmup: 1, steps: 1 }, (l) => {
  if (l.includes('warm-up')) totals.clear();
  process.stderr.write(`${l}\n`);
});
console.log(which, JSON.stringify(timing.phases), timing.secondsPerStep.toFixed(2));
const pathOf = new Map<Uint8Array, string>([...engine.bundle.files.entries()].map(([p, b]) => [b, p]));
const byGraph = new Map<string, { ms: number; n: number }>();
for (const [bytes, t] of totals) {
  const label = pathOf.get(bytes) ?? 'policy (rebuilt every step)';
  const e = byGraph.get(label) ?? { ms: 0, n: 0 };
  byGraph.set(label, { ms: e.ms + t.ms, n: e.n + t.n });
}
for (const [k, v] of [...byGraph.entries()].sort((a, b) => b[1].ms - a[1].ms))
  console.log(`${(v.ms / 1000).toFixed(3)} s  ${String(v.n).padStart(5)} runs  ${k}`);
