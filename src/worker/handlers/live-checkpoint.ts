/**
 * Checkpoints of a run trained in the page, evaluated like the bundle's: the weights are written into the cold start's
 * decoder graph (float32) and served under a path of their own beside the bundle's sessions, with a manifest that lists
 * them as the one checkpoint. The latest live checkpoint's session is kept per bundle sessions (scrubbing back to it
 * is instant); another one replaces it. The `checkpointEval` handler (the scrubber) and the `bench` handler (Unified-Bench
 * on a live checkpoint) both use it; `request` names the request in error messages.
 */
import type { InferenceSession } from 'onnxruntime-web';
import { bundleFile, type LoadedBundle } from '../../engine/bundle.ts';
import { EngineError } from '../../engine/errors.ts';
import type { InferContext, SessionSource } from '../../engine/infer/index.ts';
import type { BundleSessions } from '../../engine/sessions.ts';
import { archFromWeights, graphWithParams } from '../../engine/train/bundle-weights.ts';
import { readWeights } from '../../engine/train/onnx-weights.ts';
import type { LiveCheckpoint } from '../../protocol/checkpoint.ts';

/** The path a live checkpoint's decoder graph is served under (not a bundle file). */
export const LIVE_DECODER_PATH = 'train/live/decoder_model_merged.onnx';

const kept = new WeakMap<BundleSessions, { key: string; session: Promise<InferenceSession> }>();

/** Returns `raw` as a LiveCheckpoint, or throws EngineError('bad-request') naming the bad field (`field`: its name in the request). */
export function checkLiveCheckpoint(raw: unknown, request: string, field = 'live'): LiveCheckpoint {
  const l = raw as Partial<Record<'key' | 'label' | 'params', unknown>> | null;
  if (typeof l?.key !== 'string' || typeof l.label !== 'string')
    throw new EngineError('bad-request', `${request}: ${field} must have a key and a label`);
  const ok = typeof l.params === 'object' && l.params !== null && Object.values(l.params).every((v) => v instanceof Float32Array);
  if (!ok) throw new EngineError('bad-request', `${request}: ${field}.params must hold float32 arrays by parameter name`);
  return raw as LiveCheckpoint;
}

/** Returns the session of a live checkpoint's decoder, created from its weights unless it is the one kept. */
async function liveSession(
  bundle: LoadedBundle,
  sessions: BundleSessions,
  live: LiveCheckpoint,
  request: string,
): Promise<InferenceSession> {
  const held = kept.get(sessions);
  if (held?.key === live.key) return held.session;
  const ref = bundle.manifest.roles.referenceEncoder;
  const graph = ref ? await bundleFile(bundle, ref.decoder) : undefined;
  if (!ref || !graph) throw new EngineError('bad-request', `${request}: bundle ${bundle.manifest.id} has no cold start decoder graph`);
  let model: Uint8Array;
  try {
    model = graphWithParams(graph, live.params, archFromWeights(readWeights(graph), ref.numHeads));
  } catch (e) {
    throw new EngineError(
      'bad-request',
      `${request}: ${live.label}: the weights do not fit bundle ${bundle.manifest.id} (${e instanceof Error ? e.message : String(e)})`,
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
  request = 'checkpointEval',
): Promise<InferContext> {
  const ref = ctx.manifest.roles.referenceEncoder;
  if (!ref) throw new EngineError('bad-request', `${request}: bundle ${ctx.manifest.id} has no referenceEncoder (the cold start)`);
  const session = await liveSession(bundle, sessions, live, request);
  const source: SessionSource = { get: (path) => (path === LIVE_DECODER_PATH ? Promise.resolve(session) : ctx.sessions.get(path)) };
  const entry = { step, label: live.label, encoder: { vision: ref.vision, decoder: LIVE_DECODER_PATH } };
  return { ...ctx, sessions: source, manifest: { ...ctx.manifest, roles: { ...ctx.manifest.roles, checkpoints: [entry] } } };
}
