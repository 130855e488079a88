// The app-shell E2E spec (bundle loading, backend badge, errors, settings, tabs), run by run.mjs through
// the harness on WASM against the built app; in the shared WebGPU pass (webgpu.spec.mjs) it loads the page first.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBackend, autoBackend, bannerText, specPage, until, waitLoaded } from './checks.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
/** The catalog's default bundle (public/models/index.json), the one a first visit loads. */
const DEFAULT_ID = JSON.parse(readFileSync(join(ROOT, 'public', 'models', 'index.json'), 'utf8')).default;
/** A small shipped bundle for the local-folder and drop tests (files cross into the page as arrays). */
const SMALL_ID = 'fixture-tiny';
const DEFAULT_MANIFEST = JSON.parse(readFileSync(join(ROOT, 'public', 'models', DEFAULT_ID, 'manifest.json'), 'utf8'));
/** The error code each broken bundle in tests/fixtures/bad-bundles/ must produce. */
const BAD_BUNDLE_CODES = {
  'malformed-manifest': 'manifest-json',
  'schema-error': 'manifest-schema',
  'missing-file': 'missing-file',
  'sha-mismatch': 'sha256-mismatch',
  'size-mismatch': 'size-mismatch',
  'not-onnx': 'not-onnx',
};

/** Broken bundles are copied into the built site for the run only; they are never part of public/. */
const BAD_DIR = '__e2e-bad-bundles';

