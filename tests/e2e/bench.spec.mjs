#!/usr/bin/env node
// Bench-tab E2E spec (see harness.mjs for the ctx), on the catalog's default bundle at tiny sizes: Unified-Bench on
// two checkpoints and GenEval-Shapes run, their tables and charts fill batch by batch; bad input
// (scenes out of range, an empty folder, a file that is not an image) is named; a folder of the user's PNGs runs
// through Unified-Bench; Cancel leaves the worker idle within 1 s; results survive a reload; CSV and JSON export.
// Checkpoints trained in the page are benchmarked in train-live.spec.mjs, on the run it trains anyway.
// WebGPU (SwiftShader: each graph's first run compiles its shaders) runs one queue of the smallest run of both
// benchmarks on WebGPU sessions; bad input, the folder, Cancel, reload and export are the same code on either
// backend and are checked on WASM. The page load and each queue's runs (started, first batch, done) are logged.
// Usage: node tests/e2e/bench.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm] [--screenshots]
//        UAE_BENCH_MEASURE=1 … --mode wasm: also times a 100-scene Unified-Bench and a 105-prompt GenEval run
//        (with --screenshots its page becomes docs/img/tab-bench.png).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pngFile } from '../fixtures/image-corpus.mjs';
import { bannerParts, collectErrors, fail, openTab, specPage, until, waitLoaded } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';

const RUN_WAIT = 600_000;

function defaultBundle(root) {
  const models = join(root, 'public', 'models');
  const id = JSON.parse(readFileSync(join(models, 'index.json'), 'utf8')).default;
  return { id, manifest: JSON.parse(readFileSync(join(models, id, 'manifest.json'), 'utf8')) };
}

