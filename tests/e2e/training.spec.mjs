#!/usr/bin/env node
// Training-panel E2E spec (see harness.mjs for the ctx). Run alone, this file is its own runner: builds the
// app, serves it with `vite preview`, runs the specs in Chromium with WebGPU on and off.
// Usage: node tests/e2e/training.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm]   (builds into .e2e-tmp/training-dist)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { bannerText, tickProblems, until, waitLoaded } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';

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

/** Returns the checkpoint marker label's box and its chart SVG's box, and whether the label lies inside (null: no marker). */
export function markerLabelBox(page, testId) {
  return page.locator(`[data-testid="${testId}"]`).evaluate((fig) => {
    const svg = fig.querySelector('svg.recharts-surface');
    // recharts 3 draws labels in a z-index layer, away from the reference line's own group: find it by its text.
    const label = [...fig.querySelectorAll('svg.recharts-surface text')].find((t) => /^ckpt \d+$/.test(t.textContent.trim()));
    if (!svg || !label) return null;
    const a = svg.getBoundingClientRect();
    const b = label.getBoundingClientRect();
    const box = (r) => [r.left, r.top, r.right, r.bottom].map(Math.round).join(',');
    const inside = b.width > 0 && b.left >= a.left && b.right <= a.right && b.top >= a.top && b.bottom <= a.bottom;
    return { text: label.textContent, svg: box(a), label: box(b), inside };
  });
}

/** The chart's subtitle (" · reward" after the title), without the separator. */
async function subtitle(page, testId) {
  return ((await page.locator(`[data-testid="${testId}"] .chart-unit`).textContent()) ?? '').replace(/^\s*·\s*/, '').trim();
}

