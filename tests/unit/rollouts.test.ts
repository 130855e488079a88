/**
 * The rollouts orchestration on real ONNX (the tiny bundle, WASM): every number in the summary equals
 * grpoReport of the inputs the records log (rebuilt here independently), and those inputs are what the
 * models give: sampled log-probs = teacher-forced policy log-probs at the sampling temperature, reference/old
 * log-probs = a separate teacher-forced pass at that temperature, entropies of logits / T, truncated captions
 * scored on their sampled tokens only (no forced [EOS]), rewards = the scorer/PSNR/SSIM/attr-F1 of each logged reconstruction, which itself
 * is the decoder's image of that caption from that noise. Streaming order, seeding, batch mode, no leaks.
 */
import type { Tensor } from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/shapes/rng.ts';
import { grpoLoss, grpoReport, LOSS_TYPES, type GrpoReportInput } from '../../src/engine/grpo.ts';
import {
  attributeScores,
  bundlePixels,
  completionLogProbs,
  cosine,
  embedImages,
  embedImagesWith,
  encodeImages,
  generateCaptions,
  noiseSeed,
  psnr,
  reconstruct,
  ssim,
  type F32,
  type InferContext,
} from '../../src/engine/infer/index.ts';
import type { EncoderRole } from '../../src/engine/manifest.ts';
import {
  DEFAULT_SETTINGS,
  resolveImage,
  runRollouts,
  type RolloutRecord,
  type RolloutSettings,
  type RolloutsOutcome,
} from '../../src/engine/rollouts/index.ts';
import { maxAbsDiff, openContext, TINY_BUNDLE, type Opened } from './infer-helpers.ts';

// The tiny bundle's random encoder is very peaked at T=1; a hot policy gives varied captions and rewards.
const HOT: RolloutSettings = { ...DEFAULT_SETTINGS, temperature: 8, topP: 0.9, groupSize: 4, seed: 5, flowSteps: 3 };
const W = 64;
let o: Opened;
let one: RolloutsOutcome;
const streamed: { count: number; scored: number; total: number; indices: number[] }[] = [];
const image = resolveImage({ kind: 'scene', seed: 3 }, W, W);

beforeAll(async () => {
  o = await openContext(TINY_BUNDLE);
  one = await runRollouts(
    o.ctx,
    [image],
    { ...HOT, rewards: { sim: 1, psnr: 0.01, ssim: 0.5, attr_f1: 0.25 }, beta: 0.04 },
    {
      onRollouts: (recs, scored, total) => streamed.push({ count: recs.length, scored, total, indices: recs.map((r) => r.index) }),
    },
  );
}, 120_000);
afterAll(async () => {
  await o?.engine.sessions.release();
});

/** Rebuilds grpoReport's input from the records alone (own flattening, own reward components). */
function inputFromRecords(records: RolloutRecord[], s: RolloutSettings, maxCompletionLength: number): GrpoReportInput {
  const T = Math.max(...records.map((r) => r.logp.length));
  const flat = (pick: (r: RolloutRecord) => Float64Array | null) => {
    const out = new Float64Array(records.length * T);
    records.forEach((r, i) => pick(r)?.forEach((v, j) => (out[i * T + j] = v)));
    return records.every((r) => pick(r)) ? out : null;
  };
  const names = (['sim', 'psnr', 'ssim', 'attr_f1'] as const).filter((n) => (s.rewards[n] ?? 0) !== 0);
  return {
    numSequences: records.length,
    maxLen: T,
    lengths: records.map((r) => r.logp.length),
    truncated: records.map((r) => (r.truncated ? 1 : 0)),
    logp: flat((r) => r.logp)!,
    oldLogp: flat((r) => r.oldLogp),
    refLogp: flat((r) => r.refLogp),
    entropies: flat((r) => r.entropy),
    groupSize: s.groupSize,
    scaleRewards: s.scaleRewards,
    lengthPenalty: s.lengthPenalty,
    components: names.map((n) => ({ name: n, weight: s.rewards[n]!, values: records.map((r) => r.scores[n]) })),
    options: {
      lossType: s.lossType,
      epsilonLow: s.epsilonLow,
      epsilonHigh: s.epsilonHigh,
      beta: s.beta,
      maxCompletionLength,
      maskTruncatedCompletions: s.maskTruncated,
    },
  };
}

