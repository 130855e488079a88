// Faults (issue 9 point 3), on WASM here and last in the shared WebGPU pass (webgpu.spec.mjs):
// cancel mid-run returns the worker to idle within a second
// (measured in the page from the click to the badge's data-activity going idle); the WebGPU device destroyed
// mid-run (WebGPU mode) fails that run with device-lost, the engine recreates its sessions and the retried
// run finishes; the engine worker crashing mid-run (uncaught error) or falling silent (it closes itself:
// caught by the heartbeat) is restarted, the UI says so, the bundle is back and a run finishes (WASM mode).
// Run alone: node tests/e2e/resilience-faults.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm]
import assert from 'node:assert/strict';
import { collectErrors, openTab, panelBundle, specPage, until } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';
import { activity, engineWorker, openRoundTrip, runStatus, startRun, T } from './resilience-checks.mjs';

const SILENT_WORKER_MS = 15_000;

/** The bound the spec sets on cancel → idle, in ms of page time. */
export const CANCEL_IDLE_MS = 1000;

/** In the page: clicks Cancel and resolves with the ms until the badge says the worker is idle (cap: 60 s). */
function cancelToIdle(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const badge = document.querySelector('[data-testid="backend-badge"]');
        const t0 = performance.now();
        const done = () => {
          if (badge.getAttribute('data-activity') !== 'idle') return false;
          observer.disconnect();
          resolve(performance.now() - t0);
          return true;
        };
        const observer = new MutationObserver(done);
        observer.observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-activity'], childList: true });
        document.querySelector('[data-testid="rt-cancel"]').click();
        done();
        setTimeout(() => reject(new Error(`still "${badge.getAttribute('data-activity')}" 60 s after cancel`)), 60_000);
      }),
  );
}

