// The rollouts panel's E2E spec (run by rollouts.mjs through harness.mjs): what a person sees while a group
// is scored.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assertBackend, bannerParts, collectErrors, panelBundle, specPage, until } from './checks.mjs';

// SwiftShader WebGPU is ~30x slower than WASM and the machine is shared: wait long, assert exactly.
const RUN_TIMEOUT = 1_200_000;
/**
 * Flow steps per mode, picked with the panel's own field: few on WebGPU keep a group affordable there; more
 * on WASM space the rows out in time, so that the table's growth is seen even when a busy main thread draws
 * rarely. The checks don't depend on the number.
 */
const FLOW_STEPS = { webgpu: 2, wasm: 8 };
/** The scored group's size per mode: the default 8 on WASM; 4 on SwiftShader, where each row takes seconds. */
const GROUP = { webgpu: 4, wasm: 8 };
/**
 * Flow steps of the group that is cancelled (WASM mode): more than FLOW_STEPS, so that rows come far enough
 * apart (a few hundred ms) for the click to land between them and for "no row after the cancel" to mean
 * something.
 */
const CANCEL_FLOW_STEPS = 24;
/** The cancelled group's size: cancelled after 2 rows, it leaves 10 undone, far more than the 3 rows' time allowed below. */
const CANCEL_GROUP = 12;
const METRICS = [
  'reward',
  'reward_std',
  'frac_reward_zero_std',
  'completions/mean_length',
  'completions/clipped_ratio',
  'kl',
  'entropy',
  'clip_ratio/region_mean',
  'loss',
];
const LOSSES = ['grpo', 'bnpo', 'dr_grpo', 'dapo'];
/** The panel's reward names (src/engine/rollouts REWARD_NAMES): the weights of a mix. */
const REWARD_NAMES = ['sim', 'psnr', 'ssim', 'attr_f1'];
/**
 * How far a number shown may be from the CLI's on top of the rounding to the digits shown: the page runs the
 * same code on the same backend kind, but WASM in the page may use more threads than the CLI's one (other
 * summation order), and WebGPU (SwiftShader) computes in its own float order.
 */
const SLACK = { wasm: 1e-5, webgpu: 2e-3 };

/**
 * Returns the number a cell shows; throws when it shows anything else (blank, '–', 'NaN', text). A
 * Unicode minus is read as '-'.
 */
export function shownNumber(text, what) {
  const t = String(text ?? '')
    .trim()
    .replace(/\u2212/g, '-');
  if (!/^-?\d+(\.\d+)?(e[-+]?\d+)?$/i.test(t)) throw new Error(`${what} shows "${text}", not a number`);
  return Number(t);
}

/** Returns the value of the last digit a number shows: "0.1234" → 1e-4, "-1.23e-3" → 1e-5, "12" → 1. */
export function lastDigit(text) {
  const t = String(text)
    .trim()
    .replace(/\u2212/g, '-');
  const m = /^-?\d+(?:\.(\d+))?(?:e([-+]?\d+))?$/i.exec(t);
  if (!m) throw new Error(`"${text}" is not a number`);
  return 10 ** ((m[2] ? Number(m[2]) : 0) - (m[1]?.length ?? 0));
}

/** Below this, a number the CLI gives is 0 up to float noise, and the panel shows it as "0" (app/format.ts). */
const NOISE = 1e-12;

/**
 * Asserts that `text` shows `value` to its precision: off by at most half its last digit, plus `slack`. A
 * bare "0" means 0 up to float noise: the value must be within 1e-9 of 0.
 */
export function assertShows(text, value, what, slack) {
  assert.ok(typeof value === 'number' && Number.isFinite(value), `${what}: the CLI gives ${value}`);
  const shown = shownNumber(text, what);
  if (String(text).trim() === '0') {
    assert.ok(Math.abs(value) <= 1e-9, `${what} shows 0, the CLI gives ${value}`);
    return;
  }
  const tol = lastDigit(text) / 2 + slack * Math.max(1, Math.abs(value));
  assert.ok(
    Math.abs(shown - value) <= tol,
    `${what} shows ${text}, the CLI gives ${value} (off by ${Math.abs(shown - value)}, allowed ${tol})`,
  );
}

const run = promisify(execFile);

