// Bad models (issue 9 point 2), once per browser mode: every broken bundle made in code from the fixture
// (tests/fixtures/bad-models.mjs: truncated/empty ONNX, renamed/retyped/reshaped tensors, manifests lying
// about roles, io or sizes) is served with the build and loaded by URL; each shows its error code and a
// message naming file, role and tensor, and the default bundle stays loaded. A bundle on another origin
// (an https host the browser context serves from the fixture) asks first: "Don't load" requests nothing
// from there, "Load" loads it; a shared link naming such a bundle asks too.
// Run alone: node tests/e2e/resilience-models.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm]
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BAD_MODEL_VARIANTS, writeBadModelBundles } from '../fixtures/bad-models.mjs';
import { bannerText, collectErrors, until, waitLoaded } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';

const T = 600_000;
const MOUNT = '__e2e-bad-models';
/** A host on another origin; the browser context answers its requests from public/models/fixture-tiny. */
const FOREIGN = 'https://bundles.uae-e2e.test';

/** Serves FOREIGN/fixture-tiny/* from the fixture with CORS headers; returns the list of requested URLs. */
async function serveForeign(context, root) {
  const requested = [];
  await context.route(`${FOREIGN}/**`, async (route) => {
    const url = new URL(route.request().url());
    requested.push(url.href);
    const file = join(root, 'public', 'models', decodeURIComponent(url.pathname));
    if (!url.pathname.startsWith('/fixture-tiny/') || !existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
    await route.fulfill({
      status: 200,
      body: readFileSync(file),
      headers: {
        'access-control-allow-origin': '*',
        'cross-origin-resource-policy': 'cross-origin',
        'content-type': 'application/octet-stream',
      },
    });
  });
  return requested;
}

async function runModelSpecs({ context, baseUrl, step, shot, root, mount }) {
  const dir = mkdtempSync(join(tmpdir(), 'uae-bad-models-'));
  const names = writeBadModelBundles(dir);
  const prefix = mount(dir, MOUNT);
  rmSync(dir, { recursive: true, force: true });
  const defaultId = JSON.parse(readFileSync(join(root, 'public', 'models', 'index.json'), 'utf8')).default;
  const defaultName = JSON.parse(readFileSync(join(root, 'public', 'models', defaultId, 'manifest.json'), 'utf8')).name;
  const requested = await serveForeign(context, root);
  const page = await context.newPage();
  // Console errors count, except the failed requests and loads the broken bundles are made to cause.
  const errors = collectErrors(page, (m) => m.location().url.includes(MOUNT) || /Failed to load resource/.test(m.text()));
  await page.goto(baseUrl, { timeout: T });
  await waitLoaded(page, defaultId);
  // Bundles by URL are loaded from the Model bundle tab (the app opens on the round trip).
  await page.getByTestId('tab-bundle').click();

  for (const name of names) {
    const { code, message } = BAD_MODEL_VARIANTS[name];
    await step(`bad model "${name}": ${code} naming the problem; ${defaultId} stays loaded`, async () => {
      // Variants share the fixture's id@version: a cached good file must not stand in for a broken one.
      await page.evaluate(async () => Promise.all((await caches.keys()).map((k) => caches.delete(k))));
      await page.getByTestId('bundle-url').fill(`${prefix}${name}/`);
      await page.getByTestId('load-url').click();
      const text = await bannerText(page);
      assert.ok(text.startsWith(`${code}: `), `banner for ${name} should start "${code}: ", is "${text}"`);
      assert.match(text.slice(code.length + 2), message);
      if (name === 'wrong-dtype') await shot(page, 'bad-model');
      await waitLoaded(page, defaultId);
      assert.ok(
        (await page.getByTestId('bundle-badge').textContent()).includes(defaultName),
        'the default bundle is no longer the loaded one',
      );
      await page.getByRole('button', { name: 'Dismiss error' }).click();
      await page.getByTestId('error-banner').waitFor({ state: 'detached' });
    });
  }

  await step('a bundle URL on another origin asks first; "Don\'t load" requests nothing from there', async () => {
    await page.getByTestId('bundle-url').fill(`${FOREIGN}/fixture-tiny/`);
    await page.getByTestId('load-url').click();
    const prompt = page.getByTestId('origin-prompt');
    await prompt.waitFor({ timeout: T });
    assert.equal(await prompt.getAttribute('data-origin'), FOREIGN);
    assert.match(await prompt.textContent(), /Nothing has been requested yet/);
    await shot(page, 'origin-prompt');
    await page.getByTestId('origin-decline').click();
    await prompt.waitFor({ state: 'detached' });
    // Give a stray request time to show up before concluding there was none.
    await page.waitForTimeout(1500);
    assert.deepEqual(requested, [], `requests to ${FOREIGN}: ${requested.join(', ')}`);
    assert.ok((await page.getByTestId('bundle-badge').textContent()).includes(defaultName));
    assert.equal(await page.getByTestId('error-banner').count(), 0);
  });

  await step('"Load" loads the bundle from the other origin, verified like any other', async () => {
    await page.getByTestId('load-url').click();
    await page.getByTestId('origin-accept').click();
    await waitLoaded(page, 'fixture-tiny');
    assert.ok(
      requested.some((u) => u.endsWith('/fixture-tiny/manifest.json')),
      'manifest not fetched from the other origin',
    );
    assert.ok(
      requested.some((u) => u.endsWith('.onnx')),
      'no model file fetched from the other origin',
    );
  });

  await step('a shared link naming a bundle on another origin asks too; declining loads nothing', async () => {
    requested.length = 0;
    await page.goto(`${baseUrl}?bundle=${encodeURIComponent(`${FOREIGN}/fixture-tiny/`)}`, { timeout: T });
    await page.getByTestId('origin-prompt').waitFor({ timeout: T });
    await page.getByTestId('origin-decline').click();
    await page.waitForTimeout(1500);
    assert.deepEqual(requested, []);
    await until(
      async () => (await page.getByTestId('bundle-badge').textContent()).includes('no bundle'),
      'a bundle was loaded after declining',
    );
  });

  await step('no uncaught errors or unexpected console errors', async () => {
    assert.deepEqual(errors, []);
  });
  await page.close();
}

export const spec = { name: 'models', modes: ['wasm'], run: runModelSpecs };

if (isMain(import.meta.url)) runMain('resilience-models', [spec]);
