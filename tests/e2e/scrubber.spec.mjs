#!/usr/bin/env node
// Checkpoint-scrubber E2E spec (see harness.mjs for the ctx): on the catalog's default bundle, pick a Shapes
// scene in the Round trip tab, open Training, scrub from the first to the last encoder checkpoint and check
// that the last one's caption is longer, with a reconstruction and sim drawn; scrubbing back is served from
// the cache; the bundle's recorded run replays progressively. Fails (never skips) when the default bundle
// ships no checkpoints. Usage: node tests/e2e/scrubber.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm] [--screenshots]
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectErrors, fail, until, waitLoaded } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';
import { markerLabelBox } from './training.spec.mjs';

/** The test image: public/gallery scene 2025-5 (three objects), picked in the Round trip tab. */
const SCENE = { id: '2025-5', label: 'gallery scene 2025-5' };
/** Waits on model work: SwiftShader WebGPU on a shared 2-core machine is slow. */
const EVAL_WAIT = 900_000;

/** Returns the catalog's default bundle: { id, manifest } from public/models/index.json. */
function defaultBundle(root) {
  const models = join(root, 'public', 'models');
  const id = JSON.parse(readFileSync(join(models, 'index.json'), 'utf8')).default;
  return { id, manifest: JSON.parse(readFileSync(join(models, id, 'manifest.json'), 'utf8')) };
}

