// `uae train`: every invalid field is refused with exit code 1 and a message naming it, and `--json` prints
// {config, log: [one TRL-named row per step], eval: [{step, mean_tokens, sim, attr_precision, attr_recall, retrieval_top1,
// sample_caption}]} with evaluations at step 0 and every --eval-every steps up to the last.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrainJson } from '../../src/cli/train.ts';
import { LIVE_PRESET } from '../../src/engine/train/config.ts';
import { cliJson, runCli } from './cli-helpers.ts';

describe('uae train', () => {
  it.each([
    [['--group', '1'], '--group'],
    [['--lr', '0'], '--lr'],
    [['--lr', '-1e-5'], '--lr'],
    [['--beta', '-0.1'], '--beta'],
    [['--steps', '0'], '--steps'],
    [['--steps', '2.5'], '--steps'],
    [['--steps', 'ten'], '--steps'],
    [['--reward', 'simm'], '--reward'],
    [['--reward', 'sim=abc'], '--reward'],
    [['--loss', 'ppo'], '--loss'],
    [['--temperature', '0'], '--temperature'],
    [['--ort', 'gpu'], '--ort'],
  ])('refuses %j naming %s', async (args, field) => {
    const r = await runCli(['train', ...args, '--json']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain(field);
  });

  it('--json: config (the preset where not set), one TRL-named row per step, eval rows at 0, every K and the last step', async () => {
    const args = [
      '--steps',
      '3',
      '--group',
      '2',
      '--images',
      '2',
      '--flow-steps',
      '1',
      '--eval-every',
      '2',
      '--eval-scenes',
      '2',
      '--lr',
      '1e-4',
    ];
    const doc = await cliJson<TrainJson>(['train', ...args, '--json']);
    expect(Object.keys(doc)).toEqual(['config', 'log', 'eval']);
    expect(doc.config).toMatchObject({
      ...LIVE_PRESET,
      steps: 3,
      group: 2,
      images: 2,
      flowSteps: 1,
      evalEvery: 2,
      evalScenes: 2,
      lr: 1e-4,
    });
    expect(doc.log.map((r) => r.step)).toEqual([1, 2, 3]);
    for (const row of doc.log) {
      for (const k of ['learning_rate', 'reward', 'reward_std', 'kl', 'loss', 'completions/mean_length', 'entropy', 's_per_step'])
        expect(typeof row[k], k).toBe('number');
    }
    expect(doc.eval.map((e) => e.step)).toEqual([0, 2, 3]);
    for (const e of doc.eval)
      expect(Object.keys(e)).toEqual(['step', 'mean_tokens', 'sim', 'attr_precision', 'attr_recall', 'retrieval_top1', 'sample_caption']);
  });

  it('--ort native runs the rollouts on onnxruntime-node: the cold start evaluates as on WASM, and a step trains', async () => {
    const args = ['train', '--steps', '1', '--group', '2', '--images', '1', '--flow-steps', '1', '--eval-every', '1'];
    const tiny = [...args, '--eval-scenes', '2', '--json'];
    const [wasm, native] = [await cliJson<TrainJson>(tiny), await cliJson<TrainJson>([...tiny, '--ort', 'native'])];
    expect(native.eval.map((e) => e.step)).toEqual([0, 1]);
    // same weights, same greedy captions: the cold start's evaluation agrees across the two runtimes
    expect(native.eval[0].mean_tokens).toBe(wasm.eval[0].mean_tokens);
    expect(native.eval[0].sim).toBeCloseTo(wasm.eval[0].sim, 3);
    for (const k of ['reward', 'kl', 'loss', 'completions/mean_length']) expect(Number.isFinite(native.log[0][k]), k).toBe(true);
  });
});

describe('uae train --out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'uae-train-out-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const args = [
    '--group',
    '2',
    '--images',
    '2',
    '--flow-steps',
    '1',
    '--eval-every',
    '1',
    '--eval-scenes',
    '2',
    '--lr',
    '1e-3',
    '--out',
    dir,
  ];

  it('writes a bundle that `uae info` verifies and `uae eval --checkpoint last` evaluates as the trainer did, and resumes', async () => {
    const first = await cliJson<TrainJson>(['train', '--steps', '1', ...args, '--json']);
    expect(first.log.map((r) => r.step)).toEqual([1]);
    expect((await runCli(['info', dir, '--no-graphs'])).code).toBe(0);
    // a file of DIR that no longer matches the source bundle (changed since, or damaged) is rewritten on resume
    writeFileSync(join(dir, 'tokenizer.json'), '{"changed": true}');
    const resumed = await cliJson<TrainJson>(['train', '--steps', '2', ...args, '--json']);
    expect(resumed.log.map((r) => r.step)).toEqual([1, 2]);
    expect(resumed.eval.map((e) => e.step)).toEqual([0, 1, 2]);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { roles: { checkpoints: { step: number }[] } };
    expect(manifest.roles.checkpoints.map((c) => c.step)).toEqual([0, 1, 2]);
    const lines = readFileSync(join(dir, 'runs', 'live-stage2.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { step: number }).step)).toEqual([0, 1, 2]);
    expect(JSON.parse(lines[2])).toHaveProperty('reward');
    expect((await runCli(['info', dir, '--no-graphs'])).code).toBe(0);
    const ev = await cliJson<{ sim: number; mean_tokens: number }>([
      'eval',
      '--bundle',
      dir,
      '--checkpoint',
      'last',
      '--scenes',
      '2',
      '--json',
    ]);
    expect(ev.sim).toBeCloseTo(resumed.eval[2].sim, 5);
    expect(ev.mean_tokens).toBe(resumed.eval[2].mean_tokens);
    const other = await runCli(['train', '--steps', '2', ...args, '--beta', '0.5', '--json']);
    expect(other.code).toBe(1);
    expect(other.err).toContain('other settings');
  });
});
