// The rollouts panel's E2E spec (run by rollouts.mjs through harness.mjs): what a person sees while a group
// is scored.
import assert from 'node:assert/strict';
import { assertBackend, collectErrors, panelBundle, until } from './checks.mjs';

// SwiftShader WebGPU is ~30x slower than WASM and the machine is shared: wait long, assert exactly.
const RUN_TIMEOUT = 1_200_000;
/**
 * Flow steps per mode, picked with the panel's own field: few on WebGPU keep a group affordable there; more
 * on WASM space the rows out in time, so that the table's growth is seen even when a busy main thread draws
 * rarely. The checks don't depend on the number.
 */
const FLOW_STEPS = { webgpu: 2, wasm: 8 };
const METRICS = ['reward', 'reward_std', 'frac_reward_zero_std', 'completions/mean_length', 'completions/clipped_ratio', 'kl', 'entropy', 'clip_ratio/region_mean', 'loss'];
const LOSSES = ['grpo', 'bnpo', 'dr_grpo', 'dapo'];

/** Sets a form field by test id (number inputs and selects). */
async function setField(page, id, value) {
  const el = page.getByTestId(id);
  if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await el.selectOption(String(value));
  else await el.fill(String(value));
}

/**
 * Clicks Score and records, in the page itself (a MutationObserver, so no change is missed however slow
 * the test's round trips to the browser are), the table's row count and the scatter's point count at
 * every DOM change until the run ends; returns those samples with ms since the click.
 */
