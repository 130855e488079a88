import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsvRecords, parseRunLog, TRAINING_CHARTS, keyChart } from '../../src/engine/runs/index.ts';
import { bandKey, chartAxes, pointCount, seriesCsv, seriesExtent, seriesRows, valueKey, type ChartSeries } from '../../app/charts/data.ts';
import { chartSeries, latestText, legendNames, liveChartRuns, PALETTE, DASHES } from '../../app/panels/training/series.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'runs');
const jsonl = parseRunLog(readFileSync(join(DIR, 'run.jsonl'), 'utf8'), 'run.jsonl', { id: 'a', label: 'A' });
const state = parseRunLog(readFileSync(join(DIR, 'trainer_state.json'), 'utf8'), 'trainer_state.json', { id: 'b', label: 'B' });
const chart = (id: string) => TRAINING_CHARTS.find((c) => c.id === id)!;

const two: ChartSeries[] = [
  {
    id: 'x',
    label: 'reward',
    color: '#000',
    points: [
      { x: 1, y: 0.5, lo: 0.4, hi: 0.6 },
      { x: 3, y: 0.7, lo: 0.65, hi: 0.75 },
    ],
  },
  {
    id: 'y',
    label: 'kl, β',
    color: '#111',
    points: [
      { x: 2, y: 0.01 },
      { x: 3, y: 0.02 },
    ],
  },
];

describe('chart data (app/charts/data.ts)', () => {
  it('merges series by x, leaving gaps where a series has no point', () => {
    expect(seriesRows(two)).toEqual([
      { x: 1, [valueKey(0)]: 0.5, [bandKey(0)]: [0.4, 0.6] },
      { x: 2, [valueKey(1)]: 0.01 },
      { x: 3, [valueKey(0)]: 0.7, [bandKey(0)]: [0.65, 0.75], [valueKey(1)]: 0.02 },
    ]);
    expect(pointCount(two)).toBe(4);
  });

  it('takes the y extent over values and bands; the axis is the nice scale over it, not padded past it', () => {
    expect(seriesExtent(two)).toEqual([0.01, 0.75]);
    expect(seriesExtent([])).toBeNull();
    // One run's lines share an axis (group); ungrouped series of other magnitudes would split (charts-ticks.test.ts).
    expect(chartAxes(two.map((s) => ({ ...s, group: 'run' })))!.left).toMatchObject({ domain: [0, 0.8], step: 0.2 });
    // A sim in [0, 1] shows 0…1 (a 5% pad used to push it to 1.2).
    const sim: ChartSeries = {
      id: 's',
      label: 'sim',
      color: '#000',
      points: [
        { x: 1, y: 0 },
        { x: 2, y: 1 },
      ],
    };
    expect(chartAxes([sim])!.left.domain).toEqual([0, 1]);
    const loss: ChartSeries = {
      id: 'l',
      label: 'loss',
      color: '#000',
      points: [
        { x: 1, y: -0.2 },
        { x: 2, y: 0.2 },
      ],
    };
    expect(chartAxes([loss])!.left.ticks).toEqual([-0.2, -0.1, 0, 0.1, 0.2]);
    expect(chartAxes([])).toBeNull();
  });

  it('writes CSV with band columns only for banded series, quoting labels', () => {
    const rows = parseCsvRecords(seriesCsv(two, 'step')).map((r) => r.fields);
    expect(rows).toEqual([
      ['step', 'reward', 'reward (low)', 'reward (high)', 'kl, β'],
      ['1', '0.5', '0.4', '0.6', ''],
      ['2', '', '', '', '0.01'],
      ['3', '0.7', '0.65', '0.75', '0.02'],
    ]);
  });
});

