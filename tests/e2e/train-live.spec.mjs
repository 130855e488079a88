#!/usr/bin/env node
// Train-live E2E spec (see harness.mjs for the ctx): on the catalog's default bundle, a link with tiny `tl-*` settings
// opens the Training tab's "Train live" form filled in; each invalid field is named and blocks Start; a run starts and
// its steps stream into the charts with the group's captions; a reload mid-run leaves it paused at its last saved
// step and Resume finishes it with nothing lost; a live checkpoint appears in the scrubber and evaluates; the run
// exports; the engine worker crashing mid-run pauses it at its last saved step and Resume finishes it; Cancel makes the
// worker idle within 1 s. In WebGPU mode (SwiftShader) the ORT sessions run on WebGPU and Auto's gradient device refuses
// the software adapter for jax-js, naming it: a step streams its point while the scrubber's evaluation waits behind the
// run, Cancel, and a live checkpoint evaluates in the scrubber (no reload: see GPU_LINK).
// The jax-js WebGPU loss check is tests/e2e/train-webgpu-parity.mjs (not in npm test: SwiftShader compiles for minutes).
// Each step prints where its time went (the trainer's phases, from the page).
// Usage: node tests/e2e/train-live.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm] [--screenshots]
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectErrors, fail, openTab, specPage, until, waitLoaded, widerThanScreen } from './checks.mjs';
import { engineWorker } from './resilience-checks.mjs';
import { runAndWait as runBench, setForm as setBenchForm, tableRows as benchRows } from './bench.spec.mjs';
import { isMain, runMain } from './harness.mjs';

/**
 * Tiny settings: 3 steps of G=2 × 1 image, 1 Euler step for the reward, 2 held-out scenes at steps 0 and 3 (3 steps:
 * the reload after step 1 must land before the run ends, also on a loaded machine).
 */
const LINK = '?tl-steps=3&tl-group=2&tl-images=1&tl-flow-steps=1&tl-eval-every=3&tl-eval-scenes=2&tl-ckpt-every=1';
/** The same link with two invalid fields (group and lr): the page opens with both named, and they are fixed in the form. */
const BAD_LINK = `${LINK.replace('tl-group=2', 'tl-group=1')}&tl-lr=-1`;
/**
 * WebGPU (SwiftShader): ORT on WebGPU with Auto's gradient device on WASM (the fallback adapter named); 60 steps (steps
 * always left to cancel), step 1 streams, then Cancel during the step after it; a live checkpoint evaluates in the
 * scrubber. No reload there: pausing and resuming are the same code on either backend (the WASM run checks them), and a
 * reload recompiles every shader on SwiftShader (40–125 s measured in npm test). One held-out scene; the export is the
 * same code on either backend.
 */
const GPU_LINK = '?tl-steps=60&tl-group=2&tl-images=1&tl-flow-steps=1&tl-eval-every=4&tl-eval-scenes=1&tl-ckpt-every=1';
/** GPU_LINK's settings as form fields (test id `tl-field-<field>`): the shared WebGPU pass types them into the form. */
const GPU_FIELDS = { steps: 60, group: 2, images: 1, flowSteps: 1, evalEvery: 4, evalScenes: 1, checkpointEvery: 1 };
/** Model work on a shared 2-core machine (SwiftShader WebGPU is far slower than WASM). */
const WAIT = 300_000;
/** The trainer's phases as the page shows them, with their times (read back by phaseTimes; kept across reloads). */
const TRACE = `(() => {
  window.__tlTrace = [];
  let last = '';
  setInterval(() => {
    const el = document.querySelector('[data-testid="tl-phase"]');
    const p = document.querySelector('[data-testid="tl-progress"]');
    const now = (el ? el.textContent : '-') + ' | saved ' + (p ? p.dataset.step : '-');
    if (now !== last) window.__tlTrace.push([Math.round(performance.now()), (last = now)]);
  }, 25);
})()`;

