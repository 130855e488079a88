#!/usr/bin/env node
// Issue 9 point 4 in Chromium (see harness.mjs for the ctx): a reload in the middle of a run keeps every
// finished run; a full disk (the origin's quota cut to almost nothing through CDP, so IndexedDB throws a
// real QuotaExceededError) is reported and the run stays on screen; "Export all runs" and "Import runs"
// carry every run (round trips and training logs) into a fresh browser; a bad import file is refused by name.
// Alone: node tests/e2e/hardening-storage.spec.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm]
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validImages } from '../fixtures/image-corpus.mjs';
import { bannerText, collectErrors, runError, until, waitLoaded } from './checks.mjs';
import { isMain, launch, runMain } from './harness.mjs';
import { answerFor, historyIds, openRoundTrip, pick, runRoundTrip, T } from './hardening-common.mjs';

/** Clicks `testId` and returns the download { name, bytes }. */
async function download(page, testId) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: T }), page.getByTestId(testId).click()]);
  return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
}

const PROBE_DB = 'uae-e2e-quota-probe';

/** Writes 20 kB to a throwaway IndexedDB database in the page; returns 'ok' or the abort error's name. */
function probeWrite(page) {
  return page.evaluate(async (name) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('s');
    const db = await new Promise((ok, fail) => {
      req.onsuccess = () => ok(req.result);
      req.onerror = () => fail(req.error);
    });
    try {
      const tx = db.transaction('s', 'readwrite');
      tx.objectStore('s').put(new Uint8Array(20_000), Date.now());
      return await new Promise((done) => {
        tx.oncomplete = () => done('ok');
        tx.onabort = () => done(tx.error?.name ?? 'aborted');
      });
    } finally {
      db.close();
    }
  }, PROBE_DB);
}

