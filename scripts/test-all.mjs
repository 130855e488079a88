#!/usr/bin/env node
// `npm test`: first what the suites need (node_modules when absent; Chromium and Debian's python3-torch/onnx/
// pytest/flake8 via scripts/ensure-test-deps.sh, which says what it installs), then every suite in order — typecheck,
// lint, the WebGPU fixture check, models (pytest), unit (vitest), then the app is built ONCE and every E2E runner
// (Chromium, WebGPU + WASM) serves that same build (`--no-build --dist`).
// Runs them all even after a failure (E2E suites are skipped when the build failed), prints a summary with
// each suite's time, and exits non-zero if any failed.
// Suites marked `together` (typecheck, lint, the WebGPU fixture check: none times anything) run at the same time,
// each one's output printed whole when it ends: 65 s on this 2-core machine against 77 s one after another. pytest
// joined them once and took 124 s instead of 55 (torch wants both cores), so it runs alone, as do the unit and E2E
// suites, which time things.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Debian's interpreter has torch/onnx/pytest; a pyenv `python3` first on PATH may not. Resolved after the
// setup step, which may install it.
const pythonPath = () => process.env.UAE_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const node = process.execPath;
const bin = (pkg, file) => join(root, 'node_modules', pkg, file);

function hasPytests(dir) {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { withFileTypes: true }).some((e) =>
    e.isDirectory() ? e.name !== '__pycache__' && hasPytests(join(dir, e.name)) : /^test_.*\.py$|_test\.py$/.test(e.name),
  );
}

/** The E2E runners (tests/e2e/harness.mjs explains how to add one); each also runs alone. */
const E2E_SUITES = [
  ['e2e app shell', 'run.mjs'],
  ['e2e tour (every tab, as a newcomer meets it)', 'tour.spec.mjs'],
  ['e2e training panel', 'training.spec.mjs'],
  ['e2e round trip (issue 5)', 'roundtrip.mjs'],
  ['e2e rollouts (issue 6)', 'rollouts.mjs'],
  ['e2e checkpoint scrubber', 'scrubber.spec.mjs'],
  ['e2e train live (issue 18: stage-2 GRPO in the page)', 'train-live.spec.mjs'],
  ['e2e bench tab (issue 20: Unified-Bench, GenEval-Shapes)', 'bench.spec.mjs'],
  ['e2e hardening (issue 9: images, storage, privacy, CSP)', 'hardening.mjs'],
  ['e2e resilience (issue 9: bad models, other origins, faults, endurance)', 'resilience.mjs'],
  // Every suite above runs on WASM; what only WebGPU can show runs here, all suites on one page (webgpu.spec.mjs).
  ['e2e WebGPU pass (every suite, one page)', 'webgpu.spec.mjs'],
];
const E2E_DIST = join(root, '.e2e-tmp', 'npm-test-dist');
const E2E_BUILD = 'e2e build (vite, shared by the E2E suites)';

/** What dependency-cruiser walks: every TypeScript/JavaScript source of the project (package.json's `lint:deps` too). */
const LAYERED_DIRS = ['src', 'app', 'bench', 'bin', 'tests', 'scripts'];

const SETUP = 'setup (node_modules, Chromium, python3-torch/onnx/pytest)';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const suites = [
  {
    name: SETUP,
    steps: [
      ...(existsSync(join(root, 'node_modules', '.package-lock.json')) ? [] : [{ cmd: npm, args: ['install', '--no-audit', '--no-fund'] }]),
      { cmd: 'bash', args: [join(root, 'scripts', 'ensure-test-deps.sh')] },
    ],
  },
  { name: 'typecheck', together: true, cmd: node, args: [bin('typescript', 'bin/tsc'), '-p', 'tsconfig.json', '--noEmit'] },
  {
    // docs/architecture.md: the layers (dependency-cruiser), the TypeScript rules (ESLint), the format (Prettier) and
    // the Python rules (flake8, Debian's python3-flake8).
    name: 'lint (dependency-cruiser, ESLint, Prettier, flake8)',
    together: true,
    allSteps: true, // every linter speaks, even after one fails
    steps: [
      {
        cmd: node,
        args: [
          bin('dependency-cruiser', 'bin/dependency-cruise.mjs'),
          ...LAYERED_DIRS,
          '--config',
          '.dependency-cruiser.cjs',
          '--output-type',
          'err',
        ],
      },
      { cmd: node, args: [bin('eslint', 'bin/eslint.js'), '.'] },
      { cmd: node, args: [bin('prettier', 'bin/prettier.cjs'), '--check', '--log-level', 'warn', '.'] },
      { cmd: pythonPath, args: ['-m', 'flake8', '--config', 'models/.flake8', 'models', 'tests/models'] },
    ],
  },
  {
    // issue 18: the trainer's update on jax-js WebGPU (SwiftShader here) and WASM in Chromium, against PyTorch's
    // parity fixture to 1e-4 (the bench page; bench/README.md); ~35 s
    name: 'e2e WebGPU trainer update on the parity fixture (bench page)',
    together: true,
    cmd: node,
    args: [
      bin('tsx', 'dist/cli.mjs'),
      join(root, 'bench', 'run.ts'),
      '--only',
      'train',
      '--train-runs',
      'webgpu-fixture',
      '--out',
      join(root, '.bench-tmp', 'fixture'),
    ],
  },
  {
    name: 'models (pytest)',
    cmd: pythonPath,
    args: ['-m', 'pytest', '-q', 'tests/models'],
    skip: hasPytests(join(root, 'tests', 'models')) ? null : 'tests/models has no tests yet',
  },
  { name: 'unit (vitest)', cmd: node, args: [bin('vitest', 'vitest.mjs'), 'run'] },
  { name: E2E_BUILD, cmd: node, args: [join(root, 'tests', 'e2e', 'harness.mjs'), '--build-only', '--dist', E2E_DIST] },
  ...E2E_SUITES.map(([name, file]) => ({
    name,
    cmd: node,
    args: [join(root, 'tests', 'e2e', file), '--no-build', '--dist', E2E_DIST],
    needs: E2E_BUILD,
  })),
];

