// Checkpoint evaluation for the scrubber: the chosen checkpoint captions the current image (the round
// trip's input, else a default Shapes scene), the bundle's decoder redraws it, the scorer compares — in the
// worker (`checkpointEval`). Results are cached per bundle + image + seed + flow steps + checkpoint, so
// scrubbing back is instant; a newer choice cancels the evaluation in flight (the client's lane does it).
import type { RequestHandle } from '../../../src/client/client.ts';
import { isCancelled } from '../../../src/engine/errors.ts';
import type { CheckpointEvalPartial } from '../../../src/protocol/checkpoint.ts';
import type { BundleSummary } from '../../../src/protocol/messages.ts';
import { engine } from '../../engine';
import { inputFromScene } from '../../lib/images';
import type { RtInput } from '../../store/roundtripSlice';
import { useStore } from '../../store/store';
import { EVAL_CACHE_SIZE, type CheckpointEvalView, type EvalImage } from '../../store/trainingSlice';
import { toAppError } from '../../lib/errors';
import { patchTraining as patch } from '../../lib/trainingRuns';
import { storedCheckpoint } from '../../persist/live-train-db';
import { scrubberCheckpoints, type ScrubberCheckpoint } from './checkpoints';

/** The Shapes scene evaluated when the round trip has no image: public/gallery scene-01 (two objects). */
export const DEFAULT_SCENE = { seed: 1771437443, label: 'Shapes scene 2025-3 (default)' } as const;
/** Roles an evaluation needs besides a checkpoint. */
const ROLES = ['encoder', 'decoder', 'scorer'] as const;
/** Milliseconds a choice must stay before it is evaluated (dragging the slider sends one request, not nine). */
export const SETTLE_MS = 150;

/** Returns the cache key of one evaluation: what its result depends on. */
export function evalKey(parts: {
  bundle: string;
  backend: string;
  image: string;
  seed: number;
  flowSteps: number;
  step: number | string;
}): string {
  return `${parts.bundle}|${parts.backend}|${parts.image}|seed ${parts.seed}|flow ${parts.flowSteps}|step ${parts.step}`;
}

/** Returns the cache with `view` added and the oldest entries beyond `limit` dropped. */
export function addToCache(
  evals: Record<string, CheckpointEvalView>,
  order: string[],
  view: CheckpointEvalView,
  limit = EVAL_CACHE_SIZE,
): { evals: Record<string, CheckpointEvalView>; evalOrder: string[] } {
  const evalOrder = [...order.filter((k) => k !== view.key), view.key];
  const next = { ...evals, [view.key]: view };
  while (evalOrder.length > limit) delete next[evalOrder.shift() as string];
  return { evals: next, evalOrder };
}

const hashes = new WeakMap<Uint8Array, Promise<string>>();

