/**
 * `uae eval` as a pure orchestration over an InferContext: N Shapes scenes from a seed, captioned by the
 * encoder (greedy) or taken from the grammar at one level, reconstructed by the decoder, scored.
 */
import { sceneRecord } from '../../shapes/dataset.ts';
import { rasterizeInto } from '../../shapes/raster.ts';
import type { Level } from '../../shapes/caption.ts';
import type { Scene } from '../../shapes/scene.ts';
import { concatRows, type EncoderChoice, type F32, type InferContext } from './context.ts';
import { attributeScores, captionCoverage, psnr, ssim, type CaptionCoverage } from './metrics.ts';
import { captionImages, embedImages, embedImagesWith, noiseRngs, reconstruct } from './pipeline.ts';
import { pairedSim, retrievalTop1 } from './scorer.ts';

/** Where the captions come from: the encoder (greedy), or the Shapes grammar at one level. */
export type CaptionSource = { kind: 'encoder' } | { kind: 'level'; level: Level };

/** Settings of an evaluation run. */
export interface EvalOptions {
  scenes: number;
  seed: number;
  /** Flow (Euler) steps. */
  steps: number;
  captions: CaptionSource;
  /** Which encoder captions (default the 'encoder' role); a training checkpoint plugs in here. */
  encoder?: EncoderChoice;
  /** Images per session run (default 32). */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * The numbers `uae eval --json` prints (exactly these keys, plus `sim_<id>` after `sim` for each vision backbone the
 * bundle ships in roles.backbones).
 */
export interface EvalMetrics {
  scenes: number;
  seed: number;
  /** Mean caption length in tokens, special tokens excluded. */
  mean_tokens: number;
  /** Mean scorer cosine of reconstruction vs original (−1…1). */
  sim: number;
  /** Mean PSNR in dB (uint8 RGB, peak 255, capped at 100). */
  psnr: number;
  /** Mean SSIM (Gaussian 11×11 σ1.5, per-channel mean). */
  ssim: number;
  attr_precision: number;
  attr_recall: number;
  attr_f1: number;
  /** Fractions of captions that name a background, and an object count (right or wrong). */
  background_named: number;
  count_named: number;
  /** Attributes asserted of objects the scene does not have, over all asserted attributes (pooled over the captions). */
  extra_object_rate: number;
  /** Fraction of reconstructions whose most similar original (scorer cosine) is their own. */
  retrieval_top1: number;
  /** 100 × the mean over the similarity backbones (the scorer, then each roles.backbones) of their mean cosine. */
  unified_score: number;
  /** Mean cosine of reconstruction vs original under vision backbone <id> (roles.backbones). */
  [backbone: `sim_${string}`]: number;
}

/** Returns the keys of `m` in print order: EVAL_KEYS with each `sim_<id>` after `sim`. */
export function evalKeys(m: EvalMetrics): (keyof EvalMetrics)[] {
  const extra = Object.keys(m).filter((k): k is `sim_${string}` => k.startsWith('sim_'));
  return EVAL_KEYS.flatMap((k) => (k === 'sim' ? [k, ...extra] : [k]));
}

/** The key order of EvalMetrics, as printed (backbone keys aside: see evalKeys). */
export const EVAL_KEYS: readonly (keyof EvalMetrics)[] = [
  'scenes',
  'seed',
  'mean_tokens',
  'sim',
  'psnr',
  'ssim',
  'attr_precision',
  'attr_recall',
  'attr_f1',
  'background_named',
  'count_named',
  'extra_object_rate',
  'retrieval_top1',
  'unified_score',
];

/** Per-scene details of an evaluation. */
export interface EvalRow {
  index: number;
  sceneSeed: number;
  scene: Scene;
  caption: string;
  tokens: number;
  sim: number;
  /** Cosine under each vision backbone of roles.backbones, by id. */
  backbones: Record<string, number>;
  psnr: number;
  ssim: number;
  attr: { precision: number; recall: number; f1: number };
  coverage: CaptionCoverage;
}

/** Returns a / b (0 when b is 0). */
function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

/** Returns the mean of `xs` (0 for none). */
function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Returns the metrics and per-scene rows of an evaluation (scene i = sampleScene(sceneSeed(seed, i))). */
export async function runEval(ctx: InferContext, opts: EvalOptions): Promise<{ metrics: EvalMetrics; rows: EvalRow[] }> {
  if (!Number.isInteger(opts.scenes) || opts.scenes < 1) throw new RangeError(`scenes must be a positive integer, got ${opts.scenes}`);
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  const stride = W * H * 3;
  const batch = Math.max(1, Math.floor(opts.batch ?? 32));
  const rows: EvalRow[] = [];
  const origEmb: F32[] = [];
  const recEmb: F32[] = [];
  const backbones = (ctx.manifest.roles.backbones ?? []).map((b) => b.id);
  for (let start = 0; start < opts.scenes; start += batch) {
    const count = Math.min(batch, opts.scenes - start);
    const records = Array.from({ length: count }, (_, i) => sceneRecord(opts.seed, start + i));
    const images = new Uint8Array(count * stride);
    records.forEach((r, i) => rasterizeInto(r.scene, images, i * stride, W));
    const tok = ctx.tokenizer;
    const captions =
      opts.captions.kind === 'encoder'
        ? (await captionImages(ctx, images, count, { policy: { kind: 'greedy' }, batch, role: opts.encoder })).map((c) => ({
            ids: c.ids,
            text: c.text,
            tokens: c.tokens,
          }))
        : records.map((r) => {
            const text = r.captions[(opts.captions as { level: Level }).level];
            const ids = tok.encode(text);
            return { ids, text, tokens: ids.length };
          });
    const rec = await reconstruct(
      ctx,
      captions.map((c) => c.ids),
      noiseRngs(opts.seed, start, count),
      { steps: opts.steps, batch },
    );
    const eo = await embedImages(ctx, images, count, batch);
    const er = await embedImages(ctx, rec.images, count, batch);
    origEmb.push(eo);
    recEmb.push(er);
    const sims = pairedSim(er, eo);
    const bsims: Record<string, number[]> = {};
    for (const id of backbones)
      bsims[id] = pairedSim(await embedImagesWith(ctx, id, rec.images, count, batch), await embedImagesWith(ctx, id, images, count, batch));
    records.forEach((r, i) => {
      const a = images.subarray(i * stride, (i + 1) * stride);
      const b = rec.images.subarray(i * stride, (i + 1) * stride);
      rows.push({
        index: r.index,
        sceneSeed: r.seed,
        scene: r.scene,
        caption: captions[i].text,
        tokens: captions[i].tokens,
        sim: sims[i],
        backbones: Object.fromEntries(backbones.map((id) => [id, bsims[id][i]])),
        psnr: psnr(a, b, W, H),
        ssim: ssim(a, b, W, H),
        attr: attributeScores(captions[i].text, r.scene),
        coverage: captionCoverage(captions[i].text, r.scene),
      });
    });
    opts.onProgress?.(start + count, opts.scenes);
  }
  const sim = mean(rows.map((r) => r.sim));
  const perBackbone = backbones.map((id) => [`sim_${id}`, mean(rows.map((r) => r.backbones[id]))] as const);
  const metrics: EvalMetrics = {
    scenes: opts.scenes,
    seed: opts.seed,
    mean_tokens: mean(rows.map((r) => r.tokens)),
    sim,
    ...Object.fromEntries(perBackbone),
    psnr: mean(rows.map((r) => r.psnr)),
    ssim: mean(rows.map((r) => r.ssim)),
    attr_precision: mean(rows.map((r) => r.attr.precision)),
    attr_recall: mean(rows.map((r) => r.attr.recall)),
    attr_f1: mean(rows.map((r) => r.attr.f1)),
    background_named: mean(rows.map((r) => Number(r.coverage.namesBackground))),
    count_named: mean(rows.map((r) => Number(r.coverage.namesCount))),
    extra_object_rate: ratio(
      rows.reduce((s, r) => s + r.coverage.extraObject, 0),
      rows.reduce((s, r) => s + r.coverage.asserted, 0),
    ),
    retrieval_top1: retrievalTop1(concatRows(recEmb), concatRows(origEmb)),
    unified_score: 100 * mean([sim, ...perBackbone.map(([, v]) => v)]),
  };
  return { metrics, rows };
}
