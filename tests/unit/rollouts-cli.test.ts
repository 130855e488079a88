// `uae rollouts` on the tiny bundle (random weights: captions are garbage, so the checks are about
// structure and consistency): the JSON logs per-token inputs from which grpoReport gives back exactly the
// printed advantages, metrics and losses; the CLI samples what the engine samples; options and errors.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseLengthPenalty, parseOldPolicy, parseRewardWeights, printText, type RolloutsJson } from '../../src/cli/rollouts.ts';
import { encodePng } from '../../src/cli/roundtrip.ts';
import { grpoReport, LOSS_TYPES } from '../../src/engine/grpo.ts';
import { DEFAULT_SETTINGS, resolveImage, runRollouts } from '../../src/engine/rollouts/index.ts';
import { cliJson, runCli } from './cli-helpers.ts';
import { openContext, TINY_BUNDLE } from './infer-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'uae-rollouts-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = runCli;

const HOT = ['--temperature', '8', '--top-p', '0.9', '--steps', '2', '--bundle', TINY_BUNDLE];

const json = (args: string[]) => cliJson<RolloutsJson>(['rollouts', ...HOT, '--json', ...args]);

/** grpoReport of the inputs the JSON logs (per-token arrays, lengths, scores), with the JSON's settings. */
function reportFromJson(doc: RolloutsJson) {
  const s = doc.settings;
  const T = Math.max(...doc.rollouts.map((r) => r.length));
  const flat = (pick: (r: RolloutsJson['rollouts'][number]) => number[] | null) => {
    if (doc.rollouts.some((r) => !pick(r))) return null;
    const out = new Float64Array(doc.rollouts.length * T);
    doc.rollouts.forEach((r, i) => out.set(pick(r)!, i * T));
    return out;
  };
  const names = (['sim', 'psnr', 'ssim', 'attr_f1'] as const).filter((n) => (s.rewards[n] ?? 0) !== 0);
  return grpoReport({
    numSequences: doc.rollouts.length,
    maxLen: T,
    lengths: doc.rollouts.map((r) => r.length),
    truncated: doc.rollouts.map((r) => +r.truncated),
    logp: flat((r) => r.logp)!,
    refLogp: flat((r) => r.ref_logp),
    oldLogp: flat((r) => r.old_logp),
    entropies: flat((r) => r.entropy),
    groupSize: s.groupSize,
    scaleRewards: s.scaleRewards,
    lengthPenalty: s.lengthPenalty,
    components: names.map((n) => ({ name: n, weight: s.rewards[n]!, values: doc.rollouts.map((r) => r.scores[n] ?? NaN) })),
    options: { lossType: s.lossType, epsilonLow: s.epsilonLow, epsilonHigh: s.epsilonHigh, beta: s.beta, maxCompletionLength: 47 },
  });
}

describe('uae rollouts --scene --json', () => {
  let doc: RolloutsJson;
  it('prints every rollout with its per-token log-probs, and the group metrics and losses that grpoReport gives for them', async () => {
    doc = await json([
      '--scene',
      '3',
      '--group',
      '5',
      '--seed',
      '9',
      '--reward',
      'sim=1,ssim=0.5,attr_f1=2',
      '--beta',
      '0.05',
      '--length-penalty',
      'overlong:40:8',
    ]);
    expect(doc.rollouts).toHaveLength(5);
    for (const r of doc.rollouts) {
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['caption', 'tokens', 'reward', 'advantage', 'logp', 'ref_logp', 'kl']));
      expect(r.logp).toHaveLength(r.length);
      expect(r.ref_logp).toHaveLength(r.length);
      expect(r.entropy).toHaveLength(r.length);
      expect(typeof r.scores.attr_f1).toBe('number');
    }
    expect(Object.keys(doc.loss).sort()).toEqual([...LOSS_TYPES].sort());
    const expected = reportFromJson(doc);
    doc.rollouts.forEach((r, i) => {
      expect(r.reward).toBeCloseTo(expected.rewards[i], 12);
      expect(r.advantage).toBeCloseTo(expected.advantages.advantages[i], 10);
      expect(r.kl!).toBeCloseTo(expected.loss.sequenceKl![i], 12);
    });
    for (const t of LOSS_TYPES) expect(doc.loss[t], t).toBeCloseTo(expected.loss.losses[t], 12);
    expect(Object.keys(doc.metrics).sort()).toEqual(Object.keys(expected.metrics).sort());
    for (const [k, v] of Object.entries(expected.metrics)) expect(doc.metrics[k], k).toBeCloseTo(v, 10);
    expect(doc.metrics).toHaveProperty(['rewards/length_penalty/mean']);
  });

  it('samples what the engine samples for the same settings', async () => {
    const o = await openContext(TINY_BUNDLE);
    try {
      const out = await runRollouts(o.ctx, [resolveImage({ kind: 'scene', seed: 3 }, 64, 64)], doc.settings);
      expect(out.records.map((r) => r.caption)).toEqual(doc.rollouts.map((r) => r.caption));
    } finally {
      await o.engine.sessions.release();
    }
  });

  it('batch mode: B scenes × G, per-group statistics, PNGs written', async () => {
    const out = join(tmp, 'batch');
    const b = await json(['--scene', '10', '--batch', '2', '--group', '3', '--scale', 'batch', '--out', out]);
    expect(b.inputs).toEqual(['scene 10', 'scene 11']);
    expect(b.rollouts.map((r) => r.group)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(b.groups).toHaveLength(2);
    expect(readdirSync(out).sort()).toEqual([
      'image-0.png',
      'image-1.png',
      'rollout-0-0.png',
      'rollout-0-1.png',
      'rollout-0-2.png',
      'rollout-1-0.png',
      'rollout-1-1.png',
      'rollout-1-2.png',
    ]);
  });

  it('takes an image file (no scene: attr_f1 is null), and a text run with --bench prints the speed-up', async () => {
    const file = join(tmp, 'in.png');
    writeFileSync(file, encodePng(new Uint8Array(32 * 48 * 3).fill(90), 48, 32));
    const f = await json([file, '--group', '2']);
    expect(f.inputs).toEqual([file]);
    expect(f.rollouts.every((r) => r.scores.attr_f1 === null)).toBe(true);
    const text = await run(['rollouts', ...HOT, '--scene', '1', '--group', '2', '--bench']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/speed-up \d+\.\d\dx \(identical captions\)/);
    expect(text.out).toMatch(/loss \(dr_grpo\)/);
  });
});