type Outputs = Record<string, Tensor>;
/**
 * Returns a context whose session for a path is the session of route(path).path with its outputs changed
 * in place by route(path).mutate (given the feeds too): "other weights" without other files.
 */
function rerouted(
  base: InferContext,
  route: (path: string) => { path: string; mutate: (out: Outputs, feeds: Outputs) => void } | null,
): InferContext {
  const get = async (path: string) => {
    const r = route(path);
    if (!r) return base.sessions.get(path);
    const s = await base.sessions.get(r.path);
    return {
      inputNames: s.inputNames,
      outputNames: s.outputNames,
      run: async (feeds: Outputs, fetches?: string[]) => {
        const out = fetches ? await s.run(feeds, fetches) : await s.run(feeds);
        r.mutate(out, feeds);
        return out;
      },
    } as unknown as Awaited<ReturnType<InferContext['sessions']['get']>>;
  };
  return { ...base, sessions: { get } };
}

function expectReportMatches(out: RolloutsOutcome, s: RolloutSettings, maxCompletionLength: number): void {
  const expected = grpoReport(inputFromRecords(out.records, s, maxCompletionLength));
  expect(maxAbsDiff(out.summary.rewards, expected.rewards)).toBeLessThan(1e-12);
  expect(maxAbsDiff(out.summary.advantages, expected.advantages.advantages)).toBeLessThan(1e-12);
  expect(Object.keys(out.summary.metrics).sort()).toEqual(Object.keys(expected.metrics).sort());
  for (const [k, v] of Object.entries(expected.metrics)) expect(out.summary.metrics[k], k).toBeCloseTo(v, 12);
  for (const t of LOSS_TYPES) expect(out.summary.losses[t], t).toBeCloseTo(expected.loss.losses[t], 12);
  out.records.forEach((r, i) => {
    expect(r.reward).toBeCloseTo(expected.rewards[i], 12);
    expect(r.sequenceLogp).toBeCloseTo(expected.loss.sequenceLogp[i], 9);
    if (r.meanKl !== null) expect(r.meanKl).toBeCloseTo(expected.loss.sequenceKl![i], 12);
  });
}

