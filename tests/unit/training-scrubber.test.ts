// The scrubber's orchestration (app/panels/training/evaluation.ts) against a fake engine client: which image
// is evaluated (the round trip's, else the default scene), one request per uncached choice, a newer choice
// cancels the one in flight, cached results need no request, failures are kept per key, the cache is bounded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EngineError } from '../../src/engine/errors.ts';
import type { BundleManifest } from '../../src/engine/manifest.ts';
import type { CheckpointEvalParams, CheckpointEvalPartial, CheckpointEvalResult } from '../../src/protocol/checkpoint.ts';
import type { BundleSummary } from '../../src/protocol/messages.ts';
import { rasterizeScene, sampleScene } from '../../src/shapes/index.ts';
import { TINY_BUNDLE } from './infer-helpers.ts';

interface Call {
  body: CheckpointEvalParams & { type: string };
  lane?: string;
  onPartial?: (p: CheckpointEvalPartial) => void;
  resolve(r: CheckpointEvalResult): void;
  reject(e: unknown): void;
  cancelled: boolean;
}
const calls: Call[] = [];
const fakeClient = {
  request(body: Call['body'], opts: { lane?: string; onPartial?: Call['onPartial'] } = {}) {
    let resolve!: Call['resolve'];
    let reject!: Call['reject'];
    const done = new Promise<CheckpointEvalResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const call: Call = { body, lane: opts.lane, onPartial: opts.onPartial, resolve, reject, cancelled: false };
    calls.push(call);
    return {
      id: `r${calls.length}`,
      done,
      cancel: () => {
        call.cancelled = true;
        reject(new EngineError('cancelled', 'cancelled by the user'));
      },
    };
  },
};
vi.mock('../../app/engine', () => ({ engine: () => fakeClient }));
// The store mirrors its settings into the URL; Node has no location/history.
vi.stubGlobal('location', { search: '', pathname: '/', hash: '' });
vi.stubGlobal('history', { state: null, replaceState: () => undefined });

const { useStore } = await import('../../app/store/store');
const { chooseCheckpoint } = await import('../../app/panels/training/actions');
const { inputFromScene } = await import('../../app/lib/images');
const ev = await import('../../app/panels/training/evaluation');
const { initialTraining } = await import('../../app/store/trainingSlice');

const STEPS = [0, 40, 80];
const manifest = JSON.parse(readFileSync(join(TINY_BUNDLE, 'manifest.json'), 'utf8')) as BundleManifest;
manifest.roles.checkpoints = STEPS.map((step) => ({
  step,
  label: `step ${step}`,
  encoder: { vision: 'v.onnx', decoder: `d${step}.onnx` },
}));
const bundle = {
  id: 'b',
  name: 'B',
  version: '1',
  manifest,
  files: [],
  roles: ['encoder', 'referenceEncoder', 'decoder', 'scorer', 'checkpoints'],
  sessions: [],
} as unknown as BundleSummary;

function result(call: Call, tokens: number): CheckpointEvalResult {
  return {
    step: call.body.step,
    label: `step ${call.body.step}`,
    caption: 'word '.repeat(tokens).trim(),
    ids: [],
    tokens,
    truncated: false,
    image: new Uint8Array(64 * 64 * 3),
    width: 64,
    height: 64,
    fidelity: { sim: 0.5, psnr: 10, ssim: 0.2 },
    attr: null,
    released: [],
    bundleId: 'b',
    ms: 1,
  };
}

const training = () => useStore.getState().runs.training;
/** Waits until the fake client has received `n` requests (hashing the image is asynchronous). */
const requests = (n: number) => vi.waitFor(() => expect(calls).toHaveLength(n));

beforeEach(() => {
  calls.length = 0;
  ev.cancelEvaluation();
  useStore.setState((s) => ({
    config: { ...s.config, seed: 7 },
    engine: { ...s.engine, bundle, backend: { backend: 'wasm', adapter: '1 thread', requested: 'auto', wasmThreads: 1 } },
    runs: { ...s.runs, training: initialTraining, roundtrip: { ...s.runs.roundtrip, input: null } },
  }));
});