// `--only NAME`: the suites whose names start with NAME (e.g. `npm run lint` = `--only lint`).
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? process.argv[onlyAt + 1] : null;
const chosen = only ? suites.filter((s) => s.name.startsWith(only)) : suites;
if (only && !chosen.length) {
  console.error(`--only ${only}: no suite's name starts with that; suites: ${suites.map((s) => s.name).join(' | ')}`);
  process.exit(2);
}

const results = [];
const started = Date.now();
const env = () => ({ ...process.env, UAE_PYTHON: pythonPath() });
/** Returns why suite `s` does not run (its own skip, or a suite it needs that did not pass), or null. */
const skipOf = (s) =>
  s.skip ?? (s.needs && results.find((r) => r.name === s.needs)?.status !== 'passed' ? `${s.needs} did not pass` : null);
/** Returns the result of a suite that does not run because of `skip`. */
const skipped = (s, skip) => ({ name: s.name, status: skip === s.skip ? 'skipped' : 'FAILED', note: skip });

/** Runs one step with its output on this terminal; resolves to { status, error }. */
function runInherit(cmd, args) {
  return spawnSync(typeof cmd === 'function' ? cmd() : cmd, args, { cwd: root, stdio: 'inherit', env: env() });
}

/** Runs one step with its output kept in `out` (stdout and stderr interleaved as they come). */
function runCaptured(cmd, args, out) {
  return new Promise((resolve) => {
    const child = spawn(typeof cmd === 'function' ? cmd() : cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: env() });
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    child.on('error', (error) => resolve({ status: null, error }));
    child.on('close', (status, signal) => resolve({ status, signal }));
  });
}

/** Runs a suite's steps (each after the one before; after a failure only with allSteps); returns its result. */
async function runSuite(s, runStep) {
  const t0 = Date.now();
  let r = { status: 0 };
  for (const { cmd, args } of s.steps ?? [s]) {
    const step = await runStep(cmd, args);
    if (step.status !== 0 && r.status === 0) r = step;
    if (r.status !== 0 && !s.allSteps) break;
  }
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const ok = r.status === 0;
  const note = r.error ? r.error.message : ok ? `${seconds}s` : `exit ${r.status ?? r.signal}, ${seconds}s`;
  return { name: s.name, status: ok ? 'passed' : 'FAILED', note };
}

for (let i = 0; i < chosen.length;) {
  // a run of consecutive `together` suites starts at once; the rest one at a time
  let j = i + 1;
  if (chosen[i].together) while (j < chosen.length && chosen[j].together) j++;
  const batch = chosen.slice(i, j);
  i = j;
  if (batch.length === 1) {
    const [s] = batch;
    console.log(`\n━━ ${s.name} ━━`);
    const skip = skipOf(s);
    if (skip) {
      console.log(`skipped: ${skip}`);
      results.push(skipped(s, skip));
    } else results.push(await runSuite(s, runInherit));
    continue;
  }
  console.log(`\n━━ at the same time: ${batch.map((s) => s.name).join(' | ')} (each one's output when it ends) ━━`);
  const done = await Promise.all(
    batch.map(async (s) => {
      const out = [];
      const skip = skipOf(s);
      const result = skip ? skipped(s, skip) : await runSuite(s, (cmd, args) => runCaptured(cmd, args, out));
      if (skip) out.push(Buffer.from(`skipped: ${skip}\n`));
      console.log(`\n━━ ${s.name} ━━ (${result.status}, ${result.note})`);
      process.stdout.write(Buffer.concat(out));
      return result;
    }),
  );
  results.push(...done);
}

console.log('\n━━ summary ━━');
for (const r of results) console.log(`  ${r.status.padEnd(8)} ${r.name}  (${r.note})`);
console.log(`  total ${((Date.now() - started) / 1000).toFixed(0)}s`);
const failed = results.filter((r) => r.status === 'FAILED');
console.log(failed.length ? `\n${failed.length} suite(s) failed` : '\nall suites passed');
process.exit(failed.length ? 1 : 0);
