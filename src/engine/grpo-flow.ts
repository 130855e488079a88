// Flow-GRPO maths for a rectified-flow decoder: the SDE sampling step with its Gaussian
// log-probability, the KL to a reference model, advantages and the per-timestep clipped loss.
// Follows yifan123/flow_grpo (sd3_sde_with_logprob.py `sde_step_with_logprob`, sde_type 'sde';
// scripts/train_sd3.py; flow_grpo/stat_tracking.py). Sources and caveats: docs/grpo.md.
// Convention as there: t (sigma) runs from 1 (noise) to 0 (data), so dt = t_next − t < 0.

import { ADVANTAGE_EPS, mean } from './grpo-rewards.ts';

/** Result of {@link sdeStepStats}. */
export interface SdeStep {
  /** [D] mean of x_{t+dt}. */
  mean: Float64Array;
  /** Std of every element of x_{t+dt}: σ_t·√|dt|. */
  std: number;
  /** σ_t = a·√(t/(1−t)) (Flow-GRPO's std_dev_t); 1−t uses sigmaMax at t = 1. */
  stdDevT: number;
  /** [D] mean + std·noise when noise was given, else null. */
  next: Float64Array | null;
}

/** Returns the SDE step's Gaussian: mean x(1+σ²dt/2t) + v(1+σ²(1−t)/2t)dt, std σ_t√|dt|, and the sample for noise. */
export function sdeStepStats(
  x: ArrayLike<number>,
  v: ArrayLike<number>,
  t: number,
  dt: number,
  a: number,
  noise?: ArrayLike<number> | null,
  sigmaMax?: number | null,
): SdeStep {
  if (x.length !== v.length) throw new RangeError(`x has ${x.length} elements, v ${v.length}`);
  if (noise && noise.length !== x.length) throw new RangeError(`noise has ${noise.length} elements, expected ${x.length}`);
  if (!(dt < 0)) throw new RangeError('dt must be negative: t runs from noise (1) to data (0)');
  if (!(t > 0 && t <= 1)) throw new RangeError(`t = ${t} outside (0, 1]`);
  const denomSigma = t === 1 ? sigmaMax : t;
  if (denomSigma == null || denomSigma >= 1) throw new RangeError('t = 1 needs sigmaMax < 1 (the next sigma of the schedule)');
  const stdDevT = Math.sqrt(t / (1 - denomSigma)) * a;
  const var2 = stdDevT * stdDevT;
  const xCoef = 1 + (var2 / (2 * t)) * dt;
  const vCoef = (1 + (var2 * (1 - t)) / (2 * t)) * dt;
  const std = stdDevT * Math.sqrt(-dt);
  const m = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) m[i] = x[i] * xCoef + v[i] * vCoef;
  let next: Float64Array | null = null;
  if (noise) {
    next = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) next[i] = m[i] + std * noise[i];
  }
  return { mean: m, std, stdDevT, next };
}

/** Returns the Gaussian log-density of sample around mean with scalar std, averaged over elements (nats per element). */
export function sdeLogProb(sample: ArrayLike<number>, m: ArrayLike<number>, std: number): number {
  if (sample.length !== m.length) throw new RangeError(`sample has ${sample.length} elements, mean ${m.length}`);
  const c = -Math.log(std) - Math.log(Math.sqrt(2 * Math.PI));
  let s = 0;
  for (let i = 0; i < sample.length; i++) {
    const d = sample[i] - m[i];
    s += -(d * d) / (2 * std * std) + c;
  }
  return s / sample.length;
}

/** Returns Flow-GRPO's KL term mean_i((μθ−μref)_i²) / (2σ_t²), with σ_t = stdDevT (not σ_t√|dt|). */
export function flowKl(meanTheta: ArrayLike<number>, meanRef: ArrayLike<number>, stdDevT: number): number {
  if (meanTheta.length !== meanRef.length) throw new RangeError('means differ in length');
  let s = 0;
  for (let i = 0; i < meanTheta.length; i++) {
    const d = meanTheta[i] - meanRef[i];
    s += d * d;
  }
  return s / meanTheta.length / (2 * stdDevT * stdDevT);
}

