#!/usr/bin/env node
// Train-live E2E spec (see harness.mjs for the ctx): on the catalog's default bundle, a link with tiny `tl-*` settings
// opens the Training tab's "Train live" form filled in; an invalid field is named and blocks Start; a run starts and
// its steps stream into the charts with the group's captions; a reload mid-run leaves it paused at its last saved
// step and Resume finishes it with nothing lost; a live checkpoint appears in the scrubber and evaluates; a worker
// crash pauses the run and Resume goes on after the restart; Cancel makes the worker idle within 1 s. In WebGPU mode
// the first step's loss is compared with WASM's (same settings and seed) when both modes run in one process.
// Usage: node tests/e2e/train-live.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm] [--screenshots]
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectErrors, fail, until, waitLoaded } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';
import { engineWorker } from './resilience-checks.mjs';

/** Tiny settings: 4 steps of G=2 × 1 image, 1 Euler step for the reward, 2 held-out scenes at steps 0 and 4. */
const LINK = '?tl-steps=4&tl-group=2&tl-images=1&tl-flow-steps=1&tl-eval-every=4&tl-eval-scenes=2&tl-ckpt-every=1';
/**
 * WebGPU (SwiftShader) shows only what it alone can: the updates on jax-js's WebGPU device, step 1's loss equal to
 * WASM's, cancel. One step, one held-out scene; the reload and the scrubber are the same code on either backend.
 */
const GPU_LINK = '?tl-steps=1&tl-group=2&tl-images=1&tl-flow-steps=1&tl-eval-every=1&tl-eval-scenes=1&tl-ckpt-every=1';
/** Model work on a shared 2-core machine (SwiftShader WebGPU is far slower than WASM). */
const WAIT = 600_000;
/** The first step's loss per mode, to compare WebGPU with WASM when both run in this process. */
const firstLoss = {};

const attr = (page, id, name) => page.getByTestId(id).getAttribute(name);

/** Vertices of each line path in a chart (one per drawn data point). */
function vertices(page, testId) {
  return page
    .locator(`[data-testid="${testId}"] path.recharts-line-curve`)
    .evaluateAll((paths) => paths.map((p) => (p.getAttribute('d') ?? '').match(/[ML]/g)?.length ?? 0));
}

/** Waits until the live run has finished step `n` (a failure or a non-finite loss ends the wait with its message). */
async function stepDone(page, n, timeout = WAIT) {
  await until(
    async () => {
      const status = await attr(page, 'train-live', 'data-status');
      if (
        status === 'diverged' ||
        (status === 'paused' && (await page.getByTestId('tl-message').count()) > 0 && !(await isReloadPause(page)))
      )
        throw fail(`the run stopped: ${await page.getByTestId('tl-message').textContent()}`);
      return Number((await attr(page, 'tl-progress', 'data-step')) ?? -1) >= n;
    },
    `the live run never finished step ${n}`,
    timeout,
  );
}

async function isReloadPause(page) {
  return /reloaded|Paused after/.test((await page.getByTestId('tl-message').textContent()) ?? '');
}

