/**
 * The `bench` request handler: checks the params (each bad field named), runs src/engine/unified-bench's
 * runUnifiedBench or src/engine/geneval's runGeneval on the loaded bundle, and streams every finished batch as a
 * partial (with copies of its images: posting transfers the buffers). A checkpoint's sessions are capped as the
 * `checkpointEval` handler caps them. A live checkpoint (weights of a run trained in the page) captions through
 * live-checkpoint.ts, as in the scrubber: its weights in the cold start's decoder graph, the latest one's session kept.
 */
import { EngineError } from '../../engine/errors.ts';
import { runGeneval } from '../../engine/geneval/index.ts';
import { checkpointEncoder, findCheckpoint, type EncoderChoice } from '../../engine/infer/index.ts';
import type { BundleManifest } from '../../engine/manifest.ts';
import { runUnifiedBench, type ReferenceImage } from '../../engine/unified-bench/index.ts';
import { BENCH_LIMITS, type BenchEncoder, type BenchParams, type BenchReference } from '../../protocol/bench.ts';
import { defineJob } from '../job.ts';
import { limitCheckpointSessions } from './checkpoint.ts';
import { checkLiveCheckpoint, liveCheckpointContext } from './live-checkpoint.ts';

function bad(message: string): EngineError {
  return new EngineError('bad-request', `bench: ${message}`);
}

type Limit = keyof typeof BENCH_LIMITS;

/** Returns `v` when it is an integer within BENCH_LIMITS[name], else throws naming the field and the range. */
function intField(v: unknown, name: Limit, field: string = name): number {
  const { min, max } = BENCH_LIMITS[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`${field} must be an integer in [${min}, ${max}], got ${typeof v === 'number' ? v : (JSON.stringify(v) ?? 'nothing')}`);
  }
  return v;
}

function checkEncoder(raw: unknown, manifest: BundleManifest): BenchEncoder {
  const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<string, unknown>>;
  if (e.kind === 'role' && (e.role === 'encoder' || e.role === 'referenceEncoder')) {
    if (!manifest.roles[e.role]) throw bad(`bundle ${manifest.id} has no ${e.role} role`);
    return { kind: 'role', role: e.role };
  }
  if (e.kind === 'checkpoint' && typeof e.step === 'number') {
    findCheckpoint(manifest, e.step);
    return { kind: 'checkpoint', step: e.step };
  }
  if (e.kind === 'live') {
    if (typeof e.step !== 'number' || !Number.isInteger(e.step) || e.step < 0) throw bad('encoder.step must be a non-negative integer');
    if (!manifest.roles.referenceEncoder) {
      throw bad(`bundle ${manifest.id} has no referenceEncoder (the cold start): a live checkpoint's weights cannot be built into it`);
    }
    return { kind: 'live', step: e.step, live: checkLiveCheckpoint(e.live, 'bench', 'encoder.live') };
  }
  throw bad("encoder must be {kind:'role', role:'encoder'|'referenceEncoder'}, {kind:'checkpoint', step} or {kind:'live', step, live}");
}

function checkReference(raw: unknown, manifest: BundleManifest): BenchReference {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<string, unknown>>;
  if (r.kind === 'scenes') return { kind: 'scenes', scenes: intField(r.scenes, 'scenes') };
  if (r.kind !== 'images') throw bad("reference must be {kind:'scenes', scenes} or {kind:'images', images}");
  const { width: W, height: H } = manifest.preprocessing.image;
  const images = r.images;
  const { min, max } = BENCH_LIMITS.images;
  if (!Array.isArray(images) || images.length < min || images.length > max) {
    throw bad(`reference.images must hold ${min} to ${max} images, got ${Array.isArray(images) ? images.length : 'none'}`);
  }
  images.forEach((im: Partial<ReferenceImage> | null, i) => {
    const name = typeof im?.name === 'string' && im.name ? im.name : `reference.images[${i}]`;
    if (typeof im?.name !== 'string' || !im.name) throw bad(`reference.images[${i}] has no name`);
    if (!(im.rgb instanceof Uint8Array) || im.rgb.length !== W * H * 3) {
      throw bad(`${name}: rgb must be uint8 RGB of ${W}x${H}x3 bytes (the bundle's input size)`);
    }
  });
  return { kind: 'images', images: images as ReferenceImage[] };
}

