// Assertions on what a person sees, shared by the specs. Each throws with a message saying what was wrong.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const T = 60_000;

/** Returns an error that makes `until` stop polling at once (a run that failed will not recover). */
export function fail(message) {
  return Object.assign(new Error(message), { fatal: true });
}

/**
 * Polls `fn` until it returns a truthy value; returns it, or throws `message` after `timeout` ms.
 * A throw from `fn` counts as "not yet", except an error made by `fail`, which is rethrown.
 */
export async function until(fn, message, timeout = T) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      if (e?.fatal) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** Returns the badge text once the engine reports a backend. */
export async function badgeText(page) {
  const badge = page.getByTestId('backend-badge');
  await until(async () => (await badge.getAttribute('data-backend')) !== 'none', 'backend badge never left "starting"');
  return (await badge.textContent()).trim();
}

/** Asserts the header shows exactly `backend`: "WebGPU · <adapter>" or "WASM · <n> thread(s)". */
/** Returns the backend Auto should pick in this page: WASM unless WebGPU has an adapter that is not a software fallback. */
export async function autoBackend(page) {
  return page.evaluate(async () => {
    const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
    if (!adapter) return 'wasm';
    return adapter.isFallbackAdapter || adapter.info?.isFallbackAdapter ? 'wasm' : 'webgpu';
  });
}

export async function assertBackend(page, backend) {
  const text = await badgeText(page);
  const attr = await page.getByTestId('backend-badge').getAttribute('data-backend');
  if (backend === 'webgpu') {
    assert.match(text, /^WebGPU · \S.*$/, `header should say WebGPU with an adapter, says "${text}"`);
    assert.equal(attr, 'webgpu');
  } else {
    assert.match(text, /^WASM · \d+ threads?$/, `header should say "WASM · <n> threads", says "${text}"`);
    assert.equal(attr, 'wasm');
  }
  return text;
}

/**
 * Waits until bundle `id` (any bundle when omitted) is loaded and no load is going: read from the header's
 * bundle badge, so it holds on whichever tab is open.
 */
export async function waitLoaded(page, id, timeout = T) {
  const badge = id ? `[data-testid="bundle-badge"][data-bundle-id="${id}"]` : '[data-testid="bundle-badge"]:not([data-bundle-id=""])';
  await page.locator(`${badge}[data-loading="false"]`).waitFor({ timeout });
}

/**
 * Returns what the error banner says once it is visible: { code (its data-code), message (the sentence, as
 * shown), text (the banner's visible text: the sentence, then "(code)") }.
 */
export async function bannerParts(page) {
  const banner = page.getByTestId('error-banner');
  await banner.waitFor({ timeout: T });
  return banner.evaluate((b) => ({
    code: b.getAttribute('data-code'),
    message: (b.querySelector('[data-testid="error-message"]')?.textContent ?? '').trim(),
    text: (b.querySelector('p')?.innerText ?? '').trim(),
  }));
}

/**
 * Returns the error banner's facts as one string, "code: message" (code from data-code, message as shown),
 * once it is visible. The banner itself shows the sentence first and the code after it (bannerParts).
 */
export async function bannerText(page) {
  const { code, message } = await bannerParts(page);
  return `${code}: ${message}`;
}

/** ORT's own warnings (shape ops assigned to the CPU) arrive as console errors; they are not app errors. */
const ORT_WARNING = /\[W:onnxruntime:/;

/** Collects the page's uncaught errors and console errors (ORT's warnings left out) into the returned array. */
export function collectErrors(page, ignore = () => false) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && !ORT_WARNING.test(m.text()) && !ignore(m) && errors.push(`console: ${m.text()}`));
  return errors;
}

const manifestOf = (dir) => (existsSync(join(dir, 'manifest.json')) ? JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) : null);
const canRoundTrip = (m) => Boolean(m) && ['encoder', 'decoder', 'scorer'].every((r) => m.roles?.[r]);
const TINY_DIR = '__e2e-uae-tiny';

/**
 * The bundle a round-trip or rollouts spec runs on: the catalog default when it can round-trip (encoder,
 * decoder, scorer), else public/models/uae-tiny/ (a local build, not in git), else the tiny test bundle
 * mounted into the served site for the run. Returns { id, name, dir, param, tiny } — param is the URL's
 * `bundle=…` ('' for the default); tiny: random weights (captions are garbage, rewards nearly flat).
 */
export function panelBundle({ root, mount }) {
  const models = join(root, 'public', 'models');
  const index = JSON.parse(readFileSync(join(models, 'index.json'), 'utf8'));
  const options = [
    { dir: join(models, index.default), param: '' },
    { dir: join(models, 'uae-tiny'), param: 'bundle=models/uae-tiny/' },
  ];
  for (const o of options) {
    const m = manifestOf(o.dir);
    if (canRoundTrip(m)) return { id: m.id, name: m.name, dir: o.dir, param: o.param, tiny: m.id === 'uae-tiny' };
  }
  const dir = join(root, 'tests', 'fixtures', 'parity', 'uae-tiny');
  mount(dir, TINY_DIR);
  const m = manifestOf(dir);
  console.log(`default bundle "${index.default}" cannot round-trip: using the tiny test bundle (random weights)`);
  return { id: m.id, name: m.name, dir, param: `bundle=${TINY_DIR}/`, tiny: true };
}

