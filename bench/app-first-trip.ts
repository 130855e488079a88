/**
 * Time to the first result in the app itself (issue 21): the built app in Chromium (WASM, or WebGPU), a fresh
 * profile's first visit (the bundle downloaded, nothing compiled yet) and later visits with the bundle in the Cache
 * API, of a link with one round trip of K flow steps: from the navigation (performance.timeOrigin) to the bundle
 * loaded (the header's badge), and to that round trip finished. Run is pressed the moment it is enabled (the warm-up
 * after the load gives way to it), or once the badge says the warm-up is over. Every visit then runs two more round
 * trips: the last is the app's own steady round trip. A round trip's own time is its finish minus its press.
 */
import type { Browser, Page } from 'playwright-core';
import { medianVisit, visitsOf, type FirstTripMode, type FirstTripSection, type FirstTripVisit } from '../src/bench/first-trip.ts';

const WAIT = 300_000;
const now = (page: Page): Promise<number> => page.evaluate(() => performance.now());

/**
 * Presses Run and waits for a new finished run -> [pressed, finished] (page clock, both read in the page: a reading
 * from here would wait for a main thread busy drawing the run, and start the clock late).
 */
async function trip(page: Page): Promise<[number, number]> {
  await page.locator('[data-testid="rt-start"]:not([disabled])').waitFor({ timeout: WAIT });
  // a reload may show the last stored run: wait for a new one
  const before = (await page.getByTestId('rt-run').count()) > 0 ? await page.getByTestId('rt-run').getAttribute('data-run-id') : null;
  // a string, not a function: tsx would wrap a function's inner arrows in its __name helper, unknown in the page
  return page.evaluate(`new Promise((resolve) => {
    const t0 = performance.now();
    const observer = new MutationObserver(() => {
      const run = document.querySelector('[data-testid="rt-run"]');
      if (!run || run.dataset.status !== 'finished' || run.dataset.runId === ${JSON.stringify(before)}) return;
      observer.disconnect();
      resolve([t0, performance.now()]);
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true });
    document.querySelector('[data-testid="rt-start"]').click();
  })`);
}

/** One visit of `url` in `page` -> its times (the page's own clock). */
async function visit(page: Page, url: string, mode: FirstTripMode): Promise<FirstTripVisit> {
  await page.goto(url);
  const badge = page.getByTestId('backend-badge');
  await page.locator('[data-testid="bundle-badge"]:not([data-bundle-id=""])[data-loading="false"]').waitFor({ timeout: WAIT });
  const loadedMs = await now(page);
  let warm: Pick<FirstTripVisit, 'warmedMs' | 'warmUp' | 'warmUpMs'> = {};
  if (mode === 'after-warm-up') {
    await page.locator('[data-testid="backend-badge"]:not([data-warmup="running"]):not([data-warmup="none"])').waitFor({ timeout: WAIT });
    const warmUpMs = await badge.getAttribute('data-warmup-ms');
    warm = {
      warmedMs: await now(page),
      warmUp: (await badge.getAttribute('data-warmup')) ?? '',
      ...(warmUpMs ? { warmUpMs: Number(warmUpMs) } : {}),
    };
  }
  const [pressedMs, finishedMs] = await trip(page);
  await trip(page);
  const [p3, f3] = await trip(page);
  return { mode, loadedMs, ...warm, pressedMs, finishedMs, steadyTripMs: f3 - p3 };
}

/**
 * `2 × repeats` fresh browser profiles (contexts) visit the app at `baseUrl`: each first visit (bundle downloaded,
 * nothing compiled) alternately presses Run at once and after the warm-up, then two visits with the bundle cached
 * press at once and after the warm-up.
 */
export async function appFirstTrip(
  browser: Browser,
  baseUrl: string,
  opts: { flowSteps: number; repeats: number; backend?: 'webgpu'; say(line: string): void },
): Promise<FirstTripSection> {
  const link = `?rt-loops=1&rt-steps=${opts.flowSteps}${opts.backend === 'webgpu' ? '&backend=webgpu' : ''}`;
  const visits: FirstTripVisit[] = [];
  const modes = ['at-once', 'after-warm-up'] as const;
  for (let i = 0; i < 2 * opts.repeats; i++) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      for (const [cached, mode] of [
        [false, modes[i % 2]],
        [true, 'at-once'],
        [true, 'after-warm-up'],
      ] as const) {
        const v = { ...(await visit(page, `${baseUrl}${link}`, mode)), cached };
        const warm =
          v.warmedMs === undefined ? '' : `, warm-up ${v.warmUp} at ${v.warmedMs.toFixed(0)} ms (${v.warmUpMs ?? '–'} ms of rounds)`;
        opts.say(
          `app-first-trip${opts.backend === 'webgpu' ? ' (webgpu)' : ''}: profile ${i + 1}, ${cached ? 'bundle cached' : 'first visit'} (${mode}): bundle loaded ${v.loadedMs.toFixed(0)} ms${warm}, ` +
            `round trip ${(v.finishedMs - v.pressedMs).toFixed(0)} ms done at ${v.finishedMs.toFixed(0)} ms, steady ${v.steadyTripMs?.toFixed(0)} ms`,
        );
        visits.push(v);
      }
    } finally {
      await context.close();
    }
  }
  const median = medianVisit(visitsOf(visits, true, 'at-once'));
  const kinds = {
    warmMedian: medianVisit(visitsOf(visits, true, 'after-warm-up')),
    coldMedian: medianVisit(visitsOf(visits, false, 'at-once')),
    coldWarmMedian: medianVisit(visitsOf(visits, false, 'after-warm-up')),
  };
  return {
    link,
    visits,
    ...(median ? { median } : {}),
    ...Object.fromEntries(Object.entries(kinds).filter(([, m]) => m !== undefined)),
  };
}
