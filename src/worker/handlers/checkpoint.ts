/**
 * The `checkpointEval` request handler: evaluates one encoder checkpoint on one image (greedy caption,
 * reconstruction, fidelity). A checkpoint's sessions are created on first use; after each evaluation only
 * the CHECKPOINT_SESSION_LIMIT most recently evaluated checkpoints keep theirs (on WebGPU each set holds
 * GPU buffers; a bundle ships about nine), the bundle's role graphs are never released.
 */
import { EngineError } from '../../engine/errors.ts';
import { CHECKPOINT_PHASES, evaluateCheckpoint, findCheckpoint } from '../../engine/infer/index.ts';
import type { BundleManifest } from '../../engine/manifest.ts';
import type { BundleSessions } from '../../engine/sessions.ts';
import type { CheckpointEvalParams } from '../../protocol/checkpoint.ts';
import { isScene } from '../../shapes/scene.ts';
import { defineJob } from '../job.ts';
import { checkLiveCheckpoint, liveCheckpointContext } from './live-checkpoint.ts';

/** Most checkpoints whose sessions stay open between evaluations. */
export const CHECKPOINT_SESSION_LIMIT = 2;

/** Steps evaluated per sessions object, most recent first. */
const recentSteps = new WeakMap<BundleSessions, number[]>();

function bad(message: string): EngineError {
  return new EngineError('bad-request', `checkpointEval: ${message}`);
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Returns `raw` as checked CheckpointEvalParams for images of W×H, or throws EngineError('bad-request') naming the bad field. */
export function checkCheckpointEvalParams(raw: unknown, W: number, H: number): CheckpointEvalParams {
  const p = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<keyof CheckpointEvalParams, unknown>>;
  if (!isInt(p.step, 0, Number.MAX_SAFE_INTEGER)) throw bad('step must be a non-negative integer');
  if (p.width !== W || p.height !== H) throw bad(`the bundle takes ${W}x${H} images, got ${String(p.width)}x${String(p.height)}`);
  if (!(p.image instanceof Uint8Array) || p.image.length !== W * H * 3) throw bad(`image must be uint8 RGB of ${W}x${H}x3 bytes`);
  if (!isInt(p.steps, 1, 1000)) throw bad('steps must be an integer in [1, 1000]');
  if (!isInt(p.seed, 0, 0xffffffff)) throw bad('seed must be an integer in [0, 2^32)');
  if (p.scene !== undefined && !isScene(p.scene)) throw bad('scene is not a valid Shapes scene');
  if (p.live !== undefined) checkLiveCheckpoint(p.live, 'checkpointEval');
  return p as CheckpointEvalParams;
}

/**
 * Records `step` as the most recently evaluated checkpoint of `sessions` and releases the sessions of
 * checkpoints beyond the `limit` most recent ones; returns the released graph paths.
 */
export async function limitCheckpointSessions(
  sessions: BundleSessions,
  manifest: BundleManifest,
  step: number,
  limit = CHECKPOINT_SESSION_LIMIT,
): Promise<string[]> {
  const recent = [step, ...(recentSteps.get(sessions) ?? []).filter((s) => s !== step)].slice(0, Math.max(1, limit));
  recentSteps.set(sessions, recent);
  const keep = (manifest.roles.checkpoints ?? [])
    .filter((c) => recent.includes(c.step))
    .flatMap((c) => [c.encoder.vision, c.encoder.decoder]);
  return sessions.releaseLazy(keep);
}

/** Registers the `checkpointEval` handler on a host: phase partials, a caption partial, then the result. */
export const registerCheckpointEval = defineJob('checkpointEval', {
  roles: ['encoder', 'decoder', 'scorer'],
  check(req, { manifest }) {
    const { width, height } = manifest.preprocessing.image;
    const p = checkCheckpointEvalParams(req, width, height);
    if (!p.live) findCheckpoint(manifest, p.step);
    return p;
  },
  async run({ params: p, request, sessions, manifest: m, infer, bundle }) {
    const ctx = p.live ? await liveCheckpointContext(infer(), bundle, sessions, p.step, p.live) : infer();
    const { width, height } = m.preprocessing.image;
    const t0 = performance.now();
    const total = CHECKPOINT_PHASES.length;
    try {
      const r = await evaluateCheckpoint(ctx, p.image, p.step, {
        steps: p.steps,
        seed: p.seed,
        scene: p.scene,
        onPhase: (phase) => {
          const index = CHECKPOINT_PHASES.indexOf(phase);
          request.progress({ phase: 'run', loaded: index, total });
          request.partial({ kind: 'phase', phase, index, total });
        },
        onCaption: (c) =>
          request.partial({ kind: 'caption', caption: c.text, ids: c.ids.slice(), tokens: c.tokens, truncated: c.truncated }),
      });
      request.progress({ phase: 'run', loaded: total, total });
      const released = p.live ? [] : await limitCheckpointSessions(sessions, m, p.step);
      return {
        step: r.step,
        label: r.label,
        caption: r.caption.text,
        ids: r.caption.ids.slice(),
        tokens: r.caption.tokens,
        truncated: r.caption.truncated,
        image: r.image,
        width,
        height,
        fidelity: r.fidelity,
        attr: r.attr,
        released,
        bundleId: m.id,
        ms: performance.now() - t0,
      };
    } catch (e) {
      // A cancelled or failed evaluation still counts as a use: the cap holds either way.
      if (!p.live) await limitCheckpointSessions(sessions, m, p.step);
      throw e;
    }
  },
});
