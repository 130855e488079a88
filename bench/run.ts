/**
 * `npm run bench`: every backend in one run on this machine, then bench/results.json and bench/RESULTS.md.
 *   Node: native onnxruntime-node (1 and 2 intra-op threads) and onnxruntime-web WASM, each `uae bench --json`
 *   in its own process; Chromium (system browser, playwright-core): WASM 1 thread (+ transformers.js peer,
 *   + memory soak), WASM 2 threads (cross-origin isolated), WebGPU (SwiftShader here: correctness/overhead).
 *   Trainer section (key `train`): seconds per stage-2 GRPO step from the bundle's cold start, 1 warm-up step then K:
 *   PyTorch (models/uae/bench_step.py, uae.rl's step) at 1 and 2 threads, the TypeScript trainer in Node
 *   (bench/train-node.ts) and in the bench page on Chromium WASM with 2 threads.
 *   App section (key `app-first-trip`): the built app in Chromium WASM, bundle cached, time from opening the page to
 *   the bundle loaded and to the first round trip finished (bench/app-first-trip.ts).
 * Options: --quick (1 repeat, short soak: a smoke run), --only k1,k2 (backend keys, `train` for the trainer section),
 * --no-train, --train-steps K (default 3), --train-warmup W (default 1; 0 with --train-steps 100: a whole run, jit compiles
 * and all), --train-group G, --train-images B, --train-flow-steps F (smaller smoke runs),
 * --train-runs pytorch-1t,pytorch-2t,node-1t,node-native-1t,chromium-wasm-2t,webgpu-fixture (the last: the GRPO-update parity fixture
 * on jax-js WASM and WebGPU in Chromium, cases --train-fixture-cases dapo,grpo, default all), --soak N, --repeats N, --out DIR,
 * --webgpu-repeats N (chromium-webgpu: N timed runs after an untimed one; default 1 timed run, shaders compiled in it).
 * Run it under `flock /tmp/uae-heavy.lock nice -n 19` on a shared machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import type { BrowserBenchParams, BrowserBenchReport, BrowserTrainParams, BrowserTrainReport } from '../src/bench/browser.ts';
import { computeRatios, renderMarkdown, type BackendRun, type BenchResults } from '../src/bench/report.ts';
import { TRAIN_BENCH_DEFAULTS, type TrainBenchSettings, type TrainBenchTiming } from '../src/bench/train.ts';
import {
  FIXTURE_KEY,
  fixtureMisses,
  TRAIN_GOAL,
  TRAIN_KEYS,
  trainRatios,
  type TrainFixtureSection,
  type TrainKey,
  type TrainRun,
  type TrainSection,
} from '../src/bench/train-report.ts';
import { FIXTURE_TOL } from '../src/bench/train-fixture.ts';
import type { FirstTripSection } from '../src/bench/first-trip.ts';
import { appFirstTrip } from './app-first-trip.ts';
import type { FirstResultsMode } from '../src/bench/first-results.ts';
import type { BrowserTrainFixtureParams, BrowserTrainFixtureReport } from '../src/bench/train-fixture-browser.ts';
import type { BenchBackendReport } from '../src/cli/bench.ts';
import { machineInfo } from '../src/cli/bench-node.ts';
import { writePeerConfig } from './peer-config.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const BUNDLE = join(repo, 'public', 'models', 'uae-shapes');
const OUT = join(here, 'out');
const PEER_ROOT = join(OUT, 'peer');
const VITE = join(repo, 'node_modules', 'vite', 'bin', 'vite.js');
const CHROMIUM = process.env.UAE_CHROMIUM ?? '/usr/bin/chromium';
/** SwiftShader runs ~30x slower than WASM: the stages that fit a short run (no sequential group, GRPO, recompute). */
const WEBGPU_STAGES = ['caption', 'group', 'decode', 'score', 'roundtrip', 'caption48_kv', 'caption48_raw', 'caption48_raw_gpukv'];
const ALL = [
  'node-native-1t',
  'node-native-2t',
  'node-wasm-1t',
  'chromium-wasm-1t',
  'chromium-wasm-2t',
  'chromium-webgpu',
  'app-first-trip',
  'train',
];
const PYTHON = process.env.UAE_PYTHON ?? '/usr/bin/python3';
/** models/work of the trainer section's PyTorch run: weights recovered from the bundle, a few training scenes. */
const TORCH_WORK = join(OUT, 'torch-work');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    soak: { type: 'string' },
    repeats: { type: 'string' },
    out: { type: 'string', default: here },
    'no-train': { type: 'boolean', default: false },
    'train-steps': { type: 'string' },
    'train-warmup': { type: 'string' },
    'train-group': { type: 'string' },
    'train-images': { type: 'string' },
    'train-flow-steps': { type: 'string' },
    'train-runs': { type: 'string' },
    'train-fixture-cases': { type: 'string' },
    first: { type: 'string' },
    'first-only': { type: 'boolean', default: false },
    'webgpu-repeats': { type: 'string' },
  },
});
const quick = args.quick ?? false;
const only = (args.only ? args.only.split(',') : ALL).filter((k) => !(args['no-train'] && k === 'train'));
const intArg = (name: string, v: string | undefined, d: number, min: number): number => {
  const n = v === undefined ? d : Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
};
const trainSettings: TrainBenchSettings = {
  warmup: intArg('train-warmup', args['train-warmup'], TRAIN_BENCH_DEFAULTS.warmup, 0),
  steps: intArg('train-steps', args['train-steps'], TRAIN_BENCH_DEFAULTS.steps, 1),
  group: intArg('train-group', args['train-group'], TRAIN_BENCH_DEFAULTS.group, 2),
  images: intArg('train-images', args['train-images'], TRAIN_BENCH_DEFAULTS.images, 1),
  flowSteps: intArg('train-flow-steps', args['train-flow-steps'], TRAIN_BENCH_DEFAULTS.flowSteps, 1),
};
const trainKeys = (args['train-runs'] ? args['train-runs'].split(',') : [...TRAIN_KEYS, FIXTURE_KEY]) as (TrainKey | typeof FIXTURE_KEY)[];
for (const k of trainKeys)
  if (!([...TRAIN_KEYS, FIXTURE_KEY] as string[]).includes(k))
    throw new Error(`--train-runs: unknown run ${k} (${[...TRAIN_KEYS, FIXTURE_KEY].join(', ')})`);
