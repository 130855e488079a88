// The rollouts panel's pure parts: the form → engine settings, provisional advantages (TRL's once every
// row is in), sorting, best/worst per group, the reward histogram.
import { describe, expect, it } from 'vitest';
import { groupAdvantages, REWARD_SCALINGS } from '../../src/engine/grpo.ts';
import type { RolloutRecord } from '../../src/engine/rollouts/index.ts';
import { bestAndWorst, histogram, provisionalAdvantages, rowViews, sortRows } from '../../app/panels/rollouts/derive.ts';
import { DEFAULT_FORM, formSettings, formSources, type RolloutsRun } from '../../app/panels/rollouts/state.ts';

function record(index: number, group: number, reward: number, extra: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    index, group, caption: `c${index}`, ids: [], completion: [2], tokens: index % 5, truncated: false, logp: new Float64Array(1),
    refLogp: null, oldLogp: null, entropy: new Float64Array(1), sequenceLogp: -index, meanKl: index === 3 ? null : index / 10,
    scores: { sim: reward, psnr: 0, ssim: 0, attr_f1: NaN }, reward, image: new Uint8Array(0), ...extra,
  };
}

const REWARDS = [0.3, 0.9, 0.1, 0.5, 0.7, 0.7, 0.2, 0.4];
const rows = REWARDS.map((r, i) => record(i, Math.floor(i / 4), r));

describe('provisional advantages', () => {
  it('equal TRL group advantages once every row is in, for every scaling', () => {
    for (const scale of REWARD_SCALINGS) {
      const p = provisionalAdvantages(rows, scale);
      const trl = groupAdvantages(REWARDS, 4, scale).advantages;
      rows.forEach((r) => expect(p.get(r.index), `${scale} row ${r.index}`).toBeCloseTo(trl[r.index], 12));
    }
  });

  it('before that, use only the finished rows of each group; the result replaces them', () => {
    const p = provisionalAdvantages([rows[0], rows[1], rows[4]], 'group');
    expect(p.get(0)! + p.get(1)!).toBeCloseTo(0, 12);
    expect(p.get(4)).toBe(0);
    const run = { rows, settings: { scaleRewards: 'group' }, result: null } as unknown as RolloutsRun;
    expect(rowViews(run).every((v) => !v.final)).toBe(true);
    const done = { ...run, result: { advantages: Float64Array.from(REWARDS, (_, i) => i) } } as unknown as RolloutsRun;
    expect(rowViews(done).map((v) => [v.advantage, v.final])).toEqual(REWARDS.map((_, i) => [i, true]));
  });
});

describe('table helpers', () => {
  it('sorts by a column either way, ties by index, missing KL last', () => {
    const views = rows.map((record) => ({ record, advantage: -record.reward, final: true }));
    expect(sortRows(views, { key: 'reward', dir: 'desc' }).map((v) => v.record.index)).toEqual([1, 4, 5, 3, 7, 0, 6, 2]);
    expect(sortRows(views, { key: 'advantage', dir: 'asc' }).map((v) => v.record.index)).toEqual([1, 4, 5, 3, 7, 0, 6, 2]);
    expect(sortRows(views, { key: 'kl', dir: 'asc' }).map((v) => v.record.index).at(-1)).toBe(3);
    expect(sortRows(views, { key: 'kl', dir: 'desc' }).map((v) => v.record.index).at(-1)).toBe(3);
  });

  it('marks each group\'s best and worst, none for a tied or one-row group', () => {
    const { best, worst } = bestAndWorst(rows);
    expect([...best].sort()).toEqual([1, 4]);
    expect([...worst].sort()).toEqual([2, 6]);
    expect(bestAndWorst([rows[0]]).best.size).toBe(0);
    expect(bestAndWorst([record(0, 0, 1), record(1, 0, 1)]).best.size).toBe(0);
  });

  it('bins rewards over [min, max], the maximum in the last bin', () => {
    const bins = histogram([0, 1, 2, 3, 4, 5, 6, 8, 7.5], 4);
    expect(bins.map((b) => [b.x0, b.x1, b.count])).toEqual([[0, 2, 2], [2, 4, 2], [4, 6, 2], [6, 8, 3]]);
    expect(histogram(REWARDS, 4).reduce((a, b) => a + b.count, 0)).toBe(8);
    expect(histogram([0.5, 0.5, NaN])).toEqual([{ x0: 0.5, x1: 0.5, count: 2, label: '0.5' }]);
    expect(histogram([])).toEqual([]);
  });
});

describe('form', () => {
  it('maps to engine settings: one reward or the mix, penalties, old policy, the shared seed', () => {
    const s = formSettings(DEFAULT_FORM, 7);
    expect(s).toMatchObject({ groupSize: 8, seed: 7, rewards: { sim: 1 }, lengthPenalty: null, oldPolicy: { kind: 'current' }, scaleRewards: 'group' });
    const m = formSettings({ ...DEFAULT_FORM, reward: 'mix', penalty: 'overlong', overlongMax: 30, overlongCache: 6, old: 120 }, 0);
    expect(m.rewards).toEqual(DEFAULT_FORM.weights);
    expect(m.lengthPenalty).toEqual({ kind: 'overlong', maxCompletionLength: 30, softPunishCache: 6, weight: 1 });
    expect(m.oldPolicy).toEqual({ kind: 'checkpoint', step: 120 });
    expect(formSettings({ ...DEFAULT_FORM, reward: 'ssim', penalty: 'linear' }, 0)).toMatchObject({ rewards: { ssim: 1 }, lengthPenalty: { kind: 'linear', coef: DEFAULT_FORM.linearCoef } });
  });

  it('gives B scenes from the seed, or the uploaded image, or nothing', () => {
    expect(formSources({ ...DEFAULT_FORM, sceneSeed: 5, batch: 3 }, null)).toEqual([5, 6, 7].map((seed) => ({ kind: 'scene', seed })));
    expect(formSources({ ...DEFAULT_FORM, source: 'image' }, null)).toBeNull();
    const up = { label: 'a.png', rgb: new Uint8Array(12), width: 2, height: 2 };
    expect(formSources({ ...DEFAULT_FORM, source: 'image' }, up)).toEqual([{ kind: 'pixels', name: 'a.png', data: up.rgb, width: 2, height: 2, channels: 3 }]);
  });
});
