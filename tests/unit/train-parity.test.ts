// One GRPO update of the caption decoder in jax-js (src/engine/train/update.ts) against PyTorch: the fixture
// tests/fixtures/train/update.{json,bin} is made by models/make_train_fixture.py with the real CaptionDecoder and
// uae.rl's functions, one case per loss type. Loss, per-token log-probs before, gradient norm before clipping and the
// log-probs and logits after the update agree to 1e-4; the update holds no more jax-js buffers after several steps.
import { initJaxNode } from '../../src/engine/train/node.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOSS_TYPES } from '../../src/engine/grpo.ts';
import { decoderParamSpec } from '../../src/engine/train/params.ts';
import { GrpoUpdater, type RolloutBatch, type UpdateResult } from '../../src/engine/train/update.ts';
import { FIXTURE_TOL as TOL, TrainFixture, worstDiff } from '../../src/bench/train-fixture.ts';

const DIR = new URL('../fixtures/train/', import.meta.url);
const fx = TrainFixture.parse(readFileSync(new URL('update.json', DIR), 'utf8'), readFileSync(new URL('update.bin', DIR)));
const arch = fx.arch;
const tensor = (name: string): Float32Array => fx.tensor(name);
const batchOf = fx.batch.bind(fx);
const updater = fx.updater.bind(fx);

/** Fails at the first entry whose |a−b| exceeds TOL·max(1, |b|). */
function expectClose(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, what: string): void {
  const a = typeof actual === 'number' ? [actual] : actual;
  const e = typeof expected === 'number' ? [expected] : expected;
  expect(a.length, `${what}: length`).toBe(e.length);
  const { worst, at } = worstDiff(a, e);
  expect(worst <= TOL, `${what}[${at}]: got ${a[at]}, expected ${e[at]}`).toBe(true);
}

/** Expects two updates' loss and gradient norm to be finite and equal to `tol` (relative). */
function expectSameUpdate(b: UpdateResult, a: UpdateResult, tol = 1e-6): void {
  expect(Number.isFinite(b.loss) && Number.isFinite(b.gradNorm), `loss ${b.loss}, grad norm ${b.gradNorm}`).toBe(true);
  expect(Math.abs(b.loss - a.loss)).toBeLessThan(tol * Math.max(1, Math.abs(a.loss)));
  expect(Math.abs(b.gradNorm - a.gradNorm)).toBeLessThan(tol * Math.max(1, a.gradNorm));
}

/** Runs `fn` on two updaters and disposes both. */
async function withPair(a: GrpoUpdater, b: GrpoUpdater, fn: (a: GrpoUpdater, b: GrpoUpdater) => Promise<void>): Promise<void> {
  try {
    await fn(a, b);
  } finally {
    a.dispose();
    b.dispose();
  }
}

/** The wasm backend's live buffers: wraps malloc/incRef/decRef of the backend object jax-js dispatches to. */
async function liveBufferCounter(): Promise<() => number> {
  const dist = new URL('../../node_modules/@jax-js/jax/dist/', import.meta.url);
  const file = readdirSync(fileURLToPath(dist)).find((f) => /^backend-.*\.js$/.test(f));
  if (!file) throw new Error('jax-js backend module not found');
  const mod = (await import(pathToFileURL(fileURLToPath(new URL(file, dist))).href)) as Record<string, unknown>;
  interface Backend {
    malloc: (size: number, init?: Uint8Array) => number;
    incRef: (slot: number) => void;
    decRef: (slot: number) => void;
  }
  const isBackend = (b: unknown): b is Backend =>
    typeof b === 'object' &&
    b !== null &&
    ['malloc', 'incRef', 'decRef'].every((k) => typeof (b as Record<string, unknown>)[k] === 'function');
  // the bundle keeps function names: the export whose name is getBackend (exported under a minified alias)
  const getBackend = Object.values(mod).find((f): f is (d: string) => unknown => typeof f === 'function' && f.name === 'getBackend');
  const be = getBackend?.('wasm');
  if (!isBackend(be)) throw new Error('jax-js wasm backend not found');
  const live = new Map<number, number>();
  const { malloc, incRef, decRef } = { malloc: be.malloc.bind(be), incRef: be.incRef.bind(be), decRef: be.decRef.bind(be) };
  be.malloc = (size, init) => {
    const s = malloc(size, init);
    live.set(s, 1);
    return s;
  };
  be.incRef = (s) => {
    incRef(s);
    if (live.has(s)) live.set(s, (live.get(s) ?? 0) + 1);
  };
  be.decRef = (s) => {
    decRef(s);
    const r = (live.get(s) ?? 0) - 1;
    if (r <= 0) live.delete(s);
    else live.set(s, r);
  };
  return () => live.size;
}

