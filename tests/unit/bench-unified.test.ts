/** Unified-Bench (library and `uae bench-unified`) on the tiny bundle: it reproduces `uae eval`'s sim, reads image folders. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/cli/roundtrip.ts';
import type { BenchUnifiedJson } from '../../src/cli/bench-unified.ts';
import { runEval, type EvalMetrics } from '../../src/engine/infer/index.ts';
import { runUnifiedBench } from '../../src/engine/unified-bench/index.ts';
import { rasterizeScene, sampleScene } from '../../src/shapes/index.ts';
import { cliJson, runCli } from './cli-helpers.ts';
import { TINY_BUNDLE, useContext } from './infer-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'uae-bench-unified-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('runUnifiedBench', () => {
  const opened = useContext();

  it('scores each scene exactly as runEval does (same captions, noise and batches)', async () => {
    const { ctx } = opened();
    const settings = { seed: 5, steps: 2, batch: 2 };
    const { metrics, rows } = await runEval(ctx, { ...settings, scenes: 3, captions: { kind: 'encoder' } });
    const r = await runUnifiedBench(ctx, { ...settings, reference: { kind: 'scenes', scenes: 3 } });
    expect(Object.keys(r.backbones)).toEqual(['scorer', 'i2i', 'psnr', 'ssim']);
    expect(r.similarity).toEqual(['scorer', 'i2i']);
    expect(r.captions).toEqual(rows.map((x) => x.caption));
    expect(r.backbones.scorer.per_image).toEqual(rows.map((x) => x.sim));
    expect(r.backbones.psnr.per_image).toEqual(rows.map((x) => x.psnr));
    expect(r.backbones.ssim.per_image).toEqual(rows.map((x) => x.ssim));
    expect(r.backbones.i2i.per_image).toEqual(rows.map((x) => x.backbones.i2i));
    expect(r.backbones.scorer.mean).toBe(metrics.sim);
    expect(r.backbones.i2i.mean).toBe(metrics.sim_i2i);
    expect(r.backbones.psnr.mean).toBe(metrics.psnr);
    expect(r.overall).toBe(metrics.unified_score);
  }, 60_000);

  it('rejects images that are not at the bundle input size, naming them', async () => {
    const bad = { name: 'small.png', rgb: new Uint8Array(8 * 8 * 3) };
    await expect(runUnifiedBench(opened().ctx, { seed: 1, steps: 1, reference: { kind: 'images', images: [bad] } })).rejects.toThrow(
      /small\.png/,
    );
  });
});

describe('uae bench-unified', () => {
  it('--json reproduces uae eval --json sim, sim_i2i and unified_score, and adds PSNR and SSIM', async () => {
    const common = ['--bundle', TINY_BUNDLE, '--scenes', '3', '--seed', '5', '--steps', '2', '--batch', '2', '--json'];
    const ev = await cliJson<EvalMetrics>(['eval', ...common]);
    const doc = await cliJson<BenchUnifiedJson>(['bench-unified', ...common]);
    expect(Object.keys(doc)).toEqual(['bundle', 'encoder', 'images', 'backbones', 'overall']);
    expect(doc.bundle).toBe('uae-tiny');
    expect(doc.encoder).toBe('encoder');
    expect(doc.images).toHaveLength(3);
    expect(doc.backbones.scorer.mean).toBe(ev.sim);
    expect(doc.backbones.i2i.mean).toBe(ev.sim_i2i);
    expect(doc.backbones.psnr.mean).toBe(ev.psnr);
    expect(doc.backbones.ssim.mean).toBe(ev.ssim);
    expect(doc.overall).toBe(ev.unified_score);
    for (const b of Object.values(doc.backbones)) expect(b.per_image).toHaveLength(3);
  }, 60_000);

  it('--images reads every PNG in a folder (any size, resized) in name order', async () => {
    const dir = join(tmp, 'pngs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'b.png'), encodePng(rasterizeScene(sampleScene(7), 64), 64, 64));
    writeFileSync(join(dir, 'a.png'), encodePng(rasterizeScene(sampleScene(8), 32), 32, 32));
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    const doc = await cliJson<BenchUnifiedJson>(['bench-unified', '--bundle', TINY_BUNDLE, '--images', dir, '--steps', '1', '--json']);
    expect(doc.images).toEqual(['a.png', 'b.png']);
    expect(doc.backbones.scorer.per_image).toHaveLength(2);
    expect(doc.overall).toBeCloseTo(50 * (doc.backbones.scorer.mean + doc.backbones.i2i.mean), 4);
  }, 60_000);

  it('bad input exits 1 with a message naming the folder or file', async () => {
    const missing = join(tmp, 'nowhere');
    let r = await runCli(['bench-unified', '--bundle', TINY_BUNDLE, '--images', missing]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${missing}: no such folder`);
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'readme.md'), '# no images');
    r = await runCli(['bench-unified', '--bundle', TINY_BUNDLE, '--images', empty]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${empty}: no PNG or JPEG image`);
    const broken = join(tmp, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'ok.png'), encodePng(rasterizeScene(sampleScene(1), 64), 64, 64));
    writeFileSync(join(broken, 'torn.png'), encodePng(rasterizeScene(sampleScene(2), 64), 64, 64).subarray(0, 60));
    r = await runCli(['bench-unified', '--bundle', TINY_BUNDLE, '--images', broken, '--json']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(join(broken, 'torn.png'));
    expect(r.out).toBe('');
  }, 60_000);
});
