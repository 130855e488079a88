// Helpers of the resilience specs (issue 9 points 2, 3, 6): open the round-trip tab on a bundle that can
// round-trip, start and watch a run, find the engine worker, read the worker's activity from the header.
import { panelBundle, runError, until } from './checks.mjs';

/** Generous waits: SwiftShader WebGPU is ~30x slower than WASM and the machine is shared. */
export const T = 600_000;

/** Opens the round-trip tab with `query` (rt-* settings) once the bundle is loaded; returns the bundle. */
export async function openRoundTrip(page, ctx, query) {
  const bundle = panelBundle(ctx);
  await page.goto(`${ctx.baseUrl}?${[bundle.param, ...query].filter(Boolean).join('&')}`, { timeout: T });
  await page.getByTestId('roundtrip-panel').waitFor({ timeout: T });
  await until(
    async () => (await page.getByTestId('bundle-badge').textContent()).includes(bundle.name),
    `bundle ${bundle.name} not loaded`,
    T,
  );
  await page.locator('[data-testid="rt-start"]:not([disabled])').waitFor({ timeout: T });
  return bundle;
}

/** Returns the worker's activity as the header badge shows it ('idle' or the request kind running). */
export function activity(page) {
  return page.getByTestId('backend-badge').getAttribute('data-activity');
}

/** Clicks Run and waits until the worker runs the round trip and the run is on screen as running. */
export async function startRun(page) {
  await page.locator('[data-testid="rt-start"]:not([disabled])').waitFor({ timeout: T });
  await page.getByTestId('rt-start').click();
  await until(async () => (await activity(page)) === 'roundtrip', 'the worker never reported the round trip running', T);
  await page.locator('[data-testid="rt-run"][data-status="running"]').waitFor({ timeout: T });
}

/** Waits until the run on screen has `status` ('finished', 'failed', 'cancelled'); returns its error line, if any. */
export async function runStatus(page, status, timeout = T) {
  await until(
    async () => {
      const s = await page.getByTestId('rt-run').getAttribute('data-status');
      if (s !== status && ['finished', 'failed', 'cancelled'].includes(s)) {
        const why = (await runError(page).catch(() => '')) ?? '';
        throw Object.assign(new Error(`run ended "${s}", expected "${status}" ${why}`), { fatal: true });
      }
      return s === status;
    },
    `run never reached "${status}"`,
    timeout,
  );
  return runError(page);
}

/**
 * Returns the page's engine worker (its script is the bundled engine.worker): the newest one, as a worker restarted
 * after a crash may still be listed beside its dead predecessor for a moment (a fast machine looks within it).
 */
export async function engineWorker(page, previous = null) {
  return until(() => page.workers().findLast((w) => /engine\.worker/.test(w.url()) && w !== previous), 'no engine worker found', T);
}
