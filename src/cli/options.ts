/** Option parsers of the `uae` commands: each returns commander's parse function for `--<name>`, failing with a message that names it. */
import { InvalidArgumentError } from 'commander';

/** Returns a parser of a decimal integer in [min, max]. */
export function intIn(name: string, min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`--${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

/** Returns a parser of a number in (lowOpen, high]. */
export function numberIn(name: string, lowOpen: number, high: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= lowOpen || n > high)
      throw new InvalidArgumentError(`--${name} must be a number in (${lowOpen}, ${high}]`);
    return n;
  };
}

/** Returns a parser of a number ≥ min (> min when `strict`). */
export function numberAtLeast(name: string, min: number, strict = false): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || (strict && n === min))
      throw new InvalidArgumentError(`--${name} must be a number ${strict ? '>' : '≥'} ${min}`);
    return n;
  };
}

/** Returns a parser of one of `values`. */
export function oneOf<T extends string>(name: string, values: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`--${name} must be one of ${values.join(', ')}`);
    return v as T;
  };
}
