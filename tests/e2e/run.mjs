#!/usr/bin/env node
// E2E runner: builds the app, serves it with `vite preview`, and runs the specs in the system Chromium twice,
// with WebGPU (SwiftShader) and with WebGPU disabled (WASM fallback).
// Usage: node tests/e2e/run.mjs [--no-build] [--mode webgpu|wasm] [--readme-screenshot]
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, MODES, CHROMIUM } from './browser.mjs';
import { build, freePort, preview } from './server.mjs';
import { runSpecs } from './specs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const onlyMode = args.includes('--mode') ? args[args.indexOf('--mode') + 1] : null;
const outDir = join(root, 'test-results');
// Broken bundles are copied into the built site for the run only; they are never part of public/.
const BAD_DIR = '__e2e-bad-bundles';

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set UAE_CHROMIUM)`);
  if (!args.includes('--no-build')) build(root);
  mkdirSync(outDir, { recursive: true });
  const served = join(root, 'dist', BAD_DIR);
  cpSync(join(root, 'tests', 'fixtures', 'bad-bundles'), served, { recursive: true });
  const server = await preview(root, await freePort());
  const results = [];
  try {
    for (const h of ['cross-origin-opener-policy', 'cross-origin-embedder-policy']) {
      if (!server.headers.get(h)) results.push({ mode: '-', name: `preview sends ${h}`, error: new Error('header missing') });
    }
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
        const file = join(outDir, `${mode.name}-${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        if (name === 'loaded' && mode.name === 'webgpu' && args.includes('--readme-screenshot')) {
          mkdirSync(join(root, 'docs', 'img'), { recursive: true });
          copyFileSync(file, join(root, 'docs', 'img', 'screenshot-app.png'));
        }
      };
      try {
        await runSpecs({ context: browser.context, baseUrl: server.url, mode, step, shot, root, badPrefix: `${server.url}${BAD_DIR}/` });
      } catch (error) {
        results.push({ mode: mode.name, name: 'spec run aborted', error });
        console.log(`  ✗ spec run aborted: ${error?.stack ?? error}`);
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.stop();
    rmSync(served, { recursive: true, force: true });
  }
  const failed = results.filter((r) => r.error);
  console.log(`\nE2E: ${results.length - failed.length} passed, ${failed.length} failed; screenshots in test-results/`);
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
