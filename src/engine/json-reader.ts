/** Reading untyped JSON field by field, collecting "<file>: <field> <problem>" errors instead of throwing. */

/** A parsed JSON object. */
export type Obj = Record<string, unknown>;

/** Returns true for a plain JSON object (not null, not an array). */
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Collects errors while reading fields of unknown JSON; every reader returns a typed value or undefined. */
export class Reader {
  readonly errors: string[] = [];
  constructor(private readonly file: string) {}

  /** Records `<file>: <field> <message>`; returns undefined so readers can `return r.fail(...)`. */
  fail(field: string, message: string): undefined {
    this.errors.push(`${this.file}: ${field} ${message}`);
    return undefined;
  }

  /** Returns `v` as an object, or undefined (error recorded). */
  obj(v: unknown, field: string): Obj | undefined {
    return isObj(v) ? v : this.fail(field, 'must be an object');
  }

  /** Returns `v` as an array, or undefined (error recorded). */
  arr(v: unknown, field: string): unknown[] | undefined {
    return Array.isArray(v) ? v : this.fail(field, 'must be an array');
  }

  /** Returns `v` as a non-empty string, or undefined (error recorded). */
  str(v: unknown, field: string): string | undefined {
    return typeof v === 'string' && v.length > 0 ? v : this.fail(field, 'must be a non-empty string');
  }

  /** Returns `v` as a finite number meeting `opts`, or undefined (error recorded). */
  num(v: unknown, field: string, opts: { int?: boolean; min?: number; gt?: number } = {}): number | undefined {
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(field, 'must be a finite number');
    if (opts.int && !Number.isInteger(v)) return this.fail(field, 'must be an integer');
    if (opts.min !== undefined && v < opts.min) return this.fail(field, `must be >= ${opts.min}`);
    if (opts.gt !== undefined && v <= opts.gt) return this.fail(field, `must be > ${opts.gt}`);
    return v;
  }

  /** Returns `v` when it is one of `allowed`, or undefined (error recorded). */
  oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T | undefined {
    const hit = allowed.find((a) => a === v);
    return hit ?? this.fail(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }

  /** Returns `v` as a relative path inside the bundle (no leading '/', no '..', no backslashes), or undefined. */
  path(v: unknown, field: string): string | undefined {
    const s = this.str(v, field);
    if (s === undefined) return undefined;
    if (s.startsWith('/') || s.includes('\\') || s.split('/').some((p) => p === '..' || p === '' || p === '.')) {
      return this.fail(field, `must be a relative path inside the bundle (got '${s}')`);
    }
    return s;
  }

  /** Returns `v` as a bundle path that is also listed in `files`, or undefined. */
  ref(v: unknown, field: string, files: Set<string>): string | undefined {
    const p = this.path(v, field);
    if (p !== undefined && !files.has(p)) return this.fail(field, `'${p}' is not listed in files`);
    return p;
  }

  /** Returns `v` as a number array (of length `len` when given), or undefined (errors recorded). */
  nums(v: unknown, field: string, len?: number, opts: { int?: boolean; min?: number; gt?: number } = {}): number[] | undefined {
    const a = this.arr(v, field);
    if (a === undefined) return undefined;
    if (len !== undefined && a.length !== len) return this.fail(field, `must have exactly ${len} numbers`);
    const out = a.map((x, i) => this.num(x, `${field}[${i}]`, opts));
    return out.every((x): x is number => x !== undefined) ? out : undefined;
  }
}
