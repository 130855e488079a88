/**
 * Time to the first result in the app itself (issue 21): the built app in Chromium on WASM, its bundle already in
 * the Cache API (a first visit stores it), then `repeats` fresh visits of a link with one round trip of K flow steps:
 * from the navigation (performance.timeOrigin) to the bundle loaded (the header's badge), and to that round trip
 * finished after Run is pressed the moment it is enabled. The round trip's own time is the last minus the press.
 */
import type { Browser, Page } from 'playwright-core';
import type { FirstTripSection, FirstTripVisit } from '../src/bench/first-trip.ts';

const WAIT = 300_000;
const now = (page: Page): Promise<number> => page.evaluate(() => performance.now());

/** One visit of `url` in `page` -> its times (the page's own clock). */
async function visit(page: Page, url: string): Promise<FirstTripVisit> {
  await page.goto(url);
  await page.locator('[data-testid="bundle-badge"]:not([data-bundle-id=""])[data-loading="false"]').waitFor({ timeout: WAIT });
  const loadedMs = await now(page);
  await page.locator('[data-testid="rt-start"]:not([disabled])').waitFor({ timeout: WAIT });
  // a reload may show the last stored run: wait for a new one
  const before = (await page.getByTestId('rt-run').count()) > 0 ? await page.getByTestId('rt-run').getAttribute('data-run-id') : null;
  await page.getByTestId('rt-start').click();
  const pressedMs = await now(page);
  const fresh = before === null ? '' : `:not([data-run-id="${before}"])`;
  await page.locator(`[data-testid="rt-run"][data-status="finished"]${fresh}`).waitFor({ timeout: WAIT });
  return { loadedMs, pressedMs, finishedMs: await now(page) };
}

/** Visits the app at `baseUrl` once to cache the bundle, then `repeats` times timed, in one browser context. */
export async function appFirstTrip(
  browser: Browser,
  baseUrl: string,
  opts: { flowSteps: number; repeats: number; say(line: string): void },
): Promise<FirstTripSection> {
  const link = `?rt-loops=1&rt-steps=${opts.flowSteps}`;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await visit(page, `${baseUrl}${link}`); // stores the bundle in the Cache API
    const visits: FirstTripVisit[] = [];
    for (let i = 0; i < opts.repeats; i++) {
      const v = await visit(page, `${baseUrl}${link}`);
      opts.say(`app-first-trip: visit ${i + 1}: bundle loaded ${v.loadedMs.toFixed(0)} ms, round trip done ${v.finishedMs.toFixed(0)} ms`);
      visits.push(v);
    }
    const m = [...visits].sort((a, b) => a.finishedMs - b.finishedMs)[Math.floor(visits.length / 2)];
    return { link, visits, median: { ...m, tripMs: m.finishedMs - m.pressedMs } };
  } finally {
    await context.close();
  }
}
