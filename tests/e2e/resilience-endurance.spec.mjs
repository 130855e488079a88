// Endurance (issue 9 point 6), WASM mode: ROUND_TRIPS consecutive one-loop round trips in one page, driven
// through the page's own engine client (window.__uaeEngine) and worker, with few flow steps. None may fail,
// no ORT tensor may stay alive, and memory may not grow by more than MAX_GROWTH_PCT between the first and
// the last measurement: the WebAssembly memory ORT uses (the worker's stats) and the JS memory of the isolates that
// run the app's JavaScript, the page and the engine worker (JS heap plus ArrayBuffer backing stores, read over the
// DevTools protocol after a forced garbage collection in each). ORT's thread-pool workers run no app code and sit
// in Atomics.wait, where they answer no DevTools request; their memory is the WebAssembly memory above.
// Figures are printed and written to test-results/endurance.json.
// Run alone: node tests/e2e/resilience-endurance.spec.mjs [--no-build] [--dist DIR]
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectErrors, panelBundle, until, waitLoaded } from './checks.mjs';
import { isMain, runMain } from './harness.mjs';

const T = 600_000;
export const ROUND_TRIPS = 200;
export const MAX_GROWTH_PCT = 5;
const FLOW_STEPS = 2;
/** Round trips before the baseline: one-off allocations (arena growth, lazy kernels) land before it. */
const WARMUP = 5;
/** How long a forced garbage collection or a heap reading may take in one isolate (it is quick: a bound for a hang). */
const GC_WAIT_MS = 30_000;

/**
 * Over the DevTools protocol: the JS memory of the page and its engine worker, each after a garbage collection.
 * Returns { jsHeap (bytes, both isolates), isolates: [{ type, url, usedSize, backingStorageSize }] }. Targets are
 * reached with Target.attachToTarget (not flattened) and Target.sendMessageToTarget, as Playwright's CDP session talks
 * to the page's target only.
 */
async function jsMemory(context, page) {
  const cdp = await context.newCDPSession(page);
  const pending = new Map();
  let nextId = 1;
  cdp.on('Target.receivedMessageFromTarget', ({ message }) => {
    const m = JSON.parse(message);
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  });
  const call = (sessionId, method, ms) => {
    const id = nextId++;
    const answer = new Promise((res) => pending.set(id, res));
    const timeout = new Promise((res) => setTimeout(() => res({ timedOut: true }), ms));
    return cdp
      .send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params: {} }) })
      .then(() => Promise.race([answer, timeout]));
  };
  try {
    const { targetInfos } = await cdp.send('Target.getTargets');
    const targets = targetInfos.filter(
      (t) => (t.type === 'page' && t.url === page.url()) || (t.type === 'worker' && new URL(t.url).pathname.includes('/engine.worker')),
    );
    if (targets.length !== 2)
      throw new Error(`expected the page and one engine worker, found ${JSON.stringify(targets.map((t) => t.url))}`);
    const isolates = [];
    for (const t of targets) {
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: t.targetId, flatten: false });
      const gc = await call(sessionId, 'HeapProfiler.collectGarbage', GC_WAIT_MS);
      const usage = await call(sessionId, 'Runtime.getHeapUsage', GC_WAIT_MS);
      await cdp.send('Target.detachFromTarget', { sessionId }).catch(() => {});
      if (gc.timedOut || !usage.result) throw new Error(`the ${t.type} ${t.url} did not answer: ${JSON.stringify({ gc, usage })}`);
      const { usedSize, backingStorageSize = 0 } = usage.result;
      isolates.push({ type: t.type, url: t.url, usedSize, backingStorageSize });
    }
    const jsHeap = isolates.reduce((n, i) => n + i.usedSize + i.backingStorageSize, 0);
    return { jsHeap, isolates };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** Memory now — { jsHeap, jsSource, isolates, wasm, liveTensors }. */
async function measure(context, page) {
  const stats = await page.evaluate(() => globalThis.__uaeEngine().request({ type: 'stats' }).done);
  const t0 = Date.now();
  const { jsHeap, isolates } = await jsMemory(context, page);
  const jsSource = 'DevTools Runtime.getHeapUsage, heap + backing stores of the page and the engine worker, after GC';
  console.log(`      memory read in ${Date.now() - t0} ms`);
  return { jsHeap, jsSource, isolates, wasm: stats.wasmMemoryBytes, liveTensors: stats.liveTensors };
}

