#!/usr/bin/env node
// Training-panel E2E (same convention as run.mjs / roundtrip.mjs). `runTrainingSpecs(ctx)` takes the ctx
// of run.mjs ({context, baseUrl, mode, step, shot, root}); run directly, this file is its own runner:
// builds the app, serves it with `vite preview`, runs the specs in Chromium with WebGPU on and off.
// Usage: node tests/e2e/training.spec.mjs [--no-build] [--mode webgpu|wasm]   (builds into .e2e-tmp/training-dist)
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { CHROMIUM, launch, MODES } from './browser.mjs';
import { bannerText, until, waitLoaded } from './checks.mjs';
import { freePort } from './server.mjs';

const FIXTURES = ['tests', 'fixtures', 'runs'];

/** The catalog's default bundle id (public/models/index.json): what a first visit loads. */
function defaultBundle(root) {
  return JSON.parse(readFileSync(join(root, 'public', 'models', 'index.json'), 'utf8')).default;
}

/** Vertices of each line path in a chart (one per drawn data point: the lines are type="linear"). */
function vertices(page, testId) {
  return page
    .locator(`[data-testid="${testId}"] path.recharts-line-curve`)
    .evaluateAll((paths) => paths.map((p) => (p.getAttribute('d') ?? '').match(/[ML]/g)?.length ?? 0));
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** Opens the Training tab and waits until the loaded bundle's recorded runs (if any) are read. */
async function openTraining(page) {
  await page.getByRole('tab', { name: 'Training' }).click();
  await page.getByTestId('training-panel').waitFor();
  await until(async () => (await page.getByText('Reading the bundle’s recorded runs…').count()) === 0, 'bundle runs never finished loading');
}

/** Unticks the bundle's runs, so the charts show only what a spec imports. */
async function hideBundleRuns(page) {
  for (const box of await page.locator('[data-testid^="run-item-bundle:"] input[type="checkbox"]').all()) await box.uncheck();
}

/** Imported runs listed in the panel. */
const importedItems = (page) => page.locator('[data-testid^="run-item-"]:not([data-testid^="run-item-bundle:"])');

/** Clicks `button` and returns the download's bytes. */
async function download(page, button) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(button).click()]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), bytes: readFileSync(file) };
}