/** Returns the first 16 hex chars of the sha256 of `bytes` (memoised per array). */
export function imageHash(bytes: Uint8Array): Promise<string> {
  let h = hashes.get(bytes);
  if (!h) {
    h = crypto.subtle
      .digest('SHA-256', bytes.slice().buffer)
      .then((d) => Array.from(new Uint8Array(d).slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join(''));
    hashes.set(bytes, h);
  }
  return h;
}

let fallback: RtInput | null = null;

/** Returns the image to evaluate on: the round trip's input when it has the bundle's size, else the default scene. */
async function currentImage(bundle: BundleSummary): Promise<EvalImage> {
  const { width: W, height: H } = bundle.manifest.preprocessing.image;
  const rt = useStore.getState().runs.roundtrip.input;
  if (rt && rt.width === W && rt.height === H) return { input: rt, hash: await imageHash(rt.modelView), fallback: false };
  if (!fallback || fallback.width !== W || fallback.height !== H)
    fallback = inputFromScene(DEFAULT_SCENE.seed, 'gallery', DEFAULT_SCENE.label, W, H);
  return { input: fallback, hash: await imageHash(fallback.modelView), fallback: true };
}

/** Returns the bundle's checkpoints, or [] when it cannot evaluate (no checkpoints, or a role missing). */
export function evaluable(bundle: BundleSummary | null): NonNullable<BundleSummary['manifest']['roles']['checkpoints']> {
  if (!bundle || ROLES.some((r) => !bundle.roles.includes(r))) return [];
  return bundle.manifest.roles.checkpoints ?? [];
}

/** Returns the scrubber's points for the store now: the bundle's checkpoints and the live run's, or [] when it cannot evaluate. */
export function chosenList(s: ReturnType<typeof useStore.getState>): ScrubberCheckpoint[] {
  const bundle = s.engine.bundle;
  if (!bundle || ROLES.some((r) => !bundle.roles.includes(r))) return [];
  return scrubberCheckpoints(bundle.manifest.roles.checkpoints ?? [], s.runs.liveTrain.run, `${bundle.id}@${bundle.version}`);
}

/** Returns the key of checkpoint `point` (a bundle step or a scrubber point) on the current image, or null before the image is known. */
export function keyFor(s: ReturnType<typeof useStore.getState>, point: number | ScrubberCheckpoint): string | null {
  const step = typeof point === 'number' ? point : point.live ? `live ${point.live.runId} ${point.step}` : point.step;
  const bundle = s.engine.bundle;
  const image = s.runs.training.evalImage;
  if (!bundle || !image) return null;
  return evalKey({
    bundle: `${bundle.id}@${bundle.version}`,
    backend: s.engine.backend?.backend ?? 'none',
    image: image.hash,
    seed: s.config.seed,
    flowSteps: bundle.manifest.defaults.flowSteps,
    step,
  });
}

let running: { key: string; handle: RequestHandle<'checkpointEval'> } | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let generation = 0;

/** Cancels the evaluation in flight and any scheduled one (e.g. the panel closes). */
export function cancelEvaluation(): void {
  clearTimeout(timer);
  generation++;
  running?.handle.cancel();
  running = null;
  patch(() => ({ evalRunning: null }));
}

/**
 * Makes way for a training run about to be requested: the evaluation in flight, if any, is cancelled and asked for
 * again, so it waits behind the run instead of the run waiting behind it (the worker runs one request at a time, and
 * on SwiftShader WebGPU an evaluation takes ~20 s). Nothing when none is in flight.
 */
export function yieldEvaluation(): void {
  if (!running) return;
  cancelEvaluation();
  scheduleEvaluation(0);
}

/** Evaluates the chosen checkpoint once the choice has settled for SETTLE_MS. */
export function scheduleEvaluation(delay = SETTLE_MS): void {
  clearTimeout(timer);
  timer = setTimeout(() => void evaluateChosen(), delay);
}

function onPartial(key: string, p: CheckpointEvalPartial): void {
  patch((t) => {
    if (t.evalRunning?.key !== key) return {};
    const next =
      p.kind === 'phase'
        ? { ...t.evalRunning, phase: p.phase, index: p.index, total: p.total }
        : { ...t.evalRunning, caption: { caption: p.caption, ids: p.ids, tokens: p.tokens, truncated: p.truncated } };
    return { evalRunning: next };
  });
}

/**
 * Evaluates the chosen checkpoint on the current image, unless its result is cached or already being
 * computed; an evaluation of anything else in flight is cancelled first.
 */
export async function evaluateChosen(): Promise<void> {
  const mine = ++generation;
  const bundle = useStore.getState().engine.bundle;
  const checkpoints = chosenList(useStore.getState());
  if (!bundle || checkpoints.length === 0) return;
  const image = await currentImage(bundle);
  if (mine !== generation) return;
  patch((t) => (t.evalImage?.hash === image.hash && t.evalImage.input === image.input ? {} : { evalImage: image }));
  const s = useStore.getState();
  const ck = checkpoints[Math.min(s.runs.training.checkpoint, checkpoints.length - 1)];
  const key = keyFor(s, ck) as string;
  if (running?.key === key) return;
  running?.handle.cancel();
  running = null;
  if (s.runs.training.evals[key]) {
    patch(() => ({ evalRunning: null }));
    return;
  }
  const { width, height } = bundle.manifest.preprocessing.image;
  let live: { key: string; label: string; params: Record<string, Float32Array> } | undefined;
  if (ck.live) {
    const params = await storedCheckpoint(ck.live.runId, ck.step).catch(() => null);
    if (mine !== generation) return;
    if (!params) {
      patch(() => ({ evalError: { key, error: { code: 'storage', message: `${ck.label}: its weights are not stored in this browser` } } }));
      return;
    }
    live = { key: `${ck.live.runId}:${ck.step}`, label: ck.label, params };
  }
  const handle = engine().request(
    {
      type: 'checkpointEval',
      step: ck.step,
      image: image.input.modelView.slice(),
      width,
      height,
      steps: bundle.manifest.defaults.flowSteps,
      seed: s.config.seed,
      ...(image.input.scene ? { scene: image.input.scene } : {}),
      ...(live ? { live } : {}),
    },
    { lane: 'checkpoint-eval', onPartial: (p) => onPartial(key, p) },
  );
  running = { key, handle };
  patch((t) => ({
    evalRunning: { key, step: ck.step, phase: 'queued', index: 0, total: 4, caption: null },
    evalError: t.evalError?.key === key ? null : t.evalError,
  }));
  try {
    const { released: _released, ...result } = await handle.done;
    patch((t) => ({
      ...addToCache(t.evals, t.evalOrder, { ...result, key }),
      evalRunning: t.evalRunning?.key === key ? null : t.evalRunning,
    }));
  } catch (e) {
    if (!isCancelled(e))
      patch((t) => ({
        evalError: { key, error: toAppError(e, 'checkpoint-eval') },
        evalRunning: t.evalRunning?.key === key ? null : t.evalRunning,
      }));
  } finally {
    if (running?.handle === handle) running = null;
  }
}
