#!/usr/bin/env node
// The jax-js WebGPU update against jax-js WASM in the page (not part of npm test: on SwiftShader, the only WebGPU
// adapter of a machine without a GPU, the first WebGPU update compiles for minutes). Chromium with WebGPU, the engine's
// ORT sessions on WebGPU, the Training tab's "Train live" with tiny settings: one step with the gradient device WASM,
// then the same step (same settings, seed and rollouts) with the gradient device WebGPU. Step 1's loss must agree to
// 1e-4; the script prints both losses and each run's time to its first step.
// Usage: node tests/e2e/train-webgpu-parity.mjs [--no-build] [--dist DIR]
import assert from 'node:assert/strict';
import { collectErrors, fail, until, waitLoaded } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';

/** One step of G=2 × 1 image, 1 Euler step for the reward, 1 held-out scene. */
const LINK = '?tl-steps=1&tl-group=2&tl-images=1&tl-flow-steps=1&tl-eval-every=1&tl-eval-scenes=1&tl-ckpt-every=1';
/** SwiftShader's first jax-js WebGPU update alone took 74–131 s on a loaded 2-core machine. */
const WAIT = 900_000;
/** The two losses must agree this closely. */
const TOLERANCE = 1e-4;

const attr = (page, id, name) => page.getByTestId(id).getAttribute(name);

/** Starts a run on gradient device `device`, waits for its step 1 -> { loss, device shown, seconds to step 1 }. */
async function firstStep(page, device) {
  await page.getByTestId('tl-field-device').selectOption(device);
  const t0 = Date.now();
  await page.getByTestId('tl-start').click();
  await until(async () => (await attr(page, 'tl-progress', 'data-step')) === '0', `the ${device} run did not start at step 0`);
  await until(async () => (await page.getByTestId('tl-device').count()) > 0, `the ${device} run shows no device`, WAIT);
  const shown = await attr(page, 'tl-device', 'data-device');
  await until(
    async () => {
      const status = await attr(page, 'train-live', 'data-status');
      if (status === 'paused' || status === 'diverged')
        throw fail(`the ${device} run stopped: ${await page.getByTestId('tl-message').textContent()}`);
      return Number(await attr(page, 'tl-progress', 'data-step')) >= 1;
    },
    `the ${device} run never finished step 1`,
    WAIT,
  );
  const loss = Number(await attr(page, 'tl-last-row', 'data-loss'));
  const seconds = (Date.now() - t0) / 1000;
  await page.getByTestId('tl-cancel').click();
  await until(async () => (await attr(page, 'backend-badge', 'data-activity')) === 'idle', `the ${device} run did not end`, WAIT);
  return { loss, shown, seconds };
}

async function runParity(ctx) {
  const { context, baseUrl, step } = ctx;
  const page = await context.newPage();
  const errors = collectErrors(page);
  await step('train parity: step 1 loss with jax-js on WebGPU equals jax-js on WASM to 1e-4 (ORT on WebGPU for both)', async () => {
    await page.goto(`${baseUrl}${LINK}`);
    await waitLoaded(page, undefined, WAIT);
    assert.equal(await attr(page, 'backend-badge', 'data-backend'), 'webgpu', 'the engine is not on WebGPU');
    const wasm = await firstStep(page, 'wasm');
    const gpu = await firstStep(page, 'webgpu');
    console.log(`      step 1 loss: jax-js WASM ${wasm.loss} (${wasm.seconds.toFixed(1)} s to step 1)`);
    console.log(`      step 1 loss: jax-js WebGPU ${gpu.loss} (${gpu.seconds.toFixed(1)} s to step 1)`);
    assert.equal(wasm.shown, 'wasm');
    assert.equal(gpu.shown, 'webgpu', 'jax-js could not open its WebGPU device');
    assert.ok(Number.isFinite(wasm.loss) && Number.isFinite(gpu.loss), 'a loss is not finite');
    const diff = Math.abs(gpu.loss - wasm.loss);
    console.log(`      |difference| ${diff.toExponential(2)} (tolerance ${TOLERANCE})`);
    assert.ok(diff <= TOLERANCE, `WebGPU ${gpu.loss} vs WASM ${wasm.loss}`);
    assert.deepEqual(errors, []);
  });
  await page.close();
}

export const spec = { name: 'train-webgpu-parity', modes: ['webgpu'], run: runParity };

if (isMain(import.meta.url)) runMain('train-webgpu-parity', [spec]);
