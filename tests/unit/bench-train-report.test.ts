// The benchmark's trainer section, pure parts only: the ratios against PyTorch, the goal check and the Markdown
// table are formed from the numbers given. No speed is measured or asserted.
import { describe, expect, it } from 'vitest';
import { renderMarkdown, type BenchResults } from '../../src/bench/report.ts';
import { TRAIN_BENCH_DEFAULTS, trainBenchConfig } from '../../src/bench/train.ts';
import {
  fixtureMisses,
  meetsGoal,
  renderTrainMarkdown,
  type TrainFixtureSection,
  TRAIN_GOAL,
  trainRatios,
  type TrainRun,
  type TrainSection,
} from '../../src/bench/train-report.ts';
import { STAGE2_PRESET } from '../../src/engine/train/config.ts';

const run = (key: TrainRun['key'], stepSeconds: number[]): TrainRun => ({
  key,
  runtime: `${key} runtime`,
  stepSeconds,
  secondsPerStep: stepSeconds.reduce((a, b) => a + b, 0) / stepSeconds.length,
  warmupSeconds: [9],
  warmup: 1,
  steps: stepSeconds.length,
  phases: key.startsWith('pytorch') ? {} : { rollouts: 1, logprobs: 0.5, update: 1.5, policy: 0.1 },
});

const runs: TrainRun[] = [
  run('pytorch-1t', [3, 5]),
  run('pytorch-2t', [2, 2]),
  run('node-1t', [6, 6]),
  run('chromium-wasm-2t', [2.5, 3.5]),
];

describe('trainer section', () => {
  it('keeps the shipped preset and changes only group, images, flow steps and the step count', () => {
    const c = trainBenchConfig({ ...TRAIN_BENCH_DEFAULTS, group: 2, images: 1, flowSteps: 1, steps: 1 });
    expect(c).toEqual({ ...STAGE2_PRESET, group: 2, images: 1, flowSteps: 1, steps: 2 });
    expect(TRAIN_BENCH_DEFAULTS).toMatchObject({ group: 8, images: 8, flowSteps: STAGE2_PRESET.flowSteps, warmup: 1 });
  });

  it('forms each TypeScript run over PyTorch at the same threads (mean and min), with the goal', () => {
    const r = trainRatios(runs);
    expect(r.map((x) => x.name)).toEqual([
      'train: node-1t / pytorch-1t',
      'train: chromium-wasm-2t / pytorch-2t',
      'train: chromium-wasm-2t / node-1t',
      'train: pytorch-1t / pytorch-2t',
    ]);
    expect(r[0]).toMatchObject({ median: 1.5, min: 2, goal: TRAIN_GOAL });
    expect(r[1]).toMatchObject({ median: 1.5, min: 1.25, goal: TRAIN_GOAL });
    expect(r[2].goal).toBeUndefined();
  });

  it('leaves out ratios of failed or missing runs', () => {
    const failed: TrainRun = { key: 'pytorch-1t', runtime: 'x', error: 'exit 1: no torch' };
    const r = trainRatios([failed, runs[1], runs[3]]);
    expect(r.map((x) => x.name)).toEqual(['train: chromium-wasm-2t / pytorch-2t']);
    expect(trainRatios([])).toEqual([]);
  });

  it('checks a value against a goal written as ≤ X or ≥ X', () => {
    expect(meetsGoal(1.5, '≤ 1.5')).toBe(true);
    expect(meetsGoal(1.51, '≤ 1.5')).toBe(false);
    expect(meetsGoal(4, '≥ 4')).toBe(true);
    expect(meetsGoal(2, undefined)).toBeUndefined();
    expect(meetsGoal(NaN, '≤ 1.5')).toBeUndefined();
  });

  it('renders the section as Markdown, failed runs included, and only the section when no backend ran', () => {
    const section: TrainSection = {
      settings: { ...TRAIN_BENCH_DEFAULTS, steps: 2, preset: 'the shipped preset' },
      runs: [...runs, { key: 'node-1t', runtime: 'Node', error: 'exit 1: boom\nstack' }],
      ratios: trainRatios(runs),
      goal: TRAIN_GOAL,
    };
    const md = renderTrainMarkdown(section).join('\n');
    expect(md).toContain('G=8 × 8 images');
    expect(md).toContain('| pytorch-1t | 4.00 | 3.00–5.00 | 9.00 |');
    expect(md).toContain('| node-1t | 6.00 | 6.00–6.00 | 9.00 | 1.00 | 0.50 | 1.50 | 0.10 |');
    expect(md).toContain('| node-1t | FAILED: exit 1: boom |');
    expect(md).toContain('| train: node-1t / pytorch-1t | 1.50× | 2.00× | ≤ 1.5 | yes |');
    expect(md).toContain('| train: chromium-wasm-2t / node-1t | 0.50× | 0.42× |  |  |');
    expect(renderTrainMarkdown(undefined)).toEqual([]);
    const res: BenchResults = {
      generatedAt: '2026-01-01T00:00:00.000Z',
      command: 'npm run bench -- --only train',
      machine: { cpu: 'cpu', cores: 2, os: 'os', node: 'v20', onnxruntimeWeb: '1.30.0' },
      settings: {},
      runs: [],
      ratios: [],
      train: section,
      wallSeconds: 1,
    };
    const full = renderMarkdown(res);
    expect(full).not.toContain('## Stage times');
    expect(full).toContain('## Trainer: seconds per stage-2 GRPO step');
  });

  it('flags a fixture run or a WebGPU-vs-WASM loss beyond the tolerance, and a fixture check that ran nothing', () => {
    const diffs = { loss: 1e-7, gradNorm: 2e-6, logpBefore: 1e-5, logpAfter: 1e-5, logitsAfter: 3e-6 };
    const ok: TrainFixtureSection = {
      tolerance: 1e-4,
      runs: [
        { device: 'wasm', case: 'dapo', loss: -0.05, expectedLoss: -0.05, diffs, seconds: 4 },
        { device: 'webgpu', case: 'dapo', loss: -0.05, expectedLoss: -0.05, diffs, seconds: 20 },
      ],
      gpuVsWasm: [{ case: 'dapo', diff: 1e-7 }],
    };
    expect(fixtureMisses(ok)).toBeUndefined();
    const bad = structuredClone(ok);
    bad.runs![1].diffs.logitsAfter = 3e-3;
    expect(fixtureMisses(bad)).toMatch(/webgpu dapo logitsAfter 3\.00e-3/);
    expect(fixtureMisses({ ...ok, gpuVsWasm: [{ case: 'dapo', diff: NaN }] })).toMatch(/dapo WebGPU vs WASM loss NaN/);
    expect(fixtureMisses({ tolerance: 1e-4, runs: [], gpuVsWasm: [] })).toMatch(/no case ran/);
    const md = renderTrainMarkdown({
      settings: { ...TRAIN_BENCH_DEFAULTS, preset: 'p' },
      runs: [],
      ratios: [],
      goal: TRAIN_GOAL,
      fixture: bad,
    }).join('\n');
    expect(md).toMatch(/\| webgpu \| dapo \|.*\| no \|/);
  });
});
