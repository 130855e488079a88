#!/usr/bin/env node
// Issue 9 point 1 in Chromium (see harness.mjs for the ctx): every accepted format and variant decodes to
// the picture it holds (EXIF orientation, GIF first frame, 16-bit, grey, alpha over white); every bad class
// is refused with a message naming the file and the problem, the SVG never runs, the earlier run stays
// intact; then (WASM mode) 240 seeded mutated files through the real file input of one page: no crash of
// the page or the worker, and a round trip still runs afterwards.
// Alone: node tests/e2e/hardening-images.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm]
import assert from 'node:assert/strict';
import { badImages, mutatedImages, seeded, validImages } from '../fixtures/image-corpus.mjs';
import { collectErrors, until } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';
import { answerFor, historyIds, modelView, near, openRoundTrip, pick, runRoundTrip, T } from './hardening-common.mjs';

const RED = [255, 0, 0];
const BLUE = [0, 0, 255];
const WHITE = [255, 255, 255];
const FUZZ_COUNT = 240;
const FUZZ_SEED = 92_026;

/** Asserts the 64×64 model view shows what the corpus says the file holds (cover crop of a 2:1 split). */
function expectView(view, f) {
  const tol = /\.(jpg|webp)$/.test(f.name) ? 16 : 2;
  const [l, r] = f.expect.startsWith('grey')
    ? [
        [51, 51, 51],
        [204, 204, 204],
      ]
    : [RED, BLUE];
  if (f.expect === 'split-top') {
    near(view, 32, 8, RED, tol, `${f.name} (EXIF 6: red on top)`);
    near(view, 32, 56, BLUE, tol, `${f.name} (EXIF 6: blue below)`);
    return;
  }
  near(view, 8, 8, l, tol, f.name);
  near(view, 56, 8, r, tol, f.name);
  near(view, 8, 56, f.expect.endsWith('white-bottom') ? WHITE : l, tol, `${f.name} (bottom half)`);
}

