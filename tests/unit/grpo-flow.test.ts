// src/engine/grpo-flow.ts against Flow-GRPO numbers written by models/grpo_ref.py.
import { describe, expect, it } from 'vitest';
import { clampAdvantages, flowAdvantages, flowGrpoLoss, flowKl, sdeLogProb, sdeStepStats } from '../../src/engine/grpo-flow.ts';
import { expectClose, fixture, type Num } from './grpo-fixture.ts';

interface SdeCase {
  name: string;
  x: number[];
  v: number[];
  v_ref: number[];
  noise: number[];
  other: number[];
  t: number;
  dt: number;
  a: number;
  sigma_max: number;
  expected: { mean: Num[]; std: number; std_dev_t: number; next: Num[]; log_prob_next: number; log_prob_other: number; kl: number };
}

interface FlowFixture {
  sde: SdeCase[];
  advantages: { name: string; rewards: number[]; group_size: number; global_std: boolean; expected: Num[] }[];
  losses: {
    name: string;
    log_prob: number[];
    old_log_prob: number[];
    advantages: number[];
    clip_range: number;
    adv_clip_max: number;
    beta: number;
    kl: number[];
    expected: Record<string, number>;
  }[];
}

const fx = fixture<FlowFixture>('flow.json');

describe('Flow-GRPO SDE step against grpo_ref.py', () => {
  it('includes the t = 1 step that needs sigmaMax', () => {
    expect(fx.sde.some((c) => c.t === 1)).toBe(true);
  });

  it.each(fx.sde.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const s = sdeStepStats(c.x, c.v, c.t, c.dt, c.a, c.noise, c.sigma_max);
    const e = c.expected;
    expectClose(s.mean, e.mean, 'mean');
    expectClose(s.std, e.std, 'std');
    expectClose(s.stdDevT, e.std_dev_t, 'std_dev_t');
    expect(s.next).not.toBeNull();
    if (s.next) {
      expectClose(s.next, e.next, 'next');
      expectClose(sdeLogProb(s.next, s.mean, s.std), e.log_prob_next, 'log_prob_next');
    }
    expectClose(sdeLogProb(c.other, s.mean, s.std), e.log_prob_other, 'log_prob_other');
    const r = sdeStepStats(c.x, c.v_ref, c.t, c.dt, c.a, null, c.sigma_max);
    expect(r.next).toBeNull();
    expectClose(flowKl(s.mean, r.mean, s.stdDevT), e.kl, 'kl');
  });

  it('rejects a step forward in t and t = 1 without sigmaMax', () => {
    expect(() => sdeStepStats([0], [0], 0.5, 0.1, 0.7)).toThrow(RangeError);
    expect(() => sdeStepStats([0], [0], 1, -0.1, 0.7)).toThrow(RangeError);
  });
});

describe('Flow-GRPO advantages and loss against grpo_ref.py', () => {
  it.each(fx.advantages.map((c) => [c.name, c] as const))('advantages %s', (_name, c) => {
    expectClose(flowAdvantages(c.rewards, c.group_size, c.global_std), c.expected, 'advantages');
  });

  it.each(fx.losses.map((c) => [c.name, c] as const))('loss %s', (_name, c) => {
    const out = flowGrpoLoss({
      logProb: c.log_prob,
      oldLogProb: c.old_log_prob,
      advantages: c.advantages,
      clipRange: c.clip_range,
      advClipMax: c.adv_clip_max,
      beta: c.beta,
      kl: c.kl,
    });
    expect(Object.keys(out).sort()).toEqual(Object.keys(c.expected).sort());
    for (const [k, v] of Object.entries(c.expected)) expectClose(out[k as keyof typeof out] as number, v, k);
  });

  it('clamps advantages symmetrically', () => {
    expect(Array.from(clampAdvantages([7.5, -6, 2], 5))).toEqual([5, -5, 2]);
  });
});
