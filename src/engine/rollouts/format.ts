/**
 * Numbers as shown (the panel, the CLI's text output): a value that is 0 up to float rounding is shown as
 * 0. GRPO's `grpo` loss with ratio 1 is −mean(A), and group-centred advantages sum to 0 only up to the last
 * bits of a double (6.245e-17, say); printing that digit for digit suggests a loss that is not there. The
 * `--json` output and the store keep the raw values.
 */

/** Magnitude, relative to the scale of the numbers a value was computed from, below which it is float noise. */
export const FLOAT_NOISE = 1e-12;

/**
 * Returns `x`, or 0 when |x| ≤ FLOAT_NOISE · max(1, |scale|) (the sum of numbers of size `scale` that cancel
 * is left with about 1e-16 · scale); −0 becomes 0. NaN and ±Infinity are returned as they are.
 */
export function zeroNoise(x: number, scale = 1): number {
  return Math.abs(x) <= FLOAT_NOISE * Math.max(1, Math.abs(scale)) ? 0 : x;
}

/** `x.toFixed(digits)` after zeroNoise, without a sign on a zero ("0.000", never "-0.000"); NaN and ±Infinity as they are. */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  const s = zeroNoise(x).toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}