/** The specs. ctx: { context, baseUrl, mode, step(name, fn), shot(page, name), root }. */
export async function runTrainingSpecs(ctx) {
  const { context, baseUrl, step, shot, root } = ctx;
  const fixture = (...p) => join(root, ...FIXTURES, ...p);
  const state = JSON.parse(readFileSync(fixture('trainer_state.json'), 'utf8'));
  const trainRows = state.log_history.filter((r) => typeof r['completions/mean_length'] === 'number').length;
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // ORT's own warnings about CPU-assigned shape ops arrive as console errors; they are not app errors.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/\[W:onnxruntime:/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });

  const manifest = JSON.parse(readFileSync(join(root, 'public', 'models', defaultBundle(root), 'manifest.json'), 'utf8'));
  const bundleRuns = manifest.roles?.runs ?? [];
  if (bundleRuns.length > 0) {
    await step(`training: the bundle's ${bundleRuns.length} recorded run(s) are listed and chart caption length and reward`, async () => {
      await page.goto(baseUrl);
      await page.getByTestId('loaded-bundle').waitFor({ timeout: 300_000 });
      await openTraining(page);
      for (const r of bundleRuns) await page.getByTestId(`run-item-bundle:${r.id}`).waitFor();
      await until(async () => (await vertices(page, 'chart-length')).length >= 1 && sum(await vertices(page, 'chart-reward')) > 1, 'bundle runs not charted');
      assert.equal(await page.getByTestId('error-banner').count(), 0);
      await shot(page, 'training-bundle');
    });
  }

  await step('training: the TRL trainer_state.json fixture imports and charts completions/mean_length and reward', async () => {
    await page.goto(baseUrl);
    await page.getByTestId('loaded-bundle').waitFor({ timeout: 300_000 });
    await openTraining(page);
    await hideBundleRuns(page);
    await page.getByTestId('runs-file-input').setInputFiles(fixture('trainer_state.json'));
    await page.getByTestId('run-item-trainer_state').waitFor();
    // Paused at the end after an import: the whole run is drawn, one vertex per logged step.
    await until(async () => sum(await vertices(page, 'chart-length')) === trainRows, 'caption-length chart lacks points');
    assert.deepEqual(await vertices(page, 'chart-reward'), [trainRows]);
    assert.ok((await page.locator('[data-testid="chart-reward"] .chart-band path').count()) > 0, 'reward chart has no ± std band');
    assert.ok((await page.locator('[data-testid="chart-length"] .chart-band path').count()) > 0, 'length chart has no min–max band');
    assert.ok(sum(await vertices(page, 'chart-kl')) === trainRows, 'KL chart is not drawn');
    assert.equal(await page.getByTestId('error-banner').count(), 0);
    await shot(page, 'training-imported');
  });

  await step('training: replay draws the points progressively, pause holds them', async () => {
    // Poll-based, never timed: on a loaded machine a page action can take seconds.
    await page.getByTestId('replay-speed').selectOption('0.5');
    await page.getByTestId('replay-seek').fill('5');
    await until(async () => sum(await vertices(page, 'chart-length')) === 5, 'seeking to step 5 did not cut the curve to five points');
    await page.getByTestId('replay-play').click();
    assert.equal(await page.getByTestId('replay-play').getAttribute('data-playing'), 'true');
    const seen = [5];
    await until(async () => {
      const n = sum(await vertices(page, 'chart-length'));
      if (n !== seen[seen.length - 1]) seen.push(n);
      return n > 5 && n < trainRows;
    }, 'no new points arrived while playing', 120_000);
    await page.getByTestId('replay-play').click();
    assert.equal(await page.getByTestId('replay-play').getAttribute('data-playing'), 'false');
    const held = sum(await vertices(page, 'chart-length'));
    console.log(`      caption-length points seen while playing: ${seen.join(' → ')}; paused at ${held} of ${trainRows}`);
    assert.ok(held > 5 && held < trainRows, `paused at ${held} of ${trainRows}`);
    assert.match(await page.getByTestId('replay-step').textContent(), /^step \d+ \/ 40$/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sum(await vertices(page, 'chart-length')), held, 'points kept arriving while paused');
    await page.getByTestId('replay-speed').selectOption('8');
    await page.getByTestId('replay-play').click();
    await until(async () => (await page.getByTestId('replay-play').getAttribute('data-playing')) === 'false', 'replay never reached the end', 120_000);
    assert.equal(sum(await vertices(page, 'chart-length')), trainRows);
    assert.equal(sum(await vertices(page, 'chart-reward')), trainRows);
  });

  await step('training: a file that is no run log shows the file and the problem in the banner', async () => {
    await page.getByTestId('runs-file-input').setInputFiles(fixture('bad', 'broken-line.jsonl'));
    const text = await bannerText(page);
    assert.match(text, /^run-jsonl: broken-line\.jsonl: not JSONL, CSV or trainer_state\.json — line 3 is not JSON/);
    await page.getByTestId('runs-file-input').setInputFiles(fixture('bad', 'notes.txt'));
    await until(async () => (await bannerText(page)).startsWith('run-unrecognized: notes.txt: '), 'no banner for notes.txt');
    await page.getByRole('button', { name: 'Dismiss error' }).click();
    assert.equal(await importedItems(page).count(), 1, 'a bad file was added as a run');
  });

  await step('training: a chart exports its data as CSV and itself as PNG', async () => {
    const csv = await download(page, 'chart-reward-csv');
    assert.equal(csv.name, 'chart-reward.csv');
    const lines = csv.bytes.toString('utf8').trim().split('\n');
    assert.equal(lines[0], 'step,trainer_state.json — reward ± std,trainer_state.json — reward ± std (low),trainer_state.json — reward ± std (high)');
    assert.equal(lines.length, trainRows + 1);
    const first = state.log_history.find((r) => typeof r.reward === 'number');
    const [s, v, lo, hi] = lines[1].split(',').map(Number);
    assert.deepEqual([s, v], [first.step, first.reward]);
    assert.ok(Math.abs(lo - (first.reward - first.reward_std)) < 1e-12 && Math.abs(hi - (first.reward + first.reward_std)) < 1e-12);
    const png = await download(page, 'chart-length-png');
    assert.equal(png.name, 'chart-length.png');
    const img = PNG.sync.read(png.bytes);
    assert.ok(img.width >= 300 && img.height >= 200, `PNG is ${img.width}×${img.height}`);
    const colours = new Set();
    for (let i = 0; i < img.data.length; i += 4 * 97) colours.add(img.data.readUInt32BE(i));
    assert.ok(colours.size > 3, 'the PNG is blank');
  });

  await step('training: logs dropped on the panel overlay another run; imports survive a reload', async () => {
    const csv = readFileSync(fixture('run.csv'), 'utf8');
    const dt = await page.evaluateHandle((text) => {
      const d = new DataTransfer();
      d.items.add(new File([text], 'run.csv', { type: 'text/csv' }));
      return d;
    }, csv);
    await page.getByTestId('runs-dropzone').dispatchEvent('dragover', { dataTransfer: dt });
    await page.getByTestId('runs-dropzone').dispatchEvent('drop', { dataTransfer: dt });
    await page.getByTestId('run-item-run').waitFor();
    await until(async () => (await vertices(page, 'chart-reward')).length === 2, 'reward chart does not overlay two runs');
    assert.deepEqual(await vertices(page, 'chart-reward'), [trainRows, 12]);
    await page.getByTestId('run-item-run').getByRole('checkbox').uncheck();
    await until(async () => (await vertices(page, 'chart-reward')).length === 1, 'unticking a run did not remove it from the chart');
    await page.getByTestId('run-item-run').getByRole('checkbox').check();
    await page.reload();
    await page.getByTestId('loaded-bundle').waitFor({ timeout: 300_000 });
    await openTraining(page);
    await page
      .getByTestId('run-item-trainer_state')
      .waitFor({ timeout: 60_000 })
      .catch(async () => {
        const banner = await page.getByTestId('error-banner').allTextContents();
        const runs = await page.locator('[data-testid^="run-item-"]').evaluateAll((els) => els.map((e) => e.dataset.testid));
        await shot(page, 'training-reload-failed');
        throw new Error(`imported run not restored after reload; runs listed: ${JSON.stringify(runs)}; banner: ${JSON.stringify(banner)}`);
      });
    await hideBundleRuns(page);
    await page.getByTestId('run-item-run').waitFor();
    await until(async () => (await vertices(page, 'chart-reward')).length === 2, 'stored runs not charted after reload');
  });

  await step('training: the checkpoint scrubber says its evaluation is not wired yet', async () => {
    const slot = page.getByTestId('checkpoint-eval-slot');
    assert.equal(await slot.getAttribute('data-wired'), 'false');
    assert.match(await slot.textContent(), /Evaluation arrives with the inference engine/);
    await shot(page, 'training-overlay');
    // Leave the browser profile clean for later specs.
    for (const id of ['run', 'trainer_state']) await page.getByTestId(`run-item-${id}`).getByRole('button', { name: /Remove/ }).click();
    await until(async () => (await importedItems(page).count()) === 0, 'imported runs not removed');
  });

  await step('training: no uncaught errors or console errors', async () => {
    assert.deepEqual(pageErrors, []);
  });
  await page.close();
}

