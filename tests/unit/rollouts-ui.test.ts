// The rollouts panel's pure parts: the form → engine settings, provisional advantages (TRL's once every
// row is in), sorting, best/worst per group, the table's length (= completions/mean_length), the reward
// histogram, the status line's flow-steps sentence, and numbers that are 0 up to float noise shown as 0.
import { describe, expect, it } from 'vitest';
import { groupAdvantages, LOSS_TYPES, REWARD_SCALINGS } from '../../src/engine/grpo.ts';
import { DEFAULT_SETTINGS, rolloutsReport, type RolloutRecord } from '../../src/engine/rollouts/index.ts';
import { formatFixed, formatMetric } from '../../app/format.ts';
import {
  bestAndWorst,
  flowStepsSentence,
  histogram,
  provisionalAdvantages,
  rowLength,
  rowViews,
  sortRows,
} from '../../app/panels/rollouts/derive.ts';
import { formSettings, formSources } from '../../app/panels/rollouts/form.ts';
import { DEFAULT_FORM, type RolloutsRun } from '../../app/store/rolloutsSlice.ts';

function record(index: number, group: number, reward: number, extra: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    index,
    group,
    caption: `c${index}`,
    ids: [],
    completion: [2],
    tokens: index % 5,
    truncated: false,
    logp: new Float64Array(1),
    refLogp: null,
    oldLogp: null,
    entropy: new Float64Array(1),
    sequenceLogp: -index,
    meanKl: index === 3 ? null : index / 10,
    scores: { sim: reward, i2i: NaN, psnr: 0, ssim: 0, attr_f1: NaN },
    reward,
    image: new Uint8Array(0),
    ...extra,
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
    expect(
      sortRows(views, { key: 'kl', dir: 'asc' })
        .map((v) => v.record.index)
        .at(-1),
    ).toBe(3);
    expect(
      sortRows(views, { key: 'kl', dir: 'desc' })
        .map((v) => v.record.index)
        .at(-1),
    ).toBe(3);
  });

  it('shows the completion length, what completions/*_length count ([EOS] included), not the content tokens', () => {
    // Terminated captions end with [EOS] (id 2): length = content tokens + 1; a truncated one keeps its sampled tokens.
    const completions = [[5, 6, 2], [5, 2], [7, 7, 7, 7], [2], [5, 6, 7, 2], [6, 2], [5, 5, 5, 5], [7, 2]];
    const recs = completions.map((completion, i) => {
      const truncated = completion.at(-1) !== 2;
      const L = completion.length;
      return record(i, Math.floor(i / 4), REWARDS[i], {
        completion,
        ids: truncated ? completion : completion.slice(0, -1),
        tokens: truncated ? L : L - 1,
        truncated,
        logp: new Float64Array(L).fill(-0.5),
        entropy: new Float64Array(L).fill(1),
      });
    });
    const settings = { ...DEFAULT_SETTINGS, groupSize: 4 };
    const { report } = rolloutsReport(recs, settings, 5);
    const lengths = recs.map(rowLength);
    expect(lengths).toEqual(completions.map((c) => c.length));
    expect(lengths.reduce((a, b) => a + b, 0) / lengths.length).toBe(report.metrics['completions/mean_length']);
    expect(Math.max(...lengths)).toBe(report.metrics['completions/max_length']);
    expect(recs.map((r) => r.tokens)).not.toEqual(lengths);
    const views = recs.map((rec) => ({ record: rec, advantage: 0, final: true }));
    expect(sortRows(views, { key: 'length', dir: 'desc' }).map((v) => rowLength(v.record))).toEqual([4, 4, 4, 3, 2, 2, 2, 1]);
  });

  it("marks each group's best and worst, none for a tied or one-row group", () => {
    const { best, worst } = bestAndWorst(rows);
    expect([...best].sort()).toEqual([1, 4]);
    expect([...worst].sort()).toEqual([2, 6]);
    expect(bestAndWorst([rows[0]]).best.size).toBe(0);
    expect(bestAndWorst([record(0, 0, 1), record(1, 0, 1)]).best.size).toBe(0);
  });

  it('bins rewards over [min, max] on nice edges, the maximum in the last bin, labelled by left edge', () => {
    const bins = histogram([0, 1, 2, 3, 4, 5, 6, 8, 7.5], 4);
    expect(bins.map((b) => [b.x0, b.x1, b.count])).toEqual([
      [0, 2, 2],
      [2, 4, 2],
      [4, 6, 2],
      [6, 8, 3],
    ]);
    // Rewards of a group (sim): edges at tenths, never centres such as 0.501 / 0.611 / −0.354.
    const sims = histogram([0.4468, 0.5795, 0.9138, 0.9138, 0.9914, 0.9926], 6);
    expect(sims.map((b) => b.label)).toEqual(['0.4', '0.5', '0.6', '0.7', '0.8', '0.9']);
    expect(sims.map((b) => b.count)).toEqual([1, 1, 0, 0, 0, 4]);
    expect(histogram([-0.354, 0.1, 0.2], 5).map((b) => b.label)).toEqual(['\u22120.4', '\u22120.2', '0']);
    expect(histogram(REWARDS, 4).reduce((a, b) => a + b.count, 0)).toBe(8);
    expect(histogram([0.5, 0.5, NaN])).toEqual([{ x0: 0.5, x1: 0.5, count: 2, label: '0.5' }]);
    expect(histogram([])).toEqual([]);
  });
});