/** Returns the `uae rollouts` arguments that repeat what the panel's form says (on the bundle in `dir`). */
async function cliArgs(page, dir) {
  const v = (id) => page.getByTestId(id).inputValue();
  assert.equal(await v('ro-source'), 'scene', 'the cross-check needs a Shapes scene as the input');
  assert.equal(await v('ro-penalty'), 'none', 'the cross-check does not pass a length penalty');
  const reward = await v('ro-reward');
  const weights = reward === 'mix' ? (await Promise.all(REWARD_NAMES.map(async (n) => `${n}=${await v(`ro-w-${n}`)}`))).join(',') : reward;
  const flowSteps = await v('ro-flowSteps');
  return [
    'rollouts',
    '--bundle',
    dir,
    '--scene',
    await v('ro-sceneSeed'),
    '--batch',
    await v('ro-batch'),
    '--group',
    await v('ro-groupSize'),
    '--seed',
    await v('ro-seed'),
    '--temperature',
    await v('ro-temperature'),
    '--top-p',
    await v('ro-topP'),
    ...(flowSteps.trim() === '' ? [] : ['--steps', flowSteps]),
    '--reward',
    weights,
    '--scale',
    await v('ro-scale'),
    '--old',
    await v('ro-old'),
    '--beta',
    await v('ro-beta'),
    '--eps-low',
    await v('ro-epsLow'),
    '--eps-high',
    await v('ro-epsHigh'),
    '--loss-type',
    await v('ro-loss-type'),
    '--recon-batch',
    await v('ro-reconstructBatch'),
    '--json',
  ];
}

/** Runs `node bin/uae.mjs …args` in `root`; returns its JSON. */
async function cliJson(root, args) {
  const { stdout } = await run(process.execPath, [join(root, 'bin', 'uae.mjs'), ...args], { cwd: root, maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout);
}

/** Sets a form field by test id (number inputs and selects). */
async function setField(page, id, value) {
  const el = page.getByTestId(id);
  if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await el.selectOption(String(value));
  else await el.fill(String(value));
}

/**
 * Starts recording, in the page itself (a MutationObserver, so no change is missed however slow the test's
 * round trips to the browser are), the table's row count, the scatter's point count, the run's status and
 * whether Score and Cancel are enabled at every DOM change, and the time of each click on Score or Cancel;
 * all in ms since this call.
 */
async function startRecording(page) {
  await page.evaluate(() => {
    const count = (sel) => document.querySelectorAll(sel).length;
    const status = () => document.querySelector('[data-testid="ro-status"]')?.getAttribute('data-status') ?? 'none';
    const enabled = (id) => !(document.querySelector(`[data-testid="${id}"]`)?.disabled ?? true);
    const w = window;
    w.__roSamples = [];
    w.__roClicks = [];
    w.__roT0 = performance.now();
    const record = () => {
      const rows = [...document.querySelectorAll('[data-testid="ro-row"]')];
      const s = {
        ms: Math.round(performance.now() - w.__roT0),
        rows: rows.length,
        points: count('[data-testid="ro-chart-scatter"] .recharts-scatter-symbol'),
        status: status(),
        score: enabled('ro-run'),
        cancel: enabled('ro-cancel'),
        // The rows on screen are rollouts 0…n−1: the table grows by appending the newly scored ones.
        prefix: rows.every((r, i) => r.dataset.index === String(i)),
      };
      const last = w.__roSamples.at(-1);
      if (
        !last ||
        last.rows !== s.rows ||
        last.points !== s.points ||
        last.status !== s.status ||
        last.score !== s.score ||
        last.cancel !== s.cancel
      )
        w.__roSamples.push(s);
    };
    w.__roObserver?.disconnect();
    w.__roObserver = new MutationObserver(record);
    w.__roObserver.observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-status', 'disabled'],
    });
    w.__roClick?.abort();
    w.__roClick = new AbortController();
    document.addEventListener(
      'click',
      (e) => {
        const id = e.target?.closest?.('[data-testid]')?.dataset.testid;
        if (id === 'ro-run' || id === 'ro-cancel') w.__roClicks.push({ id, ms: performance.now() - w.__roT0 });
      },
      { capture: true, signal: w.__roClick.signal },
    );
    record();
  });
}

/** Returns what startRecording saw so far: { samples, clicks }. */
function recorded(page) {
  return page.evaluate(() => ({ samples: window.__roSamples, clicks: window.__roClicks }));
}