describe('GRPO update in jax-js against PyTorch (tests/fixtures/train)', () => {
  beforeAll(async () => {
    await initJaxNode();
  });

  it('covers every loss type of grpo.ts, with clipping and KL active', () => {
    expect(fx.index.cases.map((c) => c.options.loss_type).sort()).toEqual([...LOSS_TYPES].sort());
    expect(fx.index.truncated.some((t) => t === 1) && fx.index.truncated.some((t) => t === 0)).toBe(true);
  });

  for (const c of fx.index.cases) {
    it(`${c.name}: loss, log-probs, gradient norm and logits after the update agree to 1e-4`, async () => {
      const u = updater(c);
      const batch = batchOf(c);
      try {
        const r = await u.update(batch);
        expectClose(r.loss, c.loss, 'loss');
        expectClose(r.gradNorm, c.grad_norm, 'grad norm');
        expectClose(r.logp, tensor(`${c.name}/logp_before`), 'logp before');
        const after = await u.tokenLogp(batch);
        expectClose(after, tensor(`${c.name}/logp_after`), 'logp after');
        expectClose(await u.logits(batch), tensor(`${c.name}/logits_after`), 'logits after');
        // the update moved the policy far beyond the tolerance
        expect(Math.max(...after.map((x, i) => Math.abs(x - r.logp[i])))).toBeGreaterThan(100 * TOL);
        expect(u.step).toBe(1);
      } finally {
        u.dispose();
      }
    });
  }

  /** The fixture's batch with every completion cut to at most `keep` tokens (terminated, PAD after). */
  function shortBatch(c: (typeof fx.index.cases)[number], keep: number): RolloutBatch {
    const b = batchOf(c);
    const ids = Array.from(b.ids);
    const pad = (fx.index as unknown as { tokens: { pad: number } }).tokens.pad;
    const lengths = Array.from(b.lengths, (l) => Math.min(l, keep));
    for (let r = 0; r < b.numSequences; r++) for (let j = 1 + lengths[r]; j < b.width; j++) ids[r * b.width + j] = pad;
    return { ...b, ids, lengths, truncated: lengths.map(() => 0) };
  }

  for (const c of fx.index.cases.slice(0, 2)) {
    it(`${c.name}: an update on the leading positions only (short completions) is the update on all of them`, async () => {
      const batch = shortBatch(c, 3);
      const t = batch.width - 1;
      await withPair(updater(c, t), updater(c, 2), async (full, cut) => {
        expect(full.columns(batch)).toBe(t);
        expect(cut.columns(batch)).toBe(4);
        const a = await full.update(batch);
        const b = await cut.update(batch);
        expectSameUpdate(b, a);
        const lead = (x: Float32Array): number[] => Array.from(x).filter((_, j) => j % t < 4);
        expect(worstDiff(lead(b.logp), lead(a.logp)).worst).toBeLessThan(1e-6);
        // the weights after the update: logits on the full width
        expect(worstDiff(await cut.logits(batch), await full.logits(batch)).worst).toBeLessThan(1e-5);
      });
    });

    it(`${c.name}: a fresh update (old log-probs computed inside) is the update after a separate old pass`, async () => {
      const batch = batchOf(c);
      await withPair(updater(c), updater(c), async (twoPass, fused) => {
        const oldLogp = await twoPass.tokenLogp(batch);
        const a = await twoPass.update({ ...batch, oldLogp });
        const b = await fused.update({ ...batch, oldLogp: new Float32Array(oldLogp.length).fill(Number.NaN) }, { fresh: true });
        expectSameUpdate(b, a);
        expect(worstDiff(b.logp, oldLogp).worst).toBeLessThan(1e-5);
        expect(worstDiff(await fused.logits(batch), await twoPass.logits(batch)).worst).toBeLessThan(1e-5);
        // a second iteration against the first one's log-probs: the same in both
        const a2 = await twoPass.update({ ...batch, oldLogp });
        const b2 = await fused.update({ ...batch, oldLogp: b.logp });
        expectSameUpdate(b2, a2, 1e-5);
        expect(a2.loss).not.toBe(a.loss);
      });
    });
  }

  it('beta 0 without reference log-probs: a fresh update is the two-pass one (the old log-probs stand in for the reference)', async () => {
    const c = fx.index.cases[0];
    const o = c.options;
    const make = (): GrpoUpdater =>
      new GrpoUpdater(
        arch,
        fx.params(),
        {
          lossType: o.loss_type,
          epsilonLow: o.epsilon_low,
          epsilonHigh: o.epsilon_high,
          beta: 0,
          maxCompletionLength: o.max_completion_length,
          temperature: o.temperature,
        },
        { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay, maxGradNorm: o.max_grad_norm },
      );
    const batch = { ...batchOf(c), refLogp: null };
    await withPair(make(), make(), async (twoPass, fused) => {
      const oldLogp = await twoPass.tokenLogp(batch);
      expectSameUpdate(await fused.update(batch, { fresh: true }), await twoPass.update({ ...batch, oldLogp }));
    });
  });

  it('reference log-probs off the completion mask cannot reach the loss (no inf·0)', async () => {
    const c = fx.index.cases[0];
    const batch = batchOf(c);
    const t = batch.width - 1;
    const far = Float32Array.from(batch.refLogp ?? [], (v, j) => (j % t < Number(batch.lengths[Math.floor(j / t)]) ? v : 1000));
    await withPair(updater(c), updater(c), async (plain, wild) => {
      expectSameUpdate(await wild.update({ ...batch, refLogp: far }), await plain.update(batch));
    });
  });

  it('holds no more jax-js buffers after several updates, none after dispose (no leak)', async () => {
    const live = await liveBufferCounter();
    const c = fx.index.cases[0];
    const batch = batchOf(c);
    const warm = updater(c); // compiles (shared programs may keep constants)
    await warm.update(batch);
    await warm.tokenLogp(batch);
    warm.dispose();
    const base = live();
    const u = updater(c);
    await u.update(batch);
    const afterOne = live();
    // the counter sees the updater's weights and both AdamW moments
    expect(afterOne - base).toBeGreaterThanOrEqual(3 * decoderParamSpec(arch).length);
    for (let i = 0; i < 4; i++) await u.update(batch);
    await u.tokenLogp(batch);
    expect(live()).toBe(afterOne);
    expect(u.step).toBe(5);
    u.dispose();
    expect(live()).toBe(base);
  });
});