async function scoreAndSample(page) {
  await page.evaluate(() => {
    const count = (sel) => document.querySelectorAll(sel).length;
    const status = () => document.querySelector('[data-testid="ro-status"]')?.getAttribute('data-status') ?? 'none';
    const w = window;
    w.__roSamples = [];
    w.__roT0 = performance.now();
    const record = () => {
      const rows = [...document.querySelectorAll('[data-testid="ro-row"]')];
      const s = {
        ms: Math.round(performance.now() - w.__roT0), rows: rows.length, points: count('[data-testid="ro-chart-scatter"] .recharts-scatter-symbol'), status: status(),
        // The rows on screen are rollouts 0…n−1: the table grows by appending the newly scored ones.
        prefix: rows.every((r, i) => r.dataset.index === String(i)),
      };
      const last = w.__roSamples.at(-1);
      if (!last || last.rows !== s.rows || last.points !== s.points || last.status !== s.status) w.__roSamples.push(s);
    };
    w.__roObserver?.disconnect();
    w.__roObserver = new MutationObserver(record);
    w.__roObserver.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  });
  await page.getByTestId('ro-run').click();
  const t0 = Date.now();
  // The click starts a new run: wait until the status has been 'running' and is no longer.
  await until(async () => page.evaluate(() => window.__roSamples.some((s) => s.status === 'running')), 'the run never started', 60_000);
  for (;;) {
    const done = await page.evaluate(() => ['finished', 'failed', 'cancelled'].includes(window.__roSamples.at(-1)?.status));
    if (done) break;
    if (Date.now() - t0 > RUN_TIMEOUT) throw new Error(`run still going after ${RUN_TIMEOUT} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return page.evaluate(() => {
    window.__roObserver.disconnect();
    const all = window.__roSamples;
    return all.slice(all.findIndex((s) => s.status === 'running'));
  });
}

/** Returns the table's cells as numbers by column header. */
async function tableNumbers(page) {
  return page.locator('[data-testid="ro-row"]').evaluateAll((rows) => rows.map((r) => {
    const c = r.cells;
    const n = (i) => Number(c[i].textContent.replace('≈', ''));
    return { index: Number(r.dataset.index), tokens: n(3), reward: n(4), advantage: n(5), final: c[5].dataset.final, mark: r.dataset.mark ?? null, canvas: c[1].querySelector('canvas') !== null };
  }));
}

/** Runs every rollouts step on a fresh page. ctx: see harness.mjs. */
async function assertRolloutsPanel(ctx) {
  const { context, baseUrl, mode, step } = ctx;
  const bundle = panelBundle(ctx);
  const url = bundle.param ? `${baseUrl}?${bundle.param}` : baseUrl;
  const shot = (page, name) => ctx.shot(page, `rollouts-${name}`, `rollouts-${mode.name}-${name}.png`);
  const page = await context.newPage();
  // A busy 2-core machine can take long to navigate and to run the models: wait generously, assert exactly.
  page.setDefaultTimeout(120_000);
  const errors = collectErrors(page);

  let opened = false;
  await step(`the app loads bundle ${bundle.id} on ${mode.expect} and opens the Rollouts tab`, async () => {
    await page.goto(url, { timeout: 180_000 });
    await page.locator(`[data-testid="loaded-bundle"][data-bundle-id="${bundle.id}"]`).waitFor({ timeout: 240_000 });
    await page.getByTestId('load-progress').waitFor({ state: 'detached', timeout: 240_000 });
    await assertBackend(page, mode.expect);
    await page.getByRole('tab', { name: 'Rollouts' }).click();
    await page.getByTestId('rollouts-panel').waitFor();
    assert.equal(await page.getByTestId('ro-groupSize').inputValue(), '8', 'default group size is not 8');
    opened = true;
  });
  if (!opened) throw new Error('the rollouts panel did not open: later steps skipped');

  let samples = [];
  const flowSteps = FLOW_STEPS[mode.name];
  await step(`a group of 8 is scored (${flowSteps} flow steps, reconstructing 1 at a time) and the table fills row by row`, async () => {
    // The tiny bundle's random encoder is peaked at T=1: a hot policy and a caption-dependent reward make the rows differ.
    if (bundle.tiny) {
      await setField(page, 'ro-temperature', 8);
      await setField(page, 'ro-topP', 0.9);
      await setField(page, 'ro-reward', 'mix');
    }
    await setField(page, 'ro-beta', 0.04);
    await setField(page, 'ro-flowSteps', flowSteps);
    await setField(page, 'ro-reconstructBatch', 1);
    samples = await scoreAndSample(page);
    const last = samples.at(-1);
    assert.equal(last.status, 'finished', `run ended as ${last.status}: ${await page.getByTestId('error-banner').allTextContents()}`);
    assert.equal(await page.getByTestId('ro-flow-steps').textContent(), `${flowSteps} flow steps`, 'the run did not use the flow steps set in the panel');
    console.log(`      row count over time: ${samples.filter((s, i) => i === 0 || s.rows !== samples[i - 1].rows).map((s) => `${s.rows}@${s.ms}ms`).join(' → ')}`);
    assert.equal(last.rows, 8);
    for (let i = 1; i < samples.length; i++) assert.ok(samples[i].rows >= samples[i - 1].rows, 'the row count went down');
    const counts = [...new Set(samples.map((s) => s.rows))];
    // One row per decoder run leaves the worker; the store draws once per animation frame, so on a fast
    // backend (or a busy main thread) two rows can land in the same frame: ask for several partial tables.
    const partial = counts.filter((c) => c > 0 && c < 8);
    assert.ok(partial.length >= 3, `rows did not arrive row by row: counts seen ${counts.join(', ')}`);
    assert.ok(samples.every((s) => s.prefix), 'a partial table was not rollouts 0…n−1 in order');
    for (const s of samples.filter((x) => x.rows > 0 && x.rows < 8)) assert.equal(s.status, 'running', `${s.rows} rows shown when the run was ${s.status}`);
    assert.ok(samples.some((s) => s.rows > 0 && s.rows < 8 && s.points === s.rows), 'the scatter did not redraw with the partial rows');
  });

  await step('every row shows its reconstruction, reward and final advantage; best and worst are highlighted', async () => {
    const rows = await tableNumbers(page);
    assert.deepEqual(rows.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6, 7]);
    for (const r of rows) {
      assert.ok(r.canvas, `row ${r.index} has no reconstruction`);
      assert.ok(Number.isFinite(r.reward) && Number.isFinite(r.advantage), `row ${r.index}: reward ${r.reward}, advantage ${r.advantage}`);
      assert.equal(r.final, 'true', `row ${r.index}'s advantage is not final`);
    }
    const sum = rows.reduce((a, r) => a + r.advantage, 0);
    assert.ok(Math.abs(sum) < 0.02, `group advantages should sum to 0, sum to ${sum}`);
    const distinct = new Set(rows.map((r) => r.reward)).size;
    if (distinct > 1) {
      const best = rows.find((r) => r.mark === 'best');
      const worst = rows.find((r) => r.mark === 'worst');
      assert.ok(best && worst, 'no best/worst highlight although rewards differ');
      assert.equal(best.reward, Math.max(...rows.map((r) => r.reward)));
      assert.equal(worst.reward, Math.min(...rows.map((r) => r.reward)));
    }
    const text = await page.getByTestId('ro-sampled').textContent();
    assert.match(text, /8 captions sampled together in \d+ decoder runs/);
  });

  await step('TRL metrics and the loss under every loss type are shown', async () => {
    for (const k of METRICS) {
      const v = await page.locator(`[data-testid="ro-trl-metrics"] tr[data-metric="${k}"] td`).textContent();
      assert.ok(Number.isFinite(Number(v)), `metric ${k} shows "${v}"`);
    }
    for (const t of LOSSES) {
      const v = await page.locator(`[data-testid="ro-losses"] tr[data-loss="${t}"] td.num`).textContent();
      assert.ok(Number.isFinite(Number(v)), `loss ${t} shows "${v}"`);
    }
  });

  await step('the charts draw: reward histogram, 8 advantage bars, 8 length/reward points', async () => {
    const count = (id, sel) => page.locator(`[data-testid="${id}"] ${sel}`).count();
    assert.ok((await count('ro-chart-histogram', '.recharts-bar-rectangle')) >= 1, 'empty reward histogram');
    const bars = await count('ro-chart-advantages', '.recharts-bar-rectangle');
    const zero = (await tableNumbers(page)).filter((r) => r.advantage === 0).length;
    assert.equal(bars + zero, 8, `advantage bars: ${bars} drawn, ${zero} zero`);
    assert.equal(await count('ro-chart-scatter', '.recharts-scatter-symbol'), 8);
    await shot(page, 'group');
  });

  await step('sorting by reward orders the rows', async () => {
    await page.getByTestId('ro-sort-reward').click();
    const rewards = (await tableNumbers(page)).map((r) => r.reward);
    assert.deepEqual(rewards, rewards.slice().sort((a, b) => b - a), 'not sorted by reward, descending');
    await page.getByTestId('ro-sort-index').click();
  });

  await step('batch mode: 2 images × 4 rollouts with per-group statistics', async () => {
    await setField(page, 'ro-batch', 2);
    await setField(page, 'ro-groupSize', 4);
    await setField(page, 'ro-reconstructBatch', 2);
    const s = await scoreAndSample(page);
    assert.equal(s.at(-1).status, 'finished');
    assert.ok(s.some((x) => x.rows > 0 && x.rows < 8), `rows did not arrive batch by batch: ${s.map((x) => x.rows).join(', ')}`);
    assert.equal(s.at(-1).rows, 8);
    assert.equal(await page.locator('[data-testid="ro-groups"] tbody tr').count(), 2);
    await shot(page, 'batch');
  });

  await step('no uncaught errors or console errors', async () => {
    assert.deepEqual(errors, []);
  });
  await page.close();
}

export const spec = { name: 'rollouts', run: assertRolloutsPanel };