/** In the page: `n` one-loop round trips of W×H images from trip `from` on; returns { ms, failures: [message] }. */
function roundTrips(page, { from, n, steps, W, H }) {
  return page.evaluate(
    async ({ from, n, steps, W, H }) => {
      const client = globalThis.__uaeEngine();
      const failures = [];
      const t0 = performance.now();
      for (let i = from; i < from + n; i++) {
        // A different image per trip (a seeded gradient): nothing is served from a cache of inputs.
        const image = new Uint8Array(W * H * 3);
        for (let p = 0; p < image.length; p++) image[p] = (p * 7 + i * 13) % 256;
        try {
          const r = await client.request({
            type: 'roundtrip',
            image,
            width: W,
            height: H,
            loops: 1,
            steps,
            seed: i,
            policy: { kind: 'greedy' },
          }).done;
          if (r.loops !== 1) failures.push(`trip ${i}: ${r.loops} loops`);
        } catch (e) {
          failures.push(`trip ${i}: ${e.code}: ${e.message}`);
        }
      }
      return { ms: performance.now() - t0, failures };
    },
    { from, n, steps, W, H },
  );
}

const mb = (b) => (b === undefined ? 'n/a' : `${(b / 2 ** 20).toFixed(2)} MB`);
const pct = (a, b) => (a && b !== undefined ? ((b - a) / a) * 100 : undefined);

async function runEndurance({ context, mode, step, root, mount, baseUrl }) {
  if (mode.name !== 'wasm') {
    console.log('      endurance runs in WASM mode only');
    return;
  }
  const bundle = panelBundle({ root, mount });
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(`${baseUrl}?${[bundle.param, 'backend=wasm'].filter(Boolean).join('&')}`, { timeout: T });
  await waitLoaded(page, bundle.id);
  await until(async () => (await page.getByTestId('backend-badge').getAttribute('data-backend')) === 'wasm', 'not on WASM', T);
  const { width: W, height: H } = JSON.parse(readFileSync(join(bundle.dir, 'manifest.json'), 'utf8')).preprocessing.image;
  const trips = (from, n) => roundTrips(page, { from, n, steps: FLOW_STEPS, W, H });

  const report = { bundle: bundle.id, roundTrips: ROUND_TRIPS, flowSteps: FLOW_STEPS, warmup: WARMUP };
  await step(
    `${ROUND_TRIPS} consecutive round trips (1 loop, ${FLOW_STEPS} flow steps): no failure, memory growth ≤ ${MAX_GROWTH_PCT}%`,
    async () => {
      const warm = await trips(0, WARMUP);
      assert.deepEqual(warm.failures, []);
      const before = await measure(context, page);
      const run = await trips(WARMUP, ROUND_TRIPS);
      const after = await measure(context, page);
      const { ms } = run;
      Object.assign(report, {
        ms,
        msPerTrip: ms / ROUND_TRIPS,
        before,
        after,
        jsHeapGrowthPct: pct(before.jsHeap, after.jsHeap),
        wasmGrowthPct: pct(before.wasm, after.wasm),
        failures: run.failures,
      });
      console.log(
        `      ${ROUND_TRIPS} round trips in ${(ms / 1000).toFixed(1)} s (${(ms / ROUND_TRIPS).toFixed(0)} ms each, after ${WARMUP} warm-up trips)`,
      );
      console.log(`      JS heap ${mb(before.jsHeap)} → ${mb(after.jsHeap)} (${report.jsHeapGrowthPct?.toFixed(2)}%; ${after.jsSource})`);
      console.log(`      WASM memory ${mb(before.wasm)} → ${mb(after.wasm)} (${report.wasmGrowthPct?.toFixed(2)}%)`);
      mkdirSync(join(root, 'test-results'), { recursive: true });
      writeFileSync(join(root, 'test-results', 'endurance.json'), `${JSON.stringify(report, null, 2)}\n`);
      assert.deepEqual(report.failures, []);
      assert.equal(after.liveTensors, 0, 'ORT tensors left alive after the round trips');
      assert.ok(before.wasm > 0, 'the worker reported no WebAssembly memory: the probe is blind');
      assert.ok(before.jsHeap > 0, 'no JS heap figure: the probe is blind');
      assert.ok(report.wasmGrowthPct <= MAX_GROWTH_PCT, `WASM memory grew ${report.wasmGrowthPct.toFixed(2)}%`);
      assert.ok(report.jsHeapGrowthPct <= MAX_GROWTH_PCT, `JS heap grew ${report.jsHeapGrowthPct.toFixed(2)}%`);
    },
  );

  await step('no uncaught errors or console errors on the page', async () => {
    assert.deepEqual(errors, []);
  });
  await page.close();
}

export const spec = { name: 'endurance', modes: ['wasm'], run: runEndurance };

if (isMain(import.meta.url)) runMain('resilience-endurance', [spec]);