describe('uae rollouts text output', () => {
  it('prints float noise around 0 as 0 (no -0.000000), small real values as they are; --json keeps raw values', () => {
    const doc = {
      bundle: 'b',
      inputs: ['scene 1'],
      settings: DEFAULT_SETTINGS,
      old_policy: 'current policy',
      rollouts: [
        {
          group: 0,
          caption: 'a red circle',
          tokens: 3,
          length: 4,
          truncated: false,
          reward: 0.5,
          advantage: -3e-17,
          kl: 1.5e-5,
          sequence_logp: -2,
        },
      ],
      metrics: { 'completions/mean_length': 4, kl: 1.5e-5, entropy: -6.245e-17 },
      loss: { grpo: -6.245e-17, bnpo: 0.0123, dr_grpo: 0.01, dapo: 0.0123 },
    } as unknown as RolloutsJson;
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      printText(doc);
    } finally {
      log.mockRestore();
    }
    const out = lines.join('\n');
    expect(out).toMatch(/^loss \(grpo\) +0\.000000$/m);
    expect(out).toMatch(/^entropy +0\.000000$/m);
    expect(out).toMatch(/^kl +0\.000015$/m);
    expect(out).toMatch(/^ 0 +0\.5000 +0\.000 +0\.00002 +-2\.00 +4 +3 {2}a red circle$/m);
    expect(out).not.toMatch(/-0\.0+\b|e-\d/);
    expect(doc.loss.grpo).toBe(-6.245e-17);
  });
});

describe('uae rollouts options and errors', () => {
  it('parses reward mixes, length penalties and old policies', () => {
    expect(parseRewardWeights('psnr')).toEqual({ psnr: 1 });
    expect(parseRewardWeights('sim=1, psnr=0.02')).toEqual({ sim: 1, psnr: 0.02 });
    expect(() => parseRewardWeights('clip=1')).toThrow(/NAME/);
    expect(parseLengthPenalty('none')).toBeNull();
    expect(parseLengthPenalty('overlong:40:8')).toEqual({ kind: 'overlong', maxCompletionLength: 40, softPunishCache: 8 });
    expect(parseLengthPenalty('linear:0.01:2')).toEqual({ kind: 'linear', coef: 0.01, weight: 2 });
    expect(() => parseLengthPenalty('overlong:4:8')).toThrow(/MAX/);
    expect(parseOldPolicy('current')).toEqual(DEFAULT_SETTINGS.oldPolicy);
    expect(parseOldPolicy('120')).toEqual({ kind: 'checkpoint', step: 120 });
  });

  it('exits 2 without an input or with two, 1 on bad options or settings the bundle cannot run', async () => {
    expect((await run(['rollouts', ...HOT])).code).toBe(2);
    expect((await run(['rollouts', ...HOT, 'x.png', '--scene', '1'])).code).toBe(2);
    expect((await run(['rollouts', ...HOT, '--scene', '1', '--group', '1'])).code).toBe(1);
    expect((await run(['rollouts', ...HOT, '--scene', '1', '--group', '33'])).code).toBe(1);
    const old = await run(['rollouts', ...HOT, '--scene', '1', '--old', '500']);
    expect(old.code).toBe(1);
    expect(old.err).toMatch(/bad-request: rollouts: oldPolicy names checkpoint step 500/);
    const missing = await run(['rollouts', ...HOT, join(tmp, 'nope.png')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.png: no such file/);
  });
});