describe('run → chart series (training panel)', () => {
  it('reward carries ± reward_std as its band, at the same step', () => {
    const [s] = chartSeries(chart('reward'), [{ run: jsonl, index: 0 }]);
    const std = new Map(jsonl.series.reward_std.map((p) => [p.step, p.value]));
    expect(s.points).toHaveLength(jsonl.series.reward.length);
    for (const p of s.points) {
      expect(p.lo).toBeCloseTo(p.y - std.get(p.x)!, 12);
      expect(p.hi).toBeCloseTo(p.y + std.get(p.x)!, 12);
    }
    expect(s.color).toBe(PALETTE[0]);
  });

  it('caption length carries min–max as its band', () => {
    const [s] = chartSeries(chart('length'), [{ run: state, index: 0 }]);
    const min = state.series['completions/min_length'];
    const max = state.series['completions/max_length'];
    expect(s.points.map((p) => [p.x, p.lo, p.hi])).toEqual(min.map((p, i) => [p.step, p.value, max[i].value]));
  });

  it('overlays runs: single-line charts colour by run, multi-line charts by line with a dash per run', () => {
    const runs = [
      { run: jsonl, index: 0 },
      { run: state, index: 1 },
    ];
    const reward = chartSeries(chart('reward'), runs);
    expect(reward.map((s) => [s.color, s.dash])).toEqual([
      [PALETTE[0], undefined],
      [PALETTE[1], undefined],
    ]);
    expect(reward.map((s) => s.label)).toEqual(['A — reward ± std', 'B — reward ± std']);
    // A band is named only where the run has its keys: the CSV fixture logs no min/max length.
    const csvRun = parseRunLog(readFileSync(join(DIR, 'run.csv'), 'utf8'), 'run.csv', { id: 'c', label: 'C' });
    expect(
      chartSeries(chart('length'), [
        { run: state, index: 0 },
        { run: csvRun, index: 1 },
      ]).map((s) => s.label),
    ).toEqual(['B — mean length (band: min–max)', 'C — mean length']);
    // The trainer_state fixture's eval_reward (read as eval/reward) is its held-out line, banded by eval_reward_std.
    const fidelity = chartSeries(chart('fidelity'), runs);
    expect(fidelity.map((s) => s.label)).toEqual([
      'A · sim',
      'A · attribute recall',
      'A · attribute precision',
      'A · retrieval top-1',
      'B · held-out reward ± std',
    ]);
    expect(fidelity.map((s) => s.group)).toEqual(['a', 'a', 'a', 'a', 'b']);
    expect(fidelity[4].note).toBe('B: eval/reward (logged as eval_reward), eval/reward_std (logged as eval_reward_std)');
    expect(fidelity[0].note).toBe('A: eval/sim');
    const clip = chartSeries(chart('clip'), runs);
    expect(clip.map((s) => [s.color, s.dash])).toEqual([
      [PALETTE[0], DASHES[0]],
      [PALETTE[1], DASHES[0]],
      [PALETTE[2], DASHES[0]],
      [PALETTE[0], DASHES[1]],
      [PALETTE[1], DASHES[1]],
      [PALETTE[2], DASHES[1]],
    ]);
  });

  it('legends name overlaid runs by what precedes their colon when those differ (tooltips keep the whole label)', () => {
    const s2 = 'Stage 2: GRPO on the encoder by uae train (reward = sim=0.5,i2i=0.5, length penalty linear:0.005)';
    const s3 = 'Stage 3: Flow-GRPO on the decoder (reward = sim=1,psnr=0.01)';
    const live = 'Stage 2: GRPO trained live in the page';
    expect(legendNames([s2, s3])).toEqual(['Stage 2', 'Stage 3']);
    expect(legendNames([s2, live])).toEqual([s2, live]); // the same head: whole labels
    expect(legendNames([s3, 'run.jsonl'])).toEqual([s3, 'run.jsonl']); // one without a colon: whole labels
    const runs = [
      { run: { ...jsonl, label: s2 }, index: 0 },
      { run: { ...state, label: s3 }, index: 1 },
    ];
    const fidelity = chartSeries(chart('fidelity'), runs);
    expect(fidelity.map((s) => s.label)).toEqual([
      'Stage 2 · sim',
      'Stage 2 · attribute recall',
      'Stage 2 · attribute precision',
      'Stage 2 · retrieval top-1',
      'Stage 3 · held-out reward ± std',
    ]);
    expect(fidelity[0].note).toBe(`${s2}: eval/sim`);
    expect(chartSeries(chart('reward'), runs).map((s) => s.label)).toEqual(['Stage 2 — reward ± std', 'Stage 3 — reward ± std']);
  });

  it('a run given a name is called by it in legends (the live charts: two runs whose labels share the head "Stage 2")', () => {
    const s2 = 'Stage 2: GRPO on the encoder by uae train (reward = sim=0.5,i2i=0.5, length penalty linear:0.005)';
    const live = 'Stage 2: GRPO trained live in the page (now)';
    const runs = [
      { run: { ...jsonl, id: 'live', label: live }, index: 0, name: 'live run' },
      { run: { ...state, id: 'rec', label: s2 }, index: 1, name: 'recorded run' },
    ];
    expect(chartSeries(chart('reward'), runs).map((s) => s.label)).toEqual(['live run — reward ± std', 'recorded run — reward ± std']);
    const kl = chartSeries(chart('kl'), runs);
    expect(kl.map((s) => s.label)).toEqual(['live run · KL (k3, TRL)', 'recorded run · KL (k3, TRL)']);
    expect(kl[1].note?.startsWith(`${s2}: `)).toBe(true); // the tooltip keeps the whole label
  });

  it('liveChartRuns: every run in its Runs-list colour; the live run in its copy’s (or the next slot’s) unless taken', () => {
    const rec = { ...state, id: 'rec', label: 'Stage 2: recorded' };
    const s3 = { ...state, id: 's3', label: 'Stage 3: recorded' };
    const kept = (id: string, from: string) => ({
      ...jsonl,
      id,
      label: `Kept run (β ${id}): GRPO trained live`,
      source: { kind: 'import' as const, format: 'jsonl' as const, file: `${id}.jsonl`, keptFrom: from },
    });
    const live = { log: { ...jsonl, id: 'now', label: 'live' }, id: 'r2', name: 'live run' };
    const at = (runs: ReturnType<typeof liveChartRuns>) => runs.map((r) => [r.name, r.index]);
    // nothing kept yet: the recorded run keeps its list colour (0), the live run takes the next slot's (2)
    expect(at(liveChartRuns(live, rec, [rec, s3], ['rec']))).toEqual([
      ['live run', 2],
      ['recorded run', 0],
    ]);
    // an earlier live run kept and shown is drawn in its colour; this run's copy is not drawn, and gives its colour
    const k1 = kept('a', 'r1');
    const k2 = kept('b', 'r2');
    expect(at(liveChartRuns(live, rec, [rec, s3, k1, k2], ['rec', 'a', 'b']))).toEqual([
      ['live run', 3],
      ['recorded run', 0],
      ['Kept run (β a)', 2],
    ]);
    // the next slot's colour taken by a drawn run (the list wraps the palette): the first free one
    const many = Array.from({ length: PALETTE.length }, (_, i) => kept(`k${i}`, `old${i}`));
    const listed = [rec, ...many.slice(0, PALETTE.length - 1)];
    const runs = liveChartRuns(live, rec, listed, ['rec', 'k0']);
    expect(runs[0].index % PALETTE.length).toBe(2);
    expect(new Set(runs.map((r) => r.index % PALETTE.length)).size).toBe(runs.length);
    expect(liveChartRuns(null, rec, [rec], [])).toEqual([{ run: rec, index: 0, name: 'recorded run' }]);
  });

  it('latestText: the last text logged at or before a step', () => {
    const run = parseRunLog(
      [
        '{"step": 0, "reward": 0.5, "eval/sample_caption": "a"}',
        '{"step": 20, "reward": 0.5, "eval/sample_caption": "a red"}',
        '{"step": 40, "reward": 0.5, "eval/sample_caption": "a red square"}',
      ].join('\n'),
      'r.jsonl',
      { id: 'r', label: 'R' },
    );
    expect(latestText(run, 'eval/sample_caption')).toEqual({ step: 40, value: 'a red square' });
    expect(latestText(run, 'eval/sample_caption', 39)).toEqual({ step: 20, value: 'a red' });
    expect(latestText(run, 'eval/sample_caption', 20)).toEqual({ step: 20, value: 'a red' });
    expect(latestText(run, 'eval/sample_caption', -1)).toBeNull();
    expect(latestText(run, 'eval/other')).toBeNull();
  });

  it('any other key charts as its own line', () => {
    const [s] = chartSeries(keyChart('entropy'), [{ run: state, index: 3 }]);
    expect(s.points.map((p) => [p.x, p.y])).toEqual(state.series.entropy.map((p) => [p.step, p.value]));
    expect(s.label).toBe('B');
    expect(s.color).toBe(PALETTE[3]);
  });
});
