#!/usr/bin/env node
// The aha run of the page's own trainer (opt-in, not part of npm test: the default preset takes 10–25 min here).
// Headless Chromium on WASM opens the app with a `tl-*` link (the form's default preset unless flags change it),
// waits for the model, presses Start in the Training tab's "Train live", and follows the run to its end: one line per
// step seen (step i of N, the page's s/step). There is no overall timeout, only a generous one per step. It then
// saves the run's JSONL export and the "Export trained bundle (zip)" download, unpacks the zip (stored, uncompressed)
// into --out DIR, and prints the page's held-out evaluation table and the `uae eval` commands to run next (--eval runs
// them: first and last checkpoint, 200 scenes of held-out seed 3, as docs/live-training.md's aha table).
//
// Usage: node tests/e2e/train-live-aha.mjs [--no-build] [--dist DIR] [--out DIR] [--eval] [--step-timeout S]
//          [--steps N] [--group G] [--images B] [--eval-every K] [--eval-scenes N] [--seed S] [--lr X] ...
// Every `--NAME VALUE` whose `tl-NAME` is a key of the form (src/engine/train/form.ts) goes into the link as it is;
// the page's form checks it. A tiny run: --steps 2 --group 2 --images 1 --eval-every 2 --eval-scenes 4
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { collectErrors, fail, until, waitLoaded } from './checks.mjs';
import { CHROMIUM, launch, MODES, parseArgs, ROOT } from './harness.mjs';
import { build, freePort, preview } from './server.mjs';

/** The form's link keys, read from its one table (`key: 'tl-…'`), so a new field is a new flag. */
const TL_KEYS = [...readFileSync(join(ROOT, 'src', 'engine', 'train', 'form.ts'), 'utf8').matchAll(/key: '(tl-[a-z-]+)'/g)].map(
  (m) => m[1],
);
/** Loading the bundle and compiling on a shared 2-core machine. */
const LOAD_WAIT = 600_000;
/** Default seconds one step may take (a preset step is 8–20 s; step 1 also holds the step-0 evaluation and the jit). */
const STEP_TIMEOUT_S = 1800;

const USAGE =
  'usage: node tests/e2e/train-live-aha.mjs [--no-build] [--dist DIR] [--out DIR] [--eval] [--step-timeout S] ' +
  TL_KEYS.map((k) => `[--${k.slice(3)} V]`).join(' ');

function options(argv) {
  const { build: doBuild, dist } = parseArgs(argv, join('.e2e-tmp', 'train-live-aha-dist'));
  const link = new URLSearchParams();
  let out = join('.e2e-tmp', 'train-live-aha');
  let stepTimeout = STEP_TIMEOUT_S;
  let runEval = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === '--no-build') continue;
    else if (a === '--dist') value();
    else if (a === '--eval') runEval = true;
    else if (a === '--out') out = value();
    else if (a === '--step-timeout') {
      stepTimeout = Number(value());
      if (!(stepTimeout > 0)) throw new Error(`--step-timeout must be a number of seconds > 0\n${USAGE}`);
    } else if (a.startsWith('--') && TL_KEYS.includes(`tl-${a.slice(2)}`)) link.set(`tl-${a.slice(2)}`, value());
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return { doBuild, dist, out: isAbsolute(out) ? out : resolve(ROOT, out), stepTimeout, runEval, link };
}

/** Unpacks a stored (method 0) zip into `dir`, checking every CRC-32; returns the paths written. */
function unzipStored(bytes, dir) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip: no end of central directory');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const paths = [];
  for (let n = 0; n < count; n++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error(`zip: bad central directory entry ${n}`);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const size = view.getUint32(at + 20, true);
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extraLen + commentLen;
    if (method !== 0) throw new Error(`zip: ${name} is compressed (method ${method}); this reader takes stored files only`);
    if (view.getUint32(local, true) !== 0x04034b50) throw new Error(`zip: bad local header of ${name}`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = bytes.subarray(start, start + size);
    if (crc32(data) >>> 0 !== crc) throw new Error(`zip: CRC-32 of ${name} does not match`);
    const target = resolve(dir, name);
    if (relative(dir, target).startsWith('..') || isAbsolute(relative(dir, target))) throw new Error(`zip: ${name} leaves the folder`);
    if (name.endsWith('/')) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
    paths.push(name);
  }
  return paths;
}

