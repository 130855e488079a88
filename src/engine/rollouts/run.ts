/**
 * One GRPO scoring step of Unified-GRPO's "generation for understanding", run for real:
 *   encode the B images → sample B·G captions together (one decoder run per step for the whole batch),
 *   keeping per-token log-probs and entropies of softmax(logits / T) → teacher-forced log-probs of the
 *   same completions, at the same temperature T (as TRL v1.9.0 scores policy, old and reference), under
 *   the reference encoder and, if picked, an old-policy checkpoint (one run each) → reconstruct the
 *   captions with the frozen decoder, `reconstructBatch` rows per batch, and score them; each batch of
 *   finished rollouts is handed to `onRollouts` → grpoReport over everything.
 */
import { createRng } from '../../shapes/rng.ts';
import { EngineError } from '../errors.ts';
import type { GrpoReport, GrpoReportInput } from '../grpo.ts';
import { k3Kl } from '../grpo.ts';
import type { EncoderRole } from '../manifest.ts';
import {
  bundlePixels,
  completionLogProbs,
  cosine,
  embedImages,
  embedImagesWith,
  encodeImages,
  encoderRole,
  entropy,
  generateCaptions,
  noiseSeed,
  reconstruct,
  type Caption,
  type EncoderChoice,
  type F32,
  type InferContext,
} from '../infer/index.ts';
import { activeRewards, checkSettings, rolloutReward, scoreRollout } from './rewards.ts';
import { groupStats, rolloutsReport } from './report.ts';
import { I2I_BACKBONE, type RolloutImage, type RolloutRecord, type RolloutSettings, type RolloutsSummary } from './types.ts';

/** Phases progress is reported in: decoding steps, teacher-forced passes, reconstructed rollouts. */
export type RolloutPhase = 'sample' | 'logprobs' | 'reconstruct';

/** Callbacks of a run, called in order as results arrive. */
export interface RolloutHooks {
  onProgress?(phase: RolloutPhase, done: number, total: number): void;
  /** After sampling: how many captions, in how many decoder runs, in how many ms. */
  onSampled?(info: { captions: number; decoderRuns: number; ms: number }): void;
  /** After each reconstruction batch: its finished rollouts, and how many are scored out of how many. */
  onRollouts?(records: RolloutRecord[], scored: number, total: number): void;
}

/** Everything a run produces; `input` is exactly what grpoReport was given. */
export interface RolloutsOutcome {
  records: RolloutRecord[];
  summary: RolloutsSummary;
  input: GrpoReportInput;
  report: GrpoReport;
}

/** Returns the encoder role of checkpoint `step` (the main role with the checkpoint's graphs) and its label. */
function checkpointRole(ctx: InferContext, step: number): { role: EncoderRole; label: string } {
  const ck = ctx.manifest.roles.checkpoints?.find((c) => c.step === step);
  if (!ck) throw new EngineError('bad-request', `rollouts: bundle ${ctx.manifest.id} has no checkpoint at step ${step}`);
  return { role: { ...encoderRole(ctx, 'encoder'), vision: ck.encoder.vision, decoder: ck.encoder.decoder }, label: ck.label };
}

/** Returns per-token log-probs [N][L] of the completions under `role` at temperature T, teacher-forced (row r uses image ⌊r/G⌋). */
async function teacherForced(
  ctx: InferContext,
  pixels: F32,
  captions: readonly Caption[],
  G: number,
  role: EncoderChoice,
  temperature: number,
): Promise<Float64Array[]> {
  const hidden = await encodeImages(ctx, pixels, role);
  return completionLogProbs(
    ctx,
    hidden,
    captions.map((c) => c.completion),
    { groupSize: G, role, temperature },
  );
}

/** Returns the mean of xs (NaN for none). */
function meanOf(xs: Float64Array): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * Returns the records, GRPO report and summary of a rollouts run on `images` (uint8 RGB at the bundle's
 * input size). Rollout r is caption r of image ⌊r/G⌋; one uint32 per rollout seeds its sampling, and the
 * decoder noise of rollout r is noiseSeed(seed, ⌊r/G⌋) (noise 'group') or noiseSeed(seed, r) ('rollout').
 */
