// Shared by tests/unit/grpo*.test.ts: reads tests/fixtures/grpo/*.json (written by
// models/make_grpo_fixtures.py) and compares numbers to 1e-5, absolute or relative.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { LossType, NumItemsMode, RewardStdMode } from '../../src/engine/grpo.ts';

/** A fixture number; null stands for NaN (JSON has none). */
export type Num = number | null;

const TOL = 1e-5;

/** Returns the parsed fixture tests/fixtures/grpo/<name>. */
export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/grpo/${name}`, import.meta.url), 'utf8')) as T;
}

/** Fails at the first index whose |a−b| exceeds 1e-5 both absolutely and relatively (null = NaN). */
export function expectClose(actual: ArrayLike<number> | number, expected: Num[] | Num, what: string): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = Array.isArray(expected) ? expected : [expected];
  expect(a.length, `${what}: length`).toBe(e.length);
  for (let i = 0; i < e.length; i++) {
    const want = e[i] ?? NaN;
    if (Number.isNaN(want)) {
      expect(Number.isNaN(a[i]), `${what}[${i}] should be NaN, got ${a[i]}`).toBe(true);
      continue;
    }
    const diff = Math.abs(a[i] - want);
    const ok = diff <= TOL || diff <= TOL * Math.abs(want);
    expect(ok, `${what}[${i}]: got ${a[i]}, expected ${want}`).toBe(true);
  }
}

/** Returns the TS reward_std mode of a fixture's "all" | "group_mean" (absent = "all"). */
export function rewardStdMode(v: string | null | undefined): RewardStdMode {
  if (v == null || v === 'all') return 'all';
  if (v === 'group_mean') return 'group-mean';
  throw new Error(`unknown reward_std ${v}`);
}

/** Returns the TS numItemsMode of a fixture's "after_mask" | "before_mask" (absent = "after_mask"). */
export function numItemsMode(v: string | null | undefined): NumItemsMode {
  if (v == null || v === 'after_mask') return 'after-mask';
  if (v === 'before_mask') return 'before-mask';
  throw new Error(`unknown num_items_mode ${v}`);
}

/** GRPO loss options as the Python fixture scripts write them (TRL's GRPOConfig names). */
export interface TrlLossOptions {
  loss_type: LossType;
  epsilon_low: number;
  epsilon_high: number;
  beta: number;
  max_completion_length: number;
  mask_truncated_completions: boolean;
  num_items_mode?: string;
}
