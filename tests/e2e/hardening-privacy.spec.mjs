#!/usr/bin/env node
// Issue 9 point 5 in Chromium (see harness.mjs for the ctx). The production build (`vite build` served by
// `vite preview`) sends a Content-Security-Policy without inline script or eval ('wasm-unsafe-eval' only,
// for ORT's WebAssembly), dist/index.html carries it as a <meta> and holds no inline script, and the
// default bundle still loads and runs on the mode's backend (WebGPU or WASM) under it, with no violation.
// Every request of the page and its worker is recorded through upload, round trip, rollouts and training
// replay: none may leave the app's origin, send a body, or carry the uploaded file's name or bytes.
// Alone: node tests/e2e/hardening-privacy.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm]
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pngFile, seeded } from '../fixtures/image-corpus.mjs';
import { collectErrors, until } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';
import { answerFor, openRoundTrip, pick, runRoundTrip, T } from './hardening-common.mjs';

/** A photo nobody else has: noise from a seeded generator, under a name that must never leave the page. */
function privatePhoto() {
  const rand = seeded(424_242);
  const bytes = pngFile({ width: 48, height: 40, colourType: 2, bitDepth: 8, sample: () => [rand(), rand(), rand()] });
  return { name: 'private-holiday-7f3a9c.png', bytes };
}

/** Returns what of `file` (its name, or a 24-byte run of its pixel data, raw or base64) `text`/`body` carries, or null. */
function leak(file, url, body) {
  const probe = file.bytes.subarray(60, 84);
  const hay = [decodeURIComponent(url), body ? body.toString('latin1') : ''];
  const stem = file.name.replace(/\.png$/, '');
  if (hay.some((h) => h.includes(stem))) return 'the file name';
  if (body && (body.includes(probe) || body.toString('latin1').includes(probe.toString('base64').slice(4, 28)))) return 'the image bytes';
  if (hay[0].includes(probe.toString('base64').slice(4, 28))) return 'the image bytes (in the URL)';
  return null;
}

