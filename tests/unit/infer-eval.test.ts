/** `uae eval` (library and CLI) and the round-trip loop on the tiny bundle. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { createRng, rasterizeScene, sampleScene, sceneSeed } from '../../src/shapes/index.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { EVAL_KEYS, evalKeys, roundTrip, runEval, type LoopResult } from '../../src/engine/infer/index.ts';
import { HOOK_TIMEOUT, openContext, TINY_BUNDLE, type Opened } from './infer-helpers.ts';

let o: Opened;
beforeAll(async () => {
  o = await openContext(TINY_BUNDLE);
}, HOOK_TIMEOUT);
afterAll(async () => {
  await o?.engine.sessions.release();
}, HOOK_TIMEOUT);

describe('runEval', () => {
  it('reports every metric; grammar level-4 captions score attribute precision and recall 1', async () => {
    const progress: number[] = [];
    const { metrics, rows } = await runEval(o.ctx, {
      scenes: 5,
      seed: 3,
      steps: 2,
      captions: { kind: 'level', level: 4 },
      batch: 2,
      onProgress: (d) => progress.push(d),
    });
    // The tiny bundle ships an (untrained) i2i backbone: its cosine is printed after sim and averaged into unified_score.
    expect(Object.keys(metrics)).toEqual(EVAL_KEYS.flatMap((k) => (k === 'sim' ? [k, 'sim_i2i'] : [k])));
    expect(evalKeys(metrics)).toEqual(Object.keys(metrics));
    expect(progress).toEqual([2, 4, 5]);
    expect(metrics.attr_precision).toBe(1);
    expect(metrics.attr_recall).toBe(1);
    // Level-4 captions name the background and the count, and every object they describe is in the scene.
    expect([metrics.background_named, metrics.count_named, metrics.extra_object_rate]).toEqual([1, 1, 0]);
    expect(metrics.mean_tokens).toBeCloseTo(rows.reduce((s, r) => s + r.tokens, 0) / 5, 12);
    expect(metrics.sim_i2i).toBeCloseTo(rows.reduce((s, r) => s + r.backbones.i2i, 0) / 5, 12);
    expect(metrics.unified_score).toBeCloseTo((100 * (metrics.sim + metrics.sim_i2i)) / 2, 10);
    expect(rows.map((r) => r.sceneSeed)).toEqual([0, 1, 2, 3, 4].map((i) => sceneSeed(3, i)));
    for (const r of rows) {
      expect(r.psnr).toBeGreaterThan(0);
      expect(r.psnr).toBeLessThanOrEqual(100);
      expect(Math.abs(r.ssim)).toBeLessThanOrEqual(1);
      expect(Math.abs(r.sim)).toBeLessThanOrEqual(1 + 1e-6);
      expect(Math.abs(r.backbones.i2i)).toBeLessThanOrEqual(1 + 1e-6);
    }
    expect(metrics.retrieval_top1 * 5).toBeCloseTo(Math.round(metrics.retrieval_top1 * 5), 10);
  });

  it('does not depend on the batch size', async () => {
    const a = await runEval(o.ctx, { scenes: 3, seed: 4, steps: 2, captions: { kind: 'encoder' }, batch: 3 });
    const b = await runEval(o.ctx, { scenes: 3, seed: 4, steps: 2, captions: { kind: 'encoder' }, batch: 1 });
    expect(b.rows.map((r) => r.caption)).toEqual(a.rows.map((r) => r.caption));
    for (const k of EVAL_KEYS) expect(b.metrics[k]).toBeCloseTo(a.metrics[k], 4);
    expect(o.engine.tracker.live()).toBe(0);
  });
});

describe('uae eval (CLI)', () => {
  it('--json prints one object with exactly the metric keys', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = await main(['eval', '--bundle', TINY_BUNDLE, '--scenes', '3', '--steps', '2', '--seed', '5', '--json']);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    const json = JSON.parse(out.join('')) as Record<string, number>;
    expect(Object.keys(json)).toEqual(EVAL_KEYS.flatMap((k) => (k === 'sim' ? [k, 'sim_i2i'] : [k])));
    expect(json.scenes).toBe(3);
    expect(json.seed).toBe(5);
  });

  it('rejects a bad --captions value', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['eval', '--bundle', TINY_BUNDLE, '--captions', 'level:9', '--json'])).not.toBe(0);
    } finally {
      err.mockRestore();
    }
  });
});

describe('roundTrip', () => {
  const scene = sampleScene(sceneSeed(6, 0));
  const image = rasterizeScene(scene);
  const settings = { policy: { kind: 'sample' as const, temperature: 8, topP: 1 }, steps: 2, scene };

  it('reports each loop as it finishes, chained on the previous image, reproducibly', async () => {
    const seen: number[] = [];
    const loops = await roundTrip(o.ctx, image, 3, settings, createRng(1), (r) => seen.push(r.loop));
    expect(seen).toEqual([1, 2, 3]);
    const [l1, l2] = loops;
    expect(l1.vsPrevious).toEqual(l1.vsOriginal);
    expect(l2.vsPrevious).not.toEqual(l2.vsOriginal);
    for (const l of loops) {
      expect(l.image).toHaveLength(64 * 64 * 3);
      expect(l.attr).not.toBeNull();
      expect(l.caption.tokens).toBe(l.caption.text === '' ? 0 : l.caption.text.split(' ').length);
    }
    const again = await roundTrip(o.ctx, image, 3, settings, createRng(1));
    expect(again.map((l: LoopResult) => l.caption.text)).toEqual(loops.map((l) => l.caption.text));
    expect(again.map((l) => Array.from(l.image))).toEqual(loops.map((l) => Array.from(l.image)));
    const noScene = await roundTrip(o.ctx, image, 1, { ...settings, scene: undefined }, createRng(1));
    expect(noScene[0].attr).toBeNull();
  });

  it('stops when cancelled', async () => {
    let n = 0;
    const cancel = (): void => {
      if (n >= 1) throw new EngineError('cancelled', 'cancelled');
    };
    await expect(roundTrip(o.ctx, image, 5, settings, createRng(2), () => n++, cancel)).rejects.toThrow('cancelled');
    expect(n).toBe(1);
    expect(o.engine.tracker.live()).toBe(0);
  });
});
