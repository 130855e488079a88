import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chartedKeys,
  createReplay,
  otherKeys,
  parseRunLog,
  pause,
  play,
  replayFinished,
  replayPosition,
  resolveChart,
  restart,
  runPrefix,
  seek,
  setRange,
  setSpeed,
  stepRange,
  TRAINING_CHARTS,
  visibleCount,
} from '../../src/engine/runs/index.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'runs');
const jsonl = parseRunLog(readFileSync(join(DIR, 'run.jsonl'), 'utf8'), 'run.jsonl');
const state = parseRunLog(readFileSync(join(DIR, 'trainer_state.json'), 'utf8'), 'trainer_state.json');

/** A clock the test moves by hand. */
function clock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('replay timing (injected clock)', () => {
  it('starts paused showing the whole run, and plays from the start once finished', () => {
    const c = clock();
    let s = createReplay(1, 20, 4, c.now());
    expect(replayPosition(s, c.now())).toBe(20);
    c.advance(10_000);
    expect(replayPosition(s, c.now())).toBe(20);
    s = play(s, c.now());
    expect(replayPosition(s, c.now())).toBe(1);
  });

  it('advances speed × elapsed seconds while playing and clamps at the end', () => {
    const c = clock();
    let s = restart(play(createReplay(0, 100, 10, c.now()), c.now()), c.now());
    c.advance(500);
    expect(replayPosition(s, c.now())).toBeCloseTo(5, 12);
    c.advance(2500);
    expect(replayPosition(s, c.now())).toBeCloseTo(30, 12);
    expect(replayFinished(s, c.now())).toBe(false);
    c.advance(60_000);
    expect(replayPosition(s, c.now())).toBe(100);
    expect(replayFinished(s, c.now())).toBe(true);
    s = play(s, c.now());
    expect(replayPosition(s, c.now())).toBe(0);
  });

  it('pause freezes the position; play resumes from it', () => {
    const c = clock();
    let s = play(seek(createReplay(0, 100, 2, c.now()), 10, c.now()), c.now());
    c.advance(3000);
    s = pause(s, c.now());
    expect(replayPosition(s, c.now())).toBeCloseTo(16, 12);
    c.advance(50_000);
    expect(replayPosition(s, c.now())).toBeCloseTo(16, 12);
    s = play(s, c.now());
    c.advance(1000);
    expect(replayPosition(s, c.now())).toBeCloseTo(18, 12);
  });

  it('a speed change keeps the position and changes the rate from then on', () => {
    const c = clock();
    let s = play(seek(createReplay(0, 1000, 1, c.now()), 0, c.now()), c.now());
    c.advance(4000);
    s = setSpeed(s, 8, c.now());
    expect(replayPosition(s, c.now())).toBeCloseTo(4, 12);
    c.advance(2000);
    expect(replayPosition(s, c.now())).toBeCloseTo(20, 12);
    s = setSpeed(s, 0.5, c.now());
    c.advance(2000);
    expect(replayPosition(s, c.now())).toBeCloseTo(21, 12);
    expect(() => setSpeed(s, 0, c.now())).toThrow(RangeError);
  });

  it('seek clamps into the range, restart goes to the start, both keep playing or paused', () => {
    const c = clock();
    let s = createReplay(5, 50, 1, c.now());
    s = seek(s, -10, c.now());
    expect(replayPosition(s, c.now())).toBe(5);
    s = seek(s, 999, c.now());
    expect(replayPosition(s, c.now())).toBe(50);
    s = restart(play(s, c.now()), c.now());
    c.advance(1000);
    expect(s.playing).toBe(true);
    expect(replayPosition(s, c.now())).toBeCloseTo(6, 12);
  });

  it('a clock that steps backwards never moves the position back past the anchor', () => {
    const c = clock(5000);
    const s = play(seek(createReplay(0, 10, 1, c.now()), 3, c.now()), c.now());
    expect(replayPosition(s, 4000)).toBe(3);
  });

  it('setRange keeps the position inside the new range', () => {
    const c = clock();
    let s = seek(createReplay(0, 100, 1, c.now()), 80, c.now());
    s = setRange(s, 0, 40, c.now());
    expect([s.start, s.end, replayPosition(s, c.now())]).toEqual([0, 40, 40]);
  });
});