describe('scrubber evaluation', () => {
  it('without a round-trip image, evaluates the chosen checkpoint on the default scene; partials show progress and the caption', async () => {
    const running = ev.evaluateChosen();
    await requests(1);
    const [c] = calls;
    expect(c.lane).toBe('checkpoint-eval');
    expect(c.body).toMatchObject({ type: 'checkpointEval', step: 0, width: 64, height: 64, steps: manifest.defaults.flowSteps, seed: 7 });
    expect(Buffer.from(c.body.image).equals(Buffer.from(rasterizeScene(sampleScene(ev.DEFAULT_SCENE.seed), 64)))).toBe(true);
    expect(c.body.scene).toEqual(sampleScene(ev.DEFAULT_SCENE.seed));
    expect(training().evalImage?.fallback).toBe(true);
    expect(training().evalRunning).toMatchObject({ step: 0, phase: 'queued' });
    c.onPartial?.({ kind: 'phase', phase: 'caption', index: 1, total: 4 });
    c.onPartial?.({ kind: 'caption', caption: 'a red cross', ids: [5, 6, 7], tokens: 3, truncated: false });
    expect(training().evalRunning).toMatchObject({ phase: 'caption', index: 1, caption: { caption: 'a red cross', tokens: 3 } });
    c.resolve(result(c, 3));
    await running;
    const key = ev.keyFor(useStore.getState(), 0) as string;
    expect(training().evals[key]).toMatchObject({ step: 0, tokens: 3, key });
    expect(training().evals[key]).not.toHaveProperty('released');
    expect(training().evalRunning).toBeNull();
  });

  it('a newer choice cancels the evaluation in flight; a cached choice sends nothing', async () => {
    const a = ev.evaluateChosen();
    await requests(1);
    calls[0].resolve(result(calls[0], 2));
    await a;
    chooseCheckpoint(1);
    const b = ev.evaluateChosen();
    await requests(2);
    chooseCheckpoint(2);
    const c = ev.evaluateChosen();
    await requests(3);
    expect(calls.map((x) => x.body.step)).toEqual([0, 40, 80]);
    expect(calls[1].cancelled).toBe(true);
    await b;
    expect(training().evalError).toBeNull();
    expect(training().evalRunning?.step).toBe(80);
    chooseCheckpoint(0);
    await ev.evaluateChosen();
    expect(calls).toHaveLength(3);
    expect(calls[2].cancelled).toBe(true);
    await c;
    expect(training().evalRunning).toBeNull();
    expect(Object.values(training().evals).map((v) => v.step)).toEqual([0]);
  });

  it("evaluates on the round trip's image when it has the bundle's size, under its own cache key", async () => {
    const first = ev.evaluateChosen();
    await requests(1);
    calls[0].resolve(result(calls[0], 2));
    await first;
    const fallbackKey = ev.keyFor(useStore.getState(), 0);
    const input = inputFromScene(3754245108, 'gallery', 'gallery scene 2025-5', 64, 64);
    useStore.setState((s) => ({ runs: { ...s.runs, roundtrip: { ...s.runs.roundtrip, input } } }));
    const second = ev.evaluateChosen();
    await requests(2);
    expect(Buffer.from(calls[1].body.image).equals(Buffer.from(input.modelView))).toBe(true);
    expect(training().evalImage).toMatchObject({ fallback: false, input });
    expect(ev.keyFor(useStore.getState(), 0)).not.toBe(fallbackKey);
    calls[1].reject(new EngineError('run-failed', 'decoder.transformer: out of memory'));
    await second;
    expect(training().evalError).toEqual({
      key: ev.keyFor(useStore.getState(), 0),
      error: { code: 'run-failed', message: 'decoder.transformer: out of memory' },
    });
  });

  it('keys name everything a result depends on; the cache drops the oldest beyond its size', () => {
    const parts = { bundle: 'b@1', backend: 'wasm', image: 'abc', seed: 1, flowSteps: 12, step: 40 };
    const keys = new Set([
      ev.evalKey(parts),
      ev.evalKey({ ...parts, backend: 'webgpu' }),
      ev.evalKey({ ...parts, image: 'abd' }),
      ev.evalKey({ ...parts, seed: 2 }),
      ev.evalKey({ ...parts, flowSteps: 4 }),
      ev.evalKey({ ...parts, step: 80 }),
      ev.evalKey({ ...parts, bundle: 'b@2' }),
    ]);
    expect(keys.size).toBe(7);
    const view = (key: string) => ({ key }) as never;
    let cache = { evals: {}, evalOrder: [] as string[] };
    for (const k of ['a', 'b', 'c', 'a', 'd']) cache = ev.addToCache(cache.evals, cache.evalOrder, view(k), 3);
    expect(cache.evalOrder).toEqual(['c', 'a', 'd']);
    expect(Object.keys(cache.evals).sort()).toEqual(['a', 'c', 'd']);
  });
});
