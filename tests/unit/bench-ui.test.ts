// The Bench tab's pure parts on the tiny bundle: the form → requests (every bad field named), the numbers folded
// batch by batch equal the engine's result once every batch is in, the worst cases, and the CSV/JSON exports; the live
// run's checkpoints as choices (its own bundle only), its rows labelled and on a step-chart line of their own.
import { describe, expect, it } from 'vitest';
import { runGeneval, type GenevalBatch } from '../../src/engine/geneval/index.ts';
import { PIXEL_BACKBONES, runUnifiedBench, type UnifiedBenchBatch } from '../../src/engine/unified-bench/index.ts';
import {
  benchCsv,
  benchJson,
  genevalScores,
  genevalWorst,
  GENEVAL_WORST_PER_TASK,
  unifiedRows,
  unifiedScores,
  stepSeries,
  unifiedWorst,
  UNIFIED_WORST,
} from '../../app/panels/bench/derive.ts';
import { benchJobs, encoderOptions, liveFor } from '../../app/panels/bench/form.ts';
import { parseQuery, sanitizeGroup, writeQuery } from '../../app/store/url.ts';
import { DEFAULT_BENCH_FORM, type BenchCase, type BenchEntry, type BenchGenevalRow } from '../../app/store/benchSlice.ts';
import { useContext } from './infer-helpers.ts';

function entry(fields: Partial<BenchEntry>): BenchEntry {
  return {
    id: 'e1',
    benchmark: 'unified',
    status: 'finished',
    startedAt: 0,
    bundleId: 'uae-tiny',
    encoderId: 'encoder',
    encoderLabel: 'encoder',
    step: null,
    reference: '5 Shapes scenes (seed 5)',
    seed: 5,
    steps: 2,
    batch: 2,
    backend: 'WASM · 1 thread',
    width: 64,
    height: 64,
    done: 0,
    total: 0,
    unified: [],
    backbones: [],
    similarity: [],
    geneval: [],
    worst: [],
    ms: null,
    error: null,
    ...fields,
  };
}

describe('bench form', () => {
  const opened = useContext();

  it('asks for one Unified-Bench request per chosen encoder and one GenEval request', () => {
    const m = opened().ctx.manifest;
    expect(encoderOptions(m).map((o) => o.id)).toEqual(['encoder', 'referenceEncoder']);
    const form = { ...DEFAULT_BENCH_FORM, encoders: ['encoder', 'referenceEncoder'], scenes: 4, steps: 3 };
    const r = benchJobs(form, m, null);
    if ('error' in r) throw new Error(r.error);
    expect(r.jobs.map((j) => [j.params.benchmark, j.encoderId, j.reference])).toEqual([
      ['unified', 'encoder', '4 Shapes scenes (seed 2)'],
      ['unified', 'referenceEncoder', '4 Shapes scenes (seed 2)'],
      ['geneval', 'decoder', '105 prompts × 1 (seed 100)'],
    ]);
    expect(r.jobs.every((j) => j.params.steps === 3 && j.params.batch === 16)).toBe(true);
    // No steps typed: the bundle's own.
    const d = benchJobs({ ...DEFAULT_BENCH_FORM, steps: null }, m, null);
    expect('jobs' in d && d.jobs[0].params.steps).toBe(m.defaults.flowSteps);
  });

  it('names the bad field and its range', () => {
    const m = opened().ctx.manifest;
    const err = (fields: object) => {
      const r = benchJobs({ ...DEFAULT_BENCH_FORM, ...fields }, m, null);
      return 'error' in r ? r.error : null;
    };
    expect(err({ scenes: 0 })).toBe('Scenes must be a whole number from 1 to 1000 (got 0).');
    expect(err({ scenes: 2.5 })).toBe('Scenes must be a whole number from 1 to 1000 (got 2.5).');
    expect(err({ scenes: NaN })).toBe('Scenes must be a whole number from 1 to 1000 (got nothing).');
    expect(err({ perPrompt: 17 })).toBe('Images per prompt must be a whole number from 1 to 16 (got 17).');
    expect(err({ batch: 0 })).toMatch(/^Batch \(images per session run\) must be/);
    expect(err({ unified: false, geneval: false })).toMatch(/^Choose a benchmark/);
    expect(err({ encoders: [] })).toMatch(/^Choose at least one encoder or checkpoint of uae-tiny/);
    expect(err({ encoders: ['checkpoint:40'] })).toMatch(/^Choose at least one encoder/);
    expect(err({ reference: 'folder' })).toMatch(/^Choose or drop a folder of images/);
    const folder = { label: 'mine', images: [], width: 32, height: 32, skipped: [] };
    expect(benchJobs({ ...DEFAULT_BENCH_FORM, reference: 'folder' }, m, folder)).toEqual({
      error: 'The folder mine was read at 32×32; this bundle takes 64×64: choose it again.',
    });
  });
});