export const spec = {
  name: 'hardening-privacy',
  modes: ['wasm'],
  async run(ctx) {
    const { context, step, mode, root, dist, baseUrl } = ctx;
    const page = await context.newPage();
    page.setDefaultTimeout(T);
    const csp = [];
    await page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.effectiveDirective} ${e.blockedURI}`));
    });
    const errors = collectErrors(page);
    page.on('console', (m) => /Content Security Policy|Refused to/i.test(m.text()) && csp.push(m.text()));
    const origin = new URL(baseUrl).origin;
    const requests = [];
    const phase = { now: 'load' };
    context.on('request', (r) => requests.push({ url: r.url(), method: r.method(), body: r.postDataBuffer(), phase: phase.now }));
    const photo = privatePhoto();

    await step('the built index.html carries the policy as its first <meta>, and holds no inline script or handler', () => {
      const html = readFileSync(join(dist, 'index.html'), 'utf8');
      const meta = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)"/);
      assert.ok(meta, 'no CSP <meta> in dist/index.html');
      assert.ok(html.indexOf(meta[0]) < html.indexOf('<script'), 'the CSP <meta> comes after a script');
      assert.doesNotMatch(meta[1], /script-src[^;]*'unsafe-(inline|eval)'/, `meta policy allows inline/eval script: ${meta[1]}`);
      const inline = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)].filter(
        ([, attrs, body]) => !/\bsrc=/.test(attrs) || body.trim() !== '',
      );
      assert.deepEqual(
        inline.map((m) => m[0].slice(0, 80)),
        [],
        'inline <script> in dist/index.html',
      );
      assert.doesNotMatch(html, /\son[a-z]+=/i, 'an inline event handler in dist/index.html');
    });

    await step(
      'vite preview sends the Content-Security-Policy header: script-src without unsafe-inline/unsafe-eval, wasm-unsafe-eval allowed',
      async () => {
        const res = await fetch(baseUrl);
        const policy = res.headers.get('content-security-policy');
        assert.ok(policy, 'no Content-Security-Policy header');
        const script = policy
          .split(';')
          .map((d) => d.trim())
          .find((d) => d.startsWith('script-src'));
        assert.ok(script, `no script-src in ${policy}`);
        assert.doesNotMatch(script, /'unsafe-inline'|'unsafe-eval'|\*|data:|blob:/, script);
        assert.match(script, /'wasm-unsafe-eval'/);
        assert.match(policy, /default-src 'self'/);
        assert.match(policy, /object-src 'none'/);
        const worker = await fetch(new URL('ort/ort-wasm-simd-threaded.asyncify.mjs', baseUrl));
        assert.ok(worker.headers.get('content-security-policy'), 'the ORT runtime is served without the policy');
      },
    );

    await step(`under the policy the default bundle loads and a round trip runs on ${mode.expect}, with no violation`, async () => {
      phase.now = 'upload';
      await openRoundTrip(page, ctx);
      await pick(page, photo);
      await answerFor(page, photo.name);
      phase.now = 'round trip';
      await runRoundTrip(page);
      const seen = await page.evaluate(() => window.__csp);
      assert.deepEqual([...seen, ...csp], [], 'CSP violations');
    });

    await step('rollouts on the uploaded photo (group of 2, 1 flow step)', async () => {
      phase.now = 'rollouts';
      await page.getByRole('tab', { name: 'Rollouts' }).click();
      await page.getByTestId('rollouts-panel').waitFor();
      await page.getByTestId('ro-source').selectOption('image');
      await page.getByTestId('ro-file').setInputFiles({ name: photo.name, mimeType: 'image/png', buffer: photo.bytes });
      await page.getByTestId('ro-groupSize').fill('2');
      await page.getByTestId('ro-flowSteps').fill('1');
      await page.locator('[data-testid="ro-run"]:not([disabled])').waitFor({ timeout: T });
      await page.getByTestId('ro-run').click();
      await until(
        async () => (await page.getByTestId('ro-status').getAttribute('data-status')) === 'finished',
        'rollouts did not finish',
        T,
      );
      assert.equal(await page.locator('[data-testid="ro-row"]').count(), 2);
    });

    await step('training replay of an imported log', async () => {
      phase.now = 'training replay';
      await page.getByRole('tab', { name: 'Training' }).click();
      await page.getByTestId('runs-file-input').setInputFiles({
        name: 'private-log-7f3a9c.jsonl',
        mimeType: 'application/json',
        buffer: readFileSync(join(root, 'tests', 'fixtures', 'runs', 'run.jsonl')),
      });
      await page.locator('[data-testid^="run-item-"]:not([data-testid^="run-item-bundle:"])').first().waitFor({ timeout: T });
      const stepText = () => page.getByTestId('replay-step').textContent();
      await page.getByTestId('replay-restart').click();
      const first = await stepText();
      await until(async () => (await stepText()) !== first, 'the replay did not move', T);
    });

    await step('every request stayed on the app origin, sent no body, and carried neither the file name nor its bytes', () => {
      const counts = {};
      for (const r of requests) counts[r.phase] = (counts[r.phase] ?? 0) + 1;
      console.log(
        `      requests by phase: ${Object.entries(counts)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
      );
      assert.ok(requests.length > 5, 'requests were not recorded');
      const bad = [];
      for (const r of requests) {
        const u = new URL(r.url);
        if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== origin) bad.push(`${r.phase}: another origin: ${r.url}`);
        if (r.body && r.body.length > 0) bad.push(`${r.phase}: a ${r.method} with a ${r.body.length}-byte body to ${r.url}`);
        const what = leak(photo, r.url, r.body) ?? (r.url.includes('private-log-7f3a9c') ? 'the log file name' : null);
        if (what) bad.push(`${r.phase}: ${what} in ${r.url}`);
      }
      assert.deepEqual(bad, []);
      assert.deepEqual(errors, [], errors.join(' | '));
    });
  },
};

if (isMain(import.meta.url)) runMain('hardening-privacy', [spec]);