/** The parity fixture's cases (loss types) run on jax-js WASM and WebGPU; none named: all of them. */
const fixtureCases = args['train-fixture-cases'] ? args['train-fixture-cases'].split(',') : [];
const repeats = Number(args.repeats ?? (quick ? 1 : 5));
const warmup = quick ? 0 : 1;
/**
 * Every stage, the load included, also warms up for this long (and the settle after the load lasts at least this long):
 * Chromium's greedy caption went from 19 to 9.5 ms over ~3 s of runs after the old settle had stopped
 * (bench/README.md, "Warm-up in the timings"). The WebGPU run keeps its single untimed-free run.
 */
const warmupMs = quick ? 0 : 2000;
const soakTrips = Number(args.soak ?? (quick ? 10 : 200));
/** Fresh-runtime probes of the first results per mode (cold, warmed) and backend (src/bench/first-results.ts). */
const firstProbes = intArg('first', args.first, quick ? 1 : 7, 0);
/** Only those probes: no stage runs (a quick look at the warm-up; the ÷ steady columns stay empty). */
const firstOnly = args['first-only'] ?? false;
/**
 * Timed runs of each chromium-webgpu stage. 1 (the default): one run, no warm-up, so it includes the shaders'
 * compilation (SwiftShader compiles slowly; enough to show the path works). More: one untimed run first, then these.
 */
const webgpuRepeats = intArg('webgpu-repeats', args['webgpu-repeats'], 1, 1);
/** The backends the probes run on. */
const FIRST_KEYS = ['node-native-1t', 'node-wasm-1t', 'chromium-wasm-1t', 'chromium-wasm-2t'];
const say = (line: string): void => console.log(`[bench] ${line}`);