describe('bench form: the live run', () => {
  const opened = useContext();
  const run = { id: 'live-abc', bundleKey: 'uae-tiny@0.0.1', checkpoints: [3, 1] };

  it("lists the stored live run's checkpoints after the bundle's own, and plans them as live requests", () => {
    const m = opened().ctx.manifest;
    const key = `${m.id}@${m.version}`;
    const mine = { ...run, bundleKey: key };
    expect(liveFor(mine, key)).toEqual({ run: mine, other: null });
    const options = encoderOptions(m, liveFor(mine, key).run);
    expect(options.map((o) => [o.id, o.label])).toEqual([
      ['encoder', 'encoder (the bundle’s)'],
      ['referenceEncoder', 'referenceEncoder (frozen cold start)'],
      ['live:1', 'live run step 1'],
      ['live:3', 'live run step 3'],
    ]);
    const r = benchJobs({ ...DEFAULT_BENCH_FORM, geneval: false, encoders: ['encoder', 'live:3'] }, m, null, mine);
    if ('error' in r) throw new Error(r.error);
    expect(r.jobs.map((j) => [j.encoderId, j.encoderLabel, j.step, j.liveRun])).toEqual([
      ['encoder', 'encoder', null, undefined],
      ['live:3', 'live run step 3', 3, 'live-abc'],
    ]);
    expect(r.jobs[1].params).toMatchObject({ benchmark: 'unified', encoder: { kind: 'live', step: 3, runId: 'live-abc' } });
  });

  it('lists nothing extra without a live run, or for a run with no checkpoint, and names the bundle a run of another trains', () => {
    const m = opened().ctx.manifest;
    const key = `${m.id}@${m.version}`;
    expect(liveFor(null, key)).toEqual({ run: null, other: null });
    expect(liveFor({ ...run, bundleKey: key, checkpoints: [] }, key)).toEqual({ run: null, other: null });
    const foreign = { ...run, bundleKey: 'uae-shapes@1.0.0' };
    expect(liveFor(foreign, key)).toEqual({ run: null, other: 'uae-shapes@1.0.0' });
    expect(encoderOptions(m, liveFor(foreign, key).run).map((o) => o.id)).toEqual(['encoder', 'referenceEncoder']);
    // A live choice left in the form plans nothing once its run is not this bundle's.
    const r = benchJobs({ ...DEFAULT_BENCH_FORM, geneval: false, encoders: ['live:3'] }, m, null, liveFor(foreign, key).run);
    expect(r).toEqual({ error: 'Choose at least one encoder or checkpoint of uae-tiny to compare in Unified-Bench.' });
  });

  it('labels live rows apart from shipped checkpoints: their own step-chart line and live_run in the JSON export', () => {
    const shipped = entry({ encoderId: 'checkpoint:2', encoderLabel: 'checkpoint step 2 · GRPO step 2', step: 2 });
    const live = entry({ id: 'e2', encoderId: 'live:2', encoderLabel: 'live run step 2', step: 2, liveRun: 'live-abc' });
    expect(stepSeries(shipped)).toBe('uae-tiny · 5 Shapes scenes (seed 5)');
    expect(stepSeries(live)).toBe('uae-tiny · live run live-abc · 5 Shapes scenes (seed 5)');
    expect(stepSeries({ ...live, liveRun: 'live-def' })).not.toBe(stepSeries(live));
    const json = JSON.parse(benchJson([shipped, live]));
    expect(json.runs.map((r: { encoder: string; live_run?: string }) => [r.encoder, r.live_run])).toEqual([
      ['checkpoint:2', undefined],
      ['live:2', 'live-abc'],
    ]);
    const csv = benchCsv([live]).trim().split('\n');
    expect(csv[1].split(',').slice(0, 4)).toEqual(['unified', 'uae-tiny', 'live:2', '2']);
  });
});