const attr = (page, id, name) => page.getByTestId(id).getAttribute(name);
const clock = (ms) => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;

/** The page's held-out evaluation table, as text rows (header first). */
async function evalTable(page) {
  const head = await page.locator('[data-testid="tl-eval"] thead th').allTextContents();
  const rows = await page.getByTestId('tl-eval-row').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
  return [head, ...rows];
}

function printTable(rows) {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  for (const r of rows) console.log(`  ${r.map((c, j) => c.padStart(w[j])).join('  ')}`);
}

/**
 * Records in the page every step the progress shows, as React commits it (a MutationObserver: no step is missed
 * between two polls), with the page's own s/step, ETA and latest row at that moment.
 */
const STEP_RECORDER = `(() => {
  window.__ahaSteps = [];
  let last = null;
  const text = (id) => document.querySelector('[data-testid="' + id + '"]')?.textContent.trim() ?? '';
  const look = () => {
    const p = document.querySelector('[data-testid="tl-progress"]');
    if (!p || p.dataset.step === last) return;
    last = p.dataset.step;
    const rate = document.querySelector('[data-testid="tl-rate"]');
    window.__ahaSteps.push({
      at: Date.now(),
      step: Number(p.dataset.step),
      steps: Number(p.dataset.steps),
      rate: rate ? Number(rate.dataset.seconds) : null,
      eta: text('tl-eta'),
      row: text('tl-last-row'),
    });
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-step'] });
})()`;

