// `uae eval --checkpoint first|last|STEP` on the tiny bundle with checkpoint fixtures (later checkpoints
// write longer captions): the checkpoint's graphs caption, the step 0 cold start equals the encoder role,
// and unknown steps / bundles without checkpoints fail naming what there is.
import { rmSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpointChoice } from '../../src/cli/eval.ts';
import type { EvalMetrics } from '../../src/engine/infer/index.ts';
import { checkpointBundle } from './checkpoint-fixture.ts';
import { runCli } from './cli-helpers.ts';
import { HOOK_TIMEOUT, TINY_BUNDLE } from './infer-helpers.ts';

let dir: string;
beforeAll(() => {
  dir = checkpointBundle();
}, HOOK_TIMEOUT);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = ['eval', '--scenes', '6', '--batch', '6', '--steps', '1', '--seed', '3'];

async function metrics(extra: string[]): Promise<EvalMetrics> {
  const r = await runCli([...BASE, '--bundle', dir, '--json', ...extra]);
  expect(r.err, r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as EvalMetrics;
}

describe('parseCheckpointChoice', () => {
  it("reads 'first', 'last' and step numbers; refuses anything else", () => {
    expect(parseCheckpointChoice('first')).toBe('first');
    expect(parseCheckpointChoice('last')).toBe('last');
    expect(parseCheckpointChoice('320')).toBe(320);
    expect(parseCheckpointChoice('0')).toBe(0);
    for (const v of ['-1', '1.5', 'latest', '']) expect(() => parseCheckpointChoice(v)).toThrow(InvalidArgumentError);
  });
});

describe('uae eval --checkpoint', () => {
  it("captions with the chosen checkpoint: 'first' is the cold start (the encoder role here), 'last' the latest step", async () => {
    const plain = await metrics([]);
    const first = await metrics(['--checkpoint', 'first']);
    const zero = await metrics(['--checkpoint', '0']);
    const last = await metrics(['--checkpoint', 'last']);
    const sixteen = await metrics(['--checkpoint', '16']);
    const eight = await metrics(['--checkpoint', '8']);
    expect(first).toEqual(plain);
    expect(zero).toEqual(first);
    expect(sixteen).toEqual(last);
    // The fixture's later checkpoints lower [EOS]: step 16 writes to the token limit (48 − [BOS]), and a
    // caption that reaches it keeps every sampled token (no forced [EOS], as TRL).
    expect(last.mean_tokens).toBe(47);
    expect(first.mean_tokens).toBeLessThan(eight.mean_tokens);
    expect(eight.mean_tokens).toBeLessThan(last.mean_tokens);
    expect(Object.keys(last)).toEqual(Object.keys(plain));
  }, 300_000);

  it('says which checkpoint captioned in the table output', async () => {
    const r = await runCli([...BASE, '--bundle', dir, '--checkpoint', '8']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/captions: checkpoint step 8 "GRPO step 8" \(greedy\)/);
  }, 120_000);

  it('a step the bundle lacks fails naming the steps it has', async () => {
    const r = await runCli([...BASE, '--bundle', dir, '--checkpoint', '5', '--json']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.trim()).toBe('uae: bad-request: bundle uae-tiny-ckpt has no checkpoint at step 5; its checkpoints are at steps 0, 8, 16');
  }, 120_000);

  it('a bundle without checkpoints fails saying so', async () => {
    const r = await runCli([...BASE, '--bundle', TINY_BUNDLE, '--checkpoint', 'last', '--json']);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe('uae: bad-request: bundle uae-tiny has no encoder checkpoints (manifest roles.checkpoints is absent)');
  }, 120_000);

  it('refuses a bad value, --encoder referenceEncoder, and grammar captions with it', async () => {
    const bad = await runCli([...BASE, '--bundle', dir, '--checkpoint', 'latest']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--checkpoint takes 'first', 'last' or a step number/);
    const both = await runCli([...BASE, '--bundle', dir, '--checkpoint', '8', '--encoder', 'referenceEncoder']);
    expect(both.code).toBe(1);
    expect(both.err).toMatch(/cannot be combined with --encoder referenceEncoder/);
    const grammar = await runCli([...BASE, '--bundle', dir, '--checkpoint', '8', '--captions', 'level:2']);
    expect(grammar.code).toBe(1);
    expect(grammar.err).toMatch(/--checkpoint needs encoder captions/);
  });
});
