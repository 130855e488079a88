// The `bench` request through EngineHost + EngineClient over a real MessageChannel, on onnxruntime-web WASM with
// the tiny bundle: Unified-Bench and GenEval-Shapes stream one partial per batch whose rows add up to the engine's
// own run, the user's images and checkpoints run (shipped ones, and a live one from its weights as the engine runs
// them), cancel stops the worker, bad params are named.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGeneval, type GenevalVerdict } from '../../src/engine/geneval/index.ts';
import { checkpointEncoder, encoderRole, findCheckpoint, type InferContext } from '../../src/engine/infer/index.ts';
import { archFromWeights, graphWithParams, paramsFromGraph } from '../../src/engine/train/bundle-weights.ts';
import { readWeights } from '../../src/engine/train/onnx-weights.ts';
import type { DecoderParams } from '../../src/engine/train/params.ts';
import { runUnifiedBench } from '../../src/engine/unified-bench/index.ts';
import type { BenchPartial, BenchResult } from '../../src/protocol/bench.ts';
import { rasterizeScene, sampleScene } from '../../src/shapes/index.ts';
import { registerBench } from '../../src/worker/handlers/bench.ts';
import { checkpointBundle } from './checkpoint-fixture.ts';
import { engineFailure } from './engine-fixture.ts';
import { openContext, ROOT, TINY_BUNDLE } from './infer-helpers.ts';
import { connectBundle, connectMetered } from './worker-helpers.ts';

const PX = 64 * 64 * 3;
/** The shipped bundle: its decoder graphs name their initializers as the trainer does (live weights fit its cold start). */
const SHAPES = join(ROOT, 'public', 'models', 'uae-shapes');
const copyParams = (p: DecoderParams): DecoderParams => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.slice()]));
const ckptDir = checkpointBundle();
afterAll(() => rmSync(ckptDir, { recursive: true, force: true }));

/** Runs a request, collecting its partials. */
async function collect(client: Awaited<ReturnType<typeof connectBundle>>['client'], body: object) {
  const partials: BenchPartial[] = [];
  const result = (await client.request({ type: 'bench', ...body } as never, { onPartial: (p) => partials.push(p as BenchPartial) })
    .done) as BenchResult;
  return { partials, result };
}