/** Waits until the run on screen has ended (finished, failed or cancelled) after being 'running'. */
async function waitRunEnd(page) {
  const t0 = Date.now();
  // The click starts a new run: wait until the status has been 'running' and is no longer.
  await until(async () => page.evaluate(() => window.__roSamples.some((s) => s.status === 'running')), 'the run never started', 60_000);
  for (;;) {
    const done = await page.evaluate(() => ['finished', 'failed', 'cancelled'].includes(window.__roSamples.at(-1)?.status));
    if (done) break;
    if (Date.now() - t0 > RUN_TIMEOUT) throw new Error(`run still going after ${RUN_TIMEOUT} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Clicks Score and records (startRecording) until the run ends; returns the samples from the first
 * 'running' one, with ms since the click.
 */
async function scoreAndSample(page) {
  await startRecording(page);
  await page.getByTestId('ro-run').click();
  await waitRunEnd(page);
  return page.evaluate(() => {
    window.__roObserver.disconnect();
    const all = window.__roSamples;
    return all.slice(all.findIndex((s) => s.status === 'running'));
  });
}

/**
 * Returns the table's rows as shown: numbers parsed strictly (a blank or non-numeric cell throws), with
 * the cells' text kept for the cross-check (`text`), the caption, and whether the advantage is final.
 */
async function tableRows(page) {
  const raw = await page.locator('[data-testid="ro-row"]').evaluateAll((rows) =>
    rows.map((r) => {
      const c = r.cells;
      // The caption cell: its own text (a 'truncated' tag is a child element); '(empty caption)' is a muted span.
      const caption = [...c[2].childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent)
        .join('');
      return {
        index: r.dataset.index,
        caption,
        truncated: c[2].querySelector('.tag') !== null,
        text: {
          length: c[3].textContent,
          reward: c[4].textContent,
          advantage: c[5].textContent,
          kl: c[6].textContent,
          logp: c[7].textContent,
        },
        final: c[5].dataset.final,
        mark: r.dataset.mark ?? null,
        canvas: c[1].querySelector('canvas') !== null,
      };
    }),
  );
  return raw.map((r) => {
    const what = (col) => `row ${r.index}'s ${col}`;
    const provisional = r.text.advantage.trim().startsWith('≈');
    const advantage = provisional ? r.text.advantage.trim().slice(1) : r.text.advantage;
    return {
      ...r,
      index: shownNumber(r.index, 'a row index'),
      length: shownNumber(r.text.length, what('length')),
      reward: shownNumber(r.text.reward, what('reward')),
      advantage: shownNumber(advantage, what('advantage')),
      advantageText: advantage,
      provisional,
    };
  });
}

/** Returns the shown text of the loss (by loss type) and metric (by name) cells. */
async function shownMetrics(page) {
  const cells = async (sel, key) =>
    Object.fromEntries(
      await page.locator(sel).evaluateAll((trs, k) => trs.map((tr) => [tr.dataset[k], tr.querySelector('td').textContent]), key),
    );
  return {
    losses: await cells('[data-testid="ro-losses"] tr[data-loss]', 'loss'),
    metrics: await cells('[data-testid="ro-trl-metrics"] tr[data-metric]', 'metric'),
  };
}

