// Round-trip E2E specs: on WASM in their runner; their WebGPU checks run in the shared WebGPU pass (webgpu.spec.mjs).
// Captions of the test bundle are garbage (random weights), so the checks are about structure, counts, the order
// in which points arrive, storage, and equality with the CLI on the same scene and seed — never about what a
// caption says.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { collectErrors, fail, openTab, panelBundle, specPage, tickProblems, until as poll } from './checks.mjs';
import { pngBytes, solidPng, splitPng, SPLIT } from './roundtrip-images.mjs';

const T = 600_000;
/** Polls with the round trip's generous limit (SwiftShader WebGPU on a shared 2-core machine). */
const until = (fn, message, timeout = T) => poll(fn, message, timeout);
/** Browser-vs-CLI tolerances (WebGPU / WASM in the page vs WASM in Node; same code, other float kernels). */
export const PARITY = { sim: 2e-3, psnr: 0.1, ssim: 2e-3 };

/** Points in both charts of the run on screen: {fidelity, length, status} (4 series in the fidelity chart). */
function points(page, scope = '[data-testid="rt-run"]') {
  return page.evaluate((sel) => {
    const run = document.querySelector(sel);
    const n = (chart) => run?.querySelectorAll(`[data-testid="${chart}"] .recharts-line-dot`).length ?? 0;
    return { fidelity: n('rt-chart-fidelity') / 4, length: n('rt-chart-length'), status: run?.getAttribute('data-status') ?? null };
  }, scope);
}

/** Starts recording, in the page, every change of the run's chart points and status (window.__rtPoints). */
function recordPointsInPage(page) {
  return page.evaluate(() => {
    const log = [];
    window.__rtPoints = log;
    let last = '';
    const read = () => {
      const run = document.querySelector('[data-testid="rt-run"]');
      const n = (chart) => run?.querySelectorAll(`[data-testid="${chart}"] .recharts-line-dot`).length ?? 0;
      const p = { fidelity: n('rt-chart-fidelity') / 4, length: n('rt-chart-length'), status: run?.getAttribute('data-status') ?? null };
      const key = JSON.stringify(p);
      if (key !== last) {
        last = key;
        log.push({ t: performance.now(), ...p });
      }
    };
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

/**
 * Starts recording, in the page, every state the running loop's frame goes through (window.__rtLive): the loop,
 * phase, token count, flow step, caption so far, status line, whether a preview is drawn, how many loops are done.
 */
function recordLiveInPage(page) {
  return page.evaluate(() => {
    const log = [];
    window.__rtLive = log;
    let last = '';
    const read = () => {
      const run = document.querySelector('[data-testid="rt-run"]');
      const live = run?.querySelector('[data-testid="rt-live"]');
      const state = {
        done: run?.querySelectorAll('[data-testid="rt-caption"]').length ?? 0,
        loop: live ? Number(live.getAttribute('data-loop')) : null,
        phase: live?.getAttribute('data-phase') ?? null,
        tokens: Number(live?.getAttribute('data-tokens') ?? 0),
        step: Number(live?.getAttribute('data-step') ?? 0),
        caption: live?.querySelector('[data-testid="rt-live-caption"]')?.textContent ?? '',
        status: live?.querySelector('[data-testid="rt-live-status"]')?.textContent ?? '',
        preview: Boolean(live?.querySelector('[data-testid="rt-live-preview"]')),
        label: run?.querySelector('[data-testid="rt-progress-label"]')?.textContent ?? null,
      };
      const key = JSON.stringify(state);
      if (key !== last) {
        last = key;
        log.push(state);
      }
    };
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
}

/** Asserts the filmstrip's last frame lies inside the round-trip panel (nothing cut at its edge); `box` from lastFrameBox. */
function assertFrameInside(box, what) {
  assert.ok(box, `${what}: no filmstrip`);
  const { frame, panel, frames } = box;
  const inside = frame.left >= panel.left - 0.5 && frame.right <= panel.right + 0.5 && frame.bottom <= panel.bottom + 0.5;
  const where = `${frame.left}…${frame.right} px, panel ${panel.left}…${panel.right} px`;
  assert.ok(inside, `${what}: the last of ${frames} filmstrip frames is not inside the panel (${where})`);
}

/** In the page: the boxes of the filmstrip's last frame and of the round-trip panel (a function, so it can run inside observers). */
const LAST_FRAME_BOX = `() => {
  const frames = document.querySelectorAll('[data-testid="rt-run"] [data-testid="rt-filmstrip"] > li');
  const panel = document.querySelector('[data-testid="roundtrip-panel"]')?.getBoundingClientRect();
  const last = frames[frames.length - 1]?.getBoundingClientRect();
  if (!panel || !last) return null;
  const box = (r) => ({ left: r.left, right: r.right, top: r.top, bottom: r.bottom });
  return { frame: box(last), panel: box(panel), frames: frames.length };
}`;

async function dispatchFile(page, target, type, file) {
  const dt = await page.evaluateHandle(
    ({ name, bytes }) => {
      const d = new DataTransfer();
      d.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/png' }));
      return d;
    },
    { name: file.name, bytes: [...file.bytes] },
  );
  if (type === 'drop') {
    await page.locator(target).dispatchEvent('dragover', { dataTransfer: dt });
    await page.locator(target).dispatchEvent('drop', { dataTransfer: dt });
  } else {
    await page.evaluate((d) => document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: d, bubbles: true })), dt);
  }
}

async function inputKind(page, kind, label) {
  await page.locator(`[data-testid="rt-input"][data-kind="${kind}"]`).waitFor({ timeout: 60_000 });
  const text = await page.getByTestId('rt-input-label').textContent();
  assert.ok(text.includes(label), `input label "${text}" lacks "${label}"`);
}

/** Returns the model-view canvas pixels as RGB bytes. */
function modelViewRgb(page) {
  return page.getByTestId('rt-model-view').evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return Array.from({ length: c.width * c.height * 3 }, (_, i) => d[Math.floor(i / 3) * 4 + (i % 3)]);
  });
}