describe('runRollouts on the tiny bundle (WASM)', () => {
  it('streams finished rollouts batch by batch, in row order', () => {
    expect(one.records).toHaveLength(4);
    expect(streamed).toEqual([
      { count: 2, scored: 2, total: 4, indices: [0, 1] },
      { count: 2, scored: 4, total: 4, indices: [2, 3] },
    ]);
  });

  it('reports exactly grpoReport of the logged inputs, every loss type and TRL metric', () => {
    expectReportMatches(one, { ...HOT, rewards: { sim: 1, psnr: 0.01, ssim: 0.5, attr_f1: 0.25 }, beta: 0.04 }, 47);
    for (const k of [
      'reward',
      'reward_std',
      'frac_reward_zero_std',
      'completions/mean_length',
      'kl',
      'entropy',
      'clip_ratio/region_mean',
      'rewards/attr_f1/mean',
      'loss',
    ]) {
      expect(one.summary.metrics, k).toHaveProperty([k]);
    }
    // The current policy as the old one: ratio 1, so nothing is clipped.
    expect(one.summary.metrics['clip_ratio/region_mean']).toBe(0);
    expect(new Set(one.records.map((r) => r.completion.join(','))).size).toBeGreaterThan(1);
  });

  it("logs the policy log-probs the encoder gives those completions (teacher-forced), and the reference encoder's", async () => {
    const px = bundlePixels(o.ctx, image.image, 1);
    const completions = one.records.map((r) => r.completion);
    const T = HOT.temperature;
    const policy = await completionLogProbs(o.ctx, await encodeImages(o.ctx, px, 'encoder'), completions, {
      batch: 1,
      groupSize: 4,
      temperature: T,
    });
    const ref = await completionLogProbs(o.ctx, await encodeImages(o.ctx, px, 'referenceEncoder'), completions, {
      batch: 1,
      groupSize: 4,
      role: 'referenceEncoder',
      temperature: T,
    });
    const untempered = await completionLogProbs(o.ctx, await encodeImages(o.ctx, px, 'referenceEncoder'), completions, {
      groupSize: 4,
      role: 'referenceEncoder',
    });
    expect(Math.max(...one.records.map((r, i) => maxAbsDiff(r.refLogp!, untempered[i])))).toBeGreaterThan(0.1);
    one.records.forEach((r, i) => {
      expect(r.logp.length).toBe(r.completion.length);
      expect(maxAbsDiff(r.logp, policy[i])).toBeLessThan(1e-4);
      expect(maxAbsDiff(r.refLogp!, ref[i])).toBeLessThan(1e-5);
      expect(r.oldLogp).toBeNull();
      const V = o.ctx.tokenizer.vocabSize;
      r.entropy.forEach((h) => expect(h >= 0 && h <= Math.log(V) + 1e-9).toBe(true));
    });
  });

  it("scores each logged reconstruction, which is the decoder's image of that caption from the group's noise", async () => {
    const orig = await embedImages(o.ctx, image.image, 1);
    for (const r of one.records) {
      const emb = await embedImages(o.ctx, r.image, 1);
      expect(r.scores.sim).toBeCloseTo(cosine(emb, 0, orig, 0), 6);
      // The i2i backbone only runs when the reward uses it (the mix test below scores it).
      expect(r.scores.i2i).toBeNaN();
      expect(r.scores.psnr).toBeCloseTo(psnr(r.image, image.image, W, W), 9);
      expect(r.scores.ssim).toBeCloseTo(ssim(r.image, image.image, W, W), 9);
      expect(r.scores.attr_f1).toBeCloseTo(attributeScores(r.caption, image.scene!).f1, 12);
    }
    // The tiny decoder's images barely depend on its noise; make them carry it (the VAE's image plus a
    // copy of its latent) so that a wrong noise shows, then check each logged image against the caption
    // decoded alone from the noise it should have had.
    const vae = o.ctx.manifest.roles.decoder!.vaeDecoder;
    const noisy = rerouted(o.ctx, (path) =>
      path !== vae
        ? null
        : {
            path,
            mutate: (out, feeds) => {
              const img = Object.values(out)[0];
              const lat = Object.values(feeds)[0];
              const B = img.dims[0];
              const ni = img.data.length / B;
              const nl = lat.data.length / B;
              const d = img.data as Float32Array;
              for (let b = 0; b < B; b++) for (let i = 0; i < ni; i++) d[b * ni + i] += 0.3 * (lat.data as Float32Array)[b * nl + (i % nl)];
            },
          },
    );
    for (const noise of ['group', 'rollout'] as const) {
      const out = await runRollouts(noisy, [image], { ...HOT, noise, reconstructBatch: 3 });
      for (const r of out.records) {
        const alone = await reconstruct(noisy, [r.ids], [createRng(noiseSeed(HOT.seed, noise === 'group' ? 0 : r.index))], {
          steps: 3,
          batch: 1,
        });
        expect(maxAbsDiff(alone.images, r.image), `${noise} row ${r.index}`).toBeLessThanOrEqual(1);
      }
      const spread = maxAbsDiff(out.records[0].image, out.records[1].image);
      if (noise === 'rollout') expect(spread).toBeGreaterThan(20);
    }
  });

  it('is reproducible from the seed, and another seed samples other captions', async () => {
    const again = await runRollouts(o.ctx, [image], HOT);
    const other = await runRollouts(o.ctx, [image], { ...HOT, seed: 6 });
    const a = await runRollouts(o.ctx, [image], { ...HOT, reconstructBatch: 4 });
    expect(again.records.map((r) => r.caption)).toEqual(a.records.map((r) => r.caption));
    expect(maxAbsDiff(again.summary.rewards, a.summary.rewards)).toBeLessThan(1e-6);
    expect(other.records.map((r) => r.completion)).not.toEqual(again.records.map((r) => r.completion));
    expect(o.engine.tracker.live()).toBe(0);
  });

  it('batch mode: B images × G, per-group statistics, batch scaling, a length penalty and an old-policy checkpoint', async () => {
    const enc = o.ctx.manifest.roles.encoder as EncoderRole;
    const withCkpt: InferContext = {
      ...o.ctx,
      manifest: {
        ...o.ctx.manifest,
        roles: {
          ...o.ctx.manifest.roles,
          checkpoints: [{ step: 40, label: 'step 40', encoder: { vision: enc.vision, decoder: enc.decoder } }],
        },
      },
    };
    const s: RolloutSettings = {
      ...HOT,
      groupSize: 3,
      reconstructBatch: 4,
      scaleRewards: 'batch',
      lossType: 'dr_grpo',
      beta: 0.1,
      epsilonHigh: 0.28,
      lengthPenalty: { kind: 'linear', coef: 0.01 },
      oldPolicy: { kind: 'checkpoint', step: 40 },
    };
    const images = [image, resolveImage({ kind: 'scene', seed: 4 }, W, W)];
    const out = await runRollouts(withCkpt, images, s);
    expect(out.records.map((r) => r.group)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(out.summary.oldPolicy).toBe('step 40');
    expectReportMatches(out, s, 47);
    const tf = await completionLogProbs(
      o.ctx,
      await encodeImages(o.ctx, bundlePixels(o.ctx, images[1].image, 1), enc),
      out.records.slice(3).map((r) => r.completion),
      { role: enc, groupSize: 3, temperature: s.temperature },
    );
    out.records.slice(3).forEach((r, i) => expect(maxAbsDiff(r.oldLogp!, tf[i])).toBeLessThan(1e-5));
    expect(out.summary.groups.map((g) => g.label)).toEqual(['scene 3', 'scene 4']);
    out.summary.groups.forEach((g, k) => {
      const rewards = out.records.slice(3 * k, 3 * k + 3).map((r) => r.reward);
      expect(g.reward).toBeCloseTo(rewards.reduce((a, b) => a + b) / 3, 12);
      expect(out.records[g.best].reward).toBe(Math.max(...rewards));
      expect(out.records[g.worst].reward).toBe(Math.min(...rewards));
      // Each group's losses: grpoLoss of its own rows with the batch's advantages.
      const sub = inputFromRecords(out.records.slice(3 * k, 3 * k + 3), s, 47);
      const loss = grpoLoss({ ...sub, advantages: out.summary.advantages.slice(3 * k, 3 * k + 3) }, sub.options);
      for (const t of LOSS_TYPES) expect(g.losses[t], `group ${k} ${t}`).toBeCloseTo(loss.losses[t], 12);
      expect(g.kl).toBeCloseTo(loss.metrics.kl, 12);
    });
  });

  it('with a reference and an old checkpoint whose weights differ: KL > 0, ratios ≠ 1 and clipped, still grpoReport of the logs', async () => {
    const enc = o.ctx.manifest.roles.encoder as EncoderRole;
    // "Other weights": the same graphs with every logit shifted by k·(token id mod m); the reference
    // (prefix ref/) and the old checkpoint (prefix old/) get different shifts.
    const SHIFTS: Record<string, [number, number]> = { ref: [0.3, 7], old: [0.2, 5] };
    const roleOf = (prefix: string): EncoderRole => ({ ...enc, vision: `${prefix}/${enc.vision}`, decoder: `${prefix}/${enc.decoder}` });
    const [refRole, oldRole] = [roleOf('ref'), roleOf('old')];
    const shifted = rerouted(o.ctx, (path) => {
      const m = /^(ref|old)\/(.*)$/.exec(path);
      if (!m) return null;
      const [k, mod] = SHIFTS[m[1]];
      return {
        path: m[2],
        mutate: (out) => {
          if (!out.logits) return;
          const V = out.logits.dims[2];
          const d = out.logits.data as Float32Array;
          for (let i = 0; i < d.length; i++) d[i] += k * ((i % V) % mod);
        },
      };
    });
    const ctx: InferContext = {
      ...shifted,
      manifest: {
        ...o.ctx.manifest,
        roles: {
          ...o.ctx.manifest.roles,
          referenceEncoder: refRole,
          checkpoints: [{ step: 7, label: 'step 7', encoder: { vision: oldRole.vision, decoder: oldRole.decoder } }],
        },
      },
    };
    const s: RolloutSettings = {
      ...HOT,
      groupSize: 4,
      beta: 0.1,
      epsilonLow: 0.05,
      epsilonHigh: 0.05,
      oldPolicy: { kind: 'checkpoint', step: 7 },
      rewards: { sim: 1, attr_f1: 1 },
    };
    const out = await runRollouts(ctx, [image], s);
    expectReportMatches(out, s, 47);
    const px = bundlePixels(ctx, image.image, 1);
    const completions = out.records.map((r) => r.completion);
    const ref = await completionLogProbs(ctx, await encodeImages(ctx, px, refRole), completions, {
      role: refRole,
      groupSize: 4,
      temperature: s.temperature,
    });
    const old = await completionLogProbs(ctx, await encodeImages(ctx, px, oldRole), completions, {
      role: oldRole,
      groupSize: 4,
      temperature: s.temperature,
    });
    out.records.forEach((r, i) => {
      expect(maxAbsDiff(r.refLogp!, ref[i])).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.oldLogp!, old[i])).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.logp, r.refLogp!)).toBeGreaterThan(0.05);
      expect(maxAbsDiff(r.oldLogp!, r.refLogp!)).toBeGreaterThan(0.05);
    });
    expect(out.summary.metrics.kl).toBeGreaterThan(1e-3);
    expect(out.summary.metrics['clip_ratio/region_mean']).toBeGreaterThan(0);
    expect(out.summary.oldPolicy).toBe('step 7');
    expect(o.engine.tracker.live()).toBe(0);
  });

  it('truncates at the token limit without a forced [EOS]: lengths, completions/*, log-probs and entropies cover the sampled tokens', async () => {
    const s: RolloutSettings = { ...HOT, maxTokens: 5, groupSize: 8, beta: 0.04 };
    const out = await runRollouts(o.ctx, [image], s);
    const { eosId, padId } = o.ctx.tokenizer;
    const cut = out.records.filter((r) => r.truncated);
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.length).toBeLessThan(out.records.length);
    for (const r of out.records) {
      const last = r.completion[r.completion.length - 1];
      expect(r.truncated).toBe(last !== eosId && last !== padId);
      if (r.truncated) expect(r.completion).toHaveLength(4);
      expect(r.completion.slice(0, -1)).not.toContain(eosId);
      for (const a of [r.logp, r.refLogp!, r.entropy]) expect(a).toHaveLength(r.completion.length);
      expect(r.ids).toEqual(last === eosId ? r.completion.slice(0, -1) : r.completion);
      // tokens (content, display) never counts [EOS]; the GRPO length is the completion's
      expect(r.tokens).toBeLessThanOrEqual(r.ids.length);
    }
    expect(Array.from(out.input.lengths as ArrayLike<number>)).toEqual(out.records.map((r) => r.completion.length));
    const m = out.summary.metrics;
    expect(m['completions/clipped_ratio']).toBeCloseTo(cut.length / 8, 12);
    expect(m['completions/max_length']).toBeLessThanOrEqual(4);
    const term = out.records.filter((r) => !r.truncated).map((r) => r.completion.length);
    expect(m['completions/mean_terminated_length']).toBeCloseTo(term.reduce((a, b) => a + b, 0) / term.length, 12);
    expectReportMatches(out, s, 4);
    // the same captions sampled again, with the logits seen: log-probs and entropies are those of logits / T
    const hidden = await encodeImages(o.ctx, bundlePixels(o.ctx, image.image, 1), 'encoder');
    const steps: { rows: number[]; logits: F32 }[] = [];
    const again = await generateCaptions(o.ctx, hidden, {
      policy: { kind: 'sample', temperature: s.temperature, topP: s.topP },
      rng: createRng(s.seed),
      groupSize: 8,
      maxTokens: 5,
      onLogits: (_pos, rows, logits) => steps.push({ rows, logits }),
    });
    expect(again.map((c) => c.completion)).toEqual(out.records.map((r) => r.completion));
    out.records.forEach((r, i) =>
      r.completion.forEach((tok, j) => {
        const { rows, logits } = steps[j];
        const V = logits.dims[2];
        const z = Array.from(logits.data.subarray(rows.indexOf(i) * V, (rows.indexOf(i) + 1) * V), (x) => x / s.temperature);
        const lse = Math.max(...z) + Math.log(z.reduce((acc, x) => acc + Math.exp(x - Math.max(...z)), 0));
        expect(r.logp[j]).toBeCloseTo(z[tok] - lse, 6);
        expect(r.entropy[j]).toBeCloseTo(-z.reduce((h, x) => h + Math.exp(x - lse) * (x - lse), 0), 6);
      }),
    );
  });

  it('rejects bad settings with bad-request naming the field', async () => {
    const pixels = resolveImage(
      { kind: 'pixels', name: 'upload.png', data: new Uint8Array(8 * 8 * 4).fill(200), width: 8, height: 8, channels: 4 },
      W,
      W,
    );
    await expect(runRollouts(o.ctx, [image], { ...HOT, groupSize: 1 })).rejects.toThrow(/groupSize/);
    await expect(runRollouts(o.ctx, [image], { ...HOT, groupSize: 33 })).rejects.toThrow(/groupSize/);
    await expect(runRollouts(o.ctx, [pixels], { ...HOT, rewards: { attr_f1: 1 } })).rejects.toThrow(/upload\.png/);
    await expect(runRollouts(o.ctx, [image], { ...HOT, rewards: {} })).rejects.toThrow(/at least one reward/);
    await expect(runRollouts(o.ctx, [image], { ...HOT, oldPolicy: { kind: 'checkpoint', step: 9 } })).rejects.toThrow(/step 9/);
    const noRef: InferContext = {
      ...o.ctx,
      manifest: { ...o.ctx.manifest, roles: { ...o.ctx.manifest.roles, referenceEncoder: undefined } },
    };
    await expect(runRollouts(noRef, [image], { ...HOT, beta: 0.1 })).rejects.toThrow(/reference encoder/);
    const noKl = await runRollouts(noRef, [pixels], HOT);
    expect(noKl.records.every((r) => r.refLogp === null && r.meanKl === null && Number.isNaN(r.scores.attr_f1))).toBe(true);
    expect(noKl.summary.metrics).not.toHaveProperty('kl');
    // The i2i reward needs the bundle's image-image backbone; without it the score is NaN and the reward is refused.
    const noBackbone: InferContext = { ...o.ctx, manifest: { ...o.ctx.manifest, roles: { ...o.ctx.manifest.roles, backbones: [] } } };
    await expect(runRollouts(noBackbone, [image], { ...HOT, rewards: { sim: 0.5, i2i: 0.5 } })).rejects.toThrow(
      /rewards\.i2i needs the image-image backbone 'i2i', and bundle uae-tiny has none/,
    );
    expect((await runRollouts(noBackbone, [image], HOT)).records.every((r) => Number.isNaN(r.scores.i2i))).toBe(true);
  });

  it('mixes the i2i backbone into the reward as a TRL reward component (rewards/i2i/mean)', async () => {
    const out = await runRollouts(o.ctx, [image], { ...HOT, rewards: { sim: 0.5, i2i: 0.5 } });
    const origI2i = await embedImagesWith(o.ctx, 'i2i', image.image, 1);
    for (const r of out.records) {
      expect(r.scores.i2i).toBeCloseTo(cosine(await embedImagesWith(o.ctx, 'i2i', r.image, 1), 0, origI2i, 0), 6);
      expect(r.reward).toBeCloseTo(0.5 * r.scores.sim + 0.5 * r.scores.i2i, 12);
    }
    const i2i = out.records.map((r) => r.scores.i2i);
    expect(out.summary.metrics['rewards/i2i/mean']).toBeCloseTo(i2i.reduce((a, b) => a + b, 0) / i2i.length, 12);
    expect(out.summary.metrics).toHaveProperty('rewards/sim/mean');
  });
});