function version(pkg: string): string {
  return (JSON.parse(readFileSync(join(repo, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    return pretty ? `${pretty}, ${machineInfo().os}` : machineInfo().os;
  } catch {
    return machineInfo().os;
  }
}

/** Runs `uae bench --json` for one Node backend in its own process; returns its report. */
function nodeRun(key: string, backend: string, threads: number, peer: boolean, first?: FirstResultsMode): Promise<BackendRun> {
  const argv = [
    join(repo, 'bin', 'uae.mjs'),
    'bench',
    '--backend',
    backend,
    '--threads',
    String(threads),
    '--json',
    '--repeats',
    String(repeats),
    '--warmup',
    String(warmup),
    '--warmup-ms',
    String(warmupMs),
    '--bundle',
    BUNDLE,
    ...(peer ? ['--peer', '--peer-dir', PEER_ROOT] : []),
    ...(first ? ['--first-results', first] : []),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => {
      err += d;
      for (const line of String(d).split('\n').filter(Boolean)) say(`${key}: ${line.replace(/^node-\w+: /, '')}`);
    });
    child.on('close', (code) => {
      if (code !== 0) return resolve({ key, runtime: backend, stages: [], error: `exit ${code}: ${err.trim().split('\n').pop() ?? ''}` });
      const r = JSON.parse(out) as BenchBackendReport;
      resolve({ key, runtime: r.runtime, stages: r.stages, peer: r.peer, firstResults: r.firstResults });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Builds the bench page (copying the peer folder in), or with `app` the app itself into bench/out/app-dist, and serves
 * it with `vite preview`; returns url and stop.
 */
async function serve(app = false): Promise<{ url: string; stop: () => void }> {
  const where = app ? ['--outDir', join(OUT, 'app-dist'), '--emptyOutDir'] : ['--config', join(here, 'vite.config.ts')];
  say(app ? 'building the app (vite build)' : 'building the bench page (vite build --config bench/vite.config.ts)');
  const b = spawnSync(process.execPath, [VITE, 'build', ...where, '--logLevel', 'warn'], { cwd: repo, stdio: 'inherit' });
  if (b.status !== 0) throw new Error(`vite build failed (exit ${b.status})`);
  if (!app) writePeerConfig(BUNDLE, join(OUT, 'dist', 'peer', 'uae-shapes-encoder'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      VITE,
      'preview',
      ...(app ? ['--outDir', join(OUT, 'app-dist')] : where),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--strictPort',
    ],
    {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode})`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, stop: () => void child.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGTERM');
  throw new Error(`vite preview did not answer on ${url}`);
}

/** Runs the bench page once in a fresh Chromium context with `params` -> its report, or why there is none. */
async function pageRun<R>(
  browser: Browser,
  url: string,
  key: string,
  params: object,
  routes: Record<string, string> = {},
): Promise<{ report: R } | { error: string }> {
  const context = await browser.newContext();
  // routes: URL glob -> a local folder whose file of the same name answers it
  for (const [glob, dir] of Object.entries(routes))
    await context.route(glob, (route) =>
      route.fulfill({ path: join(dir, new URL(route.request().url()).pathname.split('/').pop() ?? '') }),
    );
  const page = await context.newPage();
  let seen = 0;
  try {
    await page.goto(`${url}?params=${encodeURIComponent(JSON.stringify(params))}`);
    const deadline = Date.now() + 25 * 60_000;
    for (;;) {
      const state = await page.evaluate(
        () => (window as unknown as { __bench?: { log: string[]; report?: unknown; error?: string } }).__bench,
      );
      for (const line of state?.log.slice(seen) ?? []) say(`${key}: ${line}`);
      seen = state?.log.length ?? seen;
      if (state?.error) return { error: state.error };
      if (state?.report) return { report: state.report as R };
      if (Date.now() > deadline) return { error: 'timed out after 25 min' };
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    await context.close();
  }
}

/** Runs the bench page's stages once in a fresh Chromium context with `params`; returns its report. */
async function browserRun(browser: Browser, url: string, key: string, params: BrowserBenchParams, note?: string): Promise<BackendRun> {
  const res = await pageRun<BrowserBenchReport>(browser, url, key, params);
  if ('error' in res) return { key, runtime: params.backend, note, stages: [], error: res.error };
  const r = res.report;
  return {
    key,
    runtime: `${r.runtime} (${r.adapter}${r.crossOriginIsolated ? ', cross-origin isolated' : ''})`,
    note,
    stages: r.stages,
    peer: r.peer,
    memory: r.memory,
    firstResults: r.firstResults,
  };
}

/** The modes of `n` fresh-runtime probes per mode, alternating: cold, warm, cold, warm … */
const probeModes = (n: number): FirstResultsMode[] => Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? 'cold' : 'warm'));

/**
 * Adds `firstProbes` cold and warmed first-results probes to the run of `key` (added to `runs` when absent, i.e.
 * with --first-only): each `probe(mode)` is a fresh runtime.
 */
async function addFirstResults(runs: BackendRun[], key: string, probe: (mode: FirstResultsMode) => Promise<BackendRun>): Promise<void> {
  if (firstProbes === 0 || !FIRST_KEYS.includes(key)) return;
  let run = runs.find((r) => r.key === key);
  for (const mode of probeModes(firstProbes)) {
    const p = await probe(mode);
    if (!run) runs.push((run = { key, runtime: p.runtime, stages: [] }));
    if (p.error || !p.firstResults) {
      say(`${key}: first results (${mode}) failed: ${p.error ?? 'no report'}`);
      continue;
    }
    (run.firstResults ??= []).push(...p.firstResults);
  }
}

/** Runs a command -> its stdout, streaming stderr lines to the log; rejects with the last stderr line on failure. */
function runCommand(key: string, cmd: string, argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => {
      err += d;
      for (const line of String(d).split('\n').filter(Boolean)) say(`${key}: ${line}`);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err.trim().split('\n').pop() ?? ''}`))));
  });
}

