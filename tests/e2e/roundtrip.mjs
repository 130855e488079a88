#!/usr/bin/env node
// Round-trip E2E runner (same convention as run.mjs): builds the app, serves it with `vite preview`, runs the
// round-trip specs in the system Chromium with WebGPU (SwiftShader) and with WebGPU disabled (WASM).
// Bundle: the catalog default when it can round-trip (encoder+decoder+scorer), else public/models/uae-tiny/,
// else the tiny test bundle copied into the built site for the run.
// Usage: node tests/e2e/roundtrip.mjs [--no-build] [--mode webgpu|wasm] [--screenshots]
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, launch, MODES } from './browser.mjs';
import { runRoundTripSpecs } from './roundtrip-specs.mjs';
import { build, freePort, preview } from './server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const onlyMode = args.includes('--mode') ? args[args.indexOf('--mode') + 1] : null;
const outDir = join(root, 'test-results');
const COPIED = '__e2e-roundtrip-bundle';

function manifestOf(dir) {
  const file = join(dir, 'manifest.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

const canRoundTrip = (m) => m && ['encoder', 'decoder', 'scorer'].every((r) => m.roles?.[r]);

/** Returns { query, dir, name, copied } of the bundle the specs use. */
function chooseBundle() {
  const index = JSON.parse(readFileSync(join(root, 'public', 'models', 'index.json'), 'utf8'));
  const def = join(root, 'public', 'models', index.default);
  if (canRoundTrip(manifestOf(def))) return { query: '', dir: def, name: manifestOf(def).name };
  const tiny = join(root, 'public', 'models', 'uae-tiny');
  if (canRoundTrip(manifestOf(tiny))) return { query: 'bundle=models/uae-tiny/&', dir: tiny, name: manifestOf(tiny).name };
  const fixture = join(root, 'tests', 'fixtures', 'parity', 'uae-tiny');
  cpSync(fixture, join(root, 'dist', COPIED), { recursive: true });
  return { query: `bundle=${COPIED}/&`, dir: fixture, name: manifestOf(fixture).name, copied: true };
}

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set UAE_CHROMIUM)`);
  if (!args.includes('--no-build')) build(root);
  mkdirSync(outDir, { recursive: true });
  const bundle = chooseBundle();
  console.log(`bundle: ${bundle.name} (${bundle.dir})`);
  const server = await preview(root, await freePort());
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
      const shot = async (page, name, docName) => {
        const file = join(outDir, `${mode.name}-${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        if (docName && mode.name === 'webgpu') copyFileSync(file, join(root, 'docs', 'img', docName));
      };
      try {
        await runRoundTripSpecs({ context: browser.context, baseUrl: server.url, mode, step, shot, root, bundle, screenshots: args.includes('--screenshots') });
      } catch (error) {
        results.push({ mode: mode.name, name: 'spec run aborted', error });
        console.log(`  ✗ spec run aborted: ${error?.stack ?? error}`);
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.stop();
    if (bundle.copied) rmSync(join(root, 'dist', COPIED), { recursive: true, force: true });
  }
  const failed = results.filter((r) => r.error);
  console.log(`\nround-trip E2E: ${results.length - failed.length} passed, ${failed.length} failed; screenshots in test-results/`);
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