/** Returns [N] advantages clamped to [−maxAbs, maxAbs] (Flow-GRPO's adv_clip_max, 5 by default there). */
export function clampAdvantages(advantages: ArrayLike<number>, maxAbs: number): Float64Array {
  const out = new Float64Array(advantages.length);
  for (let i = 0; i < advantages.length; i++) out[i] = Math.min(Math.max(advantages[i], -maxAbs), maxAbs);
  return out;
}

function populationStd(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let ss = 0;
  for (let i = 0; i < xs.length; i++) ss += (xs[i] - m) * (xs[i] - m);
  return Math.sqrt(ss / xs.length);
}

/** Returns [N] Flow-GRPO advantages (r − group mean)/(std + 1e-4) with numpy's population std, per group or global. */
export function flowAdvantages(rewards: ArrayLike<number>, groupSize: number, globalStd: boolean): Float64Array {
  const n = rewards.length;
  if (!Number.isInteger(groupSize) || groupSize < 1 || n % groupSize !== 0) {
    throw new RangeError(`${n} rewards do not split into groups of ${groupSize}`);
  }
  const out = new Float64Array(n);
  const global = populationStd(rewards);
  for (let g = 0; g < n; g += groupSize) {
    const chunk = Array.prototype.slice.call(rewards, g, g + groupSize) as number[];
    const m = mean(chunk);
    const std = (globalStd ? global : populationStd(chunk)) + ADVANTAGE_EPS;
    for (let i = 0; i < groupSize; i++) out[g + i] = (chunk[i] - m) / std;
  }
  return out;
}

/** Inputs of {@link flowGrpoLoss}: one timestep over a batch of B samples, all [B]. */
export interface FlowLossInput {
  logProb: ArrayLike<number>;
  oldLogProb: ArrayLike<number>;
  advantages: ArrayLike<number>;
  clipRange: number;
  advClipMax: number;
  beta: number;
  /** [B] per-sample KL from {@link flowKl}; needed when beta > 0. */
  kl?: ArrayLike<number> | null;
}

/** Flow-GRPO's logged numbers for one timestep (their names). */
export interface FlowLoss {
  loss: number;
  policy_loss: number;
  /** Present when beta > 0. */
  kl_loss?: number;
  approx_kl: number;
  clipfrac: number;
  clipfrac_gt_one: number;
  clipfrac_lt_one: number;
}

/** Returns Flow-GRPO's per-timestep loss mean_b max(−Aρ, −A·clip(ρ,1±ε)) + β·mean(KL) and its diagnostics. */
export function flowGrpoLoss(input: FlowLossInput): FlowLoss {
  const b = input.logProb.length;
  if (input.oldLogProb.length !== b || input.advantages.length !== b) throw new RangeError('inputs differ in length');
  if (input.beta > 0 && (!input.kl || input.kl.length !== b)) throw new RangeError('beta > 0 needs [B] kl');
  const adv = clampAdvantages(input.advantages, input.advClipMax);
  const c = input.clipRange;
  let policy = 0;
  let approx = 0;
  let frac = 0;
  let gt = 0;
  let lt = 0;
  for (let i = 0; i < b; i++) {
    const logRatio = input.logProb[i] - input.oldLogProb[i];
    const ratio = Math.exp(logRatio);
    const unclipped = -adv[i] * ratio;
    const clipped = -adv[i] * Math.min(Math.max(ratio, 1 - c), 1 + c);
    policy += Math.max(unclipped, clipped);
    approx += logRatio * logRatio;
    if (Math.abs(ratio - 1) > c) frac++;
    if (ratio - 1 > c) gt++;
    if (1 - ratio > c) lt++;
  }
  const out: FlowLoss = {
    loss: policy / b,
    policy_loss: policy / b,
    approx_kl: (0.5 * approx) / b,
    clipfrac: frac / b,
    clipfrac_gt_one: gt / b,
    clipfrac_lt_one: lt / b,
  };
  if (input.beta > 0 && input.kl) {
    out.kl_loss = mean(input.kl);
    out.loss = out.policy_loss + input.beta * out.kl_loss;
  }
  return out;
}