describe('bench settings in the URL', () => {
  it('round-trips sizes and seeds as bn-* keys; out-of-range values are dropped', () => {
    const form = { ...DEFAULT_BENCH_FORM, scenes: 4, promptsPerTask: 2, perPrompt: 3, genevalSeed: 7, steps: 1 };
    const q = writeQuery('bench', form, '?seed=3');
    expect(q).toBe('?seed=3&bn-scenes=4&bn-prompts=2&bn-per-prompt=3&bn-gseed=7&bn-steps=1');
    const { values, present } = parseQuery(q);
    expect(present.bench).toBe(true);
    expect(sanitizeGroup('bench', values.bench, DEFAULT_BENCH_FORM)).toEqual(form);
    const bad = parseQuery('?bn-scenes=0&bn-per-prompt=99&bn-batch=8');
    expect(sanitizeGroup('bench', bad.values.bench, DEFAULT_BENCH_FORM)).toEqual({ ...DEFAULT_BENCH_FORM, batch: 8 });
  });
});

describe('bench results folded batch by batch', () => {
  const opened = useContext();

  it('Unified-Bench: the rows of every batch give the engine result; worst cases are the lowest cosines', async () => {
    const batches: UnifiedBenchBatch[] = [];
    const r = await runUnifiedBench(opened().ctx, {
      reference: { kind: 'scenes', scenes: 5 },
      seed: 5,
      steps: 2,
      batch: 2,
      onBatch: (b) => batches.push({ ...b, references: b.references.slice(), reconstructions: b.reconstructions.slice() }),
    });
    let e = entry({});
    let worst: BenchCase[] = [];
    const partial: number[] = [];
    for (const b of batches) {
      const { rows, backbones, similarity } = unifiedRows(b, PIXEL_BACKBONES);
      worst = unifiedWorst(worst, b, rows, similarity[0]);
      e = { ...e, unified: [...e.unified, ...rows], backbones, similarity, done: b.start + b.count };
      partial.push(unifiedScores(e).overall);
    }
    expect(batches.map((b) => b.count)).toEqual([2, 2, 1]);
    const { means, overall } = unifiedScores(e);
    expect(overall).toBeCloseTo(r.overall, 10);
    for (const k of Object.keys(r.backbones)) expect(means[k]).toBeCloseTo(r.backbones[k].mean, 10);
    expect(partial.at(-1)).toBeCloseTo(r.overall, 10);
    const lowest = [...r.backbones.scorer.per_image].sort((a, b) => a - b).slice(0, UNIFIED_WORST);
    expect(worst.map((c) => c.score)).toEqual(lowest);
    expect(worst[0].image).toHaveLength(64 * 64 * 3);
    expect(worst[0].reference).toHaveLength(64 * 64 * 3);

    const json = JSON.parse(benchJson([e]));
    expect(json.runs[0].backbones.scorer.per_image).toEqual(r.backbones.scorer.per_image);
    expect(json.runs[0].overall).toBeCloseTo(r.overall, 5);
    const csv = benchCsv([e]).trim().split('\n');
    expect(csv[0]).toBe('benchmark,bundle,encoder,step,reference,seed,steps,images,status,metric,value');
    expect(csv.slice(1).map((l) => l.split(',').at(-2))).toEqual(['scorer', 'i2i', 'psnr', 'ssim', 'overall']);
    expect(Number(csv.at(-1)!.split(',').at(-1))).toBeCloseTo(r.overall, 5);
  }, 60_000);

  it('GenEval: task accuracies from the streamed verdicts equal the result; failures kept at most two per task', async () => {
    const batches: GenevalBatch[] = [];
    const r = await runGeneval(opened().ctx, {
      seed: 7,
      promptsPerTask: 2,
      perPrompt: 1,
      steps: 1,
      batch: 4,
      onBatch: (b) => batches.push({ ...b, images: b.images.slice() }),
    });
    const rows: BenchGenevalRow[] = batches.flatMap((b) => b.verdicts);
    let worst: BenchCase[] = [];
    for (const b of batches) worst = genevalWorst(worst, b);
    const s = genevalScores(rows);
    expect(s.tasks).toEqual(r.tasks);
    expect(s.overall).toBeCloseTo(r.overall, 12);
    const failed = rows.filter((v) => !v.ok);
    expect(worst.length).toBe(
      [...new Set(failed.map((v) => v.task))].reduce(
        (n, t) => n + Math.min(GENEVAL_WORST_PER_TASK, failed.filter((v) => v.task === t).length),
        0,
      ),
    );
    for (const c of worst) expect(c.detail.length).toBeGreaterThan(0);
    // Before any image of a task is in, its accuracy is unknown (NaN), not 0.
    expect(Number.isNaN(genevalScores(rows.slice(0, 1)).tasks.plus_plus)).toBe(true);
  }, 60_000);
});
