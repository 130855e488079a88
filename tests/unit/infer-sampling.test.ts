/** Token choice: argmax ties, log-softmax and entropy of logits / T, temperature and nucleus (top-p) sampling frequencies. */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/shapes/index.ts';
import { argmax, entropy, logSoftmax, policyTemperature, sampleToken } from '../../src/engine/infer/index.ts';

const LOGITS = [2.0, 1.0, 0.5, 0.5, -1.0, -3.0];

/** Returns draw frequencies of each token over `n` draws. */
function frequencies(policy: { temperature: number; topP: number }, n: number, seed = 1): number[] {
  const rng = createRng(seed);
  const counts = new Array<number>(LOGITS.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampleToken(LOGITS, 0, LOGITS.length, policy, rng)]++;
  return counts.map((c) => c / n);
}

/** softmax(logits/T) computed directly. */
const softmax = (xs: number[], T: number): number[] => {
  const e = xs.map((x) => Math.exp(x / T));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('argmax and log-softmax', () => {
  it('takes the first maximum and respects offsets', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([9, 9, 0, 5, 5], 2, 3)).toBe(1);
  });

  it('log-softmax exponentiates to softmax and honours temperature', () => {
    const lp = logSoftmax(LOGITS);
    softmax(LOGITS, 1).forEach((p, i) => expect(Math.exp(lp[i])).toBeCloseTo(p, 12));
    const hot = logSoftmax(LOGITS, 0, LOGITS.length, 2);
    softmax(LOGITS, 2).forEach((p, i) => expect(Math.exp(hot[i])).toBeCloseTo(p, 12));
  });
});

describe('tempered entropy and the policy temperature', () => {
  it('entropy is −Σ p log p of softmax(logits / T)', () => {
    for (const T of [1, 0.7, 3]) {
      const p = softmax(LOGITS, T);
      const want = -p.reduce((h, q) => h + q * Math.log(q), 0);
      expect(entropy(LOGITS, 0, LOGITS.length, T)).toBeCloseTo(want, 12);
    }
    expect(entropy(LOGITS, 0, LOGITS.length, 3)).toBeGreaterThan(entropy(LOGITS));
    expect(entropy([0, 0, 0, 0])).toBeCloseTo(Math.log(4), 12);
  });

  it('log-probs use the sampling temperature; greedy uses its own (default 1); T ≤ 0 (argmax) scores at 1', () => {
    expect(policyTemperature({ kind: 'sample', temperature: 0.6, topP: 0.9 })).toBe(0.6);
    expect(policyTemperature({ kind: 'greedy' })).toBe(1);
    expect(policyTemperature({ kind: 'greedy', temperature: 2 })).toBe(2);
    expect(policyTemperature({ kind: 'sample', temperature: 0, topP: 1 })).toBe(1);
  });
});

describe('sampleToken', () => {
  it('draws with softmax(logits/T) frequencies when topP = 1', () => {
    for (const T of [1, 2]) {
      const f = frequencies({ temperature: T, topP: 1 }, 40000);
      softmax(LOGITS, T).forEach((p, i) => expect(Math.abs(f[i] - p)).toBeLessThan(0.01));
    }
  });

  it('keeps the smallest nucleus reaching topP, renormalised', () => {
    const p = softmax(LOGITS, 1); // ≈ .53 .20 .12 .12 .03 .004
    const f = frequencies({ temperature: 1, topP: 0.7 }, 40000);
    const kept = p[0] + p[1];
    expect(Math.abs(f[0] - p[0] / kept)).toBeLessThan(0.01);
    expect(Math.abs(f[1] - p[1] / kept)).toBeLessThan(0.01);
    expect(f.slice(2).every((x) => x === 0)).toBe(true);
    // Ties at the nucleus edge: the lower id enters first.
    const g = frequencies({ temperature: 1, topP: 0.8 }, 20000);
    expect(g[2]).toBeGreaterThan(0);
    expect(g[3]).toBe(0);
  });

  it('degenerates to argmax for a tiny topP or temperature 0, and is reproducible', () => {
    expect(frequencies({ temperature: 1, topP: 1e-9 }, 500)[0]).toBe(1);
    expect(frequencies({ temperature: 0, topP: 1 }, 500)[0]).toBe(1);
    expect(frequencies({ temperature: 1, topP: 1 }, 1000, 7)).toEqual(frequencies({ temperature: 1, topP: 1 }, 1000, 7));
  });
});