describe('numbers shown', () => {
  it('shows 0 for values that are 0 up to float noise, small real values readably', () => {
    expect(formatMetric(6.245e-17)).toBe('0');
    expect(formatMetric(-3e-13)).toBe('0');
    expect(formatMetric(0)).toBe('0');
    expect(formatMetric(-0)).toBe('0');
    expect(formatMetric(1.5e-5)).toBe('1.500e-5');
    expect(formatMetric(-2.5e-9)).toBe('-2.500e-9');
    expect(formatMetric(0.123456)).toBe('0.12346');
    expect(formatMetric(NaN)).toBe('NaN');
    // Relative to the scale of the inputs: 1e-10 is noise in a sum of numbers of size 1e3.
    expect(formatMetric(1e-10, 1e3)).toBe('0');
    expect(formatMetric(1e-10)).toBe('1.000e-10');
    expect(formatFixed(-6.245e-17, 4)).toBe('0.0000');
    expect(formatFixed(-0.00001, 3)).toBe('0.000');
    expect(formatFixed(-0.25, 2)).toBe('-0.25');
  });

  it('the grpo loss of a current-policy group is −mean(A), 0 up to float noise: shown as 0', () => {
    const rewards = [0.8137, 0.7922, 0.8051, 0.7733, 0.8264, 0.7999, 0.8102, 0.7861];
    const recs = rewards.map((r, i) => {
      const completion = [5, 5, 2].slice(i % 3);
      return record(i, 0, r, {
        completion,
        logp: new Float64Array(completion.length).fill(-1),
        entropy: new Float64Array(completion.length),
      });
    });
    const { report } = rolloutsReport(recs, { ...DEFAULT_SETTINGS, groupSize: 8, lossType: 'grpo' }, 3);
    // Not exactly 0 in doubles (8.5e-16 here): what the panel printed digit for digit before.
    expect(report.loss.losses.grpo).not.toBe(0);
    expect(Math.abs(report.loss.losses.grpo)).toBeLessThan(1e-12);
    expect(formatMetric(report.loss.losses.grpo)).toBe('0');
    for (const t of LOSS_TYPES) expect(formatMetric(report.loss.losses[t])).not.toMatch(/e-1\d/);
  });

  it("the status line says the flow steps in a sentence, the bundle's default named as such", () => {
    expect(flowStepsSentence({ flowSteps: 8, settings: { ...DEFAULT_SETTINGS, flowSteps: 8 } })).toBe(
      'Each reconstruction takes 8 flow steps.',
    );
    expect(flowStepsSentence({ flowSteps: 20, settings: DEFAULT_SETTINGS })).toBe(
      'Each reconstruction takes 20 flow steps (the bundle’s default).',
    );
    expect(flowStepsSentence({ flowSteps: 1, settings: { ...DEFAULT_SETTINGS, flowSteps: 1 } })).toBe(
      'Each reconstruction takes 1 flow step.',
    );
  });
});

describe('form', () => {
  it('maps to engine settings: one reward or the mix, penalties, old policy, the shared seed', () => {
    const s = formSettings(DEFAULT_FORM, 7);
    expect(s).toMatchObject({
      groupSize: 8,
      seed: 7,
      rewards: { sim: 1 },
      lengthPenalty: null,
      oldPolicy: { kind: 'current' },
      scaleRewards: 'group',
    });
    const m = formSettings({ ...DEFAULT_FORM, reward: 'mix', penalty: 'overlong', overlongMax: 30, overlongCache: 6, old: 120 }, 0);
    expect(m.rewards).toEqual(DEFAULT_FORM.weights);
    expect(m.lengthPenalty).toEqual({ kind: 'overlong', maxCompletionLength: 30, softPunishCache: 6, weight: 1 });
    expect(m.oldPolicy).toEqual({ kind: 'checkpoint', step: 120 });
    expect(formSettings({ ...DEFAULT_FORM, reward: 'ssim', penalty: 'linear' }, 0)).toMatchObject({
      rewards: { ssim: 1 },
      lengthPenalty: { kind: 'linear', coef: DEFAULT_FORM.linearCoef },
    });
  });

  it('gives B scenes from the seed, or the uploaded image, or nothing', () => {
    expect(formSources({ ...DEFAULT_FORM, sceneSeed: 5, batch: 3 }, null)).toEqual([5, 6, 7].map((seed) => ({ kind: 'scene', seed })));
    expect(formSources({ ...DEFAULT_FORM, source: 'image' }, null)).toBeNull();
    const up = { label: 'a.png', rgb: new Uint8Array(12), width: 2, height: 2 };
    expect(formSources({ ...DEFAULT_FORM, source: 'image' }, up)).toEqual([
      { kind: 'pixels', name: 'a.png', data: up.rgb, width: 2, height: 2, channels: 3 },
    ]);
  });
});