export const spec = {
  name: 'hardening-storage',
  modes: ['wasm'],
  async run(ctx) {
    const { context, step, mode, root } = ctx;
    const page = await context.newPage();
    page.setDefaultTimeout(T);
    const valid = await validImages();
    const errors = collectErrors(page, (m) => /QuotaExceeded|quota/i.test(m.text()));
    const finished = [];

    await step('two finished runs, then a reload while a third is running: both finished runs are still listed and open', async () => {
      await openRoundTrip(page, ctx);
      for (const f of valid.slice(0, 2)) {
        await pick(page, f);
        await answerFor(page, f.name);
        finished.push(await runRoundTrip(page));
      }
      // The third run is long enough to be caught running (WASM is fast: 20 loops).
      await page.getByTestId('rt-loops').fill(mode.name === 'wasm' ? '20' : '3');
      await page.getByTestId('rt-start').click();
      await until(async () => (await page.getByTestId('rt-run').getAttribute('data-status')) === 'running', 'the third run did not start');
      await page.reload({ timeout: T });
      await page.getByRole('tab', { name: 'Round trip' }).click();
      await until(async () => (await historyIds(page)).length >= 2, 'history not read back after the reload', T);
      const ids = await historyIds(page);
      for (const id of finished) assert.ok(ids.includes(id), `finished run ${id} lost in the reload (history: ${ids})`);
      // Opened once the reloaded page has its bundle again, so the click lands on a settled page (the load strip above
      // the history is gone). Once in ~5 full `npm test` runs the run clicked earlier never opened (cause not found); if
      // it happens here, the failure says what the page showed.
      await waitLoaded(page);
      const open = page.locator(`[data-testid="rt-history-item"][data-run-id="${finished[0]}"] [data-testid="rt-open"]`);
      await open.click();
      try {
        await page.getByTestId('rt-run').waitFor({ timeout: 120_000 });
      } catch {
        await ctx.shot(page, 'storage-not-opened');
        const banner = await page
          .getByTestId('error-banner')
          .textContent({ timeout: 1000 })
          .catch(() => 'none');
        throw new Error(
          `a stored run did not open within 120 s (banner: ${banner}; Open disabled: ${await open.isDisabled()}; ` +
            `screenshot: test-results/${mode.name}-storage-not-opened.png)`,
        );
      }
      await until(
        async () => (await page.getByTestId('rt-run').getAttribute('data-status')) === 'finished',
        'the stored run did not show as finished',
      );
    });

    let archive = null;
    await step('Export all runs: one JSON file with every stored round trip and imported training log', async () => {
      await page.getByRole('tab', { name: 'Training' }).click();
      await page.getByTestId('runs-file-input').setInputFiles(join(root, 'tests', 'fixtures', 'runs', 'run.jsonl'));
      await page.locator('[data-testid^="run-item-"]:not([data-testid^="run-item-bundle:"])').first().waitFor({ timeout: T });
      await page.getByRole('tab', { name: 'Round trip' }).click();
      archive = await download(page, 'runs-export-all');
      const doc = JSON.parse(archive.bytes.toString('utf8'));
      assert.equal(doc.format, 'uae-playground-runs/1');
      assert.deepEqual(doc.roundtrips.map((r) => r.run.id).sort(), [...(await historyIds(page))].sort());
      assert.equal(doc.training.length, 1);
      assert.match(await page.getByTestId('runs-archive-note').textContent(), /Exported \d+ round trips and 1 training logs/);
    });

    await step(
      'Import runs into a fresh browser: every run is back and opens; importing again adds nothing; a bad file is refused by name',
      async () => {
        assert.ok(archive, 'no archive to import');
        const fresh = await launch(mode);
        try {
          const p2 = await fresh.context.newPage();
          p2.setDefaultTimeout(T);
          await openRoundTrip(p2, ctx);
          assert.deepEqual(await historyIds(p2), [], 'a fresh profile should have no runs');
          const file = { name: archive.name, mimeType: 'application/json', buffer: archive.bytes };
          await p2.getByTestId('runs-import').setInputFiles(file);
          await until(async () => (await p2.getByTestId('runs-archive-note').count()) > 0, 'no import note');
          const n = JSON.parse(archive.bytes.toString('utf8')).roundtrips.length;
          assert.match(
            await p2.getByTestId('runs-archive-note').textContent(),
            new RegExp(`Imported ${n} round trips and 1 training logs`),
          );
          for (const id of finished) assert.ok((await historyIds(p2)).includes(id), `run ${id} not imported`);
          await p2.locator(`[data-testid="rt-history-item"][data-run-id="${finished[1]}"] [data-testid="rt-open"]`).click();
          await until(
            async () => (await p2.getByTestId('rt-run').getAttribute('data-run-id')) === finished[1],
            'the imported run did not open',
          );
          await p2.getByTestId('runs-import').setInputFiles(file);
          await until(
            async () =>
              /Imported 0 round trips and 0 training logs \(\d+ already here/.test(await p2.getByTestId('runs-archive-note').textContent()),
            'the second import was not a no-op',
          );
          await p2.getByRole('tab', { name: 'Training' }).click();
          await p2.locator('[data-testid^="run-item-"]:not([data-testid^="run-item-bundle:"])').first().waitFor({ timeout: T });
          await p2.getByRole('tab', { name: 'Round trip' }).click();
          await p2
            .getByTestId('runs-import')
            .setInputFiles({ name: 'holiday.json', mimeType: 'application/json', buffer: Buffer.from('{"photos": []}') });
          assert.match(await bannerText(p2), /^bad-import: holiday\.json: not a runs archive: format is null/);
        } finally {
          await fresh.close();
        }
      },
    );

    await step(
      'storage full (origin quota cut through CDP): the run stays on screen, marked not stored, and the banner says storage is full',
      async () => {
        const cdp = await context.newCDPSession(page);
        const origin = new URL(ctx.baseUrl).origin;
        await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1 });
        try {
          // Chromium (156) keeps an IndexedDB bucket's space check for ~25 s, so a write right after the cut still
          // succeeds once the origin has written before. Wait until a throwaway write is refused, then run.
          const t0 = Date.now();
          await until(
            async () => (await probeWrite(page)) === 'QuotaExceededError',
            'the quota cut never made an IndexedDB write fail',
            90_000,
          );
          console.log(`    quota cut effective after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
          await pick(page, valid[2]);
          await answerFor(page, valid[2].name);
          await page.getByTestId('rt-loops').fill('1');
          const before = await historyIds(page);
          await page.getByTestId('rt-start').click();
          await until(
            async () => (await page.getByTestId('rt-run').getAttribute('data-status')) === 'finished',
            'the run did not finish',
            T,
          );
          // The save follows the last loop at once: a few seconds without an error means none is coming.
          await until(
            async () => (await page.getByTestId('rt-run-error').count()) > 0,
            'no storage error shown on the finished run',
            10_000,
          );
          assert.match(await runError(page), /^storage-full: Browser storage is full: this run \(rgb16\.png\) was not saved/);
          assert.match(await bannerText(page), /^storage-full: Browser storage is full/);
          assert.deepEqual(await historyIds(page), before, 'an unsaved run appeared in the history');
        } finally {
          await cdp.send('Storage.overrideQuotaForOrigin', { origin });
          await page.evaluate(
            (name) =>
              new Promise((done) => {
                const r = indexedDB.deleteDatabase(name);
                r.onsuccess = r.onerror = r.onblocked = () => done();
              }),
            PROBE_DB,
          );
        }
      },
    );

    await step('no unexpected page error', async () => assert.deepEqual(errors, [], errors.join(' | ')));
  },
};

if (isMain(import.meta.url)) runMain('hardening-storage', [spec]);