export const spec = {
  name: 'hardening-images',
  modes: ['wasm'],
  async run(ctx) {
    const { context, step, mode, shot } = ctx;
    const page = await context.newPage();
    page.setDefaultTimeout(T);
    const errors = collectErrors(page);
    let crashed = false;
    page.on('crash', () => (crashed = true));
    const valid = await validImages();
    const bad = await badImages();
    let firstRun = null;

    await step('an earlier run is stored (1 loop, 1 flow step)', async () => {
      await openRoundTrip(page, ctx);
      await pick(page, valid[0]);
      await answerFor(page, valid[0].name);
      firstRun = await runRoundTrip(page);
      await until(async () => (await historyIds(page)).includes(firstRun), 'the finished run is not in the history');
    });

    await step(
      `${valid.length} accepted variants (PNG 8/16-bit, grey, alpha, palette; JPEG, EXIF-rotated; WebP lossy/lossless; GIF first frame; BMP 24/32/8-bit) decode to their picture`,
      async () => {
        for (const f of valid) {
          await pick(page, f);
          const answer = await answerFor(page, f.name);
          assert.equal(answer.refused, false, `${f.name} was refused: ${answer.message}`);
          const [w, h] = f.size;
          assert.match(answer.label, new RegExp(`\\(${w}×${h}\\)`), `${f.name}: the source size shown is not ${w}×${h} (${answer.label})`);
          expectView(await modelView(page), f);
        }
      },
    );

    await step(
      'bad inputs: empty, truncated PNG/JPEG, renamed text/PDF, 30000×30000 PNG/JPEG, SVG (also renamed) — each refused by name, the last good input stays',
      async () => {
        const before = await page.getByTestId('rt-input-label').textContent();
        for (const f of bad) {
          // Scrolled down to the run, as after Run: the banner above the tabs must still come into view.
          await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
          await pick(page, f);
          const answer = await answerFor(page, f.name);
          assert.equal(answer.refused, true, `${f.name} was accepted`);
          assert.equal(answer.code, f.problem, `${f.name}: code ${answer.code}, expected ${f.problem} (${answer.message})`);
          assert.match(answer.message, new RegExp(`^${f.name.replace('.', '\\.')}: \\S`), answer.message);
          // The banner leads with the sentence; the code follows in small, muted, non-monospace text.
          assert.ok(
            answer.text.startsWith(answer.message) && !answer.text.startsWith(`${f.problem}:`),
            `the banner leads with "${answer.text.slice(0, 40)}"`,
          );
          assert.equal(answer.codeText, `(${f.problem})`);
          assert.ok(answer.text.endsWith(`(${f.problem})`), `the code does not follow the sentence: "${answer.text}"`);
          assert.doesNotMatch(`${answer.fonts.message} ${answer.fonts.code}`, /mono/i, 'the error is in a monospace font');
          assert.ok(
            answer.sizes.code < answer.sizes.message,
            `the code (${answer.sizes.code}px) is not smaller than the sentence (${answer.sizes.message}px)`,
          );
          assert.equal(await page.getByTestId('rt-input-label').textContent(), before, `${f.name} replaced the input`);
          const box = await page.getByTestId('error-banner').boundingBox();
          const viewport = page.viewportSize();
          assert.ok(box && box.y >= -1 && box.y + box.height <= viewport.height + 1, `${f.name}: the banner is out of view (y ${box?.y})`);
        }
        assert.equal(await page.evaluate(() => window.__svgRan ?? null), null, 'the SVG ran');
        assert.equal(await page.locator('img[src^="blob:"], object, embed, iframe').count(), 0, 'a refused file was put on the page');
        await shot(page, 'hardening-bad-image');
      },
    );

    await step('after the bad inputs the earlier run is intact and opens', async () => {
      assert.ok((await historyIds(page)).includes(firstRun), 'the earlier run left the history');
      await page.locator(`[data-testid="rt-history-item"][data-run-id="${firstRun}"] [data-testid="rt-open"]`).click();
      await until(async () => (await page.getByTestId('rt-run').getAttribute('data-run-id')) === firstRun, 'the earlier run did not open');
      assert.equal(await page.getByTestId('rt-run').getAttribute('data-status'), 'finished');
    });

    // The decode path does not depend on the inference backend: the fuzz runs once, in the fast mode.
    if (mode.name === 'wasm')
      await step(
        `fuzz: ${FUZZ_COUNT} seeded mutated PNG/JPEG/GIF/BMP/WebP files through the file input of one page; no crash; a round trip still runs`,
        async () => {
          const bases = valid.filter((v) =>
            /^(rgb8\.png|rgba16\.png|photo\.jpg|rotated-exif6\.jpg|two-frames\.gif|rgb24\.bmp|pal8\.bmp|lossy\.webp|lossless-alpha\.webp)$/.test(
              v.name,
            ),
          );
          const files = mutatedImages(bases, FUZZ_COUNT, seeded(FUZZ_SEED));
          const outcome = {};
          for (const f of files) {
            await pick(page, f);
            const answer = await answerFor(page, f.name);
            const key = answer.refused ? answer.code : 'decoded';
            outcome[key] = (outcome[key] ?? 0) + 1;
            if (crashed) throw new Error(`the page crashed on ${f.name}`);
          }
          console.log(
            `      fuzz outcomes: ${Object.entries(outcome)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ')}`,
          );
          assert.ok(
            (outcome.decoded ?? 0) > 10 && FUZZ_COUNT - (outcome.decoded ?? 0) > 50,
            'the mutations should both keep and break files',
          );
          await pick(page, valid[1]);
          await answerFor(page, valid[1].name);
          const again = await runRoundTrip(page);
          const ids = await historyIds(page);
          assert.ok(ids.includes(firstRun) && ids.includes(again), `history after the fuzz: ${ids}`);
        },
      );

    await step('no page error, no crash, through all of it', async () => {
      assert.equal(crashed, false, 'the page crashed');
      assert.deepEqual(errors, [], `page errors: ${errors.join(' | ')}`);
    });
  },
};

if (isMain(import.meta.url)) runMain('hardening-images', [spec]);
