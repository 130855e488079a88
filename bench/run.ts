/**
 * `npm run bench`: every backend in one run on this machine, then bench/results.json and bench/RESULTS.md.
 *   Node: native onnxruntime-node (1 and 2 intra-op threads) and onnxruntime-web WASM, each `uae bench --json`
 *   in its own process; Chromium (system browser, playwright-core): WASM 1 thread (+ transformers.js peer,
 *   + memory soak), WASM 2 threads (cross-origin isolated), WebGPU (SwiftShader here: correctness/overhead).
 * Options: --quick (1 repeat, short soak: a smoke run), --only k1,k2 (backend keys), --soak N, --repeats N,
 * --out DIR (default bench/). Run it under `flock /tmp/uae-heavy.lock nice -n 19` on a shared machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import type { BrowserBenchParams, BrowserBenchReport } from '../src/bench/browser.ts';
import { computeRatios, renderMarkdown, type BackendRun, type BenchResults } from '../src/bench/report.ts';
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
const ALL = ['node-native-1t', 'node-native-2t', 'node-wasm-1t', 'chromium-wasm-1t', 'chromium-wasm-2t', 'chromium-webgpu'];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    soak: { type: 'string' },
    repeats: { type: 'string' },
    out: { type: 'string', default: here },
  },
});
const quick = args.quick ?? false;
const only = args.only ? args.only.split(',') : ALL;
const repeats = Number(args.repeats ?? (quick ? 1 : 5));
const warmup = quick ? 0 : 1;
const soakTrips = Number(args.soak ?? (quick ? 10 : 200));
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
function nodeRun(key: string, backend: string, threads: number, peer: boolean): Promise<BackendRun> {
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
    '--bundle',
    BUNDLE,
    ...(peer ? ['--peer', '--peer-dir', PEER_ROOT] : []),
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
      resolve({ key, runtime: r.runtime, stages: r.stages, peer: r.peer });
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

/** Builds the bench page, copies the peer folder in, and serves it with `vite preview`; returns url and stop. */
async function serve(): Promise<{ url: string; stop: () => void }> {
  say('building the bench page (vite build --config bench/vite.config.ts)');
  const b = spawnSync(process.execPath, [VITE, 'build', '--config', join(here, 'vite.config.ts'), '--logLevel', 'warn'], {
    cwd: repo,
    stdio: 'inherit',
  });
  if (b.status !== 0) throw new Error(`vite build failed (exit ${b.status})`);
  writePeerConfig(BUNDLE, join(OUT, 'dist', 'peer', 'uae-shapes-encoder'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [VITE, 'preview', '--config', join(here, 'vite.config.ts'), '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
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

/** Runs the bench page once in a fresh Chromium context with `params`; returns its report. */
async function browserRun(browser: Browser, url: string, key: string, params: BrowserBenchParams, note?: string): Promise<BackendRun> {
  const context = await browser.newContext();
  const page = await context.newPage();
  let seen = 0;
  try {
    await page.goto(`${url}?params=${encodeURIComponent(JSON.stringify(params))}`);
    const deadline = Date.now() + 25 * 60_000;
    for (;;) {
      const state = await page.evaluate(
        () => (window as unknown as { __bench?: { log: string[]; report?: BrowserBenchReport; error?: string } }).__bench,
      );
      for (const line of state?.log.slice(seen) ?? []) say(`${key}: ${line}`);
      seen = state?.log.length ?? seen;
      if (state?.error) return { key, runtime: params.backend, note, stages: [], error: state.error };
      if (state?.report) {
        const r = state.report;
        return {
          key,
          runtime: `${r.runtime} (${r.adapter}${r.crossOriginIsolated ? ', cross-origin isolated' : ''})`,
          note,
          stages: r.stages,
          peer: r.peer,
          memory: r.memory,
        };
      }
      if (Date.now() > deadline) return { key, runtime: params.backend, note, stages: [], error: 'timed out after 25 min' };
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    await context.close();
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
  for (const [key, backend, threads, peer] of nodeRuns) if (only.includes(key)) runs.push(await nodeRun(key, backend, threads, peer));

  let chromiumVersion: string | undefined;
  if (only.some((k) => k.startsWith('chromium-'))) {
    const server = await serve();
    // One browser for the WASM runs, another with WebGPU enabled; a new context (page) per run.
    const common = [
      '--headless',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--js-flags=--expose-gc',
    ];
    const base = { bundleUrl: '/models/uae-shapes/', peerRoot: '/peer/', loadRepeats: { warmup, repeats: Math.min(2, repeats) } };
    const full = {
      repeats: { warmup, repeats },
      slowRepeats: { warmup: Math.min(warmup, 1), repeats: Math.max(1, Math.ceil(repeats / 2)) },
    };
    try {
      const wasmKeys = ['chromium-wasm-1t', 'chromium-wasm-2t'].filter((k) => only.includes(k));
      if (wasmKeys.length > 0) {
        const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...common, '--disable-webgpu'] });
        chromiumVersion = browser.version();
        try {
          if (only.includes('chromium-wasm-1t')) {
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
          if (only.includes('chromium-wasm-2t')) {
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
        } finally {
          await browser.close();
        }
      }
      if (only.includes('chromium-webgpu')) {
        const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...common, '--enable-unsafe-webgpu'] });
        chromiumVersion ??= browser.version();
        const one = { warmup: 0, repeats: 1 };
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
              'SwiftShader software adapter on the CPU: correctness and overhead only, not GPU speed; 1 timed run after no warm-up, so first runs include shader compilation; slow stages skipped',
            ),
          );
        } finally {
          await browser.close();
        }
      }
    } finally {
      server.stop();
    }
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
    settings: { repeats, warmup, soakRoundTrips: soakTrips, flowSteps: 12, groupSize: 8, scene: 7, webgpuRepeats: 1 },
    runs,
    ratios: computeRatios(runs),
    wallSeconds: (Date.now() - t0) / 1000,
  };
  const outDir = args.out ?? here;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'RESULTS.md'), renderMarkdown(results));
  say(`wrote ${join(outDir, 'results.json')} and RESULTS.md in ${results.wallSeconds.toFixed(0)} s`);
  const failed = runs.filter((r) => r.error);
  for (const r of failed) say(`${r.key} FAILED: ${r.error}`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

await main();
