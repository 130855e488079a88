// The tour: every tab as a newcomer meets it, in both backends, after the thing each tab is for has run —
// a round trip on the ready gallery scene, a group of rollouts, the bundle's recorded runs charted, the
// bundle card. `npm run screenshots` runs it with --screenshots, which writes docs/img/tab-<tab>-<mode>.png:
// the README's and docs' screenshots come from here (a unit test checks every image they show is one an
// E2E spec writes), so they are regenerated, never hand-made.
// Run alone: node tests/e2e/tour.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm] [--screenshots]
import assert from 'node:assert/strict';
import { collectErrors, fail, until, waitLoaded, widerThanScreen } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';

/** The tabs in the order the tour visits them (the app opens on the first). */
export const TOUR_TABS = ['roundtrip', 'rollouts', 'training', 'bundle'];

/** The docs/img file the tour writes for `tab` in `mode` (with --screenshots). */
export const tourImage = (tab, mode) => `tab-${tab}-${mode}.png`;

async function runTour({ context, baseUrl, mode, step, shot }) {
  const page = await context.newPage();
  const errors = collectErrors(page);
  const open = async (tab) => {
    await page.getByTestId(`tab-${tab}`).click();
    await until(async () => (await page.getByTestId(`tab-${tab}`).getAttribute('aria-selected')) === 'true', `tab ${tab} not selected`);
  };

  await step('the app opens on the round trip with a scene ready; one run streams, then finishes', async () => {
    await page.goto(baseUrl);
    await waitLoaded(page);
    assert.equal(await page.getByTestId('tab-roundtrip').getAttribute('aria-selected'), 'true', 'the app should open on the round trip');
    const start = page.locator('[data-testid="rt-start"]:not([disabled])');
    await start.waitFor({ timeout: 120_000 });
    await start.click();
    let streamed = false;
    await until(
      async () => {
        const status = await page.getByTestId('rt-run').getAttribute('data-status');
        if (status === 'failed') throw fail(`round trip failed: ${await page.getByTestId('rt-run').textContent()}`);
        // The running frame mid-flow: caption decoded, the reconstruction sharpening step by step.
        const live = page.getByTestId('rt-live');
        if (!streamed && status === 'running' && /estimate after step \d+/.test((await live.allTextContents()).join(' '))) {
          streamed = true;
          await shot(page, 'tour-roundtrip-streaming', `roundtrip-streaming-${mode.name}.png`);
        }
        return status === 'finished';
      },
      'the round trip did not finish',
      600_000,
    );
    assert.ok(streamed, 'never saw the running frame with an estimate of the image');
    await shot(page, 'tour-roundtrip', tourImage('roundtrip', mode.name));
  });

  await step('rollouts: a group is scored', async () => {
    await open('rollouts');
    const run = page.locator('[data-testid="ro-run"]:not([disabled])');
    await run.waitFor({ timeout: 60_000 });
    await run.click();
    await until(
      async () => {
        const status = await page.getByTestId('ro-status').getAttribute('data-status');
        if (status === 'failed') throw fail(`rollouts failed: ${await page.getByTestId('ro-status').textContent()}`);
        return status === 'finished';
      },
      'the group was not scored',
      600_000,
    );
    await shot(page, 'tour-rollouts', tourImage('rollouts', mode.name));
  });

  await step("training: the bundle's recorded runs are charted", async () => {
    await open('training');
    await page.locator('[data-testid="chart-reward"] .recharts-line-curve').first().waitFor({ timeout: 60_000 });
    await shot(page, 'tour-training', tourImage('training', mode.name));
  });

  await step('model bundle: the card of the loaded bundle', async () => {
    await open('bundle');
    await page.getByTestId('loaded-bundle').waitFor();
    await shot(page, 'tour-bundle', tourImage('bundle', mode.name));
  });

  await step('on a phone-width screen (390 px) no tab, with its results, is wider than the screen', async () => {
    const size = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const tab of [...TOUR_TABS, 'bench']) {
        await open(tab);
        await page.waitForTimeout(300);
        const wide = await widerThanScreen(page);
        assert.deepEqual(wide, [], `tab ${tab} is wider than a 390 px screen: ${wide.join(', ')}`);
      }
    } finally {
      if (size) await page.setViewportSize(size);
    }
  });

  await step('no uncaught errors or console errors on the tour', async () => {
    assert.deepEqual(errors, []);
  });
}

/** npm test tours on WASM (its screenshots land in test-results/); `npm run screenshots` runs both modes. */
export const spec = { name: 'tour', modes: ['wasm'], run: runTour };

if (isMain(import.meta.url)) runMain('tour', [spec]);
