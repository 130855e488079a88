// Nice axis ticks (app/charts/ticks.ts) and the axes a chart draws (app/charts/data.ts): mixed-scale
// overlays on a right axis, notes for all-zero lines, the checkpoint marker's label side.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartAxes, markerSide, otherScaleIds, zeroNote, type ChartSeries } from '../../app/charts/data.ts';
import { formatTick, formatValue, niceScale, niceStep, stepDecimals } from '../../app/charts/ticks.ts';
import { chartSeries } from '../../app/panels/training/series.ts';
import { chartYLabel, isFidelityReward, parseRunLog, TRAINING_CHARTS } from '../../src/engine/runs/index.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'runs');
const labels = (lo: number, hi: number, options?: Parameters<typeof niceScale>[2]) => {
  const s = niceScale(lo, hi, options);
  return s.ticks.map((v) => formatTick(v, s));
};
const line = (id: string, ys: number[], group?: string): ChartSeries => ({
  id,
  label: id,
  color: '#000',
  group,
  points: ys.map((y, i) => ({ x: i, y })),
});

describe('nice ticks', () => {
  it('steps are 1, 2, 2.5 or 5 × 10^k, never below the rough step', () => {
    expect([0.13, 0.2, 0.21, 0.3, 0.6, 7, 9.68, 24, 26].map((r) => niceStep(r))).toEqual([0.2, 0.2, 0.25, 0.5, 1, 10, 10, 25, 50]);
    expect(niceStep(0.3, true)).toBe(1);
    expect(niceStep(2.2, true)).toBe(5);
    expect([0.25, 0.2, 5, 2.5, 2e-6, 1].map(stepDecimals)).toEqual([2, 1, 0, 1, 6, 0]);
  });

  it('[0, 1] ticks 0 / 0.2 / … / 1, not 0.0 / 0.3 / 0.5 / 0.8 / 1.0', () => {
    expect(labels(0, 1)).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1']);
    expect(labels(0, 1, { maxIntervals: 4 })).toEqual(['0', '0.25', '0.5', '0.75', '1']);
  });

  it('widens the domain to whole steps: [0.8, 49.2] → 0 … 50 by 10', () => {
    const s = niceScale(0.8, 49.2);
    expect(s.domain).toEqual([0, 50]);
    expect(s.ticks).toEqual([0, 10, 20, 30, 40, 50]);
    expect(labels(0.8, 49.2)).toEqual(['0', '10', '20', '30', '40', '50']);
  });

  it('does not run past the data’s nice bound: a reward in [0.31, 0.98] shows 0.2 … 1, not 1.2', () => {
    expect(niceScale(0.31, 0.98).domain).toEqual([0.2, 1]);
    expect(niceScale(0, 1).domain).toEqual([0, 1]);
  });

  it('labels have no float noise and use a true minus sign', () => {
    expect(labels(-0.354, 0.2)).toEqual(['−0.4', '−0.2', '0', '0.2']);
    expect(labels(-0.354, 0.354, { maxIntervals: 8 })).toEqual(['−0.4', '−0.3', '−0.2', '−0.1', '0', '0.1', '0.2', '0.3', '0.4']);
    expect(labels(0.1, 0.7)).toEqual(['0', '0.2', '0.4', '0.6', '0.8']);
    for (const [lo, hi] of [
      [0.0003, 0.0071],
      [-3.47, 5.07],
      [1, 40],
      [0, 120],
      [12.3, 80.5],
      [0.61, 0.83],
    ]) {
      const s = niceScale(lo, hi);
      expect(s.domain[0]).toBeLessThanOrEqual(lo);
      expect(s.domain[1]).toBeGreaterThanOrEqual(hi);
      expect(s.ticks.length).toBeLessThanOrEqual(6);
      for (const t of s.ticks) {
        expect(Math.abs(t / s.step - Math.round(t / s.step))).toBeLessThan(1e-9);
        expect(String(t).split('.')[1]?.length ?? 0).toBeLessThanOrEqual(s.decimals);
      }
    }
  });

  it('integer axes (steps, counts, tokens) tick on whole numbers', () => {
    expect(niceScale(1, 40, { integer: true, maxIntervals: 6 }).ticks).toEqual([0, 10, 20, 30, 40]);
    expect(niceScale(0, 120, { integer: true, maxIntervals: 6 }).ticks).toEqual([0, 20, 40, 60, 80, 100, 120]);
    expect(niceScale(0, 3, { integer: true }).ticks).toEqual([0, 1, 2, 3]);
  });

  it('a single value gets a frame around it; 0 gets 0 … 1', () => {
    expect(niceScale(0, 0).domain).toEqual([0, 1]);
    const s = niceScale(2, 2);
    expect(s.domain[0]).toBeLessThan(2);
    expect(s.domain[1]).toBeGreaterThan(2);
  });

  it('large and tiny values: k / M and exponents', () => {
    expect(labels(0, 48_000)).toEqual(['0', '10k', '20k', '30k', '40k', '50k']);
    expect(labels(0, 1e-5)).toEqual(['0', '2e−6', '4e−6', '6e−6', '8e−6', '1e−5']);
    expect(labels(0, 0.0013)).toEqual(['0', '0.0005', '0.001', '0.0015']);
    expect(formatValue(0.1 + 0.2)).toBe('0.3');
    expect(formatValue(-0.35412)).toBe('−0.3541');
  });
});