/** Opens the Training tab and waits until the loaded bundle's recorded runs (if any) are read. */
async function openTraining(page) {
  await page.getByRole('tab', { name: 'Training' }).click();
  await page.getByTestId('training-panel').waitFor();
  await until(
    async () => (await page.getByText('Reading the bundle’s recorded runs…').count()) === 0,
    'bundle runs never finished loading',
  );
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

/** The specs. ctx: see harness.mjs. */
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
      await waitLoaded(page, undefined, 300_000);
      await openTraining(page);
      for (const r of bundleRuns) await page.getByTestId(`run-item-bundle:${r.id}`).waitFor();
      await until(
        async () => (await vertices(page, 'chart-length')).length >= 1 && sum(await vertices(page, 'chart-reward')) > 1,
        'bundle runs not charted',
      );
      assert.equal(await page.getByTestId('error-banner').count(), 0);
      // Every chart ticks at nice steps (0 / 0.2 / 0.4 or 0 / 0.25 / 0.5, never 0.3 / 0.8), x and y alike.
      const charts = await page
        .locator('figure[data-testid^="chart-"]')
        .evaluateAll((els) => els.filter((e) => e.querySelector('svg')).map((e) => e.dataset.testid));
      assert.ok(charts.length >= 4, `only ${charts.length} charts drawn`);
      for (const id of charts) assert.deepEqual(await tickProblems(page, id), [], `${id} ticks`);
      // The chosen checkpoint's marker label lies inside its chart's SVG (it used to be cut at the top).
      if ((manifest.roles?.checkpoints ?? []).length > 0) {
        const box = await markerLabelBox(page, 'chart-length');
        assert.ok(box?.inside, `ckpt marker label outside the chart: ${JSON.stringify(box)}`);
      }
      // The run's sample caption says which scene it describes (not the checkpoint panel's image).
      if ((await page.getByTestId('sample-caption').count()) > 0) {
        assert.match(await page.getByTestId('sample-caption-scene').textContent(), /first scene of its held-out evaluation set/);
        assert.match(await page.getByTestId('sample-caption').textContent(), /held-out scene · step \d+/);
      }
      await shot(page, 'training-bundle');
    });
  }

  await step('training: the TRL trainer_state.json fixture imports and charts completions/mean_length and reward', async () => {
    await page.goto(baseUrl);
    await waitLoaded(page, undefined, 300_000);
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
    await until(
      async () => {
        const n = sum(await vertices(page, 'chart-length'));
        if (n !== seen[seen.length - 1]) seen.push(n);
        return n > 5 && n < trainRows;
      },
      'no new points arrived while playing',
      120_000,
    );
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
    await until(
      async () => (await page.getByTestId('replay-play').getAttribute('data-playing')) === 'false',
      'replay never reached the end',
      120_000,
    );
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
    assert.equal(
      lines[0],
      'step,trainer_state.json — reward ± std,trainer_state.json — reward ± std (low),trainer_state.json — reward ± std (high)',
    );
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
    await waitLoaded(page, undefined, 300_000);
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

  await step('training: a TRL GRPO trainer_state.json: eval_* fill the held-out chart, its −3…5 reward gets its own axis', async () => {
    await page.getByTestId('run-item-run').getByRole('checkbox').uncheck();
    // Only the trainer_state fixture is shown: its reward is the fidelity reward (rewards/sim/mean), like this project's.
    const fidelity = async () => (await subtitle(page, 'chart-reward')) === 'reward (fidelity)';
    await until(fidelity, 'reward subtitle is not "reward (fidelity)" for a sim-rewarded run');
    await page.getByTestId('runs-file-input').setInputFiles(fixture('trl-grpo-trainer_state.json'));
    await page.getByTestId('run-item-trl-grpo-trainer_state').waitFor();
    await page.getByTestId('replay-seek').fill(await page.getByTestId('replay-seek').getAttribute('max'));
    const trl = JSON.parse(readFileSync(fixture('trl-grpo-trainer_state.json'), 'utf8')).log_history;
    const evalRows = (rows) => rows.filter((r) => typeof r.eval_reward === 'number').length;
    // eval_reward (read as eval/reward) of both imports is drawn on the held-out chart.
    await until(async () => (await vertices(page, 'chart-fidelity')).length === 2, 'eval_* metrics did not reach the held-out chart');
    assert.deepEqual(await vertices(page, 'chart-fidelity'), [evalRows(state.log_history), evalRows(trl)]);
    assert.match(await page.locator('[data-testid="chart-fidelity"] .chart-legend').textContent(), /held-out reward/);
    // Different scales: the TRL reward is drawn against a right axis, and the subtitle no longer claims fidelity.
    assert.equal(await subtitle(page, 'chart-reward'), 'reward');
    const right = page.locator('[data-testid="chart-reward"] .chart-legend li[data-axis="right"]');
    assert.equal(await right.count(), 1, 'the TRL run is not on a right axis');
    assert.match(await right.textContent(), /trl-grpo-trainer_state\.json.*\(right axis\)/);
    assert.equal(await page.locator('[data-testid="chart-reward"] g.recharts-yAxis-tick-labels').count(), 2, 'no second y axis');
    assert.deepEqual(await tickProblems(page, 'chart-reward'), []);
    await shot(page, 'training-mixed-scales');
    // Neither import is the bundle's run: the checkpoint panel says whose checkpoints they are, evaluates nothing, marks nothing.
    if ((manifest.roles?.checkpoints ?? []).length > 0 && bundleRuns.length > 0) {
      const note = await page.getByTestId('checkpoint-owner-note').textContent();
      assert.match(note, /belong to the bundle’s run “.+”.*show it to evaluate them/);
      assert.equal(await page.getByTestId('checkpoint-eval').count(), 0);
      assert.equal(await markerLabelBox(page, 'chart-length'), null);
    }
    // The TRL run alone: its clip ratios are all 0, and the chart says so (the flat line is still drawn).
    await page.getByTestId('run-item-trainer_state').getByRole('checkbox').uncheck();
    await until(async () => (await page.getByTestId('chart-clip-zero-note').count()) === 1, 'no note on the all-zero clip-ratio chart');
    assert.equal((await page.getByTestId('chart-clip-zero-note').textContent()).trim(), 'All values are 0 in this run.');
    assert.ok(sum(await vertices(page, 'chart-clip')) > 0, 'the all-zero clip lines are not drawn');
    await page.getByTestId('run-item-trainer_state').getByRole('checkbox').check();
    await page.getByTestId('run-item-run').getByRole('checkbox').check();
  });

  await step('training: the checkpoint scrubber lists the bundle’s checkpoints (their evaluation: scrubber.spec.mjs)', async () => {
    const count = (manifest.roles?.checkpoints ?? []).length;
    if (count === 0) assert.match(await page.getByTestId('checkpoint-scrubber').textContent(), /has no encoder checkpoints/);
    else assert.equal(await page.locator('[data-testid^="checkpoint-item-"]').count(), count);
    await shot(page, 'training-overlay');
    // Leave the browser profile clean for later specs.
    for (const id of ['run', 'trainer_state', 'trl-grpo-trainer_state']) {
      await page
        .getByTestId(`run-item-${id}`)
        .getByRole('button', { name: /Remove/ })
        .click();
    }
    await until(async () => (await importedItems(page).count()) === 0, 'imported runs not removed');
  });

  await step('training: no uncaught errors or console errors', async () => {
    assert.deepEqual(pageErrors, []);
  });
  await page.close();
}

export const spec = { name: 'training', modes: ['wasm'], run: runTrainingSpecs };

if (isMain(import.meta.url)) runMain('training', [spec]);