// Its own build folder: runners of other panels building into dist/ at the same time must not swap the
// files under a running page. (server.mjs's build/preview could take the folder as an option instead.)
const DIST = ['.e2e-tmp', 'training-dist'];

function vite(root, ...args) {
  return [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), ...args, '--outDir', join(root, ...DIST)];
}

/** Starts `vite preview` of the training build; resolves to { url, stop } once it answers HTTP. */
async function previewBuild(root, port) {
  const child = spawn(process.execPath, vite(root, 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'), { cwd: root, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/`;
  const stop = () => new Promise((done) => (child.exitCode !== null ? done() : (child.once('exit', done), child.kill('SIGTERM'))));
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode})`);
    if (await fetch(url).then((r) => r.ok, () => false)) return { url, stop };
  }
  await stop();
  throw new Error(`vite preview did not answer on ${url}`);
}

async function main() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const args = process.argv.slice(2);
  const onlyMode = args.includes('--mode') ? args[args.indexOf('--mode') + 1] : null;
  const outDir = join(root, 'test-results');
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set UAE_CHROMIUM)`);
  if (!args.includes('--no-build')) {
    const r = spawnSync(process.execPath, vite(root, 'build', '--logLevel', 'warn', '--emptyOutDir'), { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status})`);
  }
  mkdirSync(outDir, { recursive: true });
  const server = await previewBuild(root, await freePort());
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
      const shot = (page, name) => page.screenshot({ path: join(outDir, `${mode.name}-${name}.png`), fullPage: true });
      try {
        await runTrainingSpecs({ context: browser.context, baseUrl: server.url, mode, step, shot, root });
      } catch (error) {
        results.push({ mode: mode.name, name: 'spec run aborted', error });
        console.log(`  ✗ spec run aborted: ${error?.stack ?? error}`);
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.stop();
  }
  const failed = results.filter((r) => r.error);
  console.log(`\ntraining E2E: ${results.length - failed.length} passed, ${failed.length} failed; screenshots in test-results/`);
  for (const f of failed) console.log(`  FAILED [${f.mode}] ${f.name}`);
  return failed.length === 0 && results.length > 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error?.stack ?? error);
      process.exit(1);
    },
  );
}
