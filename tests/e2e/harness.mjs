// The one E2E harness: build the app once into a folder, serve it with `vite preview` (COOP/COEP), and run
// spec files in the system Chromium once per mode (WebGPU on SwiftShader, and WebGPU disabled → WASM), each
// spec in a fresh browser profile; collect pass/fail per named step, print a summary, return an exit code.
//
// How to add a spec file (e.g. tests/e2e/scrubber.spec.mjs):
//   1. Export a spec:  export const spec = { name: 'scrubber', run: async (ctx) => { ... } };
//      ctx = { context, baseUrl, mode, step, shot, root, dist, mount, screenshots }:
//        context  playwright BrowserContext on a fresh profile (per spec, per mode; IndexedDB etc. start empty)
//        baseUrl  the served build, e.g. http://127.0.0.1:4567/   mode  { name: 'webgpu'|'wasm', expect, args }
//        step(name, fn)   one named check: a throw fails that step and the next step still runs; a throw
//                         outside any step aborts the spec for this mode (reported as "spec run aborted")
//        shot(page, name, docName?)  screenshot to test-results/<mode>-<name>.png (+ docs/img/<docName>
//                         when the runner was given --screenshots)
//        mount(srcDir, as)  copies a folder into the served build for this run only (removed at the end);
//                         returns its URL prefix (`${baseUrl}${as}/`)
//      Use checks.mjs (until, fail, assertBackend, waitLoaded, bannerText) and wait generously (minutes):
//      SwiftShader WebGPU is ~30x slower than WASM and the machine is shared. Never assert speed.
//      Every spec sets `modes: ['wasm']`: npm test runs it in WASM mode alone (SwiftShader WebGPU would repeat
//      it ~30x slower); `--mode webgpu` still forces it there. What only WebGPU can show goes into the shared
//      WebGPU pass (webgpu.spec.mjs: add the spec to SHARED_SUITES), where the spec runs on the one page that
//      pass loaded: get the page with checks.mjs specPage(ctx), and when it says `shared`, open the tab and set
//      the fields in the page instead of navigating (a new page compiles every WebGPU shader again).
//   2. Make it runnable alone:  if (isMain(import.meta.url)) runMain('scrubber', [spec]);
//      (`node tests/e2e/scrubber.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm] [--screenshots]`)
//   3. Put it in `npm test`: add the file to E2E_SUITES in scripts/test-all.mjs; there every E2E suite is
//      run with `--no-build --dist <one shared build>`.
// `node tests/e2e/harness.mjs --build-only --dist DIR` only builds (what scripts/test-all.mjs does first).
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build, freePort, preview } from './server.mjs';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CHROMIUM = process.env.UAE_CHROMIUM ?? '/usr/bin/chromium';

/** Chromium's flags for every headless run here (the bench reads the same file). */
const COMMON = JSON.parse(readFileSync(join(import.meta.dirname, 'chromium-flags.json'), 'utf8'));

/**
 * The two runs: `expect` is the backend the header must show. The app's Auto passes over a software
 * fallback adapter (SwiftShader, the only WebGPU adapter here), so the WebGPU run starts with WebGPU chosen
 * (a stored setting, written before the app's first load unless one is already stored).
 */
export const MODES = [
  { name: 'webgpu', expect: 'webgpu', args: [...COMMON, '--enable-unsafe-webgpu'] },
  { name: 'wasm', expect: 'wasm', args: [...COMMON, '--disable-webgpu'] },
];
const MODE_NAMES = MODES.map((m) => m.name);