/** Runs every rollouts step on a fresh page. ctx: see harness.mjs. */
async function assertRolloutsPanel(ctx) {
  const { baseUrl, mode, step } = ctx;
  const bundle = panelBundle(ctx);
  const url = bundle.param ? `${baseUrl}?${bundle.param}` : baseUrl;
  const shot = (page, name) => ctx.shot(page, `rollouts-${name}`);
  // Alone: a fresh page. In the shared WebGPU pass: the loaded page, the bundle tab opened by its tab (checks.mjs specPage).
  const { page, shared, close } = await specPage(ctx);
  // A busy 2-core machine can take long to navigate and to run the models: wait generously, assert exactly.
  page.setDefaultTimeout(120_000);
  const errors = collectErrors(page);

  let opened = false;
  await step(
    `the app loads bundle ${bundle.id} on ${mode.expect}, its card counts checkpoints as its files do, and the Rollouts tab opens`,
    async () => {
      if (shared) assert.equal(bundle.param, '', 'the shared WebGPU pass runs on the default bundle');
      else await page.goto(url, { timeout: 180_000 });
      await page.getByRole('tab', { name: 'Model bundle' }).click();
      await page.locator(`[data-testid="loaded-bundle"][data-bundle-id="${bundle.id}"]`).waitFor({ timeout: 240_000 });
      await page.getByTestId('load-progress').waitFor({ state: 'detached', timeout: 240_000 });
      await assertBackend(page, mode.expect);
      // The card's counts come from the manifest: every checkpoint the scrubber steps through, the trained
      // ones being the files under checkpoints/ in the card's own file table.
      const checkpoints = JSON.parse(readFileSync(join(bundle.dir, 'manifest.json'), 'utf8')).roles.checkpoints ?? [];
      if (checkpoints.length > 0) {
        const files = await page
          .locator('[data-testid="loaded-bundle"] tbody td.mono')
          .evaluateAll((tds) => tds.filter((td) => td.textContent.startsWith('checkpoints/')).length);
        const text = await page.getByTestId('bundle-contents').textContent();
        console.log(`      ${text}`);
        assert.match(
          text,
          new RegExp(`^${checkpoints.length} encoder checkpoints?: .*\\b${checkpoints.filter((c) => c.step !== 0).length} from training`),
        );
        if (files > 0)
          assert.match(text, new RegExp(`\\b${files} from training`), `the card does not count the ${files} checkpoint files it lists`);
      }
      await page.getByRole('tab', { name: 'Rollouts' }).click();
      await page.getByTestId('rollouts-panel').waitFor();
      assert.equal(await page.getByTestId('ro-groupSize').inputValue(), '8', 'default group size is not 8');
      opened = true;
    },
  );
  if (!opened) throw new Error('the rollouts panel did not open: later steps skipped');

  let samples = [];
  const flowSteps = FLOW_STEPS[mode.name];
  const G = GROUP[mode.name];
  await step(`a group of ${G} is scored (${flowSteps} flow steps, reconstructing 1 at a time) and the table fills row by row`, async () => {
    // The tiny bundle's random encoder is peaked at T=1: a hot policy and a caption-dependent reward make the rows differ.
    if (bundle.tiny) {
      await setField(page, 'ro-temperature', 8);
      await setField(page, 'ro-topP', 0.9);
      await setField(page, 'ro-reward', 'mix');
    }
    await setField(page, 'ro-beta', 0.04);
    await setField(page, 'ro-flowSteps', flowSteps);
    await setField(page, 'ro-reconstructBatch', 1);
    await setField(page, 'ro-groupSize', G);
    samples = await scoreAndSample(page);
    const last = samples.at(-1);
    assert.equal(last.status, 'finished', `run ended as ${last.status}: ${await page.getByTestId('error-banner').allTextContents()}`);
    // The status line says it in a sentence (it once ended on a stray "the bundle's flow steps").
    assert.equal(
      await page.getByTestId('ro-flow-steps').textContent(),
      `Each reconstruction takes ${flowSteps} flow steps.`,
      'the run did not use the flow steps set in the panel',
    );
    assert.doesNotMatch(
      await page.getByTestId('ro-status').textContent(),
      /the bundle.s flow steps/,
      'a stray fragment in the status line',
    );
    console.log(
      `      row count over time: ${samples
        .filter((s, i) => i === 0 || s.rows !== samples[i - 1].rows)
        .map((s) => `${s.rows}@${s.ms}ms`)
        .join(' → ')}`,
    );
    assert.equal(last.rows, G);
    for (let i = 1; i < samples.length; i++) assert.ok(samples[i].rows >= samples[i - 1].rows, 'the row count went down');
    const counts = [...new Set(samples.map((s) => s.rows))];
    // One row per decoder run leaves the worker; the store draws once per animation frame, so on a fast
    // backend (or a busy main thread) two rows can land in the same frame: ask for several partial tables.
    const partial = counts.filter((c) => c > 0 && c < G);
    assert.ok(partial.length >= Math.min(3, G - 1), `rows did not arrive row by row: counts seen ${counts.join(', ')}`);
    assert.ok(
      samples.every((s) => s.prefix),
      'a partial table was not rollouts 0…n−1 in order',
    );
    for (const s of samples.filter((x) => x.rows > 0 && x.rows < G))
      assert.equal(s.status, 'running', `${s.rows} rows shown when the run was ${s.status}`);
    assert.ok(
      samples.some((s) => s.rows > 0 && s.rows < G && s.points === s.rows),
      'the scatter did not redraw with the partial rows',
    );
  });

  // `uae rollouts --json` with the settings the form shows, on the same bundle: what every number must be.
  let cli = null;
  await step(
    "every row shows its reconstruction and final numbers; captions, rewards, advantages, KL and log-probs are the CLI's",
    async () => {
      // First the CLI (the next steps compare with it even when this one fails on the table).
      const args = await cliArgs(page, bundle.dir);
      console.log(`      node bin/uae.mjs ${args.join(' ')}`);
      cli = await cliJson(ctx.root, args);
      const rows = await tableRows(page);
      assert.deepEqual(
        rows.map((r) => r.index),
        Array.from({ length: G }, (_, i) => i),
      );
      for (const r of rows) {
        assert.ok(r.canvas, `row ${r.index} has no reconstruction`);
        assert.equal(r.final, 'true', `row ${r.index}'s advantage is not final`);
        assert.ok(!r.provisional, `row ${r.index}'s advantage is still marked ≈`);
      }
      const text = await page.getByTestId('ro-sampled').textContent();
      assert.match(text, new RegExp(`${G} captions sampled together in \\d+ decoder runs`));

      assert.equal(cli.bundle, bundle.id);
      assert.equal(cli.rollouts.length, G);
      const slack = SLACK[mode.name];
      rows.forEach((r, i) => {
        const c = cli.rollouts[i];
        assert.equal(r.caption, c.caption, `row ${i}'s caption`);
        assert.equal(r.length, c.length, `row ${i}'s length (completion tokens incl. [EOS])`);
        assert.equal(r.truncated, c.truncated, `row ${i}'s truncated tag`);
        assertShows(r.text.reward, c.reward, `row ${i}'s reward`, slack);
        assertShows(r.advantageText, c.advantage, `row ${i}'s advantage`, slack);
        assertShows(r.text.logp, c.sequence_logp, `row ${i}'s sequence log-prob`, slack);
        if (c.kl === null) assert.equal(r.text.kl.trim(), '–', `row ${i}'s KL: the bundle has no reference encoder`);
        else assertShows(r.text.kl, c.kl, `row ${i}'s mean KL`, slack);
      });

      // Flat columns only where the data is flat: with the decoder noise shared by the group, equal captions
      // give equal rewards (and zero advantages); different captions give different reconstructions.
      const distinct = (xs) => new Set(xs).size;
      const captions = distinct(cli.rollouts.map((c) => c.caption));
      const rewards = cli.rollouts.map((c) => c.reward);
      console.log(
        `      ${captions} distinct captions; rewards ${rows.map((r) => r.text.reward).join(' ')}; advantages ${rows.map((r) => r.advantageText).join(' ')}`,
      );
      if (captions > 1) {
        assert.ok(
          distinct(rows.map((r) => r.text.reward)) > 1,
          `${captions} different captions but every reward shows ${rows[0].text.reward}`,
        );
        assert.ok(
          distinct(rows.map((r) => r.advantageText)) > 1,
          `${captions} different captions but every advantage shows ${rows[0].advantageText}`,
        );
        assert.ok(
          distinct(rows.map((r) => r.text.logp)) > 1,
          `${captions} different captions but every log-prob shows ${rows[0].text.logp}`,
        );
      } else {
        assert.equal(distinct(rewards), 1, "one caption for the whole group, yet the CLI's rewards differ");
        for (const r of rows)
          assert.equal(r.advantage, 0, `one caption for the whole group, yet row ${r.index}'s advantage shows ${r.advantageText}`);
      }
      // Best and worst: the first highest and the first lowest reward, none when every reward is the same.
      const marks = rows.map((r) => r.mark);
      if (distinct(rewards) > 1) {
        const expected = rows.map((_, i) =>
          i === rewards.indexOf(Math.max(...rewards)) ? 'best' : i === rewards.indexOf(Math.min(...rewards)) ? 'worst' : null,
        );
        assert.deepEqual(marks, expected, 'best/worst highlights are not on the highest/lowest reward');
      } else {
        assert.deepEqual(
          marks,
          rows.map(() => null),
          'best/worst highlighted on a flat group',
        );
      }
      const sum = rows.reduce((a, r) => a + r.advantage, 0);
      assert.ok(Math.abs(sum) < 0.02, `group advantages should sum to 0, sum to ${sum}`);
    },
  );

  await step("TRL metrics and the loss under every loss type are shown, and are the CLI's", async () => {
    if (!cli) throw new Error('no CLI run to compare with (the previous step failed)');
    const { losses, metrics } = await shownMetrics(page);
    assert.deepEqual(Object.keys(losses), LOSSES);
    assert.deepEqual(Object.keys(metrics).sort(), Object.keys(cli.metrics).sort(), "the metrics shown are not the CLI's");
    for (const k of METRICS) assert.ok(k in metrics, `metric ${k} is not shown`);
    const slack = SLACK[mode.name];
    for (const t of LOSSES) assertShows(losses[t], cli.loss[t], `loss ${t}`, slack);
    for (const [k, v] of Object.entries(metrics)) assertShows(v, cli.metrics[k], `metric ${k}`, slack);
    // Zero up to float noise is shown as 0 (not 6.245e-17), and no cell shows such noise digit for digit.
    const cells = [
      ...LOSSES.map((t) => [`loss ${t}`, losses[t], cli.loss[t]]),
      ...Object.entries(metrics).map(([k, v]) => [`metric ${k}`, v, cli.metrics[k]]),
    ];
    for (const [what, text, value] of cells) {
      if (Math.abs(value) < NOISE) assert.equal(text.trim(), '0', `${what} is ${value} (0 up to float noise) but shows ${text}`);
      assert.doesNotMatch(text, /e-1[0-9]/, `${what} shows ${text}`);
    }
    console.log(
      `      zero up to float noise, shown as 0: ${
        cells
          .filter((c) => Math.abs(c[2]) < NOISE && c[2] !== 0)
          .map((c) => `${c[0]} (${c[2]})`)
          .join(', ') || 'none this run'
      }`,
    );
    // The table's Length column counts what completions/mean_length counts: its mean is the metric.
    const lengths = (await tableRows(page)).map((r) => r.length);
    const meanLength = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    assertShows(metrics['completions/mean_length'], meanLength, 'completions/mean_length against the mean of the Length column', 0);
    assert.match(
      await page.locator('[data-testid="ro-table"] thead th').nth(3).getAttribute('title'),
      /completion tokens incl\. \[EOS\], as TRL's completions\/mean_length counts/,
    );
    // The losses differ in their normalisers: four equal cells would mean one number shown four times,
    // unless the CLI's are equal too.
    if (new Set(LOSSES.map((t) => cli.loss[t])).size > 1)
      assert.ok(new Set(Object.values(losses)).size > 1, `every loss shows ${losses.grpo}`);
    assert.equal(
      metrics.loss,
      losses[await page.getByTestId('ro-loss-type').inputValue()],
      'the "loss" metric is not the chosen loss type\'s',
    );
  });

  await step(`the charts draw: reward histogram, ${G} advantage bars, ${G} length/reward points`, async () => {
    const count = (id, sel) => page.locator(`[data-testid="${id}"] ${sel}`).count();
    assert.ok((await count('ro-chart-histogram', '.recharts-bar-rectangle')) >= 1, 'empty reward histogram');
    const bars = await count('ro-chart-advantages', '.recharts-bar-rectangle');
    const zero = cli
      ? cli.rollouts.filter((r) => r.advantage === 0).length
      : (await tableRows(page)).filter((r) => r.advantage === 0).length;
    assert.equal(bars + zero, G, `advantage bars: ${bars} drawn, ${zero} zero`);
    assert.equal(await count('ro-chart-scatter', '.recharts-scatter-symbol'), G);
    await shot(page, 'group');
  });

  await step('sorting by reward orders the rows', async () => {
    await page.getByTestId('ro-sort-reward').click();
    const rows = await tableRows(page);
    const rewards = rows.map((r) => r.reward);
    assert.deepEqual(
      rewards,
      rewards.slice().sort((a, b) => b - a),
      'not sorted by reward, descending',
    );
    if (cli) {
      const order = cli.rollouts
        .map((c, i) => ({ i, reward: c.reward }))
        .sort((a, b) => b.reward - a.reward || a.i - b.i)
        .map((x) => x.i);
      assert.deepEqual(
        rows.map((r) => r.index),
        order,
        "not the CLI's rewards in descending order",
      );
    }
    await page.getByTestId('ro-sort-index').click();
  });

  // Cancel and batch mode are the panel's and the worker's logic, the same on either backend: WASM mode checks
  // them; WebGPU mode has proved the GPU path on the group above (and the faults spec cancels on WebGPU).
  if (mode.name === 'wasm') {
    await step(
      'Cancel stops a group: the panel is idle within 1 s of the click, no row arrives after it, and the worker is free at once',
      async () => {
        const steps = CANCEL_FLOW_STEPS;
        await setField(page, 'ro-flowSteps', steps);
        await setField(page, 'ro-reconstructBatch', 1);
        await setField(page, 'ro-groupSize', CANCEL_GROUP);
        try {
          await cancelAndRerun(steps, CANCEL_GROUP);
        } finally {
          await setField(page, 'ro-flowSteps', flowSteps);
          await setField(page, 'ro-groupSize', 8);
        }
      },
    );

    /**
     * Clicks Score, then Cancel once `rows` rows are shown; returns what the page recorded from the run's
     * start: the samples, the click times (ms), the first row's time, the sample just before the Cancel click
     * and the first sample where the panel is idle again (status cancelled, Score enabled, Cancel disabled).
     */
    async function scoreThenCancel(rows, G) {
      await startRecording(page);
      await page.getByTestId('ro-run').click();
      await until(
        async () => page.evaluate((n) => window.__roSamples.some((x) => x.status === 'running' && x.rows >= n), rows),
        `no row ${rows}`,
        RUN_TIMEOUT,
      );
      await page.getByTestId('ro-cancel').click();
      await until(
        async () => page.evaluate(() => ['cancelled', 'finished', 'failed'].includes(window.__roSamples.at(-1).status)),
        'the run did not end after Cancel',
        30_000,
      );
      const { samples: all, clicks } = await recorded(page);
      // From the new run on (before it, the table still shows the previous run's rows).
      const s = all.slice(all.findIndex((x) => x.status === 'running'));
      const score = clicks.find((c) => c.id === 'ro-run');
      const cancel = clicks.find((c) => c.id === 'ro-cancel');
      assert.ok(score && cancel, `the clicks were not seen in the page: ${JSON.stringify(clicks)}`);
      const before = s.filter((x) => x.ms <= cancel.ms).at(-1);
      assert.ok(
        before.rows < G && before.status === 'running',
        `Cancel was clicked when the run was ${before.status} with ${before.rows} rows`,
      );
      const idle = s.find((x) => x.ms >= cancel.ms && x.status === 'cancelled' && x.score && !x.cancel);
      assert.ok(idle, `the panel never went idle after Cancel: ${JSON.stringify(s.filter((x) => x.ms >= cancel.ms))}`);
      const idleMs = idle.ms - cancel.ms;
      assert.ok(idleMs <= 1000, `the panel went idle ${Math.round(idleMs)} ms after Cancel`);
      const at = (n) => s.find((x) => x.rows >= n).ms - score.ms;
      return { s, score, cancel, before, idle, idleMs, at };
    }

    /**
     * Cancels a group of `G` after two rows and at once scores it again: a worker still busy with the
     * cancelled group would hold back the new group's first row by the rows the first had left (G − 2);
     * allowed is 3 rows' time more than the first time. That one is cancelled after its first row, and the
     * panel must then stay as it is for 3 rows' time: no row arrives after a cancel.
     */
    async function cancelAndRerun(steps, G) {
      const a = await scoreThenCancel(2, G);
      const rowMs = Math.max(1, a.at(2) - a.at(1));
      console.log(
        `      Cancel ${Math.round(a.cancel.ms - a.score.ms)} ms after Score with ${a.before.rows} rows (one row ≈ ${Math.round(rowMs)} ms, ${steps} flow steps); idle ${Math.round(a.idleMs)} ms later with ${a.idle.rows} rows`,
      );
      const b = await scoreThenCancel(1, G);
      console.log(
        `      again at once: first row ${Math.round(b.at(1))} ms after Score (${Math.round(a.at(1))} ms the first time); Cancel → idle in ${Math.round(b.idleMs)} ms with ${b.idle.rows} rows`,
      );
      assert.ok(
        b.at(1) <= a.at(1) + 3 * rowMs,
        `the next group's first row came ${Math.round(b.at(1))} ms after Score, against ${Math.round(a.at(1))} ms the first time: the worker went on with the cancelled group`,
      );
      assert.equal(await page.getByTestId('ro-status').getAttribute('data-status'), 'cancelled');
      assert.ok(rowMs >= 50, `rows came ${Math.round(rowMs)} ms apart: too close for the quiet wait to mean anything`);
      await new Promise((r) => setTimeout(r, Math.max(2000, 3 * rowMs)));
      const later = (await recorded(page)).samples.filter((x) => x.ms > b.idle.ms);
      assert.deepEqual(
        later.map((x) => `${x.rows} rows ${x.status}`),
        [],
        'the panel changed after it went idle',
      );
      assert.equal(await page.locator('[data-testid="ro-row"]').count(), b.idle.rows, 'rows arrived after Cancel');
      assert.match(await page.getByTestId('ro-count').textContent(), new RegExp(`^${b.idle.rows} / ${G} rollouts scored$`));
    }

    await step('batch mode: 2 images × 4 rollouts with per-group statistics; with β = 0 the grpo loss, −mean(A) = 0, shows 0', async () => {
      await setField(page, 'ro-batch', 2);
      await setField(page, 'ro-groupSize', 4);
      await setField(page, 'ro-reconstructBatch', 2);
      await setField(page, 'ro-beta', 0);
      const s = await scoreAndSample(page);
      assert.equal(s.at(-1).status, 'finished');
      assert.ok(
        s.some((x) => x.rows > 0 && x.rows < 8),
        `rows did not arrive batch by batch: ${s.map((x) => x.rows).join(', ')}`,
      );
      assert.equal(s.at(-1).rows, 8);
      assert.equal(await page.locator('[data-testid="ro-groups"] tbody tr').count(), 2);
      // Ratio 1 (current policy), no KL term: grpo's loss is −mean of advantages that sum to 0 per group,
      // 0 up to float noise (it was shown as 6.245e-17).
      const { losses, metrics } = await shownMetrics(page);
      assert.equal(losses.grpo.trim(), '0', `the grpo loss shows ${losses.grpo}`);
      for (const [k, v] of [...Object.entries(losses), ...Object.entries(metrics)]) assert.doesNotMatch(v, /e-1[0-9]/, `${k} shows ${v}`);
      await shot(page, 'batch');
    });
  }

  await step('a file that is no image is refused: the banner says why, and the file input shows no file as chosen', async () => {
    await setField(page, 'ro-source', 'image');
    // A button-like "Choose image…" label in place of the native control (hidden, still the label's input).
    const picker = await page.getByTestId('ro-file').evaluate((el) => ({
      label: el.closest('label')?.textContent?.trim(),
      cls: el.closest('label')?.className,
      width: el.getBoundingClientRect().width,
    }));
    assert.deepEqual([picker.label, picker.cls], ['Choose image…', 'file-button'], `the file picker is ${JSON.stringify(picker)}`);
    assert.ok(picker.width <= 1, `the native file input shows (${picker.width}px wide)`);
    await page
      .getByTestId('ro-file')
      .setInputFiles({ name: 'notes-not-an-image.png', mimeType: 'image/png', buffer: Buffer.from('These are notes, not a picture.\n') });
    await until(async () => (await page.getByTestId('error-banner').count()) > 0, 'no banner for a file that is no image', 30_000);
    const { code, message, text } = await bannerParts(page);
    assert.equal(code, 'not-image');
    assert.ok(
      text.startsWith(message) && message.startsWith('notes-not-an-image.png: '),
      `the banner does not lead with the sentence: "${text}"`,
    );
    assert.ok(text.endsWith('(not-image)'), `the code does not follow the sentence: "${text}"`);
    assert.equal(await page.getByTestId('ro-file').inputValue(), '', 'the refused file is still chosen in the file input');
    assert.equal(await page.getByTestId('ro-file').evaluate((el) => el.files.length), 0, 'the file input still holds the refused file');
    const name = page.getByTestId('ro-file-name');
    assert.equal(await name.getAttribute('data-chosen'), 'false');
    assert.doesNotMatch(await name.textContent(), /notes-not-an-image/, 'the refused file is shown as chosen');
    assert.equal(await page.getByTestId('ro-run').isDisabled(), true, 'Score is enabled without an image');
    // The error is this panel's: on another tab the banner gives way and this tab carries a mark; back here, it is shown again.
    await page.getByTestId('tab-bench').click();
    await page.getByTestId('error-banner').waitFor({ state: 'detached' });
    await page.getByTestId('tab-alert-rollouts').waitFor();
    assert.match(await page.getByTestId('tab-rollouts').textContent(), /\(an error\)/);
    await page.getByTestId('tab-rollouts').click();
    assert.equal((await bannerParts(page)).code, 'not-image', 'the error is not back on its own tab');
    assert.equal(await page.getByTestId('tab-alert-rollouts').count(), 0, 'the mark stays on the open tab');
    await page.getByRole('button', { name: 'Dismiss error' }).click();
    await setField(page, 'ro-source', 'scene');
  });

  await step('no uncaught errors or console errors', async () => {
    assert.deepEqual(errors, []);
  });
  await close();
}

/** WASM alone in its runner; its WebGPU checks run in the shared WebGPU pass (webgpu.spec.mjs). */
export const spec = { name: 'rollouts', modes: ['wasm'], run: assertRolloutsPanel };