/** Records, on every change of the Bench panel, each result row (status, rows in, overall) and the charts' marks. */
function record(page) {
  return page.getByTestId('bench-panel').evaluate((panel) => {
    window.__benchStop?.();
    const t0 = performance.now();
    window.__bench = [];
    const sample = () => {
      const rows = [...panel.querySelectorAll('[data-bench-row]')].map((r) => ({
        id: r.getAttribute('data-testid'),
        status: r.getAttribute('data-status'),
        n: Number(r.getAttribute('data-n')),
      }));
      const points = (id) => Number(panel.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-points') ?? 0);
      window.__bench.push({
        ms: performance.now() - t0,
        engine: panel.getAttribute('data-engine'),
        rows,
        progress: panel.querySelector('[data-testid="bench-progress"]')?.textContent ?? null,
        taskPoints: points('bench-chart-tasks'),
        backbonePoints: points('bench-chart-backbones'),
      });
    };
    sample();
    const cancel = panel.querySelector('[data-testid="bench-cancel"]');
    const onCancel = () => (window.__benchCancelAt = performance.now() - t0);
    cancel?.addEventListener('click', onCancel, { capture: true });
    const observer = new MutationObserver(sample);
    observer.observe(panel, { subtree: true, childList: true, attributes: true, characterData: true });
    window.__benchStop = () => {
      observer.disconnect();
      cancel?.removeEventListener('click', onCancel, { capture: true });
    };
  });
}

const samples = (page) => page.evaluate(() => window.__bench);

/** Fills the form: `fields` by test id suffix (numbers), `checks` by test id suffix (true/false). */
export async function setForm(page, fields, checks = {}) {
  for (const [k, on] of Object.entries(checks)) await page.getByTestId(`bench-${k}`).setChecked(on);
  for (const [k, v] of Object.entries(fields)) await page.getByTestId(`bench-${k}`).fill(String(v));
}

/** Clicks Run and waits until the queue is done; returns the rows then. */
export async function runAndWait(page) {
  await page.getByTestId('bench-run').click();
  await page
    .getByTestId('bench-progress')
    .waitFor({ timeout: 30_000 })
    .catch(() => {});
  await until(
    async () => {
      if ((await page.getByTestId('error-banner').count()) > 0) throw fail(`run failed: ${(await bannerParts(page)).text}`);
      return (await page.getByTestId('bench-progress').count()) === 0 && (await page.getByTestId('bench-run').isEnabled());
    },
    'the benchmark queue never finished',
    RUN_WAIT,
  );
}

/** Rows of the result tables now: [{ id, kind, status, n, overall }]. */
export function tableRows(page) {
  return page.locator('[data-bench-row]').evaluateAll((rows) =>
    rows.map((r) => ({
      id: r.getAttribute('data-testid'),
      kind: r.getAttribute('data-bench-row'),
      status: r.getAttribute('data-status'),
      n: Number(r.getAttribute('data-n')),
      overall: r.getAttribute('data-overall') === '' ? NaN : Number(r.getAttribute('data-overall')),
      cells: [...r.querySelectorAll('td')].map((td) => td.textContent.trim()),
    })),
  );
}

/** Asserts every row of `kind` was seen with some but not all of its images in, i.e. the table filled as batches arrived. */
function assertStreamed(recorded, ids) {
  for (const id of ids) {
    const seen = [...new Set(recorded.flatMap((s) => s.rows.filter((r) => r.id === id).map((r) => r.n)))];
    const final = Math.max(...seen);
    assert.ok(
      seen.some((n) => n > 0 && n < final),
      `${id} never showed a partial result before its last batch (rows seen: ${seen.join(', ')})`,
    );
  }
}

/** Logs, per run of the queue just recorded, when it started, showed its first batch and finished (s after Run). */
function logPhases(mode, rec) {
  const ran = [...new Set(rec.flatMap((s) => s.rows.filter((r) => r.status === 'running').map((r) => r.id)))];
  const at = (id, test) => {
    const s = rec.find((x) => x.rows.some((r) => r.id === id && test(r)));
    return s ? (s.ms / 1000).toFixed(1) : '-';
  };
  for (const id of ran) {
    const times = [at(id, (r) => r.status === 'running'), at(id, (r) => r.n > 0), at(id, (r) => r.status !== 'running' && r.n > 0)];
    console.log(`      [${mode.name}] ${id.replace(/-\d+-/, '-')}: started ${times[0]} s, first batch ${times[1]} s, done ${times[2]} s`);
  }
}

/** The spec. ctx: see harness.mjs. */
export async function runBenchSpecs(ctx) {
  const { baseUrl, step, shot, root, mode } = ctx;
  const { id, manifest } = defaultBundle(root);
  const steps = (manifest.roles?.checkpoints ?? []).map((c) => c.step).sort((a, b) => a - b);
  const tiny = mode.name === 'webgpu';
  // Alone: a fresh page. In the shared WebGPU pass: the loaded page, opened at its Bench tab (checks.mjs specPage).
  const { page, shared, close } = await specPage(ctx);
  const errors = collectErrors(page);
  const t0 = Date.now();
  if (!shared) await page.goto(baseUrl);
  await waitLoaded(page, id, 300_000);
  console.log(`      [${mode.name}] page and bundle loaded in ${Date.now() - t0} ms`);
  await openTab(page, 'bench', 'bench-panel');

  if (!tiny) {
    await step('bench: scenes out of range are refused with a sentence naming the field', async () => {
      await setForm(page, { scenes: 0 });
      await page.getByTestId('bench-run').click();
      const b = await bannerParts(page);
      assert.equal(b.message, 'Scenes must be a whole number from 1 to 1000 (got 0).');
      await page.getByRole('button', { name: 'Dismiss error' }).click();
    });
  }

  const first = [];
  const [lo, hi] = [steps[0], steps.at(-1)];
  const title = tiny
    ? 'bench: Unified-Bench (encoder, 1 one-object scene) and GenEval-Shapes (7 prompts) run; the table and charts fill batch by batch'
    : `bench: Unified-Bench (checkpoints ${lo} and ${hi}, 2 scenes) and GenEval-Shapes (7 prompts) run; tables and charts fill batch by batch`;
  await step(title, async () => {
    // SwiftShader WebGPU: one queue (each graph compiles once), one scene with one object (scene 0 of seed 4: a short
    // caption, so few decoder runs) and batches of 4 (GenEval streams 4 + 3; one batch of 7 or seven of 1 took as
    // long: the decoder's time there is compute, about 3 s an image); WASM: batches of 1.
    const checks = tiny
      ? { unified: true, geneval: true, 'encoder-encoder': true }
      : { unified: true, geneval: true, 'encoder-encoder': false, [`encoder-checkpoint:${lo}`]: true, [`encoder-checkpoint:${hi}`]: true };
    const size = tiny ? { scenes: 1, unifiedSeed: 4, batch: 4 } : { scenes: 2, batch: 1 };
    await setForm(page, { ...size, steps: 1, promptsPerTask: 1, perPrompt: 1 }, checks);
    await record(page);
    await runAndWait(page);
    logPhases(mode, await samples(page));
    const rows = await tableRows(page);
    const unified = rows.filter((r) => r.kind === 'unified');
    const geneval = rows.filter((r) => r.kind === 'geneval');
    assert.equal(unified.length, tiny ? 1 : 2, JSON.stringify(rows));
    assert.equal(geneval.length, 1);
    for (const r of unified) {
      assert.equal(r.status, 'finished');
      assert.equal(r.n, tiny ? 1 : 2);
      assert.ok(Number.isFinite(r.overall) && r.overall >= -100 && r.overall <= 100, `overall ${r.overall}`);
    }
    assert.equal(geneval[0].status, 'finished');
    assert.equal(geneval[0].n, 7);
    assert.ok(geneval[0].overall >= 0 && geneval[0].overall <= 1);
    const rec = await samples(page);
    assertStreamed(
      rec,
      [...(tiny ? [] : unified), ...geneval].map((r) => r.id),
    );
    // The charts took values while the runs were still going: the per-task chart while GenEval's row was running.
    const gid = geneval[0].id;
    assert.ok(
      rec.some((s) => s.taskPoints > 0 && s.rows.some((r) => r.id === gid && r.status === 'running')),
      'the per-task chart plotted nothing before the GenEval run finished',
    );
    if (!tiny) {
      const uid = unified[0].id;
      assert.ok(
        rec.some((s) => s.backbonePoints > 0 && s.rows.some((r) => r.id === uid && r.status === 'running')),
        'the per-backbone chart plotted nothing before the first Unified-Bench run finished',
      );
      assert.equal(
        Number(await page.getByTestId('bench-chart-steps').getAttribute('data-points')),
        2,
        'the step chart: one point per checkpoint',
      );
      assert.equal(await page.locator('[data-testid="bench-chart-steps"] .recharts-line-curve').count(), 1);
    }
    // Progress says which run of the queue and how many of its images are in.
    const said = rec.map((x) => x.progress).filter(Boolean);
    const runs = tiny ? 2 : 3;
    assert.ok(
      said.some((t) => new RegExp(`^run ${runs} of ${runs} · GenEval-Shapes · decoder: [1-6] of 7 images`).test(t)),
      `no "k of n" progress seen: ${JSON.stringify([...new Set(said)].slice(0, 8))}`,
    );
    assert.ok(rec.at(-1).backbonePoints > 0, 'the per-backbone chart is empty');
    assert.equal(rec.at(-1).taskPoints, 8, 'the per-task chart: 7 task kinds and overall');
    assert.ok((await page.getByTestId('bench-case').count()) > 0, 'no worst case shown');
    first.push(...rows.filter((r) => r.status === 'finished'));
  });

  if (tiny) {
    await shot(page, 'bench');
    await step('bench: no uncaught errors or console errors', async () => assert.deepEqual(errors, []));
    await close();
    return;
  }

  const tmp = mkdtempSync(join(tmpdir(), 'uae-bench-e2e-'));
  try {
    await step('bench: an empty folder and a file that is not an image are named', async () => {
      await page.getByTestId('bench-reference').selectOption('folder');
      const empty = join(tmp, 'empty-folder');
      mkdirSync(empty);
      await page.getByTestId('bench-folder-input').setInputFiles(empty);
      const b = await bannerParts(page);
      assert.match(b.message, /^The folder .* is empty: it holds no files to benchmark\.$/);
      await page.getByRole('button', { name: 'Dismiss error' }).click();
    });

    await step("bench: a folder of the user's PNGs runs through Unified-Bench; the non-image file in it is named", async () => {
      const dir = join(tmp, 'my-images');
      mkdirSync(dir);
      const colours = [
        [1, 0.2, 0.2],
        [0.2, 0.4, 1],
      ];
      colours.forEach((c, i) => {
        const png = pngFile({
          width: 80,
          height: 60,
          colourType: 2,
          bitDepth: 8,
          sample: (x, y) => (x > 20 && x < 60 && y > 15 && y < 45 ? c : [1, 1, 1]),
        });
        writeFileSync(join(dir, `photo-${i}.png`), png);
      });
      writeFileSync(join(dir, 'notes.txt'), 'not a picture\n');
      await page.getByTestId('bench-folder-input').setInputFiles(dir);
      await until(async () => (await page.getByTestId('bench-folder').getAttribute('data-images')) === '2', 'the folder was not read');
      assert.match(await page.getByTestId('bench-folder-skipped').textContent(), /notes\.txt: not an image/);
      await setForm(
        page,
        { batch: 2 },
        { geneval: false, 'encoder-encoder': true, [`encoder-checkpoint:${lo}`]: false, [`encoder-checkpoint:${hi}`]: false },
      );
      await runAndWait(page);
      const rows = (await tableRows(page)).filter((r) => r.kind === 'unified');
      const mine = rows.at(-1);
      assert.equal(mine.status, 'finished');
      assert.equal(mine.n, 2);
      assert.ok(
        mine.cells.some((c) => /folder my-images \(2 images\)/.test(c)),
        JSON.stringify(mine.cells),
      );
      first.push(mine);
    });

    await step('bench: Cancel leaves the worker idle within 1 s; the cancelled run says so', async () => {
      await page.getByTestId('bench-reference').selectOption('scenes');
      await setForm(page, { promptsPerTask: 20, perPrompt: 1, batch: 2 }, { unified: false, geneval: true });
      await record(page);
      await page.getByTestId('bench-run').click();
      const running = page.locator('[data-bench-row="geneval"][data-status="running"]');
      await until(
        async () => (await running.count()) === 1 && Number(await running.getAttribute('data-n')) > 0,
        'no batch arrived',
        120_000,
      );
      await page.getByTestId('bench-cancel').click();
      await until(
        async () => (await page.getByTestId('bench-panel').getAttribute('data-engine')) === 'idle',
        'the worker never went idle',
        10_000,
      );
      // Timed in the page: from the click event to the first change that shows the worker idle.
      const at = await page.evaluate(() => window.__benchCancelAt);
      const idle = (await samples(page)).find((s) => s.ms >= at && s.engine === 'idle');
      const idleMs = Math.round(idle.ms - at);
      console.log(`      [${mode.name}] Cancel → worker idle in ${idleMs} ms`);
      assert.ok(idleMs <= 1000, `the worker went idle ${idleMs} ms after Cancel`);
      const rows = await tableRows(page);
      assert.equal(rows.at(-1).status, 'cancelled');
      assert.ok(rows.at(-1).n < 140);
    });

    await step('bench: CSV and JSON export download every run on screen', async () => {
      const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('bench-export-csv').click()]);
      assert.equal(csv.suggestedFilename(), 'uae-bench.csv');
      const text = readFileSync(await csv.path(), 'utf8');
      const lines = text.trim().split('\n');
      assert.equal(lines[0], 'benchmark,bundle,encoder,step,reference,seed,steps,images,status,metric,value');
      assert.ok(lines.some((l) => l.startsWith(`unified,${id},checkpoint:${hi},${hi},`) && l.includes(',overall,')));
      assert.ok(lines.some((l) => l.startsWith(`geneval,${id},decoder,`) && l.includes(',color_attr,')));
      const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('bench-export-json').click()]);
      assert.equal(json.suggestedFilename(), 'uae-bench.json');
      const doc = JSON.parse(readFileSync(await json.path(), 'utf8'));
      assert.equal(doc.schema, 'uae-bench/1');
      const finished = doc.runs.filter((r) => r.status === 'finished');
      assert.equal(finished.length, first.length);
      const extra = (manifest.roles.backbones ?? []).map((b) => b.id);
      for (const r of finished.filter((x) => x.benchmark === 'unified'))
        assert.deepEqual(Object.keys(r.backbones), ['scorer', ...extra, 'psnr', 'ssim']);
    });

    await step('bench: finished results survive a reload (tables, charts, worst cases)', async () => {
      const before = (await tableRows(page)).filter((r) => r.status === 'finished');
      // Stored results need no bundle: the tab shows them while the bundle loads again.
      const t1 = Date.now();
      await page.reload();
      await page.getByTestId('tab-bench').click();
      await until(async () => (await page.getByTestId('bench-panel').getAttribute('data-loaded')) === 'true', 'stored results never read');
      console.log(`      [${mode.name}] stored results read ${Date.now() - t1} ms after the reload`);
      const after = await tableRows(page);
      assert.deepEqual(
        after.map((r) => [r.id, r.status, r.n, r.overall]),
        before.map((r) => [r.id, r.status, r.n, r.overall]),
      );
      assert.ok((await page.getByTestId('bench-case').count()) > 0, 'no worst case after the reload');
      assert.equal(await page.getByTestId('bench-chart-tasks').getAttribute('data-points'), '8');
      assert.equal(await page.getByTestId('bench-chart-steps').getAttribute('data-points'), '2');
      await shot(page, 'bench');
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  if (process.env.UAE_BENCH_MEASURE) {
    await step('bench: measured — a 100-scene Unified-Bench run and a 105-prompt GenEval run (WASM)', async () => {
      const time = async (fields, checks) => {
        await setForm(page, fields, checks);
        const t0 = Date.now();
        await runAndWait(page);
        return (Date.now() - t0) / 1000;
      };
      const unified = await time({ scenes: 100, batch: 32, steps: manifest.defaults.flowSteps }, { unified: true, geneval: false });
      const geneval = await time({ promptsPerTask: 15, perPrompt: 1, batch: 32 }, { unified: false, geneval: true });
      console.log(
        `      [${mode.name}] MEASURED Unified-Bench 100 scenes (encoder, ${manifest.defaults.flowSteps} flow steps): ${unified.toFixed(1)} s`,
      );
      console.log(
        `      [${mode.name}] MEASURED GenEval-Shapes 105 prompts × 1 (${manifest.defaults.flowSteps} flow steps): ${geneval.toFixed(1)} s`,
      );
      const done = (await tableRows(page)).filter((r) => r.status === 'finished');
      const u = done.filter((r) => r.kind === 'unified').at(-1);
      const g = done.filter((r) => r.kind === 'geneval').at(-1);
      console.log(`      [${mode.name}] MEASURED overall: Unified-Bench ${u.overall.toFixed(2)}, GenEval-Shapes ${g.overall.toFixed(3)}`);
      await shot(page, 'bench-measured', 'tab-bench.png');
    });
  }

  await step('bench: no uncaught errors or console errors', async () => assert.deepEqual(errors, []));
  await close();
}

/** WASM alone in its runner; its WebGPU checks run in the shared WebGPU pass (webgpu.spec.mjs). */
export const spec = { name: 'bench', modes: ['wasm'], run: runBenchSpecs };

if (isMain(import.meta.url)) runMain('bench', [spec]);