describe('chart axes', () => {
  it('runs of another magnitude get the right axis; runs of one scale share the left', () => {
    const sim = line('sim', [0.31, 0.79], 'bundle');
    const trl = line('trl', [-1.9, 3.8], 'trl');
    expect(otherScaleIds([sim, trl])).toEqual(['trl']);
    const axes = chartAxes([sim, trl])!;
    expect(axes.left.domain).toEqual([0.3, 0.8]);
    expect(axes.right?.domain).toEqual([-2, 4]);
    expect(axes.rightIds).toEqual(['trl']);
    // Same scale (a flatter run of the same reward): one axis.
    expect(chartAxes([sim, line('flat', [0.6, 0.62], 'other')])!.right).toBeNull();
    // Lines of one run stay on one axis whatever their size; all-zero groups fit any scale.
    expect(otherScaleIds([line('kl', [0.001, 0.14], 'r'), line('kl_loss', [0, 0.0004], 'r')])).toEqual([]);
    expect(otherScaleIds([line('z', [0, 0], 'z'), sim, trl])).toEqual(['trl']);
    // Runs that say what they measure and measure different things never share an axis, whatever the sizes;
    // one that does not say shares by size.
    const scaled = (id: string, ys: number[], scale?: string): ChartSeries => ({ ...line(id, ys, id), scale });
    expect(otherScaleIds([scaled('a', [0.3, 0.8], 'i2i+sim'), scaled('b', [0.9, 1.1], 'psnr+sim')])).toEqual(['b']);
    expect(otherScaleIds([scaled('a', [0.3, 0.8], 'sim'), scaled('b', [0.4, 0.9], 'sim')])).toEqual([]);
    expect(otherScaleIds([scaled('a', [0.3, 0.8], 'sim'), scaled('b', [0.4, 0.9])])).toEqual([]);
  });

  it('the shipped bundle’s two runs: stage 3’s reward (sim + 0.01 × PSNR) gets the right axis of the reward chart', () => {
    const runs = join(import.meta.dirname, '..', '..', 'public', 'models', 'uae-shapes', 'runs');
    const parse = (file: string, id: string) => parseRunLog(readFileSync(join(runs, file), 'utf8'), file, { id, label: id });
    const s2 = parse('stage2-grpo.jsonl', 'stage2');
    const s3 = parse('stage3-flow-grpo.jsonl', 'stage3');
    const reward = TRAINING_CHARTS.find((c) => c.id === 'reward')!;
    const series = chartSeries(reward, [
      { run: s2, index: 0 },
      { run: s3, index: 1 },
    ]);
    expect(series.map((s) => s.scale)).toEqual(['i2i+length_penalty+sim', 'psnr+sim']);
    const axes = chartAxes(series)!;
    expect(axes.rightIds).toEqual(['stage3|reward']);
    // within 3× of each other in size, so by size alone they shared one axis before
    expect(otherScaleIds(series.map((s) => ({ ...s, scale: undefined })))).toEqual([]);
    // The other charts do not know what a run measures: the held-out sim of both runs shares the left axis.
    const fidelity = chartSeries(
      TRAINING_CHARTS.find((c) => c.id === 'fidelity')!,
      [
        { run: s2, index: 0 },
        { run: s3, index: 1 },
      ],
    );
    expect(fidelity.every((s) => s.scale === undefined)).toBe(true);
    expect(chartAxes(fidelity)!.right).toBeNull();
  });

  it('mixed-scale overlay of the fixtures: the TRL run’s reward (−3…5) goes right, the subtitle says just "reward"', () => {
    const sim = parseRunLog(readFileSync(join(DIR, 'trainer_state.json'), 'utf8'), 'trainer_state.json', { id: 'sim', label: 'sim' });
    const trl = parseRunLog(readFileSync(join(DIR, 'trl-grpo-trainer_state.json'), 'utf8'), 'trl.json', { id: 'trl', label: 'TRL' });
    const reward = TRAINING_CHARTS.find((c) => c.id === 'reward')!;
    const series = chartSeries(reward, [
      { run: sim, index: 0 },
      { run: trl, index: 1 },
    ]);
    expect(chartAxes(series)!.rightIds).toEqual(['trl|reward']);
    expect(chartYLabel(reward, [sim])).toBe('reward (fidelity)');
    expect(chartYLabel(reward, [sim, trl])).toBe('reward');
    expect(chartYLabel(reward, [trl])).toBe('reward');
    // A mix of fidelity rewards (stage 2's sim + i2i, stage 3's sim + psnr) is still fidelity; one other name is not.
    const mix = (names: string[]) => ({
      source: sim.source,
      series: Object.fromEntries(names.map((n) => [`rewards/${n}/mean`, [{ step: 1, value: 0.5 }]])),
    });
    expect(isFidelityReward(mix(['sim', 'i2i']))).toBe(true);
    expect(isFidelityReward(mix(['psnr', 'sim']))).toBe(true);
    expect(isFidelityReward(mix(['sim', 'accuracy']))).toBe(false);
    expect(isFidelityReward(mix([]))).toBe(false);
    // The held-out chart: the TRL run's eval_reward (as eval/reward) is drawn there.
    const fidelity = chartSeries(
      TRAINING_CHARTS.find((c) => c.id === 'fidelity')!,
      [{ run: trl, index: 0 }],
    );
    expect(fidelity.map((s) => s.points.length)).toEqual([4]);
  });

  it('notes all-zero lines (the line is still drawn)', () => {
    expect(zeroNote([line('low', [0, 0], 'r'), line('high', [0.1, 0], 'r')])).toBe('low: all values are 0 in this run.');
    expect(zeroNote([line('low', [0, 0], 'r'), line('high', [0, 0], 'r')])).toBe('All values are 0 in this run.');
    expect(zeroNote([line('a', [0, 0], 'r1'), line('b', [0, 0], 'r2')])).toBe('All values are 0 in these runs.');
    expect(zeroNote([line('a', [0.1])])).toBeNull();
    expect(chartAxes([line('low', [0, 0])])!.left.domain).toEqual([0, 1]);
  });

  it('the checkpoint marker’s label goes on the side away from the nearer edge', () => {
    expect(markerSide(100, [0, 100])).toBe('left');
    expect(markerSide(0, [0, 100])).toBe('right');
    expect(markerSide(40, [0, 100])).toBe('right');
  });
});