/** Prints how long each phase shown since the last call took ("step 1: GRPO update 0.4 s"). */
async function phaseTimes(page) {
  const trace = await page.evaluate(() => window.__tlTrace.splice(0)).catch(() => []);
  const parts = trace.slice(0, -1).map(([t, what], i) => `${what.split(' | ')[0]} ${((trace[i + 1][0] - t) / 1000).toFixed(1)} s`);
  const shown = parts.filter((p) => !p.startsWith('- '));
  if (shown.length > 0) console.log(`      phases: ${shown.join(' · ')}`);
}

const attr = (page, id, name) => page.getByTestId(id).getAttribute(name);

/** Vertices of each line path in a chart (one per drawn data point). */
function vertices(page, testId) {
  return page
    .locator(`[data-testid="${testId}"] path.recharts-line-curve`)
    .evaluateAll((paths) => paths.map((p) => (p.getAttribute('d') ?? '').match(/[ML]/g)?.length ?? 0));
}

/**
 * Vertices of the live run's line in a one-line chart: the path in its colour (the live charts' data-live-colour, its
 * Runs-list colour); lines are not drawn in legend order once runs sit on two axes.
 */
async function liveVertices(page, testId) {
  const colour = await attr(page, 'tl-charts', 'data-live-colour');
  assert.ok(colour, 'the live charts name no colour for the live run');
  const counts = await page
    .locator(`[data-testid="${testId}"] path.recharts-line-curve[stroke="${colour}"]`)
    .evaluateAll((paths) => paths.map((p) => (p.getAttribute('d') ?? '').match(/[ML]/g)?.length ?? 0));
  assert.equal(counts.length, 1, `${testId}: ${counts.length} lines in the live run's colour`);
  return counts[0];
}

/** Waits until the live run has finished step `n` (a failure or a non-finite loss ends the wait with its message). */
async function stepDone(page, n, timeout = WAIT) {
  await until(
    async () => {
      const status = await attr(page, 'train-live', 'data-status');
      // Read once, without waiting: right after Resume the reload's message goes (a textContent() would wait 30 s for it).
      const message = (await page.getByTestId('tl-message').allTextContents()).join(' ');
      if (status === 'diverged' || (status === 'paused' && message !== '' && !isReloadMessage(message)))
        throw fail(`the run stopped: ${message}`);
      return Number((await attr(page, 'tl-progress', 'data-step')) ?? -1) >= n;
    },
    `the live run never finished step ${n}`,
    timeout,
  );
}

/** Whether a paused run's message is the one a reload (or a Pause) leaves, not a failure's. */
function isReloadMessage(message) {
  return /reloaded|Paused after/.test(message);
}

/** Clicks Cancel while a step runs -> ms until the engine badge reads idle. */
function cancelIdleMs(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const badge = document.querySelector('[data-testid="backend-badge"]');
        const t0 = performance.now();
        const obs = new MutationObserver(() => {
          if (badge.getAttribute('data-activity') === 'idle') {
            obs.disconnect();
            resolve(performance.now() - t0);
          }
        });
        obs.observe(badge, { attributes: true });
        document.querySelector('[data-testid="tl-cancel"]').click();
      }),
  );
}