/**
 * Returns a run's error (test id `testId`, e.g. rt-run-error) as `code: message` from its data-code and
 * data-message (the page shows the sentence first and the code after it), or null when there is none.
 */
export async function runError(page, testId = 'rt-run-error') {
  const el = page.getByTestId(testId);
  if ((await el.count()) === 0) return null;
  return `${await el.getAttribute('data-code')}: ${await el.getAttribute('data-message')}`;
}

/** Returns a tick label's value ("−0.25" → -0.25, "10k" → 10000, "2e−6" → 2e-6, "14 dB" → 14) and its written decimals. */
function tickValue(label) {
  const m = /^(-?\d+(?:\.(\d+))?)(?:e(-?\d+))?([kM]?)(?: dB)?$/.exec(label.replaceAll('\u2212', '-'));
  if (!m) return null;
  const unit = m[4] === 'k' ? 1e3 : m[4] === 'M' ? 1e6 : 1;
  return { value: Number(m[1]) * 10 ** Number(m[3] ?? 0) * unit, decimals: m[3] ? null : (m[2]?.length ?? 0), unit };
}

/** Returns the decimals `step` needs (0.25 → 2). */
function decimalsOf(step) {
  for (let d = 0; d <= 12; d++) if (Math.abs(step * 10 ** d - Math.round(step * 10 ** d)) < 1e-6) return d;
  return 12;
}

/**
 * Returns what is wrong with the tick labels of every axis of chart `testId` (empty when nothing): each
 * axis ticks at one step of 1, 2, 2.5 or 5 × 10^k, every label a multiple of it, written with no more
 * decimals than the step needs (0 / 0.25 / 0.5, never 0.3 / 0.8 for quarters).
 */
export async function tickProblems(page, testId) {
  // recharts 3 draws each axis's labels in their own group (in a z-index layer, apart from the axis line).
  const axes = await page.locator(`[data-testid="${testId}"] g.recharts-cartesian-axis-tick-labels`).evaluateAll((els) =>
    els.map((el) => ({
      axis: el.getAttribute('class'),
      labels: [...el.querySelectorAll('.recharts-cartesian-axis-tick-value')].map((t) => t.textContent.trim()),
    })),
  );
  const problems = [];
  if (axes.length < 2) problems.push(`${testId}: ${axes.length} axes drawn`);
  for (const { axis, labels } of axes) {
    const ticks = labels.map(tickValue);
    const where = `${testId} ${axis.match(/[xy]Axis/)?.[0] ?? axis}: ${labels.join(' / ')}`;
    if (labels.length < 2 || ticks.includes(null)) {
      problems.push(`${where}: not at least two numeric labels`);
      continue;
    }
    const step = ticks[1].value - ticks[0].value;
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    if (![1, 2, 2.5, 5].some((m) => Math.abs(mantissa - m) < 1e-6)) problems.push(`${where}: step ${step} is not 1, 2, 2.5 or 5 × 10^k`);
    for (const [i, t] of ticks.entries()) {
      if (Math.abs(t.value / step - Math.round(t.value / step)) > 1e-6)
        problems.push(`${where}: ${labels[i]} is not a multiple of ${step}`);
      if (i > 0 && Math.abs(t.value - ticks[i - 1].value - step) > 1e-6 * Math.abs(step)) problems.push(`${where}: uneven steps`);
      if (t.decimals !== null && t.decimals > decimalsOf(step / t.unit)) {
        problems.push(`${where}: ${labels[i]} has more decimals than step ${step} needs`);
      }
    }
  }
  return problems;
}

/**
 * The page a spec runs on. Alone, a spec opens a fresh page (`shared` false) and goes to its own URL. In the WebGPU
 * pass (webgpu.spec.mjs) every suite's checks share one page that has already loaded the default bundle (`shared`
 * true): SwiftShader compiles a graph's shaders once per page, so the spec must not navigate — it opens its tab and
 * sets its fields in the page instead — and must leave the page open for the next suite.
 */
export async function specPage(ctx) {
  if (ctx.page) return { page: ctx.page, shared: true, close: async () => {} };
  const page = await ctx.context.newPage();
  return { page, shared: false, close: () => page.close() };
}

/** Clicks the tab with test id `tab-<name>` and waits for its panel (`panelId`). */
export async function openTab(page, name, panelId) {
  await page.getByTestId(`tab-${name}`).click();
  await page.getByTestId(panelId).waitFor();
}

/**
 * Returns what makes the page wider than its viewport (the last few such elements, described), [] when nothing does.
 * Elements inside a container that scrolls sideways itself (the tab row, wide tables) and SVG shapes (clipped by
 * their chart) do not count.
 */
export async function widerThanScreen(page) {
  return page.evaluate(() => {
    const W = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= W) return [];
    const scrolls = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement)
        if (/(auto|scroll)/.test(getComputedStyle(p).overflowX) && p.scrollWidth > p.clientWidth) return true;
      return false;
    };
    return [...document.querySelectorAll('body *')]
      .filter((el) => !el.closest('svg') && el.getBoundingClientRect().right > W + 1 && !scrolls(el))
      .slice(0, 3)
      .map(
        (el) =>
          `${el.tagName.toLowerCase()}.${el.getAttribute('class') ?? ''} (right edge ${Math.round(el.getBoundingClientRect().right)} px)`,
      );
  });
}