export async function runRollouts(
  ctx: InferContext,
  images: readonly RolloutImage[],
  settings: RolloutSettings,
  hooks: RolloutHooks = {},
): Promise<RolloutsOutcome> {
  checkSettings(settings, ctx.manifest, images);
  const t0 = performance.now();
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  const G = settings.groupSize;
  const B = images.length;
  const N = B * G;
  const policy = encoderRole(ctx, 'encoder');
  const maxTokens = Math.min(settings.maxTokens ?? policy.maxTokens, policy.maxTokens);
  const stride = W * H * 3;
  const batchImages = new Uint8Array(B * stride);
  images.forEach((im, i) => {
    if (im.image.length !== stride) throw new EngineError('bad-request', `rollouts: image "${im.label}" is not ${W}x${H} RGB`);
    batchImages.set(im.image, i * stride);
  });

  const pixels = bundlePixels(ctx, batchImages, B);
  const hidden = await encodeImages(ctx, pixels, 'encoder');
  const tEncode = performance.now();

  // Entropy of every row at every step, read from the logits the sampler itself uses, divided by T.
  const T = settings.temperature;
  const entropies = Array.from({ length: N }, () => [] as number[]);
  let decoderRuns = 0;
  const captions = await generateCaptions(ctx, hidden, {
    policy: { kind: 'sample', temperature: settings.temperature, topP: settings.topP },
    rng: createRng(settings.seed),
    groupSize: G,
    maxTokens,
    onLogits: (pos, rows, logits) => {
      decoderRuns++;
      const [, S, V] = logits.dims;
      rows.forEach((r, i) => (entropies[r][pos - 1] = entropy(logits.data, (i * S + S - 1) * V, V, T)));
      hooks.onProgress?.('sample', pos, maxTokens - 1);
    },
  });
  const tSample = performance.now();
  hooks.onSampled?.({ captions: N, decoderRuns, ms: tSample - tEncode });

  hooks.onProgress?.('logprobs', 0, 2);
  const refLogp = ctx.manifest.roles.referenceEncoder ? await teacherForced(ctx, pixels, captions, G, 'referenceEncoder', T) : null;
  hooks.onProgress?.('logprobs', 1, 2);
  const old = settings.oldPolicy.kind === 'checkpoint' ? checkpointRole(ctx, settings.oldPolicy.step) : null;
  const oldLogp = old ? await teacherForced(ctx, pixels, captions, G, old.role, T) : null;
  hooks.onProgress?.('logprobs', 2, 2);
  const tLogp = performance.now();

  const origEmb = await embedImages(ctx, batchImages, B);
  // The i2i backbone runs only when the reward uses it (checkSettings made sure the bundle ships it); else scores.i2i is NaN.
  const origI2i = activeRewards(settings.rewards).includes('i2i') ? await embedImagesWith(ctx, I2I_BACKBONE, batchImages, B) : null;
  const K = Math.max(1, Math.floor(settings.reconstructBatch ?? 2));
  const steps = settings.flowSteps ?? ctx.manifest.defaults.flowSteps;
  const records: RolloutRecord[] = [];
  hooks.onProgress?.('reconstruct', 0, N);
  for (let s = 0; s < N; s += K) {
    const e = Math.min(N, s + K);
    const rows = Array.from({ length: e - s }, (_, i) => s + i);
    const rngs = rows.map((r) => createRng(noiseSeed(settings.seed, settings.noise === 'rollout' ? r : Math.floor(r / G))));
    const rec = await reconstruct(
      ctx,
      rows.map((r) => captions[r].ids),
      rngs,
      { steps, guidance: settings.guidance, batch: K },
    );
    const recEmb = await embedImages(ctx, rec.images, rows.length, K);
    const recI2i = origI2i ? await embedImagesWith(ctx, I2I_BACKBONE, rec.images, rows.length, K) : null;
    const batch = rows.map((r, i): RolloutRecord => {
      const c = captions[r];
      const g = Math.floor(r / G);
      const image = rec.images.slice(i * stride, (i + 1) * stride);
      const i2i = recI2i && origI2i ? cosine(recI2i, i, origI2i, g) : NaN;
      const scores = scoreRollout(image, images[g].image, cosine(recEmb, i, origEmb, g), i2i, c.text, images[g].scene, W, H);
      const ref = refLogp?.[r] ?? null;
      return {
        index: r,
        group: g,
        caption: c.text,
        ids: c.ids,
        completion: c.completion,
        tokens: c.tokens,
        truncated: c.truncated,
        logp: c.logp,
        refLogp: ref,
        oldLogp: oldLogp?.[r] ?? null,
        entropy: Float64Array.from(entropies[r].slice(0, c.completion.length)),
        sequenceLogp: c.logp.reduce((a, b) => a + b, 0),
        meanKl: ref ? meanOf(k3Kl(c.logp, ref)) : null,
        scores,
        reward: rolloutReward(settings.rewards, settings.lengthPenalty, scores, c.completion.length),
        image,
      };
    });
    records.push(...batch);
    hooks.onProgress?.('reconstruct', e, N);
    hooks.onRollouts?.(batch, e, N);
  }
  const tRec = performance.now();

  const { input, report } = rolloutsReport(records, settings, maxTokens - 1);
  const summary: RolloutsSummary = {
    numImages: B,
    groupSize: G,
    rewards: report.rewards,
    advantages: report.advantages.advantages,
    metrics: report.metrics,
    losses: { ...report.loss.losses },
    groups: groupStats(
      input,
      report,
      images.map((im) => im.label),
    ),
    oldPolicy: old ? old.label : 'current policy',
    timing: {
      encode: tEncode - t0,
      sample: tSample - tEncode,
      logprobs: tLogp - tSample,
      reconstruct: tRec - tLogp,
      total: performance.now() - t0,
      decoderRuns,
    },
  };
  return { records, summary, input, report };
}
