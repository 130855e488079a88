/**
 * Checkpoints of a run trained in the page, evaluated like the bundle's: the weights are written into the cold start's
 * decoder graph (float32) and served under a path of their own beside the bundle's sessions, with a manifest that lists
 * them as the one checkpoint. The latest live checkpoint's session is kept per bundle sessions (scrubbing back to it
 * is instant); another one replaces it.
 */
import type { InferenceSession } from 'onnxruntime-web';
import type { LoadedBundle } from '../../engine/bundle.ts';
import { EngineError } from '../../engine/errors.ts';
import type { InferContext, SessionSource } from '../../engine/infer/index.ts';
import type { BundleSessions } from '../../engine/sessions.ts';
import { archFromWeights, graphWithParams } from '../../engine/train/bundle-weights.ts';
import { readWeights } from '../../engine/train/onnx-weights.ts';
import type { LiveCheckpoint } from '../../protocol/checkpoint.ts';

/** The path a live checkpoint's decoder graph is served under (not a bundle file). */
export const LIVE_DECODER_PATH = 'train/live/decoder_model_merged.onnx';

const kept = new WeakMap<BundleSessions, { key: string; session: Promise<InferenceSession> }>();

/** Returns the session of a live checkpoint's decoder, created from its weights unless it is the one kept. */
async function liveSession(bundle: LoadedBundle, sessions: BundleSessions, live: LiveCheckpoint): Promise<InferenceSession> {
  const held = kept.get(sessions);
  if (held?.key === live.key) return held.session;
  const ref = bundle.manifest.roles.referenceEncoder;
  const graph = ref ? bundle.files.get(ref.decoder) : undefined;
  if (!ref || !graph) throw new EngineError('bad-request', `checkpointEval: bundle ${bundle.manifest.id} has no cold start decoder graph`);
  let model: Uint8Array;
  try {
    model = graphWithParams(graph, live.params, archFromWeights(readWeights(graph), ref.numHeads));
  } catch (e) {
    throw new EngineError(
      'bad-request',
      `checkpointEval: ${live.label}: the weights do not fit this bundle (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const session = sessions.createSession(model);
  kept.set(sessions, { key: live.key, session });
  session.catch(() => (kept.get(sessions)?.session === session ? kept.delete(sessions) : undefined));
  if (held) void held.session.then((s) => s.release()).catch(() => undefined);
  return session;
}

/** Returns `ctx` with the live checkpoint as the manifest's only checkpoint, at `step`, its decoder served by its own session. */
export async function liveCheckpointContext(
  ctx: InferContext,
  bundle: LoadedBundle,
  sessions: BundleSessions,
  step: number,
  live: LiveCheckpoint,
): Promise<InferContext> {
  const ref = ctx.manifest.roles.referenceEncoder;
  if (!ref) throw new EngineError('bad-request', `checkpointEval: bundle ${ctx.manifest.id} has no referenceEncoder (the cold start)`);
  const session = await liveSession(bundle, sessions, live);
  const source: SessionSource = { get: (path) => (path === LIVE_DECODER_PATH ? Promise.resolve(session) : ctx.sessions.get(path)) };
  const entry = { step, label: live.label, encoder: { vision: ref.vision, decoder: LIVE_DECODER_PATH } };
  return { ...ctx, sessions: source, manifest: { ...ctx.manifest, roles: { ...ctx.manifest.roles, checkpoints: [entry] } } };
}