async function runTrainLive(ctx) {
  const { context, baseUrl, mode, step, shot, root } = ctx;
  const page = await context.newPage();
  // The crash this spec causes (WASM mode) reaches the console as an uncaught error in the worker; nothing else may.
  const errors = collectErrors(page, (m) => /E2E: engine worker crash/.test(m.text()));
  const gpu = mode.name === 'webgpu';
  const steps = gpu ? 1 : 4;

  await step('train live: a link fills the form and opens the Training tab; an invalid field is named and blocks Start', async () => {
    await page.goto(`${baseUrl}${gpu ? GPU_LINK : LINK}`);
    await waitLoaded(page, undefined, WAIT);
    await page.getByTestId('train-live').waitFor();
    assert.equal(await page.getByTestId('tl-field-steps').inputValue(), String(steps));
    assert.equal(await page.getByTestId('tl-field-lr').inputValue(), '0.00003', 'the preset lr is the default');
    await page.getByTestId('tl-field-group').fill('1');
    await page.getByTestId('tl-form-error').waitFor();
    assert.equal(await attr(page, 'tl-form-error', 'data-field'), 'group');
    assert.match(await page.getByTestId('tl-form-error').textContent(), /^Group must be an integer in \[2, /);
    assert.ok(await page.getByTestId('tl-start').isDisabled(), 'Start is enabled with an invalid field');
    assert.match(page.url(), /tl-group=1/);
    await page.getByTestId('tl-field-group').fill('2');
    await until(async () => (await page.getByTestId('tl-form-error').count()) === 0, 'the error stayed after the fix');
  });

  await step('train live: Start streams steps into the charts with the group captions and s/step', async () => {
    await page.getByTestId('tl-start').click();
    await until(async () => (await attr(page, 'train-live', 'data-status')) === 'running', 'the run did not start');
    // The updates run on jax-js's device of the engine's backend (read while the run is on).
    await until(async () => (await page.getByTestId('tl-device').count()) > 0, 'no device shown', WAIT);
    assert.equal(await attr(page, 'tl-device', 'data-device'), gpu ? 'webgpu' : 'wasm');
    await stepDone(page, 1);
    assert.equal(await page.getByTestId('tl-caption').count(), 2, 'not G=2 captions of the latest step');
    const loss = Number(await attr(page, 'tl-last-row', 'data-loss'));
    assert.ok(Number.isFinite(loss), `step 1 loss ${loss}`);
    firstLoss[mode.name] = loss;
    await until(async () => (await vertices(page, 'tl-chart-reward')).length >= 1, 'the live reward chart has no line');
    assert.match(await page.getByTestId('tl-step').textContent(), new RegExp(`step [1-${steps}] of ${steps}`));
    if (gpu) await until(async () => (await attr(page, 'train-live', 'data-status')) === 'done', 'the run did not end as done', WAIT);
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
      assert.match(await page.getByTestId('tl-message').textContent(), /reloaded during the run: resume from step \d/);
      await page.getByTestId('tl-resume').click();
      await stepDone(page, saved + 1);
      if ((await attr(page, 'train-live', 'data-status')) === 'running') {
        await shot(page, 'train-live-running');
        await page.getByTestId('train-live').screenshot({ path: join(root, 'test-results', `${mode.name}-train-live-section.png`) });
      }
      await stepDone(page, 4);
      await until(async () => (await attr(page, 'train-live', 'data-status')) === 'done', 'the run did not end as done');
      const evals = await page.getByTestId('tl-eval-row').evaluateAll((rows) => rows.map((r) => Number(r.dataset.step)));
      assert.deepEqual(evals, [0, 4]);
      assert.equal(await vertices(page, 'tl-chart-length').then((v) => v[0]), 4, 'the live length chart does not have 4 points');
    });

  if (!gpu)
    await step('train live: its checkpoints are listed in the scrubber and one evaluates on the image', async () => {
      await page.getByTestId('checkpoint-item-live-4').waitFor();
      assert.equal(await page.getByTestId('checkpoint-count').getAttribute('data-live'), '4');
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
    await step('train live: the run exports as JSONL (TRL names) and as a bundle zip listing its checkpoints', async () => {
      const download = async (testId) => {
        const [dl] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), page.getByTestId(testId).click()]);
        return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
      };
      const jsonl = await download('tl-export-jsonl');
      const rows = jsonl.bytes
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        rows.map((r) => r.step),
        [0, 1, 2, 3, 4],
      );
      assert.ok(rows.slice(1).every((r) => Number.isFinite(r['completions/mean_length']) && Number.isFinite(r.kl)));
      assert.ok(Number.isFinite(rows[4]['eval/sim']));
      const zip = await download('tl-export-bundle');
      assert.match(zip.name, /^uae-shapes-.*-live\.4\.zip$/);
      // Python's zipfile reads it independently: every CRC checks, and the manifest lists steps 0–4.
      const py = [
        'import io, sys, zipfile, json',
        'z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))',
        'assert z.testzip() is None',
        'm = json.loads(z.read("manifest.json"))',
        'print(json.dumps([c["step"] for c in m["roles"]["checkpoints"]] + [len(m["files"]), len(z.namelist())]))',
      ].join('\n');
      const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: zip.bytes, encoding: 'utf8' }));
      assert.deepEqual(out.slice(0, 5), [0, 1, 2, 3, 4]);
      assert.equal(out[5] + 1, out[6], 'every file but manifest.json is listed in the manifest');
    });

  if (!gpu)
    await step('train live: a worker crash mid-run pauses the run; Resume after the restart goes on from the saved step', async () => {
      await page.getByTestId('tl-start').click();
      await until(async () => (await attr(page, 'tl-progress', 'data-step')) === '0', 'the new run did not start at step 0');
      await stepDone(page, 1);
      const worker = await engineWorker(page);
      await worker.evaluate(() =>
        setTimeout(() => {
          throw new Error('E2E: engine worker crash');
        }, 0),
      );
      await until(async () => (await attr(page, 'train-live', 'data-status')) === 'paused', 'the run did not pause on the crash', WAIT);
      assert.match(await page.getByTestId('tl-message').textContent(), /\(worker-crashed\): the run paused; resume from step \d/);
      const saved = Number(await attr(page, 'tl-progress', 'data-step'));
      await page.getByTestId('engine-restarted').waitFor({ timeout: WAIT });
      await waitLoaded(page, undefined, WAIT);
      await page.getByTestId('tl-resume').click();
      await until(async () => (await attr(page, 'train-live', 'data-status')) !== 'paused', 'Resume did not restart the run', WAIT);
      await stepDone(page, saved + 1);
      await until(async () => (await attr(page, 'train-live', 'data-status')) === 'done', 'the resumed run did not end as done', WAIT);
    });

  await step('train live: Cancel makes the worker idle within 1 s', async () => {
    await page.getByTestId('tl-start').click();
    await until(async () => (await attr(page, 'backend-badge', 'data-activity')) === 'train', 'the new run never reached the worker', WAIT);
    await until(async () => (await page.getByTestId('tl-phase').count()) > 0, 'no phase started', WAIT);
    const ms = await page.evaluate(
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
    assert.ok(ms < 1000, `idle ${ms.toFixed(0)} ms after Cancel`);
    assert.equal(await attr(page, 'train-live', 'data-status'), 'cancelled');
    console.log(`      idle ${ms.toFixed(0)} ms after Cancel`);
  });

  if (mode.name === 'wasm' && firstLoss.webgpu !== undefined) {
    await step('train live: the first step loss on WebGPU equals the one on WASM to 1e-4', async () => {
      assert.ok(Math.abs(firstLoss.webgpu - firstLoss.wasm) <= 1e-4, `WebGPU ${firstLoss.webgpu} vs WASM ${firstLoss.wasm}`);
      console.log(`      step 1 loss: WebGPU ${firstLoss.webgpu}, WASM ${firstLoss.wasm}`);
    });
  }

  await step('train live: no uncaught errors or console errors', async () => {
    assert.deepEqual(errors, []);
  });
  await page.close();
}

export const spec = { name: 'train-live', run: runTrainLive };

if (isMain(import.meta.url)) runMain('train-live', [spec]);
