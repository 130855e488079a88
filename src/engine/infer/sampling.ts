/**
 * Token choice and noise: argmax, log-softmax and entropy (of logits / temperature), temperature +
 * nucleus (top-p) sampling, and Gaussian noise (Box–Muller). Randomness only from an injected seeded
 * Rng; plain double arithmetic. A policy's log-probs and entropies are those of softmax(logits / T),
 * the distribution it samples from before top-p (TRL v1.9.0 grpo_trainer.py 1517-1530 divides the
 * logits by the temperature for every log-prob it computes, greedy or not).
 */
import type { Rng } from '../../shapes/rng.ts';

/**
 * How captions are decoded: greedy (argmax; `temperature`, default 1, only scales the logged log-probs),
 * or sampled from softmax(logits / temperature) with top-p from `rng`.
 */
export type DecodingPolicy = { kind: 'greedy'; temperature?: number } | { kind: 'sample'; temperature: number; topP: number };

/** Returns the temperature a policy's log-probs and entropies divide the logits by: its temperature if > 0, else 1. */
export function policyTemperature(policy: DecodingPolicy): number {
  const t = policy.temperature ?? 1;
  return t > 0 ? t : 1;
}

/** Returns the index of the largest value of `x[offset, offset+n)` relative to offset (first one on ties). */
export function argmax(x: ArrayLike<number>, offset = 0, n = x.length - offset): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[offset + i];
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/** Returns log-softmax [n] (nats) of `x[offset, offset+n)` divided by `temperature`. */
export function logSoftmax(x: ArrayLike<number>, offset = 0, n = x.length - offset, temperature = 1): Float64Array {
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[offset + i] / temperature);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[offset + i] / temperature - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < n; i++) out[i] = x[offset + i] / temperature - lse;
  return out;
}

/** Returns the entropy (nats) of softmax(x[offset, offset+n) / temperature). */
export function entropy(x: ArrayLike<number>, offset = 0, n = x.length - offset, temperature = 1): number {
  const lp = logSoftmax(x, offset, n, temperature);
  let h = 0;
  for (let i = 0; i < n; i++) if (lp[i] > -Infinity) h -= Math.exp(lp[i]) * lp[i];
  return h;
}

/**
 * Returns a token drawn from softmax(logits/temperature) restricted to the nucleus: tokens sorted by
 * probability (ties: lower id first), the shortest prefix whose mass reaches topP (always ≥ 1 token),
 * renormalised; one `rng.next()` per call. temperature ≤ 0 means argmax (no draw).
 */
export function sampleToken(
  logits: ArrayLike<number>,
  offset: number,
  n: number,
  policy: { temperature: number; topP: number },
  rng: Rng,
): number {
  if (!(policy.temperature > 0)) return argmax(logits, offset, n);
  const lp = logSoftmax(logits, offset, n, policy.temperature);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => lp[b] - lp[a] || a - b);
  const topP = Math.min(Math.max(policy.topP, 0), 1);
  const keep: number[] = [];
  const probs: number[] = [];
  let mass = 0;
  for (const id of order) {
    const p = Math.exp(lp[id]);
    keep.push(id);
    probs.push(p);
    mass += p;
    if (mass >= topP) break;
  }
  let u = rng.next() * mass;
  for (let i = 0; i < keep.length; i++) {
    u -= probs[i];
    if (u < 0) return keep[i];
  }
  return keep[keep.length - 1];
}

/** Returns the next token of one row under `policy` (greedy ignores rng). */
export function chooseToken(logits: ArrayLike<number>, offset: number, n: number, policy: DecodingPolicy, rng: Rng | undefined): number {
  if (policy.kind === 'greedy') return argmax(logits, offset, n);
  if (!rng) throw new Error('chooseToken: sampling needs a seeded rng');
  return sampleToken(logits, offset, n, policy, rng);
}

/** Returns `count` standard normal floats from `rng` (Box–Muller, both outputs used: cos then sin). */
export function gaussianNoise(rng: Rng, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = 1 - rng.next(); // (0, 1]: log stays finite
    const u2 = rng.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
