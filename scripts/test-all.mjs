#!/usr/bin/env node
// `npm test`: first what the suites need (node_modules when absent; Chromium and Debian's python3-torch/onnx/
// pytest/flake8 via scripts/ensure-test-deps.sh, which says what it installs), then every suite in order — typecheck,
// lint, unit (vitest), models (pytest), then the app is built ONCE and every E2E runner (Chromium, WebGPU + WASM)
// serves that same build (`--no-build --dist`).
// Runs them all even after a failure (E2E suites are skipped when the build failed), prints a summary with
// each suite's time, and exits non-zero if any failed.
import { spawnSync } from 'node:child_process';
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
  { name: 'typecheck', cmd: node, args: [bin('typescript', 'bin/tsc'), '-p', 'tsconfig.json', '--noEmit'] },
  {
    // docs/architecture.md: the layers (dependency-cruiser), the TypeScript rules (ESLint), the format (Prettier) and
    // the Python rules (flake8, Debian's python3-flake8).
    name: 'lint (dependency-cruiser, ESLint, Prettier, flake8)',
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
  { name: 'unit (vitest)', cmd: node, args: [bin('vitest', 'vitest.mjs'), 'run'] },
  {
    name: 'models (pytest)',
    cmd: pythonPath,
    args: ['-m', 'pytest', '-q', 'tests/models'],
    skip: hasPytests(join(root, 'tests', 'models')) ? null : 'tests/models has no tests yet',
  },
  {
    // issue 18: the trainer's update on jax-js WebGPU (SwiftShader here) and WASM in Chromium, against PyTorch's
    // parity fixture to 1e-4 (the bench page; bench/README.md); ~35 s
    name: 'e2e WebGPU trainer update on the parity fixture (bench page)',
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
for (const s of chosen) {
  console.log(`\n━━ ${s.name} ━━`);
  const skip = s.skip ?? (s.needs && results.find((r) => r.name === s.needs)?.status !== 'passed' ? `${s.needs} did not pass` : null);
  if (skip) {
    console.log(`skipped: ${skip}`);
    results.push({ name: s.name, status: skip === s.skip ? 'skipped' : 'FAILED', note: skip });
    continue;
  }
  const t0 = Date.now();
  let r = { status: 0 };
  for (const { cmd, args } of s.steps ?? [s]) {
    const env = { ...process.env, UAE_PYTHON: pythonPath() };
    const step = spawnSync(typeof cmd === 'function' ? cmd() : cmd, args, { cwd: root, stdio: 'inherit', env });
    if (step.status !== 0 && r.status === 0) r = step;
    if (r.status !== 0 && !s.allSteps) break;
  }
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const ok = r.status === 0;
  const note = r.error ? r.error.message : ok ? `${seconds}s` : `exit ${r.status ?? r.signal}, ${seconds}s`;
  results.push({ name: s.name, status: ok ? 'passed' : 'FAILED', note });
}

console.log('\n━━ summary ━━');
for (const r of results) console.log(`  ${r.status.padEnd(8)} ${r.name}  (${r.note})`);
console.log(`  total ${((Date.now() - started) / 1000).toFixed(0)}s`);
const failed = results.filter((r) => r.status === 'FAILED');
console.log(failed.length ? `\n${failed.length} suite(s) failed` : '\nall suites passed');
process.exit(failed.length ? 1 : 0);