/** Vertices of each line path in a chart (one per drawn data point: the lines are type="linear"). */
function vertices(page, testId) {
  return page
    .locator(`[data-testid="${testId}"] path.recharts-line-curve`)
    .evaluateAll((paths) => paths.map((p) => (p.getAttribute('d') ?? '').match(/[ML]/g)?.length ?? 0));
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** Waits until checkpoint `step`'s evaluation is shown (or failed: that ends the wait with its message). */
async function evaluated(page, step) {
  const box = page.getByTestId('checkpoint-eval');
  await until(
    async () => {
      const state = await box.getAttribute('data-state');
      if (state === 'error') throw fail(`evaluation failed: ${await page.getByTestId('checkpoint-error').textContent()}`);
      return state === 'done' && (await box.getAttribute('data-step')) === String(step);
    },
    `checkpoint step ${step} was never evaluated`,
    EVAL_WAIT,
  );
  return {
    caption: (await page.getByTestId('checkpoint-caption').textContent()).trim(),
    tokens: Number(await page.getByTestId('checkpoint-tokens').getAttribute('data-tokens')),
    sim: Number(await page.getByTestId('checkpoint-sim').getAttribute('data-sim')),
  };
}

/** Returns the number of distinct colours on the reconstruction canvas (1 = blank). */
function reconstructionColours(page) {
  return page.getByTestId('checkpoint-reconstruction').evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}

/** The spec. ctx: see harness.mjs. */
export async function runScrubberSpecs(ctx) {
  const { context, baseUrl, step, shot, root, mode } = ctx;
  const { id, manifest } = defaultBundle(root);
  const checkpoints = [...(manifest.roles?.checkpoints ?? [])];
  const runs = manifest.roles?.runs ?? [];
  let ready = false;
  await step(`scrubber: the default bundle "${id}" ships at least two encoder checkpoints and a recorded run`, async () => {
    const where = `public/models/${id}/manifest.json`;
    assert.ok(
      checkpoints.length >= 2,
      `${where} lists ${checkpoints.length} encoder checkpoint(s) in roles.checkpoints; the scrubber E2E needs at least 2 (export stage 2's checkpoints into the bundle: models/uae/bundle.py)`,
    );
    assert.ok(runs.length >= 1, `${where} lists no recorded run in roles.runs; the replay check needs one`);
    ready = true;
  });
  if (!ready) return;
  const first = checkpoints[0];
  const last = checkpoints[checkpoints.length - 1];
  const page = await context.newPage();
  const errors = collectErrors(page);
  const openTraining = async () => {
    await page.getByRole('tab', { name: 'Training' }).click();
    await page.getByTestId('checkpoint-scrubber').waitFor();
  };

  await step('scrubber: the evaluated image is named (the Round trip’s preselected scene, else the default Shapes scene)', async () => {
    await page.goto(baseUrl);
    await waitLoaded(page, id, 300_000);
    await openTraining();
    // A first visit gets a gallery scene preselected in the Round trip tab; without one the default scene stands in
    // (that path: tests/unit/training-scrubber.test.ts).
    const note = page.getByTestId('checkpoint-image-note');
    const named = async () => (await note.count()) > 0 && (await note.getAttribute('data-fallback')) !== null;
    await until(named, 'no note about the evaluated image');
    const label = (await page.getByTestId('checkpoint-image-label').textContent()).trim();
    if ((await note.getAttribute('data-fallback')) === 'true') {
      assert.match(await note.textContent(), /No image in the Round trip tab: evaluating on Shapes scene 2025-3 \(default\)/);
      assert.equal(label, 'Shapes scene 2025-3 (default)');
    } else {
      const [, scene] = /^Evaluating on the Round trip’s image: (.+)\.$/.exec((await note.textContent()).trim()) ?? [];
      assert.ok(scene, `note: ${await note.textContent()}`);
      assert.equal(label, `your image: ${scene}`);
    }
    assert.equal(await page.locator('[data-testid^="checkpoint-item-"]').count(), checkpoints.length);
    // The count label comes from the manifest and says what it counts (the cold start is one of the points).
    const trained = checkpoints.filter((c) => c.step > 0).map((c) => c.step);
    const cold = checkpoints.length - trained.length === 1 ? 'the cold start (step 0) + ' : '';
    assert.equal(
      (await page.getByTestId('checkpoint-count').textContent()).trim(),
      `${checkpoints.length} points: ${cold}${trained.length} checkpoints (steps ${Math.min(...trained)}–${Math.max(...trained)}), ` +
        'from the bundle’s manifest.',
    );
  });

  await step(`scrubber: a Shapes scene picked in the Round trip tab becomes the evaluated image`, async () => {
    await page.getByRole('tab', { name: 'Round trip' }).click();
    await page.getByTestId('rt-gallery-toggle').click();
    await page.getByTestId(`rt-gallery-${SCENE.id}`).click();
    await page.getByTestId('rt-input').waitFor();
    await openTraining();
    const note = page.getByTestId('checkpoint-image-note');
    // the click lands in the store asynchronously: the note may still name the image shown before it
    const expected = `Evaluating on the Round trip’s image: ${SCENE.label}.`;
    await until(
      async () => (await note.getAttribute('data-fallback')) === 'false' && (await note.textContent()).trim() === expected,
      `the Round trip image (${SCENE.label}) is not the evaluated one`,
    );
  });

  const seen = {};
  await step(
    `scrubber: scrubbing from step ${first.step} to step ${last.step} lengthens the caption; a reconstruction and sim are drawn`,
    async () => {
      const slider = page.getByTestId('checkpoint-slider');
      await slider.focus();
      await page.keyboard.press('Home');
      seen.first = await evaluated(page, first.step);
      // One key press per checkpoint, as a person scrubs: each newer choice cancels the evaluation before it.
      for (let i = 1; i < checkpoints.length; i++) {
        await page.keyboard.press('ArrowRight');
        assert.equal(
          (await page.getByTestId('checkpoint-chosen').textContent()).trim(),
          `step ${checkpoints[i].step} · ${checkpoints[i].label}`,
        );
        await new Promise((r) => setTimeout(r, 400));
      }
      seen.last = await evaluated(page, last.step);
      const skipped = await page.locator('[data-testid^="checkpoint-item-"][data-evaluated="false"]').count();
      console.log(
        `      [${mode.name}] step ${first.step}: "${seen.first.caption}" (${seen.first.tokens} tokens, sim ${seen.first.sim.toFixed(3)})`,
      );
      console.log(
        `      [${mode.name}] step ${last.step}: "${seen.last.caption}" (${seen.last.tokens} tokens, sim ${seen.last.sim.toFixed(3)}); ${skipped} checkpoint(s) passed over unevaluated`,
      );
      assert.ok(
        seen.last.tokens > seen.first.tokens,
        `the caption at step ${last.step} has ${seen.last.tokens} tokens, not more than the ${seen.first.tokens} at step ${first.step}`,
      );
      for (const s of [seen.first, seen.last])
        assert.ok(Number.isFinite(s.sim) && s.sim >= -1 && s.sim <= 1, `sim ${s.sim} is not a cosine`);
      assert.match(await page.getByTestId('checkpoint-sim').textContent(), /^sim -?\d\.\d{3}$/);
      assert.ok((await reconstructionColours(page)) > 1, 'the reconstruction is blank');
      assert.equal(await page.getByTestId('checkpoint-progress').count(), 0);
      // Each panel names the scene it shows: the checkpoint's image here, the held-out scene on the sample caption.
      assert.equal((await page.getByTestId('checkpoint-image-label').textContent()).trim(), `your image: ${SCENE.label}`);
      // The last checkpoint's marker sits at the charts' right edge: its label must still lie inside the SVG.
      const box = await markerLabelBox(page, 'chart-length');
      assert.ok(box?.inside && box.text === `ckpt ${last.step}`, `ckpt marker label: ${JSON.stringify(box)}`);
      await shot(page, 'training-scrubber', 'training-scrubber.png');
    },
  );

  await step('scrubber: scrubbing back to the first checkpoint shows its cached result without evaluating again', async () => {
    assert.ok(seen.first && seen.last, 'the scrub step did not finish');
    await page.getByTestId('checkpoint-eval').evaluate((box) => {
      window.__ckProgressSeen = false;
      new MutationObserver(() => {
        if (box.querySelector('[data-testid="checkpoint-progress"]')) window.__ckProgressSeen = true;
      }).observe(box, { childList: true, subtree: true });
    });
    await page.getByTestId('checkpoint-slider').focus();
    await page.keyboard.press('Home');
    const again = await evaluated(page, first.step);
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(again, seen.first);
    assert.equal(await page.evaluate(() => window.__ckProgressSeen), false, 'an evaluation ran for a cached checkpoint');
    assert.equal(await page.getByTestId(`checkpoint-item-${last.step}`).getAttribute('data-evaluated'), 'true');
  });

  await step(`scrubber: replaying the bundle's recorded run "${runs[0].label}" draws its curves progressively`, async () => {
    await page.getByTestId(`run-item-bundle:${runs[0].id}`).waitFor({ timeout: 120_000 });
    const box = page.getByTestId(`run-item-bundle:${runs[0].id}`).getByRole('checkbox');
    if (!(await box.isChecked())) await box.check();
    for (const other of await page.locator('[data-testid^="run-item-"]').all()) {
      if ((await other.getAttribute('data-testid')) !== `run-item-bundle:${runs[0].id}`) await other.getByRole('checkbox').uncheck();
    }
    await page.getByTestId('replay-play').waitFor();
    if ((await page.getByTestId('replay-play').getAttribute('data-playing')) === 'true') await page.getByTestId('replay-play').click();
    await page.getByTestId('replay-seek').fill(await page.getByTestId('replay-seek').getAttribute('min'));
    await page.getByTestId('replay-speed').selectOption('0.5');
    const start = sum(await vertices(page, 'chart-length'));
    await page.getByTestId('replay-play').click();
    const counts = [start];
    await until(
      async () => {
        const n = sum(await vertices(page, 'chart-length'));
        if (n !== counts[counts.length - 1]) counts.push(n);
        return counts.length >= 4;
      },
      `caption-length points did not keep arriving while playing (seen ${counts.join(' → ')})`,
      180_000,
    );
    await page.getByTestId('replay-play').click();
    console.log(`      [${mode.name}] caption-length points while replaying: ${counts.join(' → ')}`);
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i] > counts[i - 1], `points went back: ${counts.join(' → ')}`);
  });

  await step('scrubber: no uncaught errors or console errors', async () => {
    assert.deepEqual(errors, []);
  });
  await page.close();
}

export const spec = { name: 'scrubber', modes: ['wasm'], run: runScrubberSpecs };

if (isMain(import.meta.url)) runMain('scrubber', [spec]);