async function runFaultSpecs(ctx) {
  const { mode, step, shot } = ctx;
  // Alone: a fresh page from a link. In the shared WebGPU pass (last there: the device loss recreates every session):
  // the loaded page, its round trip set up in the panel (checks.mjs specPage).
  const { page, shared, close } = await specPage(ctx);
  // A silent worker gets 15 s here, not the app's 60 s (app/engine.ts): the silent-worker step waits for it (WASM only).
  if (!shared)
    await page.addInitScript((ms) => {
      globalThis.__uaeSilentWorkerMs = ms;
    }, SILENT_WORKER_MS);
  // The crash this spec causes reaches the console as an uncaught error in the worker; nothing else may.
  const errors = collectErrors(page, (m) => /E2E: engine worker crash/.test(m.text()));
  // Few flow steps on SwiftShader (30× slower than WASM), where a loop of 8 takes seconds: the run is still mid-way.
  const flowSteps = mode.name === 'webgpu' ? 2 : 8;
  const query = { 'rt-loops': 20, 'rt-steps': flowSteps, 'rt-scene': 5 };
  let bundle;
  if (shared) {
    // The scene stays the one on screen (any scene does: the steps cancel or break a run mid-way).
    bundle = panelBundle(ctx);
    await openTab(page, 'roundtrip', 'roundtrip-panel');
    await page.getByTestId('rt-loops').fill(String(query['rt-loops']));
    await page.getByTestId('rt-steps').fill(String(query['rt-steps']));
  } else
    bundle = await openRoundTrip(
      page,
      ctx,
      Object.entries(query).map(([k, v]) => `${k}=${v}`),
    );
  console.log(`      bundle ${bundle.id} on ${mode.name}`);

  await step(`cancel mid-run: the worker is idle within ${CANCEL_IDLE_MS} ms`, async () => {
    const measured = [];
    // Three cancels on WASM; on SwiftShader (30× slower) one shows the GPU path cancels as fast.
    for (let i = 0; i < (mode.name === 'webgpu' ? 1 : 3); i++) {
      await startRun(page);
      // Let the run get into its steps (first loop streamed), then cancel.
      await until(async () => (await page.getByTestId('rt-frame-1').count()) > 0, 'no loop finished', T);
      measured.push(await cancelToIdle(page));
      await runStatus(page, 'cancelled');
    }
    console.log(`      cancel → idle: ${measured.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`);
    for (const ms of measured)
      assert.ok(ms <= CANCEL_IDLE_MS, `the worker took ${ms.toFixed(0)} ms to become idle after cancel (bound ${CANCEL_IDLE_MS} ms)`);
    assert.equal(await activity(page), 'idle');
  });

  if (mode.name === 'webgpu') {
    await step('the WebGPU device destroyed mid-run: device-lost, sessions recreated, the retried run finishes', async () => {
      await startRun(page);
      // Mid-run for real: a loop has streamed, so the handler is between session runs on the GPU (a request
      // still waiting behind a cancelled one's last step would, rightly, start on the recreated sessions).
      await until(async () => (await page.getByTestId('rt-frame-1').count()) > 0, 'no loop finished', T);
      const worker = await engineWorker(page);
      assert.equal(await worker.evaluate(() => self.__uaeLoseGpuDevice()), true, 'the worker had no WebGPU device to lose');
      const error = await runStatus(page, 'failed');
      assert.match(error, /^device-lost: the WebGPU device was lost \(destroyed/, `run error: ${error}`);
      const notice = page.getByTestId('engine-recovered');
      await notice.waitFor({ timeout: T });
      const text = (await notice.textContent()).trim();
      assert.match(
        text,
        /the WebGPU device was lost \(destroyed.*\); sessions were recreated on (a new WebGPU device|WASM)/,
        `notice: ${text}`,
      );
      console.log(`      ${text}`);
      await shot(page, 'device-lost');
      // Retried in the same page and engine: only the loop count changes (one loop is enough to finish).
      await page.getByTestId('rt-loops').fill('1');
      await startRun(page);
      await runStatus(page, 'finished');
    });
  }

  // A crashed or silent worker is restarted the same way on either backend: WASM mode checks both (the
  // WebGPU run proves what only it can show: sessions recreated on a new device after a device loss).
  if (mode.name === 'wasm') {
    await step('the engine worker crashes mid-run: it is restarted, the UI says so, the bundle is back, a run finishes', async () => {
      await page.getByTestId('rt-loops').fill('20');
      await startRun(page);
      const worker = await engineWorker(page);
      await worker.evaluate(() =>
        setTimeout(() => {
          throw new Error('E2E: engine worker crash');
        }, 0),
      );
      const error = await runStatus(page, 'failed');
      assert.match(
        error,
        /^worker-crashed: uncaught error in the engine worker: .*E2E: engine worker crash; the engine worker was restarted$/,
        `run error: ${error}`,
      );
      const notice = page.getByTestId('engine-restarted');
      await notice.waitFor({ timeout: T });
      assert.equal(await notice.getAttribute('data-restarts'), '1');
      assert.match(
        (await notice.textContent()).trim(),
        /^The engine worker stopped \(uncaught error in the engine worker: .*E2E: engine worker crash\) and was restarted at /,
      );
      await shot(page, 'worker-restarted');
      await until(
        async () => (await page.getByTestId('bundle-badge').textContent()).includes(bundle.name),
        'bundle not reloaded after the restart',
        T,
      );
      const fresh = await engineWorker(page, worker);
      assert.notEqual(fresh, worker);
      await page.getByTestId('rt-loops').fill('1');
      await startRun(page);
      await runStatus(page, 'finished');
    });

    await step('the engine worker falls silent (closes itself): the heartbeat restarts it, a run finishes', async () => {
      const worker = await engineWorker(page);
      // The evaluation may not come back from a worker that closed itself.
      await Promise.race([worker.evaluate(() => self.close()).catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      // The supervisor gives a silent worker SILENT_WORKER_MS here (60 s in the app: long synchronous WASM work must
      // not count as death).
      await until(
        async () => (await page.getByTestId('engine-restarted').getAttribute('data-restarts')) === '2',
        'silent worker not restarted',
        T,
      );
      const text = (await page.getByTestId('engine-restarted').textContent()).trim();
      assert.match(
        text,
        /^The engine worker stopped \(the engine worker stopped answering \(no reply for \d+ s\)\) and was restarted/,
        text,
      );
      await until(
        async () => (await page.getByTestId('bundle-badge').textContent()).includes(bundle.name),
        'bundle not reloaded after the restart',
        T,
      );
      await page.locator('[data-testid="rt-start"]:not([disabled])').waitFor({ timeout: T });
      await startRun(page);
      await runStatus(page, 'finished');
    });
  }

  await step('no uncaught errors or console errors besides the injected crash', async () => {
    assert.deepEqual(errors, []);
  });
  await close();
}

/** WASM alone in its runner; its WebGPU checks run last in the shared WebGPU pass (webgpu.spec.mjs). */
export const spec = { name: 'faults', modes: ['wasm'], run: runFaultSpecs };

if (isMain(import.meta.url)) runMain('resilience-faults', [spec]);
