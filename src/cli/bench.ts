/**
 * `uae bench [--backend node-wasm|node-native] [--threads N] [--repeats N] [--warmup N] [--steps K]
 * [--stages a,b] [--peer] [--bundle DIR] [--json]`: times every stage of src/bench/stages.ts on one Node
 * backend (and, with --peer, transformers.js's image-to-text pipeline on the same ORT build and files).
 * `npm run bench` (bench/run.ts) runs this for each Node backend plus the Chromium runs and writes the table.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { runPeer, type PeerResult } from '../bench/peer.ts';
import { firstResults, firstResultsLine, type FirstResults, type FirstResultsMode } from '../bench/first-results.ts';
import { runStages, STAGE_IDS, type StageResult } from '../bench/stages.ts';
import { DEFAULT_BUNDLE } from './eval.ts';
import { machineInfo, NODE_BACKENDS, nodeOpener, nodeRuntime, type MachineInfo, type NodeBackend } from './bench-node.ts';
import { CliError, printJson } from './io.ts';

/** Options of `uae bench` after parsing. */
export interface BenchCliOptions {
  backend: NodeBackend;
  threads: number;
  repeats: number;
  warmup: number;
  /** Warm-up runs also go on until this many ms have passed, and the settle after the load runs at least this long. */
  warmupMs: number;
  steps?: number;
  stages?: string[];
  peer?: boolean;
  peerDir?: string;
  bundle: string;
  json?: boolean;
  /** Only the first results in this fresh process (src/bench/first-results.ts), cold or after the app's warm-up. */
  firstResults?: FirstResultsMode;
  /** Shapes scene of the first-results probe. */
  scene?: number;
}

/** What `uae bench --json` prints: one backend's stages (and the peer's). */
export interface BenchBackendReport {
  backend: string;
  runtime: string;
  machine: MachineInfo;
  stages: StageResult[];
  peer?: PeerResult;
  firstResults?: FirstResults[];
}

function count(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`--${name} must be an integer >= ${min}`);
    return n;
  };
}

function stageList(v: string): string[] {
  const ids = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = ids.filter((id) => !(STAGE_IDS as readonly string[]).includes(id));
  if (bad.length > 0) throw new InvalidArgumentError(`unknown stage(s) ${bad.join(', ')}; stages: ${STAGE_IDS.join(', ')}`);
  return ids;
}

/** Returns one backend's report for the parsed options; progress lines go to stderr. */
export async function benchNode(o: BenchCliOptions): Promise<BenchBackendReport> {
  const rt = await nodeRuntime(o.backend, o.threads);
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  if (o.firstResults) {
    const probe = await firstResults(nodeOpener(o.bundle, rt), { mode: o.firstResults, sceneSeed: o.scene ?? 7, flowSteps: o.steps });
    say(`${o.backend}: ${firstResultsLine(probe)}`);
    return { backend: o.backend, runtime: rt.description, machine: machineInfo(), stages: [], firstResults: [probe] };
  }
  const warmupMs = o.warmupMs ?? 0;
  const repeats = { warmup: o.warmup, repeats: o.repeats, warmupMs };
  const slow = { warmup: Math.min(o.warmup, 1), repeats: Math.max(1, Math.ceil(o.repeats / 2)), warmupMs };
  const { results, engine } = await runStages(nodeOpener(o.bundle, rt), {
    repeats,
    slowRepeats: slow,
    loadRepeats: { warmup: o.warmup, repeats: o.repeats, warmupMs },
    flowSteps: o.steps,
    only: o.stages,
    createSession: (bytes) => rt.create(bytes, 'wasm'),
    onStage: (r) => say(`${o.backend}: ${r.label}: median ${r.timing.median.toFixed(1)} ms`),
  });
  const report: BenchBackendReport = { backend: o.backend, runtime: rt.description, machine: machineInfo(), stages: results };
  try {
    if (o.peer) {
      if (!o.peerDir) throw new CliError('bench: --peer needs --peer-dir (the folder bench/peer-config.ts writes)');
      report.peer = await runPeer(rt.ort, engine.ctx, {
        repeats,
        sceneSeeds: [7, 11, 23, 42],
        modelRoot: o.peerDir,
        sessionOptions: rt.peerSessionOptions,
      });
      say(
        `${o.backend}: transformers.js image-to-text: median ${report.peer.timing.median.toFixed(1)} ms (ours ${report.peer.oursTiming.median.toFixed(1)} ms)`,
      );
    }
  } finally {
    await engine.release();
  }
  const live = engine.ctx.tracker.live();
  if (live !== 0) throw new CliError(`bench: ${live} ORT tensors were left undisposed`);
  return report;
}

/** Registers `uae bench`. */
export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('time every stage (load, caption, group, decode, score, round trip, GRPO, KV cache) on a Node backend')
    .addOption(
      new Option('--backend <name>', 'node-wasm (onnxruntime-web) or node-native (onnxruntime-node)')
        .choices(NODE_BACKENDS)
        .default('node-wasm'),
    )
    .option('--threads <n>', 'WASM threads / native intra-op threads', count('threads', 1), 1)
    .option('--repeats <n>', 'timed runs per stage', count('repeats', 1), 5)
    .option('--warmup <n>', 'untimed runs before them', count('warmup', 0), 1)
    .option('--warmup-ms <ms>', 'and untimed runs until this long has passed (the load stage too)', count('warmup-ms', 0), 0)
    .option('--steps <k>', "flow steps (default: the bundle's)", count('steps', 1))
    .option('--stages <list>', `comma-separated subset of ${STAGE_IDS.join(',')}`, stageList)
    .option('--peer', 'also time transformers.js image-to-text on the same files and compare greedy captions')
    .option('--peer-dir <dir>', 'the Optimum-layout folder made by bench/peer-config.ts')
    .option('--bundle <dir>', 'bundle folder', DEFAULT_BUNDLE)
    .addOption(
      new Option(
        '--first-results <mode>',
        "only time the first caption, decode and round trip after the load: cold, or after the app's warm-up",
      ).choices(['cold', 'warm']),
    )
    .option('--scene <seed>', 'Shapes scene of --first-results', count('scene', 0), 7)
    .option('--json', 'print one JSON object')
    .action(async (o: BenchCliOptions) => {
      const report = await benchNode(o);
      if (o.json) return printJson(report);
      for (const p of report.firstResults ?? []) console.log(firstResultsLine(p));
      for (const s of report.stages)
        console.log(
          `${s.label.padEnd(60)} ${s.timing.median.toFixed(1).padStart(9)} ms  (min ${s.timing.min.toFixed(1)}, max ${s.timing.max.toFixed(1)})`,
        );
      if (report.peer)
        console.log(
          `transformers.js image-to-text ${report.peer.timing.median.toFixed(1)} ms vs ours ${report.peer.oursTiming.median.toFixed(1)} ms; same captions: ${report.peer.sameCaptions}`,
        );
    });
}
