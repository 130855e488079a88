// The Bench form turned into requests: one Unified-Bench run per chosen encoder (a role, a shipped checkpoint, or a
// checkpoint of the run trained in the page on this bundle), one GenEval-Shapes run for the bundle's decoder. Every
// bad field is refused with a sentence naming it and its allowed range.
import { ALL_TASKS } from '../../../src/engine/geneval/index.ts';
import type { BundleManifest } from '../../../src/engine/manifest.ts';
import { BENCH_LIMITS, type BenchEncoder, type GenevalBenchParams, type UnifiedBenchParams } from '../../../src/protocol/bench.ts';
import type { BenchFolder, BenchForm, BenchLiveRun } from '../../store/benchSlice';

/** A checkpoint of the live run, by run and step: its weights are read from IndexedDB when its request is sent. */
export interface LiveRef {
  kind: 'live';
  step: number;
  runId: string;
}

/** The encoder of a planned request: as sent, except a live checkpoint, named by reference until it runs. */
export type PlannedEncoder = Exclude<BenchEncoder, { kind: 'live' }> | LiveRef;

/** A planned request's parameters (a live checkpoint's weights are filled in when it is sent). */
export type PlannedParams = GenevalBenchParams | (Omit<UnifiedBenchParams, 'encoder'> & { encoder: PlannedEncoder });

/** One request of a queue and how its run is named. */
export interface BenchJob {
  params: PlannedParams;
  encoderId: string;
  encoderLabel: string;
  step: number | null;
  /** The live run whose checkpoint captions, else absent. */
  liveRun?: string;
  reference: string;
}

/** An encoder the bundle offers: its id in the form, how it is named, the request's choice. */
export interface EncoderOption {
  id: string;
  label: string;
  encoder: PlannedEncoder;
  step: number | null;
}

/** The label of a live checkpoint in the form, the tables and the charts (as in the scrubber). */
export const liveLabel = (step: number): string => `live run step ${step}`;

/**
 * Returns the live run whose checkpoints the loaded bundle (`bundleKey`: `<id>@<version>`) can benchmark: `run` when
 * it trains that bundle and has stored checkpoints, else null; `other` names the bundle of a run that trains another.
 */
export function liveFor(run: BenchLiveRun | null, bundleKey: string | null): { run: BenchLiveRun | null; other: string | null } {
  if (!run || run.checkpoints.length === 0) return { run: null, other: null };
  return run.bundleKey === bundleKey ? { run, other: null } : { run: null, other: run.bundleKey };
}

/**
 * Returns the encoders `manifest` offers: its encoder role, the reference encoder, each checkpoint by step, then the
 * stored checkpoints of `live` (a run trained in the page on this bundle: see liveFor) as "live run step N".
 */
export function encoderOptions(manifest: BundleManifest, live: BenchLiveRun | null = null): EncoderOption[] {
  const out: EncoderOption[] = [];
  const roles = manifest.roles;
  if (roles.encoder) out.push({ id: 'encoder', label: 'encoder (the bundle’s)', encoder: { kind: 'role', role: 'encoder' }, step: null });
  if (roles.referenceEncoder) {
    out.push({
      id: 'referenceEncoder',
      label: 'referenceEncoder (frozen cold start)',
      encoder: { kind: 'role', role: 'referenceEncoder' },
      step: null,
    });
  }
  for (const c of [...(roles.checkpoints ?? [])].sort((a, b) => a.step - b.step)) {
    out.push({
      id: `checkpoint:${c.step}`,
      label: `checkpoint step ${c.step} · ${c.label}`,
      encoder: { kind: 'checkpoint', step: c.step },
      step: c.step,
    });
  }
  for (const step of [...(live?.checkpoints ?? [])].sort((a, b) => a - b)) {
    out.push({ id: `live:${step}`, label: liveLabel(step), encoder: { kind: 'live', step, runId: live!.id }, step });
  }
  return out;
}