/** Runs every step in order (later ones build on the page state of earlier ones). ctx: see harness.mjs. */
async function runAppSpecs(ctx) {
  const { context, baseUrl, mode, step, shot, root } = ctx;
  const badPrefix = ctx.mount(join(root, 'tests', 'fixtures', 'bad-bundles'), BAD_DIR);
  const origin = new URL(baseUrl).origin;
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  const pageErrors = [];
  // In the shared WebGPU pass this suite runs first and does the page's first load (see checks.mjs specPage).
  const { page, close } = await specPage(ctx);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Console errors count too, except the 404s the broken bundles are made to cause.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location().url.includes(badPrefix)) pageErrors.push(`console: ${m.text()}`);
  });
  const onnxRequests = () => requests.filter((u) => new URL(u).pathname.endsWith('.onnx')).length;
  /** The app opens on the round trip; the bundle's files, its loaders and its card are on the Model bundle tab. */
  const bundleTab = async () => {
    await page.getByTestId('tab-bundle').click();
    await page.getByTestId('dropzone').waitFor();
  };

  await step('first load opens on the round trip: byte progress, then a scene ready to run; the bundle tab lists the bundle', async () => {
    // Hold model files back a little so the progress UI is on screen long enough to be seen.
    await page.route('**/*.onnx', async (route) => {
      await new Promise((r) => setTimeout(r, 400));
      await route.continue();
    });
    await page.goto(baseUrl);
    await page.getByTestId('rt-load-progress').getByTestId('progress-overall').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('tab-roundtrip').getAttribute('aria-selected'), 'true', 'the app did not open on the round trip');
    const files = await page.getByTestId('rt-load-progress').getByTestId('progress-file').count();
    assert.ok(files >= 1, 'no per-file progress line while downloading');
    await shot(page, 'loading');
    // As soon as the bundle is in, Run is ready on a gallery scene: nothing to choose first.
    await page.locator('[data-testid="rt-start"]:not([disabled])').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('[data-testid="rt-input"][data-kind="gallery"]').count(), 1, 'no gallery scene preselected');
    await page.getByTestId('rt-load-progress').waitFor({ state: 'detached' });
    await bundleTab();
    await waitLoaded(page, DEFAULT_ID);
    assert.ok(onnxRequests() > 0, 'first load made no .onnx request: request recording is blind');
    const header = (await page.getByTestId('bundle-badge').textContent()).trim();
    const expected = `${DEFAULT_MANIFEST.name} v${DEFAULT_MANIFEST.version}`.replace(/\s+/g, ' ');
    assert.equal(header.replace(/\s+/g, ' ').replace(/ ?v(?=\d)/, ' v'), expected, `header bundle: "${header}"`);
    await page.unroute('**/*.onnx');
  });

  await step(`header shows the backend actually in use: ${mode.expect}`, async () => {
    const text = await assertBackend(page, mode.expect);
    console.log(`      badge: "${text}"`);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'page is not cross-origin isolated (COOP/COEP missing)');
    await shot(page, 'loaded');
  });

  await step('the backend check fails when the backend shown is wrong', async () => {
    const wrong = mode.expect === 'webgpu' ? 'wasm' : 'webgpu';
    await assert.rejects(assertBackend(page, wrong), 'assertBackend accepted the wrong backend');
  });

  // WASM only: the Cache API is the loader's, the same on either backend (and a reload would make the shared WebGPU
  // pass compile its shaders again).
  if (mode.name === 'wasm')
    await step('a reload serves model files from the Cache API (zero .onnx requests)', async () => {
      const before = onnxRequests();
      await page.reload();
      await bundleTab();
      await waitLoaded(page, DEFAULT_ID);
      assert.equal(onnxRequests() - before, 0, 'model files were downloaded again on reload');
      const sources = await page
        .locator('[data-testid="loaded-bundle"] tbody tr')
        .evaluateAll((rows) => rows.map((r) => [r.cells[0].textContent, r.cells[2].textContent]));
      const onnx = sources.filter(([path]) => path.endsWith('.onnx'));
      assert.ok(onnx.length > 0, 'loaded bundle lists no .onnx file');
      // The graphs a round trip runs come from the cache; the rest (checkpoints, the reference encoder) wait for their first use.
      assert.ok(
        onnx.some(([, source]) => source === 'cache'),
        'no .onnx file shown as from the cache',
      );
      for (const [path, source] of onnx) assert.ok(['cache', 'on first use'].includes(source), `${path} shown as "${source}"`);
    });

  // Every broken variant on WASM; on WebGPU the one that fails in WebGPU session creation (the others fail in the
  // loader before any session, the same on either backend).
  const variants = readdirSync(join(root, 'tests', 'fixtures', 'bad-bundles'))
    .sort()
    .filter((name) => mode.name === 'wasm' || name === 'not-onnx');
  for (const name of variants) {
    await step(`broken bundle "${name}" shows its error; the good bundle stays loaded`, async () => {
      const code = BAD_BUNDLE_CODES[name];
      assert.ok(code, `no expected error code for bad bundle "${name}": add it to BAD_BUNDLE_CODES`);
      // The broken variants reuse the good bundle's id@version, and the cache is content-addressed by
      // manifest sha256: a cached good copy would (correctly) stand in for a missing or resized file.
      // Clear it so each variant is loaded the way a first-time visitor would load it.
      await page.evaluate(async () => Promise.all((await caches.keys()).map((k) => caches.delete(k))));
      await page.getByTestId('bundle-url').fill(`${badPrefix}${name}/`);
      await page.getByTestId('load-url').click();
      const text = await bannerText(page);
      assert.ok(text.startsWith(`${code}:`), `banner for ${name} should start "${code}:", is "${text}"`);
      assert.ok(text.length > code.length + 10, `banner message too thin: "${text}"`);
      if (name === variants[0]) await shot(page, 'error');
      await waitLoaded(page, DEFAULT_ID);
      assert.equal(
        await page
          .getByTestId('bundle-badge')
          .textContent()
          .then((t) => t.includes(DEFAULT_MANIFEST.name)),
        true,
      );
      await page.getByRole('button', { name: 'Dismiss error' }).click();
      await page.getByTestId('error-banner').waitFor({ state: 'detached' });
    });
  }

  await step('after the errors the app still loads bundles', async () => {
    await page.getByTestId(`load-${DEFAULT_ID}`).click();
    await waitLoaded(page, DEFAULT_ID);
    assert.equal(await page.getByTestId('error-banner').count(), 0);
  });

  // WASM only: folder and drop loading are the UI's and the bundle loader's, the same on either backend (the
  // WebGPU pass keeps to what only it can show)
  if (mode.name === 'wasm') {
    await step('a bundle loads from a local folder (folder picker)', async () => {
      await page.getByTestId('folder-input').setInputFiles(join(root, 'public', 'models', SMALL_ID));
      await until(
        async () => (await page.getByTestId('loaded-bundle').textContent()).includes(`local: ${SMALL_ID}`),
        'local bundle not shown as loaded',
      );
      const banner = page.getByTestId('error-banner');
      assert.equal(await banner.count(), 0, `error shown: ${await banner.allTextContents()}`);
    });

    await step('a bundle loads from files dropped on the panel', async () => {
      // Script-made DataTransfers carry no directory entries, so this drives the loose-files branch of the
      // drop handler (file names carry the relative paths); a real folder drag walks FileSystemEntry trees.
      const { files } = JSON.parse(readFileSync(join(root, 'public', 'models', SMALL_ID, 'manifest.json'), 'utf8'));
      const payload = ['manifest.json', ...files.map((f) => f.path)].map((path) => ({
        path,
        bytes: [...readFileSync(join(root, 'public', 'models', SMALL_ID, path))],
      }));
      const dataTransfer = await page.evaluateHandle((list) => {
        const dt = new DataTransfer();
        for (const f of list) dt.items.add(new File([new Uint8Array(f.bytes)], f.path));
        return dt;
      }, payload);
      await page.getByTestId('dropzone').dispatchEvent('dragover', { dataTransfer });
      await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer });
      await until(
        async () => (await page.getByTestId('loaded-bundle').textContent()).includes('local: dropped files'),
        'dropped bundle not shown as loaded',
      );
      const banner = page.getByTestId('error-banner');
      assert.equal(await banner.count(), 0, `error shown: ${await banner.allTextContents()}`);
      await page.getByTestId(`load-${DEFAULT_ID}`).click();
      await waitLoaded(page, DEFAULT_ID);
    });
  }

  await step('the backend chooser re-inits the engine, and the choice goes into the URL', async () => {
    const chooser = page.getByTestId('backend-choice');
    await chooser.selectOption('wasm');
    await until(
      async () => (await page.getByTestId('backend-badge').getAttribute('data-backend')) === 'wasm',
      'badge did not switch to WASM',
    );
    await assertBackend(page, 'wasm');
    assert.match(page.url(), /[?&]backend=wasm\b/, `URL lacks backend=wasm: ${page.url()}`);
    await waitLoaded(page, DEFAULT_ID);
    const auto = await autoBackend(page);
    await chooser.selectOption('auto');
    await until(
      async () => (await page.getByTestId('backend-badge').getAttribute('data-backend')) === auto,
      `badge did not go to ${auto} on Auto`,
    );
    assert.doesNotMatch(page.url(), /backend=/, 'auto (the default) should leave the URL clean');
    await assertBackend(page, auto);
    if (mode.expect === 'webgpu' && auto === 'wasm') {
      // The only adapter is SwiftShader: Auto says why it took WASM, and WebGPU stays one choice away.
      assert.match(
        await page.getByTestId('backend-reason').textContent(),
        /only WebGPU adapter here \(.+\) is a software fallback adapter, slower than WASM/,
      );
      // The badge's tooltip says the same: the adapter is named a software fallback adapter.
      assert.match(
        await page.getByTestId('backend-badge').getAttribute('title'),
        /^Auto chose WASM: the only WebGPU adapter here \(.+\) is a software fallback adapter/,
      );
      await waitLoaded(page, DEFAULT_ID);
      await chooser.selectOption('webgpu');
      await until(
        async () => (await page.getByTestId('backend-badge').getAttribute('data-backend')) === 'webgpu',
        'badge did not go back to WebGPU',
      );
      await assertBackend(page, 'webgpu');
    }
    if (mode.expect === 'wasm') {
      // Asking for WebGPU where there is none: a clear error, and the engine stays on WASM.
      await chooser.selectOption('webgpu');
      assert.match(await bannerText(page), /^backend-unavailable: /);
      await assertBackend(page, 'wasm');
      await chooser.selectOption('auto');
      await page.getByRole('button', { name: 'Dismiss error' }).click();
    }
  });

  // WASM only: shared links and the keyboard are the UI's, the same on either backend (the WebGPU pass keeps to
  // what only it can show)
  if (mode.name === 'wasm') {
    await step('settings from a shared link win over stored ones and are remembered', async () => {
      const badgeIs = (b) =>
        until(async () => (await page.getByTestId('backend-badge').getAttribute('data-backend')) === b, `badge is not ${b}`);
      await page.goto(`${baseUrl}?backend=wasm&seed=7`);
      await badgeIs('wasm');
      assert.equal(await page.getByTestId('backend-choice').inputValue(), 'wasm');
      await bundleTab();
      await waitLoaded(page, DEFAULT_ID);
      await page.goto(baseUrl);
      await badgeIs('wasm');
      assert.match(page.url(), /backend=wasm/, 'stored setting not mirrored into the URL');
      assert.match(page.url(), /seed=7/, 'stored seed not mirrored into the URL');
      await bundleTab();
      await waitLoaded(page, DEFAULT_ID); // the chooser is disabled while a bundle loads
      await page.getByTestId('backend-choice').selectOption(mode.expect === 'webgpu' ? 'webgpu' : 'auto');
      await badgeIs(mode.expect);
      await waitLoaded(page, DEFAULT_ID);
    });

    await step('tabs work from the keyboard', async () => {
      const selected = (name) =>
        until(async () => (await page.getByRole('tab', { name }).getAttribute('aria-selected')) === 'true', `${name} tab not selected`);
      // Tab order: Round trip (the opening tab), Rollouts, Training, Model bundle.
      await page.getByRole('tab', { name: 'Model bundle' }).focus();
      await page.keyboard.press('ArrowRight');
      await selected('Round trip');
      await page.getByTestId('roundtrip-panel').waitFor();
      await page.keyboard.press('ArrowRight');
      await selected('Rollouts');
      await page.getByRole('tabpanel').waitFor();
      await page.keyboard.press('ArrowRight');
      await selected('Training');
      await shot(page, 'training-tab');
      await page.keyboard.press('End');
      await selected('Model bundle');
      await page.getByTestId('loaded-bundle').waitFor();
      await page.keyboard.press('Home');
      await selected('Round trip');
    });
  }

  await step('every request the page made stayed on its own origin', async () => {
    assert.ok(requests.length > 5, `only ${requests.length} requests recorded`);
    const foreign = requests.filter((u) => !/^(data|blob):/.test(u) && new URL(u).origin !== origin);
    assert.deepEqual(foreign, [], `requests to other origins: ${foreign.join(', ')}`);
  });

  await step('no uncaught errors or console errors on the page', async () => {
    assert.deepEqual(pageErrors, []);
  });
  await close();
}

/** WASM alone in its runner; its WebGPU checks run in the shared WebGPU pass (webgpu.spec.mjs), where it opens the page. */
export const spec = { name: 'app', modes: ['wasm'], run: runAppSpecs };