describe('visible prefix', () => {
  it('shows exactly the points logged up to the position', () => {
    const pts = jsonl.series.reward;
    for (const pos of [0, 1, 1.5, 7, 19.99, 20, 100]) {
      const want = pts.filter((p) => p.step <= pos).length;
      expect(visibleCount(pts, pos), `position ${pos}`).toBe(want);
    }
    const half = runPrefix(jsonl, 10.5);
    expect(half.series.reward.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(half.series['eval/sim'].map((p) => p.step)).toEqual([5, 10]);
    expect(half.text['eval/sample_caption'].map((p) => p.step)).toEqual([5, 10]);
    expect(jsonl.series.reward).toHaveLength(20);
  });

  it('a replay over several runs spans all of them', () => {
    expect(stepRange([jsonl])).toEqual([1, 20]);
    expect(stepRange([jsonl, state])).toEqual([1, 40]);
    expect(stepRange([])).toBeNull();
  });

  it('the number of visible points grows monotonically as the replay plays', () => {
    const c = clock();
    const s = play(createReplay(1, 40, 10, c.now()), c.now());
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) {
      counts.push(runPrefix(state, replayPosition(s, c.now())).series['completions/mean_length'].length);
      c.advance(700);
    }
    expect(counts).toEqual([1, 8, 15, 22, 29, 36]);
  });
});

describe('key mapping to the charts', () => {
  it('maps TRL names to the five charts, with bands where the run has them', () => {
    const byId = Object.fromEntries(TRAINING_CHARTS.map((c) => [c.id, resolveChart(jsonl, c)]));
    expect(byId.length.map((l) => [l.key, l.band])).toEqual([
      ['completions/mean_length', { kind: 'range', min: 'completions/min_length', max: 'completions/max_length' }],
    ]);
    expect(byId.reward.map((l) => [l.key, l.band])).toEqual([['reward', { kind: 'std', std: 'reward_std' }]]);
    expect(byId.fidelity.map((l) => l.key)).toEqual(['eval/sim', 'eval/attr_recall', 'eval/attr_precision', 'eval/retrieval_top1']);
    expect(byId.kl.map((l) => l.key)).toEqual(['kl']);
    expect(byId.clip.map((l) => l.key)).toEqual(['clip_ratio/region_mean', 'clip_ratio/low_mean', 'clip_ratio/high_mean']);
  });

  it('falls back to older TRL names and drops bands whose keys are missing', () => {
    const old = parseRunLog('{"step": 1, "completion_length": 12, "reward": 0.5, "clip_ratio": 0.01}\n', 'old.jsonl');
    const length = resolveChart(old, TRAINING_CHARTS[0]);
    expect(length.map((l) => [l.key, l.band])).toEqual([['completion_length', undefined]]);
    expect(resolveChart(old, TRAINING_CHARTS[1])[0].band).toBeUndefined();
    expect(resolveChart(old, TRAINING_CHARTS[2])).toEqual([]);
    expect(resolveChart(old, TRAINING_CHARTS[4]).map((l) => l.key)).toEqual(['clip_ratio']);
  });

  it('lists every key no chart uses (unknown keys stay chartable)', () => {
    const used = chartedKeys(state);
    const others = otherKeys([state]);
    // eval_reward is read as eval/reward, which the held-out chart draws; the Trainer's other eval_* stay listed.
    expect(others).not.toContain('eval/reward');
    expect(others).not.toContain('eval/reward_std');
    expect(others).toContain('eval/loss');
    expect(others).toContain('eval/completions/mean_length');
    expect(others).toContain('entropy');
    expect(others).toContain('learning_rate');
    expect(others).not.toContain('reward');
    expect(others).not.toContain('reward_std');
    expect(others).not.toContain('completions/min_length');
    expect(new Set([...used, ...others])).toEqual(new Set(Object.keys(state.series)));
    expect(otherKeys([jsonl, state])).toEqual([...new Set([...otherKeys([jsonl]), ...otherKeys([state])])].sort());
  });
});