async function runTrainLive(ctx) {
  const { baseUrl, mode, step, shot, root } = ctx;
  // Alone: a fresh page from a link. In the shared WebGPU pass: the loaded page, the form filled in (checks.mjs specPage).
  const { page, shared, close } = await specPage(ctx);
  if (shared) await page.evaluate(TRACE);
  else await page.addInitScript(TRACE);
  // The crash the WASM run causes reaches the console as an uncaught error in the worker; nothing else may.
  const errors = collectErrors(page, (m) => /E2E: engine worker crash/.test(m.text()));
  const gpu = mode.name === 'webgpu';
  const steps = gpu ? GPU_FIELDS.steps : 3;

  // Cancelled mid-run: WebGPU, the step after step 1 (then the scrubber evaluates a checkpoint of the run);
  // WASM, the step-0 evaluation of a new run (the last step).
  const cancelStep = () =>
    step('train live: Cancel during a run makes the worker idle within 1 s', async () => {
      if (gpu) {
        // right after step 1 streamed: the next one (seconds on SwiftShader) is running
        const at = await attr(page, 'tl-progress', 'data-step');
        assert.equal(await attr(page, 'train-live', 'data-status'), 'running', `the run is not running (saved step ${at})`);
      } else {
        await page.getByTestId('tl-start').click();
        await until(async () => (await attr(page, 'tl-progress', 'data-step')) === '0', 'the new run did not start at step 0');
      }
      await until(async () => (await attr(page, 'backend-badge', 'data-activity')) === 'train', 'the run is not in the worker', WAIT);
      await until(async () => (await page.getByTestId('tl-phase').count()) > 0, 'no phase started', WAIT);
      const ms = await cancelIdleMs(page);
      assert.ok(ms < 1000, `idle ${ms.toFixed(0)} ms after Cancel`);
      assert.equal(await attr(page, 'train-live', 'data-status'), 'cancelled');
      console.log(`      idle ${ms.toFixed(0)} ms after Cancel`);
    });

  const opening = shared
    ? 'train live: the Training tab opens the form, filled in with tiny settings; the gradient device is Auto'
    : 'train live: a link fills the form and opens the Training tab; each invalid field is named and blocks Start';
  await step(opening, async () => {
    if (shared) {
      await openTab(page, 'training', 'train-live');
      for (const [field, value] of Object.entries(GPU_FIELDS)) await page.getByTestId(`tl-field-${field}`).fill(String(value));
    } else await page.goto(`${baseUrl}${gpu ? GPU_LINK : BAD_LINK}`);
    await waitLoaded(page, undefined, WAIT);
    await page.getByTestId('train-live').waitFor();
    assert.equal(await page.getByTestId('tl-field-steps').inputValue(), String(steps));
    assert.equal(await page.getByTestId('tl-field-device').inputValue(), 'auto', 'the gradient device is Auto by default');
    if (gpu) return;
    // The form reads as a grid of fields: the presets line spans it, and no field is stretched taller than a line
    // (the presets once sat in one grid cell and made their row, and every input of it, ~200 px tall).
    const layout = await page.getByTestId('tl-form').evaluate((form) => {
      const presets = form.querySelector('.tl-presets').getBoundingClientRect();
      const inner = form.getBoundingClientRect();
      const tallest = Math.max(...[...form.querySelectorAll('input, select')].map((e) => e.getBoundingClientRect().height));
      return { presetsShare: presets.width / inner.width, tallest };
    });
    assert.ok(layout.presetsShare > 0.8, `the presets line takes ${(layout.presetsShare * 100).toFixed(0)} % of the form's width`);
    assert.ok(layout.tallest < 48, `a form field is ${layout.tallest.toFixed(0)} px tall`);
    // The panel's intro links to the form, which sits below the charts: it scrolls into view, its first field focused.
    const headingInView = () =>
      page.locator('#train-live-heading').evaluate((el) => {
        const r = el.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight;
      });
    await page.evaluate(() => window.scrollTo(0, 0));
    assert.equal(await headingInView(), false, 'the form is in view at the top of the panel already');
    await page.getByTestId('go-train-live').click();
    await until(
      () => page.getByTestId('tl-field-steps').evaluate((el) => document.activeElement === el),
      'the link did not focus the form',
    );
    await until(headingInView, 'the link did not bring the form into view');
    // Both invalid fields of the link are outlined and named, one message each.
    await page.getByTestId('tl-form-errors').waitFor();
    const named = () => page.getByTestId('tl-form-error').evaluateAll((ps) => ps.map((p) => [p.dataset.field, p.textContent]));
    const messages = await named();
    assert.deepEqual(
      messages.map(([f]) => f),
      ['group', 'lr'],
    );
    assert.match(messages[0][1], /^Group must be an integer in \[2, /);
    assert.match(messages[1][1], /^Lr must be a number > 0, got '-1'/);
    for (const f of ['group', 'lr']) assert.equal(await attr(page, `tl-field-${f}`, 'aria-invalid'), 'true', `${f} is not outlined`);
    assert.ok(await page.getByTestId('tl-start').isDisabled(), 'Start is enabled with invalid fields');
    // Fixing one leaves the other marked and Start disabled.
    await page.getByTestId('tl-field-group').fill('2');
    await until(async () => (await named()).length === 1, 'the group error stayed after its fix');
    assert.deepEqual(await named(), [messages[1]]);
    assert.equal(await attr(page, 'tl-field-group', 'aria-invalid'), 'false');
    assert.ok(await page.getByTestId('tl-start').isDisabled(), 'Start is enabled with an invalid lr');
    assert.match(page.url(), /tl-lr=-1/);
    await page.getByTestId('tl-field-lr').fill('0.00004');
    await until(async () => (await page.getByTestId('tl-form-error').count()) === 0, 'the lr error stayed after its fix');
    assert.doesNotMatch(page.url(), /tl-lr=/, 'the preset lr stays out of the link');
    await page.getByTestId('tl-field-device').selectOption('wasm');
    assert.match(page.url(), /tl-grad-device=wasm/);
    await page.getByTestId('tl-field-device').selectOption('auto');
    assert.doesNotMatch(page.url(), /tl-grad-device/, 'the default gradient device stays out of the link');
  });

  await step('train live: Start streams steps into the charts with the group captions and s/step', async () => {
    // The scrubber evaluates its checkpoint when the tab opens (~20 s on SwiftShader WebGPU); Start makes it wait behind
    // the run (app/panels/training/evaluation.ts yieldEvaluation), so it is still running when step 1 has streamed.
    const evalAtStart = await attr(page, 'checkpoint-eval', 'data-state');
    await page.getByTestId('tl-start').click();
    await until(async () => (await attr(page, 'train-live', 'data-status')) === 'running', 'the run did not start');
    await until(async () => (await page.getByTestId('tl-device').count()) > 0, 'no device shown', WAIT);
    // Auto: jax-js follows a WASM engine; on WebGPU it refuses SwiftShader (a fallback adapter) and says so.
    assert.equal(await attr(page, 'tl-device', 'data-device'), 'wasm');
    assert.equal(await attr(page, 'tl-device', 'data-choice'), 'auto');
    if (gpu) {
      assert.equal(await attr(page, 'backend-badge', 'data-backend'), 'webgpu', 'the ORT sessions are not on WebGPU');
      assert.match(
        await page.getByTestId('tl-device-note').textContent(),
        /is a software fallback adapter, slower than WASM; choose WebGPU/,
      );
    } else assert.equal(await page.getByTestId('tl-device-note').count(), 0);
    await stepDone(page, 1);
    if (evalAtStart === 'running') {
      assert.equal(await attr(page, 'checkpoint-eval', 'data-state'), 'running', 'the run waited for the scrubber evaluation');
      console.log('      the scrubber evaluation running at Start waits behind the run');
    }
    assert.equal(await page.getByTestId('tl-caption').count(), 2, 'not G=2 captions of the latest step');
    assert.ok(Number.isFinite(Number(await attr(page, 'tl-last-row', 'data-loss'))), 'step 1 loss is not finite');
    await until(async () => (await vertices(page, 'tl-chart-reward')).length >= 1, 'the live reward chart has no line');
    assert.match(await page.getByTestId('tl-step').textContent(), new RegExp(`step \\d+ of ${steps}`));
    await phaseTimes(page);
  });

  if (!gpu)
    await step('train live: a reload mid-run pauses at the last saved step; Resume finishes with nothing lost', async () => {
      const before = Number(await attr(page, 'tl-progress', 'data-step'));
      await page.reload();
      await waitLoaded(page, undefined, WAIT);
      await page.getByTestId('train-live').waitFor();
      await until(async () => (await attr(page, 'train-live', 'data-status')) === 'paused', 'the reloaded run is not paused');
      const saved = Number(await attr(page, 'tl-progress', 'data-step'));
      assert.ok(saved >= before, `step ${before} was lost by the reload (saved ${saved})`);
      assert.ok(saved < steps, `the run had finished step ${saved} of ${steps} before the reload`);
      console.log(`      reloaded ${before === saved ? 'at' : 'after'} step ${before}: paused at step ${saved}`);
      assert.match(await page.getByTestId('tl-message').textContent(), /reloaded during the run: resume from step \d/);
      await page.getByTestId('tl-resume').click();
      await stepDone(page, saved + 1);
      if ((await attr(page, 'train-live', 'data-status')) === 'running') {
        await shot(page, 'train-live-running');
        await page.getByTestId('train-live').screenshot({ path: join(root, 'test-results', `${mode.name}-train-live-section.png`) });
      }
      await stepDone(page, steps);
      await until(async () => (await attr(page, 'train-live', 'data-status')) === 'done', 'the run did not end as done');
      const evals = await page.getByTestId('tl-eval-row').evaluateAll((rows) => rows.map((r) => Number(r.dataset.step)));
      assert.deepEqual(evals, [0, steps]);
      assert.equal(await liveVertices(page, 'tl-chart-length'), steps, `the live length chart does not have ${steps} points`);
      // Each evaluation logs its sample caption; the recorded run's is shown of the same step or the one before.
      const samples = await page.getByTestId('tl-sample-caption-run').allTextContents();
      assert.match(
        samples[0] ?? '',
        new RegExp(`^live run \\(β [^)]*\\) · held-out scene · step ${steps} · \\d+ words“.*”$`),
        'no live sample caption',
      );
      if (samples.length > 1) {
        const at = Number(/^recorded run · held-out scene · step (\d+)/.exec(samples[1])?.[1]);
        assert.ok(at <= steps, `the recorded run's sample caption is of step ${at}, after the live run's ${steps}`);
      }
      // Keep in Runs: the run joins the Runs list (shown) and the live charts' legends under its settings.
      await page.getByTestId('tl-keep').click();
      const kept = page.locator('[data-testid^="run-item-live-"]');
      await until(async () => (await kept.count()) === 1, 'the kept run is not in the Runs list');
      assert.match(await kept.textContent(), /Kept run \(β [\d.]+, G 2×1, lr [\d.e-]+, sim\): GRPO trained live in the page, steps 0–3/);
      assert.equal(await page.getByTestId('tl-keep').textContent(), 'Kept in Runs');
      assert.ok(await page.getByTestId('tl-keep').isDisabled(), 'Keep in Runs is still enabled for the same step');
      // The live run was drawn in the colour its copy now has in the Runs list.
      const liveColour = await attr(page, 'tl-charts', 'data-live-colour');
      const rgb = `rgb(${[1, 3, 5].map((i) => parseInt(liveColour.slice(i, i + 2), 16)).join(', ')})`;
      const swatch = await kept.locator('.swatch').evaluate((e) => getComputedStyle(e).backgroundColor);
      assert.equal(swatch, rgb, `the kept run's Runs-list colour ${swatch} is not the live run's ${liveColour}`);
      // Its copy is not drawn over the live run's own lines; the next run is drawn over it (the worker-crash step).
      const legend = await page.getByTestId('tl-chart-reward').locator('.chart-legend').textContent();
      assert.doesNotMatch(legend, /Kept run/, `the live charts draw the run kept from themselves: ${legend}`);
      // The section with a run's results (captions, evaluations, charts) fits a phone-width screen.
      const size = page.viewportSize();
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        const wide = await widerThanScreen(page);
        assert.deepEqual(wide, [], `the Training tab with a live run is wider than a 390 px screen: ${wide.join(', ')}`);
      } finally {
        if (size) await page.setViewportSize(size);
      }
      await phaseTimes(page);
    });

  if (gpu) await cancelStep();

  await step('train live: its checkpoints are listed in the scrubber and one evaluates on the image', async () => {
    // WebGPU: cancelled in the step after step 1, so the live checkpoints are step 1 (and any after it)
    await page.getByTestId(`checkpoint-item-live-${gpu ? 1 : steps}`).waitFor();
    const last = gpu ? Number(await page.getByTestId('checkpoint-count').getAttribute('data-live')) : steps;
    assert.ok(last >= (gpu ? 1 : steps), `${last} live checkpoints`);
    await page.getByTestId(`checkpoint-item-live-${last}`).waitFor();
    assert.equal(await page.getByTestId('checkpoint-count').getAttribute('data-live'), String(last));
    await page.getByTestId('checkpoint-item-live-1').click();
    const box = page.getByTestId('checkpoint-eval');
    await until(
      async () => {
        const state = await box.getAttribute('data-state');
        if (state === 'error') throw fail(`evaluation failed: ${await page.getByTestId('checkpoint-error').textContent()}`);
        return state === 'done' && (await box.getAttribute('data-step')) === '1';
      },
      'the live checkpoint was never evaluated',
      WAIT,
    );
    assert.match(await page.getByTestId('checkpoint-chosen').textContent(), /live run step 1/);
    assert.ok(Number.isFinite(Number(await page.getByTestId('checkpoint-sim').getAttribute('data-sim'))));
  });

  if (!gpu)
    await step('train live: the Bench tab lists its checkpoints; Unified-Bench runs on one, labelled and on its own line', async () => {
      const id = await attr(page, 'bundle-badge', 'data-bundle-id');
      await openTab(page, 'bench', 'bench-panel');
      await page.getByTestId(`bench-encoder-live:${steps}`).waitFor();
      // Only the live checkpoint of step 1: no shipped encoder or checkpoint, no GenEval.
      const off = await page
        .locator('[data-testid^="bench-encoder-"]')
        .evaluateAll((els) => els.map((e) => e.dataset.testid.slice('bench-'.length)).filter((k) => k !== 'encoder-live:1'));
      await setBenchForm(
        page,
        { scenes: 1, steps: 1, batch: 1 },
        { unified: true, geneval: false, ...Object.fromEntries(off.map((k) => [k, false])), 'encoder-live:1': true },
      );
      await runBench(page);
      const live = (await benchRows(page)).filter((r) => r.kind === 'unified').at(-1);
      assert.equal(live?.status, 'finished', JSON.stringify(live));
      assert.equal(live.n, 1);
      assert.match(live.cells[0], new RegExp(`^${id} · live run step 1 trained live$`));
      assert.ok(Number.isFinite(live.overall), `overall ${live.overall}`);
      // The step chart: the live run's checkpoints get a line of their own.
      assert.match(await attr(page, 'bench-chart-steps', 'data-lines'), /\blive:1\b/);
      assert.equal(await page.locator('[data-testid="bench-chart-steps"] .bench-line-live').count(), 1);
      const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('bench-export-csv').click()]);
      const text = readFileSync(await csv.path(), 'utf8');
      assert.ok(
        text.split('\n').some((l) => l.startsWith(`unified,${id},live:1,1,`) && l.includes(',overall,')),
        text,
      );
      await openTab(page, 'training', 'train-live');
    });

  if (!gpu)
    await step('train live: the run exports as JSONL (TRL names) and as a bundle zip listing its checkpoints', async () => {
      const download = async (testId) => {
        const [dl] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), page.getByTestId(testId).click()]);
        return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
      };
      const all = [...Array(steps + 1).keys()];
      const jsonl = await download('tl-export-jsonl');
      const rows = jsonl.bytes
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        rows.map((r) => r.step),
        all,
      );
      assert.ok(rows.slice(1).every((r) => Number.isFinite(r['completions/mean_length']) && Number.isFinite(r.kl)));
      assert.ok(Number.isFinite(rows[steps]['eval/sim']));
      const zip = await download('tl-export-bundle');
      assert.match(zip.name, new RegExp(`^uae-shapes-.*-live\\.${steps}\\.zip$`));
      // Python's zipfile reads it independently: every CRC checks, and the manifest lists every step's checkpoint.
      const py = [
        'import io, sys, zipfile, json',
        'z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))',
        'assert z.testzip() is None',
        'm = json.loads(z.read("manifest.json"))',
        'print(json.dumps([c["step"] for c in m["roles"]["checkpoints"]] + [len(m["files"]), len(z.namelist())]))',
      ].join('\n');
      const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: zip.bytes, encoding: 'utf8' }));
      assert.deepEqual(out.slice(0, steps + 1), all);
      assert.equal(out[steps + 1] + 1, out[steps + 2], 'every file but manifest.json is listed in the manifest');
    });

  if (!gpu)
    await step('train live: the engine worker crashes mid-run: the run pauses at its last saved step; Resume finishes it', async () => {
      // A longer run than the others: the injected crash lands when the worker next yields to its event loop, and
      // with 3 tiny steps the whole rest of the run could finish first (seen in full `npm test` runs: "done").
      const runSteps = 8;
      await page.getByTestId('tl-field-steps').fill(String(runSteps));
      await page.getByTestId('tl-field-evalEvery').fill(String(runSteps));
      await page.getByTestId('tl-start').click();
      await stepDone(page, 1);
      const worker = await engineWorker(page);
      await worker.evaluate(() =>
        setTimeout(() => {
          throw new Error('E2E: engine worker crash');
        }, 0),
      );
      // On a timeout the message says where the run was instead (status, step, its message).
      const where = async () =>
        `status ${await attr(page, 'train-live', 'data-status')}, step ${await attr(page, 'tl-progress', 'data-step')}, message ` +
        `"${(await page.getByTestId('tl-message').allTextContents()).join(' ')}"`;
      await until(
        async () => {
          if ((await attr(page, 'train-live', 'data-status')) === 'paused') return true;
          throw new Error(await where());
        },
        'the run did not pause on the crash',
        WAIT,
      );
      const saved = Number(await attr(page, 'tl-progress', 'data-step'));
      // The crash lands when the worker next yields to its event loop: on a fast machine that can be after the last
      // step, during the final evaluation (the run is not done until it ends; Resume runs it again, as for any
      // evaluation a pause interrupted), so a pause at `runSteps` is still mid-run.
      assert.ok(saved >= 1 && saved <= runSteps, `paused at step ${saved}`);
      assert.match(
        await page.getByTestId('tl-message').textContent(),
        new RegExp(`E2E: engine worker crash.*\\(worker-crashed\\): the run paused; resume from step ${saved}\\.$`),
      );
      await page.getByTestId('engine-restarted').waitFor({ timeout: WAIT });
      await page.locator('[data-testid="tl-resume"]:not([disabled])').waitFor({ timeout: WAIT });
      await page.getByTestId('tl-resume').click();
      // Resume first waits for the storage writes in flight: until then the run still reads paused, with the crash's message
      await until(async () => (await attr(page, 'train-live', 'data-status')) !== 'paused', 'Resume did not resume the run');
      await stepDone(page, runSteps);
      await until(async () => (await attr(page, 'train-live', 'data-status')) === 'done', 'the resumed run did not end as done', WAIT);
      // Nothing finished before the crash was lost: a point per step, evaluations at 0 and the last step.
      assert.equal(await liveVertices(page, 'tl-chart-length'), runSteps);
      const legend = await page.getByTestId('tl-chart-reward').locator('.chart-legend').textContent();
      assert.match(legend, /Kept run \(β [\d.]+, G 2×1/, `the live reward chart's legend does not list the run kept before: ${legend}`);
      const evals = await page.getByTestId('tl-eval-row').evaluateAll((rows) => rows.map((r) => Number(r.dataset.step)));
      assert.deepEqual(evals, [0, runSteps]);
      await phaseTimes(page);
    });

  if (!gpu) await cancelStep();

  await step('train live: no uncaught errors or console errors', async () => {
    assert.deepEqual(errors, []);
  });
  await close();
}

/** WASM alone in its runner; its WebGPU checks run in the shared WebGPU pass (webgpu.spec.mjs). */
export const spec = { name: 'train-live', modes: ['wasm'], run: runTrainLive };

if (isMain(import.meta.url)) runMain('train-live', [spec]);