describe('bench request', () => {
  it('Unified-Bench streams one partial per batch; together they are the engine run, and the result is it', async () => {
    const { client, host } = await connectBundle(TINY_BUNDLE, registerBench);
    const body = { benchmark: 'unified', encoder: { kind: 'role', role: 'encoder' }, reference: { kind: 'scenes', scenes: 3 } };
    const { partials, result } = await collect(client, { ...body, seed: 5, steps: 2, batch: 2 });
    expect(partials.map((p) => (p.kind === 'unified' ? [p.batch.start, p.batch.count, p.batch.total] : []))).toEqual([
      [0, 2, 3],
      [2, 1, 3],
    ]);
    const o = await openContext(TINY_BUNDLE);
    try {
      const local = await runUnifiedBench(o.ctx, { reference: { kind: 'scenes', scenes: 3 }, seed: 5, steps: 2, batch: 2 });
      const streamed = partials.flatMap((p) => (p.kind === 'unified' ? p.batch.scores.scorer : []));
      expect(streamed).toEqual(local.backbones.scorer.per_image);
      expect(partials.flatMap((p) => (p.kind === 'unified' ? p.batch.captions : []))).toEqual(local.captions);
      expect(result.benchmark === 'unified' && result.backbones).toEqual(local.backbones);
      expect(result.benchmark === 'unified' && result.overall).toBe(local.overall);
      const first = partials[0].kind === 'unified' ? partials[0].batch : null;
      expect(first?.references.length).toBe(2 * PX);
      expect(first?.reconstructions.length).toBe(2 * PX);
      // The first reference is scene 0 of seed 5, as the engine draws it.
      expect(first?.names).toEqual(['scene 0 (seed 5)', 'scene 1 (seed 5)']);
    } finally {
      await o.engine.sessions.release();
    }
    expect(result).toMatchObject({ bundleId: 'uae-tiny', encoderId: 'encoder', step: null });
    expect(host.tracker.live()).toBe(0);
  }, 60_000);

  it("runs the user's images and the reference encoder", async () => {
    const { client } = await connectBundle(TINY_BUNDLE, registerBench);
    const images = [3, 4].map((s) => ({ name: `mine-${s}.png`, rgb: rasterizeScene(sampleScene(s), 64) }));
    const { partials, result } = await collect(client, {
      benchmark: 'unified',
      encoder: { kind: 'role', role: 'referenceEncoder' },
      reference: { kind: 'images', images },
      seed: 1,
      steps: 1,
      batch: 8,
    });
    expect(partials).toHaveLength(1);
    expect(result.benchmark === 'unified' && result.images).toEqual(['mine-3.png', 'mine-4.png']);
    expect(result.encoderId).toBe('referenceEncoder');
  }, 60_000);

  it('a checkpoint captions with its own graphs, named by step', async () => {
    const { client } = await connectBundle(ckptDir, registerBench);
    const settings = { reference: { kind: 'scenes', scenes: 2 }, seed: 2, steps: 1, batch: 2 } as const;
    const { result } = await collect(client, { benchmark: 'unified', encoder: { kind: 'checkpoint', step: 16 }, ...settings });
    const o = await openContext(ckptDir);
    try {
      const encoder = checkpointEncoder(o.ctx, findCheckpoint(o.ctx.manifest, 16));
      const local = await runUnifiedBench(o.ctx, { ...settings, encoder });
      expect(result.benchmark === 'unified' && result.captions).toEqual(local.captions);
    } finally {
      await o.engine.sessions.release();
    }
    expect(result).toMatchObject({ encoderId: 'checkpoint:16', step: 16 });
    expect(result.encoderLabel).toMatch(/^checkpoint step 16 · /);
  }, 60_000);

  it('a live checkpoint captions with its weights in the cold start graph: the engine run with those weights', async () => {
    const settings = { reference: { kind: 'scenes', scenes: 2 }, seed: 3, steps: 1, batch: 2 } as const;
    const o = await openContext(SHAPES);
    let weights: DecoderParams;
    let local: Awaited<ReturnType<typeof runUnifiedBench>>;
    try {
      // Weights "trained in the page": those of the shipped step-20 checkpoint, read as the trainer holds them (float32).
      const ref = o.ctx.manifest.roles.referenceEncoder!;
      const cold = o.engine.bundle.files.get(ref.decoder)!;
      const arch = archFromWeights(readWeights(cold), ref.numHeads);
      weights = paramsFromGraph(o.engine.bundle.files.get(findCheckpoint(o.ctx.manifest, 20).encoder.decoder)!, arch);
      // The engine run with those weights: the cold start's decoder graph holding them, as the encoder's decoder.
      const session = await o.engine.sessions.createSession(graphWithParams(cold, weights, arch));
      const ctx: InferContext = {
        ...o.ctx,
        sessions: { get: (path) => (path === 'mine.onnx' ? Promise.resolve(session) : o.ctx.sessions.get(path)) },
      };
      local = await runUnifiedBench(ctx, {
        ...settings,
        encoder: { ...encoderRole(o.ctx, 'encoder'), vision: ref.vision, decoder: 'mine.onnx' },
      });
      await session.release();
    } finally {
      await o.engine.sessions.release();
    }
    const { client, host } = await connectBundle(SHAPES, registerBench);
    const live = { key: 'run-x:20', label: 'live run step 20', params: copyParams(weights) };
    const { partials, result } = await collect(client, { benchmark: 'unified', encoder: { kind: 'live', step: 20, live }, ...settings });
    expect(partials).toHaveLength(1);
    expect(result.benchmark === 'unified' && result.captions).toEqual(local.captions);
    expect(result.benchmark === 'unified' && result.backbones).toEqual(local.backbones);
    expect(result.benchmark === 'unified' && result.overall).toBe(local.overall);
    expect(result).toMatchObject({ bundleId: 'uae-shapes', encoderId: 'live:20', encoderLabel: 'live run step 20', step: 20 });
    expect(host.tracker.live()).toBe(0);

    // Weights of another bundle's decoder do not fit: refused, naming the checkpoint and the bundle.
    const tiny = await connectBundle(TINY_BUNDLE, registerBench);
    const other = { key: 'run-x:20', label: 'live run step 20', params: copyParams(weights) };
    const err = await engineFailure(
      tiny.client.request({ type: 'bench', benchmark: 'unified', encoder: { kind: 'live', step: 20, live: other }, ...settings }).done,
    );
    expect(err.code).toBe('bad-request');
    expect(err.message).toMatch(/^bench: live run step 20: the weights do not fit bundle uae-tiny \(/);
  }, 120_000);

  it("GenEval streams the checker's verdicts and images batch by batch; they are the engine run's", async () => {
    const { client, host } = await connectBundle(TINY_BUNDLE, registerBench);
    const settings = { seed: 7, promptsPerTask: 1, perPrompt: 1, steps: 1, batch: 4 };
    const { partials, result } = await collect(client, { benchmark: 'geneval', ...settings });
    expect(partials.map((p) => (p.kind === 'geneval' ? [p.batch.start, p.batch.count] : []))).toEqual([
      [0, 4],
      [4, 3],
    ]);
    const verdicts: GenevalVerdict[] = partials.flatMap((p) => (p.kind === 'geneval' ? p.batch.verdicts : []));
    for (const p of partials) if (p.kind === 'geneval') expect(p.batch.images.length).toBe(p.batch.count * PX);
    const o = await openContext(TINY_BUNDLE);
    try {
      const local = await runGeneval(o.ctx, settings);
      expect(result.benchmark === 'geneval' && result.tasks).toEqual(local.tasks);
      expect(verdicts.map((v) => v.ok)).toEqual(local.per_prompt.flatMap((r) => r.passed));
      expect(verdicts.map((v) => v.seen)).toEqual(local.per_prompt.flatMap((r) => r.seen));
      expect(verdicts.map((v) => v.task)).toEqual(local.per_prompt.map((r) => r.task));
    } finally {
      await o.engine.sessions.release();
    }
    expect(result).toMatchObject({ benchmark: 'geneval', prompts: 7, encoderId: 'decoder', bundleId: 'uae-tiny' });
    expect(host.tracker.live()).toBe(0);
  }, 60_000);

  it('a cancel after the first batch stops the worker: "cancelled", no session run after it, nothing leaked', async () => {
    const { client, host, meter } = await connectMetered(TINY_BUNDLE, registerBench);
    let batches = 0;
    const handle = client.request(
      { type: 'bench', benchmark: 'geneval', seed: 3, promptsPerTask: 2, perPrompt: 2, steps: 2, batch: 2 },
      {
        onPartial: () => {
          batches++;
          handle?.cancel();
        },
      },
    );
    expect((await engineFailure(handle.done)).code).toBe('cancelled');
    await host.idle();
    expect(meter.sinceCancel().runs).toBe(0);
    expect(batches).toBeLessThan(14);
    expect(host.tracker.live()).toBe(0);
  }, 60_000);

  it('rejects bad params with bad-request naming the field', async () => {
    const { client } = await connectBundle(TINY_BUNDLE, registerBench);
    const bad = (body: object) => engineFailure(client.request({ type: 'bench', seed: 1, steps: 1, batch: 2, ...body } as never).done);
    const scenes = (n: unknown) => ({
      benchmark: 'unified',
      encoder: { kind: 'role', role: 'encoder' },
      reference: { kind: 'scenes', scenes: n },
    });
    expect(await bad(scenes(0))).toMatchObject({ code: 'bad-request', message: 'bench: scenes must be an integer in [1, 1000], got 0' });
    expect((await bad(scenes(1001))).message).toMatch(/scenes must be an integer in \[1, 1000\], got 1001/);
    expect((await bad({ ...scenes(2), steps: 0 })).message).toMatch(/steps must be an integer/);
    const small = { name: 'tiny.png', rgb: new Uint8Array(12) };
    const images = { ...scenes(1), reference: { kind: 'images', images: [small] } };
    expect((await bad(images)).message).toMatch(/tiny\.png: rgb must be uint8 RGB of 64x64x3 bytes/);
    expect((await bad({ ...scenes(1), reference: { kind: 'images', images: [] } })).message).toMatch(/reference\.images must hold 1 to/);
    expect((await bad({ ...scenes(1), encoder: { kind: 'checkpoint', step: 3 } })).message).toMatch(/has no encoder checkpoints/);
    const live = (l: unknown, step: unknown = 2) => ({ ...scenes(1), encoder: { kind: 'live', step, live: l } });
    expect((await bad(live({ key: 'k', label: 'x', params: { w: [1, 2] } }))).message).toBe(
      'bench: encoder.live.params must hold float32 arrays by parameter name',
    );
    expect((await bad(live({ label: 'x', params: {} }))).message).toBe('bench: encoder.live must have a key and a label');
    expect((await bad(live({ key: 'k', label: 'x', params: {} }, -1))).message).toBe('bench: encoder.step must be a non-negative integer');
    expect((await bad({ benchmark: 'geneval', promptsPerTask: 1, perPrompt: 99 })).message).toMatch(
      /perPrompt must be an integer in \[1, 16\]/,
    );
    expect((await bad({ benchmark: 'other' })).message).toMatch(/benchmark must be 'unified' or 'geneval'/);
  }, 60_000);
});
