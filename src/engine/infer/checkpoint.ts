/**
 * Training checkpoints of the encoder (manifest `roles.checkpoints`): naming one (first / last / a step),
 * its encoder role (the main role's token ids and shapes with the checkpoint's two graphs), and
 * evaluating it on one image: greedy caption → reconstruction by the bundle's decoder → fidelity.
 */
import { createRng } from '../../shapes/rng.ts';
import type { Scene } from '../../shapes/scene.ts';
import { EngineError } from '../errors.ts';
import type { BundleManifest, CheckpointEntry, EncoderRole } from '../manifest.ts';
import type { Caption } from './caption.ts';
import { encoderRole, type InferContext } from './context.ts';
import { attributeScores, psnr, ssim, type AttributeScores } from './metrics.ts';
import { captionImages, embedImages, noiseSeed, reconstruct } from './pipeline.ts';
import type { Fidelity } from './roundtrip.ts';
import { cosine } from './scorer.ts';

/** How a checkpoint is named: the lowest step ('first'), the highest ('last'), or a step number. */
export type CheckpointChoice = 'first' | 'last' | number;

/** Returns the manifest's checkpoints sorted by step (ascending); [] when it lists none. */
export function sortedCheckpoints(manifest: BundleManifest): CheckpointEntry[] {
  return [...(manifest.roles.checkpoints ?? [])].sort((a, b) => a.step - b.step);
}

/** Returns the checkpoint `choice` names, or throws EngineError('bad-request') naming the steps the bundle has. */
export function findCheckpoint(manifest: BundleManifest, choice: CheckpointChoice): CheckpointEntry {
  const all = sortedCheckpoints(manifest);
  if (all.length === 0) {
    throw new EngineError(
      'bad-request',
      `bundle ${manifest.id} has no encoder checkpoints (manifest roles.checkpoints is ${manifest.roles.checkpoints ? 'empty' : 'absent'})`,
    );
  }
  const found = choice === 'first' ? all[0] : choice === 'last' ? all[all.length - 1] : all.find((c) => c.step === choice);
  if (!found) {
    throw new EngineError(
      'bad-request',
      `bundle ${manifest.id} has no checkpoint at step ${choice}; its checkpoints are at steps ${all.map((c) => c.step).join(', ')}`,
    );
  }
  return found;
}

/** Returns the encoder role of a checkpoint: the bundle's 'encoder' role with the checkpoint's vision and decoder graphs. */
export function checkpointEncoder(ctx: InferContext, entry: CheckpointEntry): EncoderRole {
  return { ...encoderRole(ctx, 'encoder'), vision: entry.encoder.vision, decoder: entry.encoder.decoder };
}

/** The stages of one checkpoint evaluation, in order. */
export const CHECKPOINT_PHASES = ['sessions', 'caption', 'reconstruct', 'score'] as const;
/** One stage of a checkpoint evaluation. */
export type CheckpointPhase = (typeof CHECKPOINT_PHASES)[number];

/** Settings of a checkpoint evaluation. */
export interface CheckpointEvalOptions {
  /** Flow (Euler) steps of the decoder. */
  steps: number;
  /** uint32; the decoder noise is createRng(noiseSeed(seed, 0)), the same for every checkpoint. */
  seed: number;
  /** CFG scale; default the bundle's. */
  guidance?: number;
  /** The true scene when the image is a Shapes scene (enables attribute scores). */
  scene?: Scene;
  /** Called as each phase starts. */
  onPhase?: (phase: CheckpointPhase) => void;
  /** Called with the caption as soon as it is written (before the reconstruction). */
  onCaption?: (caption: Caption) => void;
}

/** What a checkpoint makes of one image. */
export interface CheckpointEvaluation {
  step: number;
  label: string;
  /** The greedy caption. */
  caption: Caption;
  /** The decoder's reconstruction from that caption, uint8 RGB [H,W,3]. */
  image: Uint8Array;
  /** Reconstruction against the image: scorer cosine, PSNR, SSIM. */
  fidelity: Fidelity;
  /** Attribute precision/recall/F1 of the caption against the scene, or null without a scene. */
  attr: AttributeScores | null;
}

/**
 * Returns checkpoint `choice`'s greedy caption of `image` (uint8 RGB at the bundle's input size), the
 * decoder's reconstruction from it and their fidelity. Creates the checkpoint's sessions first (phase
 * 'sessions'); ctx.checkCancelled is called between session runs.
 */
export async function evaluateCheckpoint(
  ctx: InferContext,
  image: Uint8Array,
  choice: CheckpointChoice,
  opts: CheckpointEvalOptions,
): Promise<CheckpointEvaluation> {
  const { width: W, height: H } = ctx.manifest.preprocessing.image;
  if (image.length !== W * H * 3) throw new RangeError(`evaluateCheckpoint: expected a ${W}x${H} RGB image, got ${image.length} bytes`);
  const entry = findCheckpoint(ctx.manifest, choice);
  const role = checkpointEncoder(ctx, entry);
  opts.onPhase?.('sessions');
  for (const path of [role.vision, role.decoder]) {
    ctx.checkCancelled?.();
    await ctx.sessions.get(path);
  }
  opts.onPhase?.('caption');
  const [caption] = await captionImages(ctx, image, 1, { policy: { kind: 'greedy' }, role });
  opts.onCaption?.(caption);
  opts.onPhase?.('reconstruct');
  const rec = await reconstruct(ctx, [caption.ids], [createRng(noiseSeed(opts.seed, 0))], { steps: opts.steps, guidance: opts.guidance });
  opts.onPhase?.('score');
  const emb = await embedImages(ctx, rec.images, 1);
  const orig = await embedImages(ctx, image, 1);
  return {
    step: entry.step,
    label: entry.label,
    caption,
    image: rec.images,
    fidelity: { sim: cosine(emb, 0, orig, 0), psnr: psnr(rec.images, image, W, H), ssim: ssim(rec.images, image, W, H) },
    attr: opts.scene ? attributeScores(caption.text, opts.scene) : null,
  };
}