/** Returns `raw` as checked BenchParams for `manifest`'s bundle, or throws EngineError('bad-request') naming the bad field. */
export function checkBenchParams(raw: unknown, manifest: BundleManifest): BenchParams {
  const p = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<string, unknown>>;
  const common = { seed: intField(p.seed, 'seed'), steps: intField(p.steps, 'steps'), batch: intField(p.batch, 'batch') };
  if (p.benchmark === 'unified') {
    if (!manifest.roles.scorer) throw bad(`bundle ${manifest.id} has no scorer role: Unified-Bench needs a similarity backbone`);
    return {
      benchmark: 'unified',
      encoder: checkEncoder(p.encoder, manifest),
      reference: checkReference(p.reference, manifest),
      ...common,
    };
  }
  if (p.benchmark === 'geneval') {
    return {
      benchmark: 'geneval',
      promptsPerTask: intField(p.promptsPerTask, 'promptsPerTask'),
      perPrompt: intField(p.perPrompt, 'perPrompt'),
      ...common,
    };
  }
  throw bad(`benchmark must be 'unified' or 'geneval', got ${JSON.stringify(p.benchmark) ?? 'nothing'}`);
}

/** Registers the `bench` handler on a host: one partial per finished batch, then the result. */
export const registerBench = defineJob('bench', {
  roles: ['decoder'],
  check: (req, { manifest }) => checkBenchParams(req, manifest),
  async run({ params: p, request, sessions, manifest: m, infer, bundle }) {
    const live = p.benchmark === 'unified' && p.encoder.kind === 'live' ? p.encoder : null;
    const ctx = live ? await liveCheckpointContext(infer(), bundle, sessions, live.step, live.live, 'bench') : infer();
    const t0 = performance.now();
    const progress = (done: number, total: number): void => request.progress({ phase: 'run', loaded: done, total });
    if (p.benchmark === 'geneval') {
      const r = await runGeneval(ctx, {
        seed: p.seed,
        promptsPerTask: p.promptsPerTask,
        perPrompt: p.perPrompt,
        steps: p.steps,
        batch: p.batch,
        onProgress: progress,
        onBatch: (b) => request.partial({ kind: 'geneval', batch: { ...b, images: b.images.slice() } }),
      });
      const info = { bundleId: m.id, encoderId: 'decoder', encoderLabel: `decoder of ${m.id}`, step: null, ms: performance.now() - t0 };
      return { benchmark: 'geneval', ...r, ...info };
    }
    // A live checkpoint is the only checkpoint of the context liveCheckpointContext returns.
    const entry = p.encoder.kind === 'role' ? null : findCheckpoint(ctx.manifest, p.encoder.step);
    const role = p.encoder.kind === 'role' ? p.encoder.role : 'encoder';
    const encoder: EncoderChoice = entry ? checkpointEncoder(ctx, entry) : role;
    try {
      const r = await runUnifiedBench(ctx, {
        reference: p.reference,
        seed: p.seed,
        steps: p.steps,
        batch: p.batch,
        encoder,
        onProgress: progress,
        onBatch: (b) =>
          request.partial({
            kind: 'unified',
            batch: { ...b, references: b.references.slice(), reconstructions: b.reconstructions.slice() },
          }),
      });
      return {
        benchmark: 'unified',
        ...r,
        bundleId: m.id,
        encoderId: live ? `live:${live.step}` : entry ? `checkpoint:${entry.step}` : role,
        encoderLabel: live ? live.live.label : entry ? `checkpoint step ${entry.step} · ${entry.label}` : role,
        step: entry ? entry.step : null,
        ms: performance.now() - t0,
      };
    } finally {
      // A cancelled or failed run still counts as a use of the checkpoint: the open-session cap holds either way.
      if (entry && !live) await limitCheckpointSessions(sessions, m, entry.step);
    }
  },
});