/** Returns an error sentence when `v` is not an integer in the field's range, else null. */
function rangeError(label: string, v: number | null, limit: { min: number; max: number }): string | null {
  if (typeof v === 'number' && Number.isInteger(v) && v >= limit.min && v <= limit.max) return null;
  const got = typeof v === 'number' && Number.isFinite(v) ? String(v) : 'nothing';
  return `${label} must be a whole number from ${limit.min} to ${limit.max} (got ${got}).`;
}

/**
 * Returns the queue the form asks for on `manifest`'s bundle (with `live`'s checkpoints as choices: see liveFor), or the
 * first problem as a sentence naming the field.
 */
export function benchJobs(
  form: BenchForm,
  manifest: BundleManifest,
  folder: BenchFolder | null,
  live: BenchLiveRun | null = null,
): { jobs: BenchJob[] } | { error: string } {
  if (!form.unified && !form.geneval) return { error: 'Choose a benchmark: Unified-Bench, GenEval-Shapes or both.' };
  const steps = form.steps ?? manifest.defaults.flowSteps;
  const common =
    rangeError('Flow steps', steps, BENCH_LIMITS.steps) ?? rangeError('Batch (images per session run)', form.batch, BENCH_LIMITS.batch);
  if (common) return { error: common };
  const jobs: BenchJob[] = [];
  if (form.unified) {
    const problem =
      rangeError('Seed (Unified-Bench)', form.unifiedSeed, BENCH_LIMITS.seed) ??
      (form.reference === 'scenes' ? rangeError('Scenes', form.scenes, BENCH_LIMITS.scenes) : null);
    if (problem) return { error: problem };
    if (!manifest.roles.scorer) return { error: `Unified-Bench needs a scorer: bundle ${manifest.id} has none.` };
    const chosen = encoderOptions(manifest, live).filter((o) => form.encoders.includes(o.id));
    if (chosen.length === 0) return { error: `Choose at least one encoder or checkpoint of ${manifest.id} to compare in Unified-Bench.` };
    const { width: W, height: H } = manifest.preprocessing.image;
    if (form.reference === 'folder') {
      if (!folder) return { error: 'Choose or drop a folder of images for Unified-Bench, or use Shapes scenes.' };
      if (folder.width !== W || folder.height !== H) {
        return {
          error: `The folder ${folder.label} was read at ${folder.width}×${folder.height}; this bundle takes ${W}×${H}: choose it again.`,
        };
      }
    }
    const reference =
      form.reference === 'scenes'
        ? `${form.scenes} Shapes scene${form.scenes === 1 ? '' : 's'} (seed ${form.unifiedSeed})`
        : `folder ${folder!.label} (${folder!.images.length} image${folder!.images.length === 1 ? '' : 's'})`;
    for (const o of chosen) {
      jobs.push({
        params: {
          benchmark: 'unified',
          encoder: o.encoder,
          reference: form.reference === 'scenes' ? { kind: 'scenes', scenes: form.scenes } : { kind: 'images', images: folder!.images },
          seed: form.unifiedSeed,
          steps,
          batch: form.batch,
        },
        encoderId: o.id,
        encoderLabel: o.step === null ? o.id : o.label,
        step: o.step,
        ...(o.encoder.kind === 'live' ? { liveRun: o.encoder.runId } : {}),
        reference,
      });
    }
  }
  if (form.geneval) {
    const problem =
      rangeError('Prompts per task', form.promptsPerTask, BENCH_LIMITS.promptsPerTask) ??
      rangeError('Images per prompt', form.perPrompt, BENCH_LIMITS.perPrompt) ??
      rangeError('Seed (GenEval)', form.genevalSeed, BENCH_LIMITS.seed);
    if (problem) return { error: problem };
    jobs.push({
      params: {
        benchmark: 'geneval',
        promptsPerTask: form.promptsPerTask,
        perPrompt: form.perPrompt,
        seed: form.genevalSeed,
        steps,
        batch: form.batch,
      },
      encoderId: 'decoder',
      encoderLabel: 'decoder',
      step: null,
      reference: `${form.promptsPerTask * ALL_TASKS.length} prompts × ${form.perPrompt} (seed ${form.genevalSeed})`,
    });
  }
  return { jobs };
}
