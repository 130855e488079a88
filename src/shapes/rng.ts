/**
 * Seeded pseudo-random numbers with integer-exact arithmetic (Math.imul, >>>), so Node and every
 * browser produce the same stream for the same seed.
 */

/** A seeded generator: every draw advances one shared 32-bit state. */
export interface Rng {
  /** Returns the next unsigned 32-bit integer in [0, 2^32). */
  nextU32(): number;
  /** Returns the next float in [0, 1) (a multiple of 2^-32). */
  next(): number;
  /** Returns an integer in [0, n) for n >= 1. */
  int(n: number): number;
  /** Returns one element of a non-empty array, chosen uniformly. */
  pick<T>(items: readonly T[]): T;
}

/** Returns a mulberry32 generator seeded with the low 32 bits of `seed`. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const nextU32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => nextU32() / 4294967296;
  const int = (n: number): number => Math.floor(next() * n);
  return { nextU32, next, int, pick: <T>(items: readonly T[]): T => items[int(items.length)] };
}

/** Returns a well-mixed unsigned 32-bit hash of two 32-bit integers (splitmix32-style finaliser). */
export function mix32(a: number, b: number): number {
  let z = (Math.imul(a >>> 0, 0x9e3779b9) + (b >>> 0) + 0x7f4a7c15) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Returns the seed (uint32) of scene `index` in a dataset exported with seed `datasetSeed`. */
export function sceneSeed(datasetSeed: number, index: number): number {
  return mix32(mix32(datasetSeed, 0x5ce7e5), index);
}

/** Returns the seed (uint32) of the caption generator for caption `level` of the scene with `seed`. */
export function captionSeed(seed: number, level: number): number {
  return mix32(mix32(seed, 0xca971011), level);
}

/** Returns a copy of `items` in an order drawn from `rng` (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return out;
}
