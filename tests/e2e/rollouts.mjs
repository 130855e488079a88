#!/usr/bin/env node
// E2E of the rollouts panel, run like tests/e2e/run.mjs: build, `vite preview`, the system Chromium with
// WebGPU (SwiftShader) and with WebGPU disabled. The panel scores a group of 8 on the default bundle (or,
// while the default cannot caption, on the tiny test bundle copied into the built site for the run only);
// the table must fill batch by batch (row count sampled over time), the numbers and charts must show.
// The site is built into its own folder (.e2e-tmp/rollouts-dist), so other runners rebuilding dist/ at the
// same time cannot pull files from under it.
// Usage: node tests/e2e/rollouts.mjs [--no-build] [--mode webgpu|wasm] [--screenshots]
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, MODES, CHROMIUM } from './browser.mjs';
import { assertRolloutsPanel } from './rollouts-checks.mjs';
import { freePort } from './server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const onlyMode = args.includes('--mode') ? args[args.indexOf('--mode') + 1] : null;
const outDir = join(root, 'test-results');
const TINY_DIR = '__e2e-uae-tiny';
const DIST = join(root, '.e2e-tmp', 'rollouts-dist');
const VITE = join(root, 'node_modules', 'vite', 'bin', 'vite.js');

/** Runs `vite build` into DIST; throws when it fails. */
function build() {
  const r = spawnSync(process.execPath, [VITE, 'build', '--logLevel', 'warn', '--outDir', DIST, '--emptyOutDir'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status})`);
}

/** Starts `vite preview` of DIST on 127.0.0.1:port; resolves to { url, stop } once it answers. */
async function preview(port) {
  const child = spawn(process.execPath, [VITE, 'preview', '--outDir', DIST, '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: root, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/`;
  const stop = () => new Promise((done) => (child.exitCode !== null ? done() : (child.once('exit', done), child.kill('SIGTERM'))));
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode})`);
    if (await fetch(url).then((r) => r.ok, () => false)) return { url, stop };
  }
  await stop();
  throw new Error(`vite preview did not answer on ${url}`);
}

/** Returns the bundle to roll out on: the catalog default when it has the roles, else the tiny test bundle. */
function chooseBundle() {
  const dist = DIST;
  const index = JSON.parse(readFileSync(join(dist, 'models', 'index.json'), 'utf8'));
  const manifestPath = join(dist, 'models', index.default, 'manifest.json');
  const roles = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')).roles ?? {} : {};
  if (roles.encoder && roles.decoder && roles.scorer) return { id: index.default, query: '', tiny: false };
  cpSync(join(root, 'tests', 'fixtures', 'parity', 'uae-tiny'), join(dist, TINY_DIR), { recursive: true });
  const id = JSON.parse(readFileSync(join(dist, TINY_DIR, 'manifest.json'), 'utf8')).id;
  console.log(`default bundle "${index.default}" cannot caption: using the tiny test bundle (random weights) for this run`);
  return { id, query: `?bundle=${encodeURIComponent(`${TINY_DIR}/`)}`, tiny: true };
}

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set UAE_CHROMIUM)`);
  if (!args.includes('--no-build') || !existsSync(join(DIST, 'index.html'))) build();
  mkdirSync(outDir, { recursive: true });
  const bundle = chooseBundle();
  const server = await preview(await freePort());
  const results = [];
  try {
    for (const mode of MODES.filter((m) => !onlyMode || m.name === onlyMode)) {
      console.log(`\n[${mode.name}] chromium ${mode.args.join(' ')}`);
      const browser = await launch(mode);
      const step = async (name, fn) => {
        const t0 = Date.now();
        try {
          await fn();
          results.push({ mode: mode.name, name });
          console.log(`  ✓ ${name} (${Date.now() - t0} ms)`);
        } catch (error) {
          results.push({ mode: mode.name, name, error });
          console.log(`  ✗ ${name}\n      ${String(error?.message ?? error).split('\n').join('\n      ')}`);
        }
      };
      const shot = async (page, name) => {
        const file = join(outDir, `rollouts-${mode.name}-${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        if (args.includes('--screenshots')) {
          mkdirSync(join(root, 'docs', 'img'), { recursive: true });
          copyFileSync(file, join(root, 'docs', 'img', `rollouts-${mode.name}-${name}.png`));
        }
      };
      try {
        await assertRolloutsPanel({ context: browser.context, url: `${server.url}${bundle.query}`, bundle, mode, step, shot });
      } catch (error) {
        results.push({ mode: mode.name, name: 'spec run aborted', error });
        console.log(`  ✗ spec run aborted: ${error?.stack ?? error}`);
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.stop();
    rmSync(join(DIST, TINY_DIR), { recursive: true, force: true });
  }
  const failed = results.filter((r) => r.error);
  console.log(`\nE2E rollouts: ${results.length - failed.length} passed, ${failed.length} failed; screenshots in test-results/`);
  for (const f of failed) console.log(`  FAILED [${f.mode}] ${f.name}`);
  return failed.length === 0 && results.length > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error?.stack ?? error);
    process.exit(1);
  },
);
