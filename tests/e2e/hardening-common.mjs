// Helpers shared by the hardening specs (issue 9): open the app on a round-trip-capable bundle, hand the
// file input an in-memory file, run a short round trip, read what the panel shows.
import assert from 'node:assert/strict';
import { assertBackend, fail, panelBundle, until } from './checks.mjs';

/** Generous waits: SwiftShader WebGPU is ~30x slower than WASM and the machine is shared. */
export const T = 600_000;

/** Opens the app (with `query` settings) on the round-trip tab once the bundle is loaded on the mode's backend; returns the bundle. */
export async function openRoundTrip(page, ctx, query = []) {
  const bundle = panelBundle(ctx);
  await page.goto(`${ctx.baseUrl}?${[bundle.param, 'rt-loops=1', 'rt-steps=1', ...query].filter(Boolean).join('&')}`, { timeout: T });
  await page.getByRole('tab', { name: 'Round trip' }).click();
  await page.getByTestId('roundtrip-panel').waitFor();
  await until(
    async () => (await page.getByTestId('bundle-badge').textContent()).includes(bundle.name),
    `bundle ${bundle.name} not loaded`,
    T,
  );
  await assertBackend(page, ctx.mode.expect);
  return bundle;
}

/** Gives the round-trip file input one file { name, bytes } (as a person picking it would). */
export function pick(page, file, testId = 'rt-file-input') {
  return page.getByTestId(testId).setInputFiles({ name: file.name, mimeType: mimeOf(file.name), buffer: Buffer.from(file.bytes) });
}

/** The type a browser would give a file of this name (the app must not trust it). */
function mimeOf(name) {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return (
    {
      png: 'image/png',
      jpg: 'image/jpeg',
      webp: 'image/webp',
      gif: 'image/gif',
      bmp: 'image/bmp',
      svg: 'image/svg+xml',
      json: 'application/json',
    }[ext] ?? 'application/octet-stream'
  );
}

/**
 * Waits until the panel answered about `name`: the input shows it (accepted) or the banner names it (refused:
 * its code, its sentence, its visible text, and the fonts and sizes of the sentence and the code).
 */
export async function answerFor(page, name, timeout = 60_000) {
  return until(
    () =>
      page.evaluate((n) => {
        const label = document.querySelector('[data-testid="rt-input-label"]')?.textContent ?? '';
        const banner = document.querySelector('[data-testid="error-banner"]');
        if (banner?.textContent?.includes(n)) {
          const message = banner.querySelector('[data-testid="error-message"]');
          const code = banner.querySelector('[data-testid="error-code"]');
          const font = (el) => (el ? getComputedStyle(el) : null);
          return {
            refused: true,
            code: banner.getAttribute('data-code'),
            message: message?.textContent?.trim(),
            text: banner.querySelector('p')?.innerText?.trim(),
            codeText: code?.textContent?.trim(),
            fonts: { message: font(message)?.fontFamily, code: font(code)?.fontFamily },
            sizes: { message: parseFloat(font(message)?.fontSize), code: parseFloat(font(code)?.fontSize) },
          };
        }
        if (label.includes(n) && !document.querySelector('.rt-input')?.textContent?.includes('decoding…')) return { refused: false, label };
        return null;
      }, name),
    `no answer for ${name}`,
    timeout,
  );
}

/** Starts a round trip of the current input and waits until it is finished (stored). Returns the run id. */
export async function runRoundTrip(page) {
  await page.locator('[data-testid="rt-start"]:not([disabled])').waitFor({ timeout: T });
  await page.getByTestId('rt-start').click();
  await until(
    async () => {
      const status = await page.getByTestId('rt-run').getAttribute('data-status');
      if (status === 'failed') throw fail(`run failed: ${await page.getByTestId('rt-run-error').textContent()}`);
      return status === 'finished';
    },
    'the round trip did not finish',
    T,
  );
  return page.getByTestId('rt-run').getAttribute('data-run-id');
}

/** Returns the ids of the stored runs the history lists. */
export function historyIds(page) {
  return page.locator('[data-testid="rt-history-item"]').evaluateAll((li) => li.map((x) => x.getAttribute('data-run-id')));
}

/** Returns the model-view canvas as { w, h, rgb } (RGB bytes). */
export function modelView(page) {
  return page.getByTestId('rt-model-view').evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return { w: c.width, h: c.height, rgb: Array.from({ length: c.width * c.height * 3 }, (_, i) => d[Math.floor(i / 3) * 4 + (i % 3)]) };
  });
}

/** Asserts model-view pixel (x, y) is within `tol` of `rgb`. */
export function near(view, x, y, rgb, tol, what) {
  const o = (y * view.w + x) * 3;
  const got = view.rgb.slice(o, o + 3);
  assert.ok(
    rgb.every((v, c) => Math.abs(got[c] - v) <= tol),
    `${what}: pixel (${x},${y}) is ${got}, expected ${rgb}`,
  );
}
