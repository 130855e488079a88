/**
 * ORT tensors ↔ protocol TensorData, with a leak counter: every ORT tensor the engine creates or receives
 * from session.run goes through a TensorTracker and is disposed by it; tests read `live()` back to zero.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { elementCount, type TensorData } from './vocab.ts';
import { EngineError } from './errors.ts';

/** The onnxruntime-web module surface the engine uses (the browser picks /webgpu, Node the default build). */
export type OrtModule = typeof import('onnxruntime-web');

/** Counts ORT tensors created/received and not yet disposed. */
export class TensorTracker {
  private readonly open = new Set<Tensor>();
  private createdCount = 0;

  /** Returns `t` after recording it as owned by the engine. */
  track<T extends Tensor>(t: T): T {
    this.open.add(t);
    this.createdCount++;
    return t;
  }

  /** Disposes `t` (idempotent) and forgets it. */
  dispose(t: Tensor): void {
    if (!this.open.delete(t)) return;
    t.dispose();
  }

  /** Returns the number of tracked tensors not yet disposed (0 after every complete run). */
  live(): number {
    return this.open.size;
  }

  /** Returns how many tensors were tracked in total. */
  created(): number {
    return this.createdCount;
  }
}

/** Returns a tracked ORT tensor holding `t`'s data (shares the typed array, no copy). */
export function toOrtTensor(ort: OrtModule, tracker: TensorTracker, t: TensorData, name = 'tensor'): Tensor {
  if (elementCount(t.dims) !== t.data.length) {
    throw new EngineError('bad-request', `${name}: ${t.data.length} values do not fit dims [${t.dims.join(', ')}]`);
  }
  switch (t.dtype) {
    case 'float32':
      return tracker.track(new ort.Tensor('float32', t.data, t.dims));
    case 'int32':
      return tracker.track(new ort.Tensor('int32', t.data, t.dims));
    case 'int64':
      return tracker.track(new ort.Tensor('int64', t.data, t.dims));
    case 'uint8':
      return tracker.track(new ort.Tensor('uint8', t.data, t.dims));
    case 'bool':
      return tracker.track(new ort.Tensor('bool', t.data, t.dims));
  }
}

/** True when `a` spans a whole, unshared ArrayBuffer (not a view into a heap or a pool). */
function ownsBuffer(a: ArrayBufferView): boolean {
  const buf = a.buffer;
  return (
    a.byteOffset === 0 && a.byteLength === buf.byteLength && !(typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer)
  );
}

/**
 * Returns an ORT CPU tensor's data as TensorData that is safe to keep and transfer after the tensor is
 * disposed. A session output whose typed array spans its own buffer (onnxruntime-web and -node copy every
 * CPU output out of their heaps into a fresh array) is handed over without a second copy (`adopt`); a view
 * into a larger or shared buffer is always copied.
 */
export function fromOrtTensor(t: Tensor, name = 'output', adopt = false): TensorData {
  const dims = [...t.dims];
  const data = t.data;
  const keep = <A extends ArrayBufferView>(a: A, copy: (a: A) => A): A => (adopt && ownsBuffer(a) ? a : copy(a));
  switch (t.type) {
    case 'float32':
      if (data instanceof Float32Array) return { dtype: 'float32', data: keep(data, (a) => new Float32Array(a)), dims };
      break;
    case 'int32':
      if (data instanceof Int32Array) return { dtype: 'int32', data: keep(data, (a) => new Int32Array(a)), dims };
      break;
    case 'int64':
      if (data instanceof BigInt64Array) return { dtype: 'int64', data: keep(data, (a) => new BigInt64Array(a)), dims };
      break;
    case 'uint8':
    case 'bool':
      if (data instanceof Uint8Array) return { dtype: t.type, data: keep(data, (a) => new Uint8Array(a)), dims };
      break;
    default:
      break;
  }
  throw new EngineError('run-failed', `${name}: output type ${t.type} (location ${t.location}) is not supported`);
}

/** Returns the outputs of one session run as TensorData; disposes every ORT tensor it created or received. */
export async function runSession(
  ort: OrtModule,
  tracker: TensorTracker,
  session: InferenceSession,
  feeds: Record<string, TensorData>,
  fetches?: string[],
  label = 'graph',
): Promise<Record<string, TensorData>> {
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length > 0) throw new EngineError('bad-request', `${label}: missing input(s) ${missing.join(', ')}`);
  const unknown = Object.keys(feeds).filter((n) => !session.inputNames.includes(n));
  if (unknown.length > 0) throw new EngineError('bad-request', `${label}: unknown input(s) ${unknown.join(', ')}`);
  const badFetch = (fetches ?? []).filter((n) => !session.outputNames.includes(n));
  if (badFetch.length > 0) throw new EngineError('bad-request', `${label}: unknown output(s) ${badFetch.join(', ')}`);
  const inputs: Record<string, Tensor> = {};
  let outputs: Record<string, Tensor> = {};
  try {
    for (const [name, t] of Object.entries(feeds)) inputs[name] = toOrtTensor(ort, tracker, t, `${label}: input ${name}`);
    try {
      outputs = fetches ? await session.run(inputs, fetches) : await session.run(inputs);
    } catch (e) {
      throw new EngineError('run-failed', `${label}: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const t of Object.values(outputs)) tracker.track(t);
    const result: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(outputs)) {
      // Outputs the caller fed back in as inputs share their buffer with a feed: copy those.
      const fed = Object.values(inputs).some((i) => i.location === 'cpu' && i.data === t.data);
      result[name] = fromOrtTensor(t, `${label}: ${name}`, !fed);
    }
    return result;
  } finally {
    for (const t of Object.values(inputs)) tracker.dispose(t);
    for (const t of Object.values(outputs)) tracker.dispose(t);
  }
}