/** Follows the run to its end, one line per step; throws when it stops otherwise or a step takes too long. */
async function follow(page, stepTimeout, t0) {
  let seenAt = Date.now();
  let seen = 0;
  let evals = 0;
  for (;;) {
    // Read the status before draining, so that a run seen done has all its steps drained.
    const status = await attr(page, 'train-live', 'data-status');
    for (const s of await page.evaluate(() => window.__ahaSteps.splice(0))) {
      if (s.step <= seen) continue;
      const pace = s.rate === null ? '– s/step' : `${s.rate.toFixed(1)} s/step`;
      const row = s.row.replace(/^step \d+: /, '');
      console.log(`step ${s.step} of ${s.steps}  ${pace}${s.eta ? `  ${s.eta}` : ''}  [${clock(s.at - t0)}]  ${row}`);
      seen = s.step;
      seenAt = Date.now();
    }
    const rows = await page.getByTestId('tl-eval-row').count();
    if (rows > evals) {
      const [head, ...table] = await evalTable(page);
      for (const r of table.slice(evals))
        console.log(
          `  held-out evaluation at step ${r[0]}: ${head
            .slice(1)
            .map((h, j) => `${h} ${r[j + 1]}`)
            .join(' · ')}`,
        );
      evals = rows;
    }
    if (status === 'done') return;
    if (status !== 'running') {
      const msg = (await page.getByTestId('tl-message').allTextContents()).join(' ');
      throw fail(`the run ended as ${status} after step ${seen}${msg ? `: ${msg}` : ''}`);
    }
    if (Date.now() - seenAt > stepTimeout * 1000) throw fail(`step ${seen + 1} did not finish within ${stepTimeout} s (--step-timeout)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main() {
  const t0 = Date.now();
  const o = options(process.argv.slice(2));
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set UAE_CHROMIUM)`);
  if (existsSync(o.out) && readdirSync(o.out).length > 0) throw new Error(`--out ${o.out} is not empty: choose another folder or empty it`);
  if (existsSync(`${o.out}.zip`)) throw new Error(`${o.out}.zip is already there: choose another --out or remove it`);
  if (o.doBuild || !existsSync(join(o.dist, 'index.html'))) {
    console.log(`building into ${o.dist}`);
    build(ROOT, o.dist);
  }
  const server = await preview(ROOT, o.dist, await freePort());
  const browser = await launch(MODES.find((m) => m.name === 'wasm'));
  try {
    const page = await browser.context.newPage();
    await page.addInitScript(STEP_RECORDER);
    const errors = collectErrors(page);
    const query = o.link.toString();
    console.log(`chromium (WASM) ${server.url}?${query}  (unset tl-* keys: the form's default preset)`);
    await page.goto(`${server.url}${query ? `?${query}` : ''}`);
    await waitLoaded(page, undefined, LOAD_WAIT);
    if ((await page.getByTestId('train-live').count()) === 0) await page.getByTestId('tab-training').click();
    await page.getByTestId('train-live').waitFor();
    if ((await page.getByTestId('tl-form-error').count()) > 0) {
      const why = await page.getByTestId('tl-form-error').allTextContents();
      throw new Error(`the form refuses the link:\n  ${why.join('\n  ')}`);
    }
    const form = await page
      .locator('[data-testid^="tl-field-"]')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-testid').slice(9)}=${e.value}`));
    console.log(`settings: ${form.join(' ')}`);
    console.log(`backend: ${(await page.getByTestId('backend-badge').textContent()).trim()}; model loaded after ${clock(Date.now() - t0)}`);
    await until(async () => page.getByTestId('tl-start').isEnabled(), 'Start stays disabled', LOAD_WAIT);
    const tStart = Date.now();
    await page.getByTestId('tl-start').click();
    await until(async () => (await attr(page, 'train-live', 'data-status')) === 'running', 'the run did not start');
    await until(async () => (await page.getByTestId('tl-device').count()) > 0, 'no gradient device shown', o.stepTimeout * 1000);
    console.log(`started: ${(await page.getByTestId('tl-device').textContent()).trim()}`);
    await follow(page, o.stepTimeout, tStart);
    const steps = Number(await attr(page, 'tl-progress', 'data-steps'));
    const wall = (Date.now() - tStart) / 1000;
    console.log(
      `done: ${steps} steps in ${clock(wall * 1000)} (${(wall / steps).toFixed(1)} s/step overall, the step-0 evaluation included)`,
    );

    mkdirSync(o.out, { recursive: true });
    const download = async (testId) => {
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: LOAD_WAIT }), page.getByTestId(testId).click()]);
      return dl;
    };
    const jsonl = await download('tl-export-jsonl');
    const jsonlPath = join(o.out, jsonl.suggestedFilename());
    await jsonl.saveAs(jsonlPath);
    const zip = await download('tl-export-bundle');
    const zipPath = `${o.out}.zip`;
    await zip.saveAs(zipPath);
    const files = unzipStored(readFileSync(zipPath), o.out);
    const inBundle = join(o.out, 'runs', 'live-stage2.jsonl');
    const same = existsSync(inBundle) && readFileSync(inBundle, 'utf8').trim() === readFileSync(jsonlPath, 'utf8').trim();
    console.log(`\nrun export (JSONL): ${jsonlPath}${same ? ' (the same rows as the bundle’s runs/live-stage2.jsonl)' : ''}`);
    console.log(`bundle zip: ${zipPath} (${zip.suggestedFilename()})`);
    console.log(`bundle: ${o.out} (${files.length} files, CRC-32s checked)`);
    console.log('\nthe page’s held-out evaluations:');
    printTable(await evalTable(page));

    const rel = relative(ROOT, o.out).startsWith('..') ? o.out : relative(ROOT, o.out);
    const commands = ['first', 'last'].map((c) => [
      'bin/uae.mjs',
      'eval',
      '--bundle',
      rel,
      '--checkpoint',
      c,
      '--scenes',
      '200',
      '--seed',
      '3',
      '--json',
    ]);
    console.log(`\n${o.runEval ? 'running' : 'next'}:`);
    console.log(`  node bin/uae.mjs info ${rel}`);
    for (const c of commands) console.log(`  node ${c.join(' ')}`);
    if (errors.length > 0) console.log(`\npage errors:\n  ${errors.join('\n  ')}`);
    await page.close();
    await browser.close();
    await server.stop();
    if (o.runEval) {
      for (const c of commands) {
        console.log(`\n$ node ${c.join(' ')}`);
        const r = spawnSync(process.execPath, c, { cwd: ROOT, stdio: 'inherit' });
        if (r.status !== 0) return 1;
      }
    }
    return errors.length > 0 ? 1 : 0;
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error?.message ?? error);
    process.exit(1);
  },
);
