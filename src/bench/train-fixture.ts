/**
 * The GRPO-update parity fixture (tests/fixtures/train/update.{json,bin}, made by models/make_train_fixture.py with
 * the real CaptionDecoder and uae.rl's functions, one case per loss type): reading it, running one case's update
 * with the trainer's GrpoUpdater on whatever jax-js device is the default, and comparing the results with PyTorch's.
 * Used by the unit test (jax-js WASM in Node) and by the bench page (jax-js WASM and WebGPU in Chromium).
 */
import { decoderArch, decoderParamSpec, type DecoderArch, type DecoderParams } from '../engine/train/params.ts';
import { GrpoUpdater, type RolloutBatch } from '../engine/train/update.ts';
import type { LossType } from '../engine/grpo.ts';

/** The tolerance of every comparison: |a − b| ≤ TOL · max(1, |b|). */
export const FIXTURE_TOL = 1e-4;

/** One loss type's case: TRL's options and PyTorch's loss and gradient norm. */
export interface FixtureCase {
  name: string;
  options: {
    loss_type: LossType;
    epsilon_low: number;
    epsilon_high: number;
    beta: number;
    max_completion_length?: number;
    mask_truncated_completions: boolean;
    num_items_mode: string;
    temperature: number;
    lr: number;
    betas: [number, number];
    eps: number;
    weight_decay: number;
    max_grad_norm: number;
  };
  loss: number;
  grad_norm: number;
}

/** update.json: the decoder's shape, the rollouts, and where each tensor sits in update.bin. */
export interface FixtureIndex {
  arch: { vocab: number; dim: number; heads: number; layers: number; max_len: number };
  images: number;
  group: number;
  ids: number[][];
  lengths: number[];
  truncated: number[];
  advantages: number[];
  tensors: Record<string, { offset: number; shape: number[] }>;
  cases: FixtureCase[];
}

/** The fixture: its index and update.bin's float32 values. */
export class TrainFixture {
  readonly arch: DecoderArch;

  constructor(
    readonly index: FixtureIndex,
    readonly blob: Float32Array,
  ) {
    this.arch = decoderArch(index.arch);
  }

  /** Reads the fixture from update.json's text and update.bin's bytes. */
  static parse(json: string, bin: Uint8Array): TrainFixture {
    const copy = bin.slice();
    return new TrainFixture(JSON.parse(json) as FixtureIndex, new Float32Array(copy.buffer, 0, copy.byteLength >> 2));
  }

  /** A tensor of update.bin by name ("params/…", "enc", "<case>/old_logp", …). */
  tensor(name: string): Float32Array {
    const e = this.index.tensors[name];
    if (!e) throw new Error(`fixture has no tensor ${name}`);
    return this.blob.slice(e.offset, e.offset + e.shape.reduce((a, b) => a * b, 1));
  }

  /** The case named `name` (its loss type). */
  case(name: string): FixtureCase {
    const c = this.index.cases.find((k) => k.name === name);
    if (!c) throw new Error(`fixture has no case ${name} (${this.index.cases.map((k) => k.name).join(', ')})`);
    return c;
  }

  /** The cold-start decoder weights. */
  params(): DecoderParams {
    return Object.fromEntries(decoderParamSpec(this.arch).map(([n]) => [n, this.tensor(`params/${n}`)]));
  }

  /** The fixture's rollouts with a case's old/reference log-probs; enc repeated per rollout, as uae.rl does. */
  batch(c: FixtureCase): RolloutBatch {
    const fx = this.index;
    const [images, s, d] = fx.tensors.enc.shape;
    const enc1 = this.tensor('enc');
    const n = images * fx.group;
    const enc = new Float32Array(n * s * d);
    for (let i = 0; i < n; i++) {
      const img = Math.floor(i / fx.group);
      enc.set(enc1.subarray(img * s * d, (img + 1) * s * d), i * s * d);
    }
    return {
      numSequences: n,
      ids: fx.ids.flat(),
      width: fx.arch.max_len,
      lengths: fx.lengths,
      truncated: fx.truncated,
      advantages: fx.advantages,
      oldLogp: this.tensor(`${c.name}/old_logp`),
      refLogp: this.tensor(`${c.name}/ref_logp`),
      enc,
      encLength: s,
    };
  }

  /** The trainer's updater with a case's loss and AdamW options, on the cold-start weights. */
  updater(c: FixtureCase, columnStep?: number): GrpoUpdater {
    const o = c.options;
    if (o.mask_truncated_completions || o.num_items_mode !== 'after_mask')
      throw new Error(`fixture case ${c.name}: options the trainer does not take (mask_truncated_completions, num_items_mode)`);
    return new GrpoUpdater(
      this.arch,
      this.params(),
      {
        lossType: o.loss_type,
        epsilonLow: o.epsilon_low,
        epsilonHigh: o.epsilon_high,
        beta: o.beta,
        maxCompletionLength: o.max_completion_length,
        temperature: o.temperature,
      },
      { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay, maxGradNorm: o.max_grad_norm },
      null,
      columnStep,
    );
  }
}

/** What one case's update gave on a device. */
export interface FixtureResult {
  loss: number;
  gradNorm: number;
  logpBefore: Float32Array;
  logpAfter: Float32Array;
  logitsAfter: Float32Array;
  step: number;
}

/** Runs case `c`'s one update on the default jax-js device -> the numbers PyTorch's are compared with. */
export async function runFixtureCase(fx: TrainFixture, c: FixtureCase): Promise<FixtureResult> {
  const u = fx.updater(c);
  const batch = fx.batch(c);
  try {
    const r = await u.update(batch);
    const logpAfter = await u.tokenLogp(batch);
    const logitsAfter = await u.logits(batch);
    return { loss: r.loss, gradNorm: r.gradNorm, logpBefore: Float32Array.from(r.logp), logpAfter, logitsAfter, step: u.step };
  } finally {
    u.dispose();
  }
}

/** The worst scaled difference |a − b| / max(1, |b|) of two series and where it is. */
export function worstDiff(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number): { worst: number; at: number } {
  const a = typeof actual === 'number' ? [actual] : actual;
  const e = typeof expected === 'number' ? [expected] : expected;
  if (a.length !== e.length) return { worst: Infinity, at: -1 };
  let worst = 0;
  let at = -1;
  for (let i = 0; i < e.length; i++) {
    const excess = Math.abs(a[i] - e[i]) / Math.max(1, Math.abs(e[i]));
    if (!(excess <= worst)) [worst, at] = [excess, i];
  }
  return { worst, at };
}

/** The quantities compared, in report order. */
export const FIXTURE_QUANTITIES = ['loss', 'gradNorm', 'logpBefore', 'logpAfter', 'logitsAfter'] as const;

/** One quantity's worst scaled difference from PyTorch's. */
export type FixtureDiffs = Record<(typeof FIXTURE_QUANTITIES)[number], number>;

/** A result's worst scaled differences from PyTorch's values in the fixture. */
export function fixtureDiffs(fx: TrainFixture, c: FixtureCase, r: FixtureResult): FixtureDiffs {
  return {
    loss: worstDiff(r.loss, c.loss).worst,
    gradNorm: worstDiff(r.gradNorm, c.grad_norm).worst,
    logpBefore: worstDiff(r.logpBefore, fx.tensor(`${c.name}/logp_before`)).worst,
    logpAfter: worstDiff(r.logpAfter, fx.tensor(`${c.name}/logp_after`)).worst,
    logitsAfter: worstDiff(r.logitsAfter, fx.tensor(`${c.name}/logits_after`)).worst,
  };
}