/** Launches Chromium in `mode` with a fresh profile; returns { context, close } (close deletes the profile). */
export async function launch(mode) {
  const profile = mkdtempSync(join(tmpdir(), `uae-e2e-${mode.name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: mode.args,
    viewport: { width: 1280, height: 860 },
  });
  if (mode.name === 'webgpu') {
    await context.addInitScript(() => {
      try {
        if (location.protocol.startsWith('http') && !localStorage.getItem('uae-playground')) {
          localStorage.setItem(
            'uae-playground',
            JSON.stringify({ state: { config: { backend: 'webgpu', bundle: null, seed: 0 } }, version: 1 }),
          );
        }
      } catch {
        // no storage on this page: nothing to preset
      }
    });
  }
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** True when the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl) {
  return Boolean(process.argv[1]) && resolve(process.argv[1]) === fileURLToPath(metaUrl);
}

/** Parses the runner flags: { build, dist, mode, screenshots, buildOnly }. */
export function parseArgs(argv, defaultDist) {
  const value = (flag) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : null);
  const dist = value('--dist') ?? defaultDist;
  return {
    build: !argv.includes('--no-build'),
    buildOnly: argv.includes('--build-only'),
    dist: isAbsolute(dist) ? dist : join(ROOT, dist),
    mode: value('--mode'),
    screenshots: argv.includes('--screenshots') || argv.includes('--readme-screenshot'),
  };
}

const indent = (text) => String(text).split('\n').join('\n      ');

/**
 * Builds (unless opts.build is false and a build is there), serves, and runs every spec in every mode.
 * Returns the results: [{ suite, mode, name, error? }].
 */
export async function runSpecs(specs, opts) {
  const { dist, screenshots = false } = opts;
  const outDir = join(ROOT, 'test-results');
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set UAE_CHROMIUM)`);
  if (opts.build || !existsSync(join(dist, 'index.html'))) build(ROOT, dist);
  mkdirSync(outDir, { recursive: true });
  const mounted = new Set();
  const server = await preview(ROOT, dist, await freePort());
  const results = [];
  try {
    for (const h of ['cross-origin-opener-policy', 'cross-origin-embedder-policy']) {
      if (!server.headers.get(h)) results.push({ suite: '-', mode: '-', name: `preview sends ${h}`, error: new Error('header missing') });
    }
    const mount = (src, as) => {
      if (!mounted.has(as)) cpSync(src, join(dist, as), { recursive: true });
      mounted.add(as);
      return `${server.url}${as}/`;
    };
    for (const spec of specs) {
      for (const mode of MODES.filter((m) => (opts.mode ? m.name === opts.mode : (spec.modes ?? MODE_NAMES).includes(m.name)))) {
        console.log(`\n[${spec.name} · ${mode.name}] chromium ${mode.args.join(' ')}`);
        const step = async (name, fn) => {
          const t0 = Date.now();
          try {
            await fn();
            results.push({ suite: spec.name, mode: mode.name, name });
            console.log(`  ✓ ${name} (${Date.now() - t0} ms)`);
          } catch (error) {
            results.push({ suite: spec.name, mode: mode.name, name, error });
            console.log(`  ✗ ${name} (${Date.now() - t0} ms)\n      ${indent(error?.message ?? error)}`);
          }
        };
        const shot = async (page, name, docName) => {
          const file = join(outDir, `${mode.name}-${name}.png`);
          await page.screenshot({ path: file, fullPage: true });
          if (docName && screenshots) {
            mkdirSync(join(ROOT, 'docs', 'img'), { recursive: true });
            copyFileSync(file, join(ROOT, 'docs', 'img', docName));
          }
        };
        const browser = await launch(mode);
        try {
          await spec.run({ context: browser.context, baseUrl: server.url, mode, step, shot, root: ROOT, dist, mount, screenshots });
        } catch (error) {
          results.push({ suite: spec.name, mode: mode.name, name: 'spec run aborted', error });
          console.log(`  ✗ spec run aborted: ${indent(error?.stack ?? error)}`);
        } finally {
          await browser.close();
        }
      }
    }
  } finally {
    await server.stop();
    for (const as of mounted) rmSync(join(dist, as), { recursive: true, force: true });
  }
  return results;
}

/** Prints the summary of `results`; returns the exit code (0: something ran and nothing failed). */
export function summarize(title, results, t0) {
  const failed = results.filter((r) => r.error);
  const seconds = ((Date.now() - t0) / 1000).toFixed(0);
  console.log(
    `\n${title}: ${results.length - failed.length} passed, ${failed.length} failed in ${seconds} s; screenshots in test-results/`,
  );
  for (const f of failed) console.log(`  FAILED [${f.suite} · ${f.mode}] ${f.name}`);
  return failed.length === 0 && results.length > 0 ? 0 : 1;
}

/**
 * The command-line entry of a runner: parses process.argv, runs `specs`, prints the summary and exits.
 * Builds into .e2e-tmp/<id>-dist unless --dist is given, so runners started side by side never swap the
 * files under each other's pages.
 */
export function runMain(id, specs) {
  const t0 = Date.now();
  const opts = parseArgs(process.argv.slice(2), join('.e2e-tmp', `${id}-dist`));
  runSpecs(specs, opts).then(
    (results) => process.exit(summarize(`E2E ${id}`, results, t0)),
    (error) => {
      console.error(error?.stack ?? error);
      process.exit(1);
    },
  );
}

if (isMain(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2), join('.e2e-tmp', 'e2e-dist'));
  if (!opts.buildOnly) {
    console.error('usage: node tests/e2e/harness.mjs --build-only [--dist DIR]   (runners: run.mjs, roundtrip.mjs, …)');
    process.exit(2);
  }
  try {
    build(ROOT, opts.dist);
    console.log(`built into ${opts.dist}`);
  } catch (error) {
    console.error(error?.message ?? error);
    process.exit(1);
  }
}