/** Runs the loop to the end while sampling chart points; returns the samples. */
async function runSampling(page) {
  await page.locator('[data-testid="rt-start"]:not([disabled])').waitFor({ timeout: T });
  await page.getByTestId('rt-start').click();
  const samples = [];
  await until(async () => {
    const p = await points(page);
    samples.push({ t: Date.now(), ...p });
    if (p.status === 'failed') throw fail(`run failed: ${await page.getByTestId('rt-run-error').textContent()}`);
    return p.status === 'finished';
  }, 'run did not finish');
  return samples;
}

/** Runs every round-trip step on a fresh page (later steps build on earlier ones). ctx: see harness.mjs. */
async function runRoundTripSpecs(ctx) {
  const { context, baseUrl, mode, step, shot, root } = ctx;
  const bundle = panelBundle(ctx);
  console.log(`      bundle: ${bundle.name} (${bundle.dir})`);
  // Alone: a fresh page from a link. In the shared WebGPU pass: the page the app suite loaded, with the steps set in
  // the panel (checks.mjs specPage).
  const { page, shared, close } = await specPage(ctx);
  page.setDefaultTimeout(T);
  const errors = collectErrors(page);
  const tmp = mkdtempSync(join(tmpdir(), 'uae-rt-e2e-'));
  const url = `${baseUrl}?${[bundle.param, 'rt-steps=2'].filter(Boolean).join('&')}`;
  const opening = shared
    ? "the round trip tab shows the gallery's first scene, ready once the bundle loaded (not in the URL)"
    : "the app opens on the round trip, the gallery's first scene ready once the bundle loaded (not in the URL)";

  await step(opening, async () => {
    if (shared) {
      assert.equal(bundle.param, '', 'the shared WebGPU pass runs on the default bundle');
      await openTab(page, 'roundtrip', 'roundtrip-panel');
      await page.getByTestId('rt-steps').fill('2');
    } else {
      await page.goto(url);
      await page.getByTestId('roundtrip-panel').waitFor();
      assert.equal(await page.getByTestId('tab-roundtrip').getAttribute('aria-selected'), 'true', 'the app did not open on the round trip');
    }
    await until(
      async () => (await page.getByTestId('bundle-badge').textContent()).includes(bundle.name),
      `bundle ${bundle.name} not loaded`,
    );
    assert.equal(await page.getByTestId('rt-missing-roles').count(), 0, 'bundle reported as unable to round-trip');
    const gallery = JSON.parse(readFileSync(join(root, 'public', 'gallery', 'index.json'), 'utf8')).scenes;
    await inputKind(page, 'gallery', `gallery scene ${gallery[0].id}`);
    await page.locator('[data-testid="rt-start"]:not([disabled])').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('rt-scene'), null, `the preselected scene went into the URL: ${page.url()}`);
    assert.equal(await page.getByTestId('rt-backend').count(), 0, "the panel repeats the header's backend select");
    for (const id of ['rt-original', 'rt-model-view']) {
      const width = await page.getByTestId(id).evaluate((c) => c.getBoundingClientRect().width);
      assert.ok(width >= 192, `${id} is drawn ${width} px wide, not ≥ 192`);
    }
    // The bundle choice shows the chosen bundle's whole name (in one grid column it read "UAE Shapes (refe").
    const fit = await page.getByTestId('rt-bundle').evaluate((sel) => {
      const st = getComputedStyle(sel);
      const ctx2d = document.createElement('canvas').getContext('2d');
      ctx2d.font = `${st.fontWeight} ${st.fontSize} ${st.fontFamily}`;
      const text = sel.selectedOptions[0]?.textContent ?? '';
      const room = sel.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight) - 16; // 16: the arrow
      return { text, need: ctx2d.measureText(text).width, room };
    });
    assert.ok(fit.text.length > 0 && fit.need <= fit.room, `the bundle choice cuts "${fit.text}": ${fit.need} px in ${fit.room}`);
  });

  await step('an image through the file input: shown with its cover-cropped 64x64 model view and the policy', async () => {
    const file = join(tmp, 'halves.png');
    splitPng(file);
    await page.getByTestId('rt-file-input').setInputFiles(file);
    await inputKind(page, 'file', 'halves.png');
    const policy = await page.getByTestId('rt-resize-policy').textContent();
    assert.match(policy, /cover: 128×64 kept at scale 1 so the short side is 64 px, centre-cropped to 64×64/);
    assert.deepEqual(await modelViewRgb(page), [...SPLIT.expected], 'model view is not the centre crop of the halves image');
    assert.equal(await page.getByTestId('rt-original').getAttribute('width'), '128');
  });

  await step('an image by a drop event on the panel', async () => {
    await dispatchFile(page, '[data-testid="roundtrip-panel"]', 'drop', {
      name: 'dropped-green.png',
      bytes: pngBytes(solidPng(40, 40, [0, 160, 0])),
    });
    await inputKind(page, 'drop', 'dropped-green.png');
    const rgb = await modelViewRgb(page);
    assert.ok(
      rgb.every((v, i) => v === [0, 160, 0][i % 3]),
      'dropped solid image should give a solid model view',
    );
  });

  const paste = { name: 'scene-00.png', bytes: readFileSync(join(root, 'public', 'gallery', 'scene-00.png')) };
  // WASM only: pasting and the charts' streaming are the UI's, the same on either backend; the WebGPU pass runs the
  // CLI comparison below, which is what only it can show.
  if (mode.name === 'wasm')
    await step('an image by a paste event; 3 loops: each chart gains its points one after another', async () => {
      await dispatchFile(page, null, 'paste', paste);
      await inputKind(page, 'paste', 'scene-00.png');
      assert.equal(await page.getByTestId('rt-loops').inputValue(), '3');
      let shotTaken = false;
      await page.locator('[data-testid="rt-start"]:not([disabled])').waitFor();
      await recordPointsInPage(page);
      await recordLiveInPage(page);
      await page.getByTestId('rt-start').click();
      await until(async () => {
        const p = await points(page);
        if (!shotTaken && p.fidelity >= 1 && p.status === 'running') {
          shotTaken = true;
          await shot(page, 'roundtrip-running');
        }
        if (p.status === 'failed') throw fail(`run failed: ${await page.getByTestId('rt-run-error').textContent()}`);
        return p.status === 'finished';
      }, 'run did not finish');
      // Every DOM state the charts went through, recorded in the page (polling from here can miss fast loops).
      const log = await page.evaluate(() => window.__rtPoints);
      for (const chart of ['fidelity', 'length']) {
        const seq = log.map((s) => s[chart]).filter((n, i, a) => i === 0 || n !== a[i - 1]);
        assert.deepEqual(seq, [0, 1, 2, 3], `${chart} chart points went ${JSON.stringify(seq)}, not 0 → 1 → 2 → 3`);
        const first = (n) => log.find((s) => s[chart] === n);
        for (const n of [1, 2])
          assert.equal(first(n).status, 'running', `${chart}: point ${n} appeared only when the run was ${first(n).status}`);
        assert.ok(first(1).t < first(2).t && first(2).t < first(3).t, `${chart}: points not one after another`);
      }
      console.log(
        `      points appeared at ${[1, 2, 3].map((n) => `${Math.round(log.find((s) => s.fidelity === n).t - log[0].t)} ms`).join(', ')} after the run started`,
      );
      // Inside each loop the running frame streamed: the caption as it grew, then flow steps with a preview, all
      // before that loop's own partial arrived (done < loop), with the fine-grained progress line above.
      const live = (await page.evaluate(() => window.__rtLive)).filter((l) => l.loop !== null && l.done < l.loop);
      const captioning = live.filter((l) => l.phase === 'caption' && l.tokens >= 1 && l.caption.replace(/[“”]/g, '').trim().length > 0);
      const flowing = live.filter((l) => l.phase === 'flow' && l.step >= 1);
      assert.ok(captioning.length > 0, `no partial caption seen in the running frame: ${JSON.stringify(live.slice(0, 6))}`);
      assert.ok(flowing.length > 0, `no flow step seen in the running frame: ${JSON.stringify(live.slice(0, 6))}`);
      assert.ok(
        flowing.some((l) => l.preview),
        'no preview image seen in the running frame',
      );
      for (const l of captioning) {
        assert.match(l.label, new RegExp(`^loop ${l.loop}/3 · caption ${l.tokens} tokens?$`), `progress line "${l.label}"`);
        assert.match(l.status, /caption \d+ tokens?…/);
      }
      for (const l of flowing) {
        assert.match(l.label, new RegExp(`^loop ${l.loop}/3 · flow step ${l.step}/2$`), `progress line "${l.label}"`);
        assert.match(l.status, new RegExp(`flow step ${l.step}/2`));
      }
      const loopsSeen = new Set(live.map((l) => l.loop)).size;
      console.log(`      running frame: ${captioning.length} caption states, ${flowing.length} flow-step states over ${loopsSeen} loops`);
      const run = page.getByTestId('rt-run');
      assert.equal(await run.getByTestId('rt-caption').count(), 3, 'three captions');
      assert.equal(await run.getByTestId('rt-live').count(), 0, 'a finished run still shows a running frame');
      assertFrameInside(await page.evaluate(`(${LAST_FRAME_BOX})()`), 'finished 3-loop run');
      // Loop 1's previous image is the original: it says so instead of repeating the scores.
      const vsPrevious = await run.getByTestId('rt-vs-previous').allTextContents();
      assert.equal(vsPrevious[0].trim(), 'vs previous: = original');
      assert.match(vsPrevious[1], /^vs previous: sim /);
      const frame1 = await run.getByTestId('rt-frame-1').textContent();
      assert.equal(frame1.match(/vs previous/g).length, 1, 'loop 1 shows vs previous twice');
      for (const t of await run.getByTestId('rt-caption').evaluateAll((els) => els.map((e) => e.getAttribute('data-tokens'))))
        assert.match(t, /^\d+$/);
      const drawn = await run.getByTestId('rt-loop-image').evaluateAll((cs) =>
        cs.map((c) => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          return [c.width, c.height, d.some((v, i) => i % 4 !== 3 && v !== 0)];
        }),
      );
      assert.deepEqual(
        drawn,
        [
          [64, 64, true],
          [64, 64, true],
          [64, 64, true],
        ],
        'three drawn 64x64 reconstructions',
      );
      assert.equal(await run.getByTestId('rt-attr').count(), 0, 'a pasted file has no attribute scores');
      const settings = await run.textContent();
      assert.ok(settings.includes(mode.expect === 'webgpu' ? 'WebGPU' : 'WASM'), `run not on ${mode.expect}: ${settings.slice(0, 200)}`);
      // Nice ticks on both charts (0 / 0.2 / 0.4 …, never 0.3 / 0.8; dB and token axes alike), no empty-chart note.
      for (const id of ['rt-chart-fidelity', 'rt-chart-length']) assert.deepEqual(await tickProblems(page, id), [], `${id} ticks`);
      assert.equal(await run.getByTestId('rt-chart-empty').count(), 0, 'a chart with points still says it is empty');
      await shot(page, 'roundtrip-finished');
    });

  const SEED = 5;
  let scene;
  await step('same scene and seed in the browser and the CLI: same captions, metrics within tolerance', async () => {
    await page.getByTestId('rt-gallery-toggle').click();
    await page.getByTestId('rt-gallery-2025-3').click();
    await inputKind(page, 'gallery', 'gallery scene 2025-3');
    await page.getByTestId('rt-loops').fill('2');
    await page.getByTestId('rt-decoding').selectOption('sample');
    await page.getByTestId('rt-temperature').fill('1.2');
    await page.getByTestId('rt-seed').fill(String(SEED));
    scene = Number(new URL(page.url()).searchParams.get('rt-scene'));
    assert.ok(scene > 0, `URL lacks rt-scene: ${page.url()}`);
    await runSampling(page);
    const download = page.waitForEvent('download');
    await page.getByTestId('rt-export-json').click();
    const browser = JSON.parse(readFileSync(await (await download).path(), 'utf8'));
    assert.equal(browser.format, 'uae-roundtrip-run/1');
    assert.deepEqual(browser.settings, { loops: 2, policy: { kind: 'sample', temperature: 1.2, topP: 1 }, steps: 2, seed: SEED });
    const cli = spawnSync(
      process.execPath,
      [
        join(root, 'bin', 'uae.mjs'),
        'roundtrip',
        '--scene',
        String(scene),
        '--seed',
        String(SEED),
        '--loops',
        '2',
        '--steps',
        '2',
        '--temperature',
        '1.2',
        '--bundle',
        bundle.dir,
        '--json',
      ],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(cli.status, 0, cli.stderr);
    const doc = JSON.parse(cli.stdout);
    assert.deepEqual(
      browser.loops.map((l) => l.caption),
      doc.loops.map((l) => l.caption),
      'captions differ between browser and CLI',
    );
    const deltas = { sim: 0, psnr: 0, ssim: 0 };
    doc.loops.forEach((c, i) => {
      for (const k of Object.keys(deltas)) deltas[k] = Math.max(deltas[k], Math.abs(c[k] - browser.loops[i][k]));
      assert.ok(browser.loops[i].attr && c.attr, 'a gallery scene has attribute scores in both');
      assert.ok(Math.abs(c.attr.f1 - browser.loops[i].attr.f1) < 1e-9, 'attribute F1 differs (same captions must score the same)');
    });
    console.log(
      `      browser vs CLI max |Δ|: sim ${deltas.sim.toExponential(2)}, PSNR ${deltas.psnr.toExponential(2)} dB, SSIM ${deltas.ssim.toExponential(2)}`,
    );
    for (const k of Object.keys(deltas)) assert.ok(deltas[k] <= PARITY[k], `${k} differs by ${deltas[k]} > ${PARITY[k]}`);
    for (const l of browser.loops) assert.match(l.image, /^data:image\/png;base64,/);
  });

  if (mode.expect === 'webgpu')
    await step('on WebGPU the key/value caches stayed on the GPU between steps, and every kept tensor was released', async () => {
      // The same captions and metrics as the CLI (the step above) came from runs fed their caches as GPU buffers.
      const stats = await page.evaluate(() => globalThis.__uaeEngine().request({ type: 'stats' }).done);
      console.log(`      run outputs kept on the GPU so far: ${stats.deviceKeptTensors}; ORT tensors alive: ${stats.liveTensors}`);
      assert.ok(stats.deviceKeptTensors > 0, 'no key/value cache was kept on the GPU');
      assert.equal(stats.liveTensors, 0, 'ORT tensors (GPU caches among them) left alive after the runs');
    });

  await step('export as a PNG contact sheet', async () => {
    const download = page.waitForEvent('download');
    await page.getByTestId('rt-export-png').click();
    const png = PNG.sync.read(readFileSync(await (await download).path()));
    assert.ok(png.width >= 4 * 160 && png.height > 200, `contact sheet ${png.width}x${png.height}`);
  });

  // WASM only: the link is the UI's, the same on either backend (a second page would compile the WebGPU shaders again).
  if (mode.name === 'wasm')
    await step('the URL carries the settings: a fresh page from the link restores them and the scene', async () => {
      const link = page.url();
      for (const [k, v] of [
        ['rt-loops', '2'],
        ['rt-decode', 'sample'],
        ['rt-temp', '1.2'],
        ['rt-steps', '2'],
        ['seed', String(SEED)],
        ['rt-scene', String(scene)],
      ]) {
        assert.equal(new URL(link).searchParams.get(k), v, `${k} in ${link}`);
      }
      const other = await context.newPage();
      try {
        await other.goto(link);
        await other.locator('[data-testid="rt-input"][data-kind="link"]').waitFor({ timeout: 60_000 });
        assert.equal(await other.getByTestId('rt-loops').inputValue(), '2');
        assert.equal(await other.getByTestId('rt-temperature').inputValue(), '1.2');
        assert.equal(await other.getByTestId('rt-seed').inputValue(), String(SEED));
      } finally {
        await other.close();
      }
    });

  await step('cancel stops a run: status cancelled, the run is not stored; 21 frames while running stay inside the panel', async () => {
    await page.getByTestId('rt-loops').fill('20');
    await page.evaluate(`window.__lastFrameBox = ${LAST_FRAME_BOX}`);
    // Click Cancel from the page the moment the first point is drawn (a poll from here could come too late).
    await page.evaluate(() => {
      const obs = new MutationObserver(() => {
        if (
          document.querySelectorAll('[data-testid="rt-run"][data-status="running"] [data-testid="rt-chart-length"] .recharts-line-dot')
            .length >= 1
        ) {
          obs.disconnect();
          window.__rtStripBox = window.__lastFrameBox();
          document.querySelector('[data-testid="rt-cancel"]')?.click();
        }
      });
      obs.observe(document.body, { subtree: true, childList: true });
    });
    await page.getByTestId('rt-start').click();
    await until(async () => (await points(page)).status === 'cancelled', 'run not shown as cancelled');
    const after = (await points(page)).fidelity;
    assert.ok(after >= 1 && after < 20, `cancelled after ${after} of 20 loops`);
    const box = await page.evaluate(() => window.__rtStripBox);
    assert.equal(box?.frames, 21, 'the running 20-loop filmstrip does not show the input and 20 frames');
    assertFrameInside(box, 'running 20-loop run');
    assert.equal(await page.getByTestId('rt-export-json').isDisabled(), true, 'a cancelled run offers an export');
  });

  // WASM only: it reopens the pasted run above.
  if (mode.name === 'wasm')
    await step('runs survive a reload: both listed, one opens, two compare side by side', async () => {
      await page.reload();
      await page.getByTestId('roundtrip-panel').waitFor();
      await until(async () => (await page.getByTestId('rt-history-item').count()) === 2, 'stored runs after reload are not 2');
      const titles = await page.getByTestId('rt-history-item').locator('strong').allTextContents();
      assert.deepEqual(titles, ['gallery scene 2025-3', 'scene-00.png'], `history: ${titles}`);
      await page.getByTestId('rt-open').nth(1).click();
      await page.locator('[data-testid="rt-run"][data-status="finished"]').waitFor();
      assert.equal(await page.getByTestId('rt-run').getByTestId('rt-caption').count(), 3, 'the opened run has its 3 loops');
      // recharts draws the dots after the run is shown (a fast machine looks before)
      const dots = page.locator('[data-testid="rt-run"] [data-testid="rt-chart-fidelity"] .recharts-line-dot');
      await until(async () => (await dots.count()) === 12, "the opened run's fidelity chart does not have its 12 dots");
      const ticks = page.getByTestId('rt-compare-tick');
      await ticks.nth(0).check();
      await ticks.nth(1).check();
      await page.getByTestId('rt-compare').waitFor();
      assert.equal(await page.getByTestId('rt-compare-a').getByTestId('rt-caption').count(), 2);
      assert.equal(await page.getByTestId('rt-compare-b').getByTestId('rt-caption').count(), 3);
    });

  await step('no uncaught errors or console errors on the page', async () => {
    assert.deepEqual(errors, []);
  });
  await close();
  rmSync(tmp, { recursive: true, force: true });
}

/** WASM alone in its runner; its WebGPU checks run in the shared WebGPU pass (webgpu.spec.mjs). */
export const spec = { name: 'roundtrip', modes: ['wasm'], run: runRoundTripSpecs };