/** The last line of `out` that is a JSON object (the scripts may print progress before it). */
function lastJson<T>(out: string): T {
  const line = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON in the output: ${out.slice(-200)}`);
  return JSON.parse(line) as T;
}

/** The PyTorch step's report (models/uae/bench_step.py). */
interface TorchStepReport {
  seconds_per_step: number;
  steps: number;
  warmup: number;
  threads: number;
  step_seconds: number[];
  warmup_seconds: number[];
  mean_length: number | null;
  torch: string;
}

let recovered: Promise<string> | undefined;

/** Times uae.rl's stage-2 step at `threads` torch threads, from the bundle's cold start recovered by uae.from_bundle. */
async function torchTrainRun(key: TrainKey, threads: number): Promise<TrainRun> {
  const env = { ...process.env, UAE_WORK: TORCH_WORK };
  const cwd = join(repo, 'models');
  const s = trainSettings;
  try {
    // The cold start of this very bundle, recovered into bench/out/torch-work at each bench run (a few seconds).
    recovered ??= runCommand(key, PYTHON, ['-m', 'uae.from_bundle', '--bundle', BUNDLE, '--force'], { cwd, env });
    await recovered;
    const argv = ['-m', 'uae.bench_step', '--threads', String(threads), '--warmup', String(s.warmup), '--steps', String(s.steps)];
    argv.push('--group', String(s.group), '--images', String(s.images), '--flow-steps', String(s.flowSteps));
    const r = lastJson<TorchStepReport>(await runCommand(key, PYTHON, argv, { cwd, env }));
    say(`${key}: ${r.seconds_per_step.toFixed(2)} s/step`);
    return {
      key,
      runtime: `PyTorch ${r.torch}, torch.set_num_threads(${r.threads}), OpenBLAS 1 thread`,
      secondsPerStep: r.seconds_per_step,
      stepSeconds: r.step_seconds,
      warmupSeconds: r.warmup_seconds,
      warmup: r.warmup,
      steps: r.steps,
      phases: {},
      meanLength: r.mean_length ?? undefined,
    };
  } catch (e) {
    return { key, runtime: `PyTorch, ${threads} thread${threads === 1 ? '' : 's'}`, error: e instanceof Error ? e.message : String(e) };
  }
}

/** Times the TypeScript trainer in Node (bench/train-node.ts in its own process). */
async function nodeTrainRun(key: 'node-1t' | 'node-native-1t'): Promise<TrainRun> {
  const s = trainSettings;
  const argv = [
    '--import',
    'tsx',
    join(here, 'train-node.ts'),
    '--ort',
    key === 'node-1t' ? 'wasm' : 'native',
    '--bundle',
    BUNDLE,
    '--warmup',
    String(s.warmup),
    '--steps',
    String(s.steps),
  ];
  argv.push('--group', String(s.group), '--images', String(s.images), '--flow-steps', String(s.flowSteps));
  try {
    const r = lastJson<TrainBenchTiming & { runtime: string }>(await runCommand(key, process.execPath, argv, { cwd: repo }));
    say(`${key}: ${r.secondsPerStep.toFixed(2)} s/step`);
    return { key, ...r };
  } catch (e) {
    return { key, runtime: 'Node, 1 thread', error: e instanceof Error ? e.message : String(e) };
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  mkdirSync(OUT, { recursive: true });
  writePeerConfig(BUNDLE, join(PEER_ROOT, 'uae-shapes-encoder'));
  const runs: BackendRun[] = [];
  const nodeRuns: [string, string, number, boolean][] = [
    ['node-native-1t', 'node-native', 1, true],
    ['node-native-2t', 'node-native', 2, false],
    ['node-wasm-1t', 'node-wasm', 1, true],
  ];
  for (const [key, backend, threads, peer] of nodeRuns) {
    if (!only.includes(key)) continue;
    if (!firstOnly) runs.push(await nodeRun(key, backend, threads, peer));
    await addFirstResults(runs, key, (mode) => nodeRun(key, backend, threads, false, mode));
  }

  let chromiumVersion: string | undefined;
  let served: { url: string; stop: () => void } | undefined;
  // One browser for the WASM runs, another with WebGPU enabled; a new context (page) per run.
  const common: string[] = [
    ...JSON.parse(readFileSync(join(repo, 'tests', 'e2e', 'chromium-flags.json'), 'utf8')),
    // UAE_BENCH_JS_FLAGS adds V8 flags for an experiment (e.g. --no-wasm-dynamic-tiering; bench/README, Levers)
    `--js-flags=--expose-gc${process.env.UAE_BENCH_JS_FLAGS ? ` ${process.env.UAE_BENCH_JS_FLAGS}` : ''}`,
  ];
  if (only.some((k) => k.startsWith('chromium-'))) {
    const server = (served = await serve());
    // The load is timed as in Node and as every other stage: untimed loads for at least warmupMs, then `repeats`.
    // Chromium's loads in one page get faster for several loads (474, 406, 379, then 258, 263 ms on 2026-12-07), as
    // its first runs do; a fresh page's first load is in the first-results table.
    const base = { bundleUrl: '/models/uae-shapes/', peerRoot: '/peer/', loadRepeats: { warmup, repeats, warmupMs } };
    const full = {
      repeats: { warmup, repeats, warmupMs },
      slowRepeats: { warmup: Math.min(warmup, 1), repeats: Math.max(1, Math.ceil(repeats / 2)), warmupMs },
    };
    try {
      const wasmKeys = ['chromium-wasm-1t', 'chromium-wasm-2t'].filter((k) => only.includes(k));
      if (wasmKeys.length > 0) {
        const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...common, '--disable-webgpu'] });
        chromiumVersion = browser.version();
        try {
          const probe = (key: string, threads: number) => (mode: FirstResultsMode) =>
            browserRun(browser, server.url, key, {
              ...base,
              ...full,
              backend: 'wasm',
              threads,
              peer: false,
              memoryRoundTrips: 0,
              firstResults: mode,
            });
          if (only.includes('chromium-wasm-1t') && !firstOnly) {
            runs.push(
              await browserRun(browser, server.url, 'chromium-wasm-1t', {
                ...base,
                ...full,
                backend: 'wasm',
                threads: 1,
                peer: true,
                memoryRoundTrips: soakTrips,
              }),
            );
          }
          if (only.includes('chromium-wasm-1t')) await addFirstResults(runs, 'chromium-wasm-1t', probe('chromium-wasm-1t', 1));
          if (only.includes('chromium-wasm-2t') && !firstOnly) {
            runs.push(
              await browserRun(browser, server.url, 'chromium-wasm-2t', {
                ...base,
                ...full,
                backend: 'wasm',
                threads: 2,
                peer: false,
                memoryRoundTrips: 0,
              }),
            );
          }
          if (only.includes('chromium-wasm-2t')) await addFirstResults(runs, 'chromium-wasm-2t', probe('chromium-wasm-2t', 2));
        } finally {
          await browser.close();
        }
      }
      if (only.includes('chromium-webgpu') && !firstOnly) {
        const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...common, '--enable-unsafe-webgpu'] });
        chromiumVersion ??= browser.version();
        const one = { warmup: webgpuRepeats > 1 ? 1 : 0, repeats: webgpuRepeats };
        try {
          runs.push(
            await browserRun(
              browser,
              server.url,
              'chromium-webgpu',
              {
                ...base,
                backend: 'webgpu',
                threads: 1,
                repeats: one,
                slowRepeats: one,
                loadRepeats: { warmup: 0, repeats: 1 },
                peer: false,
                memoryRoundTrips: 0,
                stages: WEBGPU_STAGES,
              },
              webgpuRepeats > 1
                ? `SwiftShader software adapter on the CPU: correctness and overhead only, not GPU speed; ${webgpuRepeats} timed runs after 1 untimed; slow stages skipped`
                : 'SwiftShader software adapter on the CPU: correctness and overhead only, not GPU speed; 1 timed run after no warm-up, so first runs include shader compilation; slow stages skipped',
            ),
          );
        } finally {
          await browser.close();
        }
      }
    } catch (e) {
      server.stop();
      throw e;
    }
  }

  let firstTrip: FirstTripSection | undefined;
  let firstTripWebgpu: FirstTripSection | undefined;
  if (only.includes('app-first-trip') && !firstOnly) {
    const app = await serve(true);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...common, '--disable-webgpu'] });
    chromiumVersion ??= browser.version();
    try {
      firstTrip = await appFirstTrip(browser, app.url, { flowSteps: 12, repeats: Math.max(3, repeats), say });
      say(`app-first-trip: median round trip finished ${firstTrip.median?.finishedMs.toFixed(0)} ms after opening the page`);
    } catch (e) {
      firstTrip = { error: e instanceof Error ? e.message : String(e) };
    } finally {
      await browser.close();
    }
    // WebGPU on SwiftShader: what the warm-up hides is shader compilation (fewer flow steps: a trip takes seconds there)
    const gpu = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...common, '--enable-unsafe-webgpu'] });
    try {
      firstTripWebgpu = await appFirstTrip(gpu, app.url, { flowSteps: 4, repeats: 1, backend: 'webgpu', say });
    } catch (e) {
      firstTripWebgpu = { error: e instanceof Error ? e.message : String(e) };
    } finally {
      await gpu.close();
      app.stop();
    }
  }

  let train: TrainSection | undefined;
  try {
    if (only.includes('train') && !firstOnly) {
      const s = trainSettings;
      say(`trainer section: G=${s.group} × ${s.images} images, ${s.flowSteps} flow steps, ${s.warmup} warm-up + ${s.steps} timed steps`);
      const trainRuns: TrainRun[] = [];
      for (const key of trainKeys) {
        if (key === 'pytorch-1t') trainRuns.push(await torchTrainRun(key, 1));
        if (key === 'pytorch-2t') trainRuns.push(await torchTrainRun(key, 2));
        if (key === 'node-1t' || key === 'node-native-1t') trainRuns.push(await nodeTrainRun(key));
        if (key === 'chromium-wasm-2t') {
          const server = (served ??= await serve());
          const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...common, '--disable-webgpu'] });
          chromiumVersion ??= browser.version();
          try {
            const params: BrowserTrainParams = { kind: 'train', threads: 2, bundleUrl: '/models/uae-shapes/', settings: s };
            const res = await pageRun<BrowserTrainReport>(browser, server.url, key, params);
            if ('error' in res) trainRuns.push({ key, runtime: 'Chromium WASM, 2 threads', error: res.error });
            else {
              const { crossOriginIsolated, runtime, ...timing } = res.report;
              say(`${key}: ${timing.secondsPerStep.toFixed(2)} s/step`);
              trainRuns.push({ key, ...timing, runtime: `${runtime}${crossOriginIsolated ? ' (cross-origin isolated)' : ''}` });
            }
          } finally {
            await browser.close();
          }
        }
      }
      let fixture: TrainFixtureSection | undefined;
      if (trainKeys.includes(FIXTURE_KEY)) {
        const server = (served ??= await serve());
        const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...common, '--enable-unsafe-webgpu'] });
        chromiumVersion ??= browser.version();
        try {
          const params: BrowserTrainFixtureParams = {
            kind: 'train-fixture',
            fixtureUrl: '/fixture/train/',
            cases: fixtureCases,
            devices: ['wasm', 'webgpu'],
          };
          const routes = { '**/fixture/train/*': join(repo, 'tests', 'fixtures', 'train') };
          const res = await pageRun<BrowserTrainFixtureReport>(browser, server.url, FIXTURE_KEY, params, routes);
          fixture = 'error' in res ? { tolerance: FIXTURE_TOL, error: res.error } : { tolerance: FIXTURE_TOL, ...res.report };
        } finally {
          await browser.close();
        }
      }
      const d = TRAIN_BENCH_DEFAULTS;
      const shrunk = s.group !== d.group || s.images !== d.images || s.flowSteps !== d.flowSteps;
      const preset = `the shipped stage-2 preset (STAGE2_PRESET = models/uae/config.py RL_ENCODER["full"])${shrunk ? ', shrunk by --train-* flags (a smoke run, not the issue’s setting)' : ''}`;
      train = { settings: { ...s, preset }, runs: trainRuns, ratios: trainRatios(trainRuns), goal: TRAIN_GOAL, fixture };
      for (const r of train.ratios) say(`${r.name}: ${r.median.toFixed(2)}×${r.goal ? ` (goal ${r.goal})` : ''}`);
    }
  } finally {
    served?.stop();
  }

  const m = machineInfo();
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: {
      cpu: m.cpu,
      cores: m.cores,
      os: osName(),
      node: m.node,
      chromium: chromiumVersion,
      load,
      onnxruntimeWeb: version('onnxruntime-web'),
      onnxruntimeNode: version('onnxruntime-node'),
      transformers: `@huggingface/transformers ${version('@huggingface/transformers')}`,
    },
    settings: {
      repeats,
      warmup,
      warmupMs,
      soakRoundTrips: soakTrips,
      flowSteps: 12,
      groupSize: 8,
      scene: 7,
      webgpuRepeats,
      firstProbes,
    },
    runs,
    ratios: computeRatios(runs),
    train,
    firstTrip,
    firstTripWebgpu,
    wallSeconds: (Date.now() - t0) / 1000,
  };
  const outDir = args.out ?? here;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'RESULTS.md'), renderMarkdown(results));
  say(`wrote ${join(outDir, 'results.json')} and RESULTS.md in ${results.wallSeconds.toFixed(0)} s`);
  const tripRun = [
    ...(firstTrip?.error ? [{ key: 'app-first-trip', error: firstTrip.error }] : []),
    ...(firstTripWebgpu?.error ? [{ key: 'app-first-trip (webgpu)', error: firstTripWebgpu.error }] : []),
  ];
  const fixtureRun = train?.fixture ? [{ key: FIXTURE_KEY, error: train.fixture.error ?? fixtureMisses(train.fixture) }] : [];
  const failed: { key: string; error?: string }[] = [...runs, ...(train?.runs ?? []), ...fixtureRun, ...tripRun].filter((r) => r.error);
  for (const r of failed) say(`${r.key} FAILED: ${r.error}`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

await main();
