/**
 * The round-trip job: the one function both the worker's `roundtrip` handler and `uae roundtrip` run, so
 * that the same image, settings and seed give the same captions in the browser and in Node.
 */
import { EngineError } from '../errors.ts';
import { roundTrip, type InferContext, type LoopProgress, type LoopResult } from '../infer/index.ts';
import { createRng } from '../../shapes/rng.ts';
import { isScene } from '../../shapes/scene.ts';
import { ROUNDTRIP_MAX_LOOPS, ROUNDTRIP_MIN_LOOPS, type RoundTripLoop, type RoundTripParams } from './types.ts';

function bad(message: string): EngineError {
  return new EngineError('bad-request', `roundtrip: ${message}`);
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Returns `raw` as checked RoundTripParams, or throws EngineError('bad-request') naming the bad field. */
export function checkRoundTripParams(raw: unknown, expected?: { width: number; height: number }): RoundTripParams {
  const p = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<keyof RoundTripParams, unknown>>;
  if (!isInt(p.width, 1, 4096) || !isInt(p.height, 1, 4096)) throw bad('width and height must be positive integers');
  if (expected && (p.width !== expected.width || p.height !== expected.height)) {
    throw bad(`the bundle takes ${expected.width}x${expected.height} images, got ${p.width}x${p.height}`);
  }
  if (!(p.image instanceof Uint8Array) || p.image.length !== p.width * p.height * 3) {
    throw bad(`image must be uint8 RGB of ${p.width}x${p.height}x3 bytes`);
  }
  if (!isInt(p.loops, ROUNDTRIP_MIN_LOOPS, ROUNDTRIP_MAX_LOOPS))
    throw bad(`loops must be an integer in [${ROUNDTRIP_MIN_LOOPS}, ${ROUNDTRIP_MAX_LOOPS}]`);
  if (!isInt(p.steps, 1, 1000)) throw bad('steps must be an integer in [1, 1000]');
  if (!isInt(p.seed, 0, 0xffffffff)) throw bad('seed must be an integer in [0, 2^32)');
  const policy = p.policy as RoundTripParams['policy'] | undefined;
  if (policy?.kind === 'sample') {
    if (!(typeof policy.temperature === 'number' && policy.temperature > 0 && policy.temperature <= 10))
      throw bad('temperature must be in (0, 10]');
    if (!(typeof policy.topP === 'number' && policy.topP > 0 && policy.topP <= 1)) throw bad('topP must be in (0, 1]');
  } else if (policy?.kind !== 'greedy') {
    throw bad("policy.kind must be 'greedy' or 'sample'");
  }
  if (p.scene !== undefined && !isScene(p.scene)) throw bad('scene is not a valid Shapes scene');
  if (p.stream !== undefined) {
    const every = (typeof p.stream === 'object' && p.stream !== null ? p.stream : null) as { previewEvery?: unknown } | null;
    if (!every) throw bad('stream must be an object');
    if (every.previewEvery !== undefined && !isInt(every.previewEvery, 0, 1000)) {
      throw bad('stream.previewEvery must be an integer in [0, 1000]');
    }
  }
  return p as RoundTripParams;
}

/** Returns the protocol form of one loop; the image is copied, because the loop's own is still used as input. */
export function toRoundTripLoop(r: LoopResult, ms: number): RoundTripLoop {
  return {
    loop: r.loop,
    caption: r.caption.text,
    ids: r.caption.ids.slice(),
    tokens: r.caption.tokens,
    truncated: r.caption.truncated,
    image: r.image.slice(),
    vsOriginal: { ...r.vsOriginal },
    vsPrevious: { ...r.vsPrevious },
    attr: r.attr && { ...r.attr },
    ms,
  };
}

/**
 * Returns every loop of the round trip of `p` (captions sampled and noise drawn from createRng(p.seed));
 * calls onLoop as each finishes; checkCancelled (throwing) is called before each loop and between session runs.
 * With `p.stream` and onProgress, progress inside each loop goes to onProgress (the loops are the same without).
 */
export async function runRoundTripJob(
  ctx: InferContext,
  p: RoundTripParams,
  onLoop?: (loop: RoundTripLoop) => void,
  checkCancelled?: () => void,
  onProgress?: (progress: LoopProgress) => void,
): Promise<RoundTripLoop[]> {
  const out: RoundTripLoop[] = [];
  let t0 = performance.now();
  const stream = p.stream && onProgress ? { onProgress, previewEvery: p.stream.previewEvery } : undefined;
  await roundTrip(
    ctx,
    p.image,
    p.loops,
    { policy: p.policy, steps: p.steps, scene: p.scene },
    createRng(p.seed),
    (r) => {
      const now = performance.now();
      const loop = toRoundTripLoop(r, now - t0);
      t0 = now;
      out.push(loop);
      onLoop?.(loop);
    },
    checkCancelled,
    stream,
  );
  return out;
}
