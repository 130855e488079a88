/**
 * The trainer section's Node run (spawned by bench/run.ts in its own process): the stage-2 trainer of `uae train`
 * (src/engine/train/trainer.ts through src/bench/train.ts) on the bundle's cold start, ORT on onnxruntime-web WASM
 * with 1 thread (or, with --ort native, onnxruntime-node's CPU EP with 1 intra-op thread) and jax-js on its wasm
 * device, which has no worker pool in Node (1 thread).
 * Usage: node --import tsx bench/train-node.ts [--bundle DIR] [--ort wasm|native] [--warmup W] [--steps K] [--group G]
 * [--images B] [--flow-steps F]; prints one JSON object (src/bench/train.ts TrainBenchTiming plus `runtime`), progress on stderr.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initJaxNode } from '../src/engine/train/node.ts';
import { removeOrtWorkerGlobal } from '../src/engine/train/node-worker.ts';
import { disposeTrainPrograms } from '../src/engine/train/update.ts';
import { timeTrainSteps, TRAIN_BENCH_DEFAULTS } from '../src/bench/train.ts';
import { nodeRuntime } from '../src/cli/bench-node.ts';
import { openBundleDir } from '../src/cli/io.ts';
import { nodeTrainerDeps } from '../src/cli/train.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({
  options: {
    bundle: { type: 'string', default: join(repo, 'public', 'models', 'uae-shapes') },
    ort: { type: 'string', default: 'wasm' },
    warmup: { type: 'string' },
    steps: { type: 'string' },
    group: { type: 'string' },
    images: { type: 'string' },
    'flow-steps': { type: 'string' },
  },
});
const num = (v: string | undefined, d: number): number => (v === undefined ? d : Number(v));
const settings = {
  warmup: num(a.warmup, TRAIN_BENCH_DEFAULTS.warmup),
  steps: num(a.steps, TRAIN_BENCH_DEFAULTS.steps),
  group: num(a.group, TRAIN_BENCH_DEFAULTS.group),
  images: num(a.images, TRAIN_BENCH_DEFAULTS.images),
  flowSteps: num(a['flow-steps'], TRAIN_BENCH_DEFAULTS.flowSteps),
};

if (a.ort !== 'wasm' && a.ort !== 'native') throw new Error(`--ort: wasm or native, not ${a.ort}`);
await initJaxNode();
const rt = await nodeRuntime(a.ort === 'native' ? 'node-native' : 'node-wasm', 1);
const engine = await openBundleDir(a.bundle ?? '', rt);
removeOrtWorkerGlobal();
try {
  const timing = await timeTrainSteps(await nodeTrainerDeps(engine), settings, (l) => void process.stderr.write(`${l}\n`));
  const jaxVersion = (JSON.parse(readFileSync(join(repo, 'node_modules', '@jax-js', 'jax', 'package.json'), 'utf8')) as { version: string })
    .version;
  const runtime = `Node ${process.version}: ${rt.description}, jax-js ${jaxVersion} wasm 1 thread (no worker pool in Node)`;
  process.stdout.write(`${JSON.stringify({ ...timing, runtime })}\n`);
} finally {
  disposeTrainPrograms();
  await engine.sessions.release();
}
