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

  private keptCount = 0;

  /** Records that a run output was kept on its device (a DeviceTensor) instead of being read back. */
  keptOnDevice(): void {
    this.keptCount++;
  }

  /** Returns how many run outputs were kept on their device in total (WebGPU key/value caches; 0 on WASM). */
  deviceKept(): number {
    return this.keptCount;
  }
}

/**
 * A run output left where the session put it (a WebGPU buffer, `preferredOutputLocation: 'gpu-buffer'`) to be fed
 * to a later run as is: a caption decoder's or the flow transformer's key/value cache between steps. Nothing reads
 * it on the CPU but `deviceToData`. Whoever holds it owns it and releases it with `releaseDevice`.
 */
export interface DeviceTensor {
  readonly kind: 'device';
  readonly tensor: Tensor;
  readonly dims: readonly number[];
}

/** What a session run is fed: plain data, or a tensor a run left on the device. */
export type Feed = TensorData | DeviceTensor;

/** True when `t` is a tensor left on the device. */
export function isDevice(t: Feed | undefined): t is DeviceTensor {
  return t !== undefined && (t as Partial<DeviceTensor>).kind === 'device';
}

/** Releases a device tensor (idempotent); anything else is left alone. */
export function releaseDevice(tracker: TensorTracker, t: Feed | undefined): void {
  if (isDevice(t)) tracker.dispose(t.tensor);
}

/** Releases every device tensor among `feeds` except those in `keep`. */
export function releaseDeviceFeeds(tracker: TensorTracker, feeds: Record<string, Feed>, keep?: Record<string, Feed>): void {
  const kept = new Set(keep ? Object.values(keep) : []);
  for (const t of Object.values(feeds)) if (!kept.has(t)) releaseDevice(tracker, t);
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
  return typedToData(t.type, t.dims, t.data, `${name} (location ${t.location})`, adopt);
}

/** Returns ORT-typed data of `type` and `dims` as TensorData (see fromOrtTensor for `adopt`). */
function typedToData(type: Tensor['type'], dims: readonly number[], data: Tensor['data'], name: string, adopt: boolean): TensorData {
  const d = [...dims];
  const keep = <A extends ArrayBufferView>(a: A, copy: (a: A) => A): A => (adopt && ownsBuffer(a) ? a : copy(a));
  switch (type) {
    case 'float32':
      if (data instanceof Float32Array) return { dtype: 'float32', data: keep(data, (a) => new Float32Array(a)), dims: d };
      break;
    case 'int32':
      if (data instanceof Int32Array) return { dtype: 'int32', data: keep(data, (a) => new Int32Array(a)), dims: d };
      break;
    case 'int64':
      if (data instanceof BigInt64Array) return { dtype: 'int64', data: keep(data, (a) => new BigInt64Array(a)), dims: d };
      break;
    case 'uint8':
    case 'bool':
      if (data instanceof Uint8Array) return { dtype: type, data: keep(data, (a) => new Uint8Array(a)), dims: d };
      break;
    default:
      break;
  }
  throw new EngineError('run-failed', `${name}: output type ${type} is not supported`);
}

/** Returns a device tensor's data, read back into a fresh array (the device tensor stays the caller's). */
export async function deviceToData(t: DeviceTensor, name = 'output'): Promise<TensorData> {
  return typedToData(t.tensor.type, t.dims, await t.tensor.getData(), name, true);
}

/** Returns the outputs of one session run as TensorData; disposes every ORT tensor it created or received. */
export async function runSession(
  ort: OrtModule,
  tracker: TensorTracker,
  session: InferenceSession,
  feeds: Record<string, Feed>,
  fetches?: string[],
  label = 'graph',
): Promise<Record<string, TensorData>> {
  return (await runSessionKeeping(ort, tracker, session, feeds, fetches, label, false)).data;
}

/** A run's outputs: read back as TensorData, and (when asked for) those its session left on the device. */
export interface RunOutputs {
  data: Record<string, TensorData>;
  device: Record<string, DeviceTensor>;
}

/**
 * Returns the outputs of one session run. With `keepOnDevice`, outputs the session left on the device (WebGPU
 * buffers) come back as DeviceTensors the caller owns; without it they are read back like the rest. Device tensors
 * among the feeds are fed as they are and stay the caller's; every other ORT tensor created or received is disposed.
 */
export async function runSessionKeeping(
  ort: OrtModule,
  tracker: TensorTracker,
  session: InferenceSession,
  feeds: Record<string, Feed>,
  fetches: string[] | undefined,
  label: string,
  keepOnDevice: boolean,
): Promise<RunOutputs> {
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length > 0) throw new EngineError('bad-request', `${label}: missing input(s) ${missing.join(', ')}`);
  const unknown = Object.keys(feeds).filter((n) => !session.inputNames.includes(n));
  if (unknown.length > 0) throw new EngineError('bad-request', `${label}: unknown input(s) ${unknown.join(', ')}`);
  const badFetch = (fetches ?? []).filter((n) => !session.outputNames.includes(n));
  if (badFetch.length > 0) throw new EngineError('bad-request', `${label}: unknown output(s) ${badFetch.join(', ')}`);
  const inputs: Record<string, Tensor> = {};
  const created: Tensor[] = [];
  let outputs: Record<string, Tensor> = {};
  const kept = new Set<Tensor>();
  let handedOver = false;
  try {
    for (const [name, t] of Object.entries(feeds)) {
      if (isDevice(t)) inputs[name] = t.tensor;
      else created.push((inputs[name] = toOrtTensor(ort, tracker, t, `${label}: input ${name}`)));
    }
    try {
      outputs = fetches ? await session.run(inputs, fetches) : await session.run(inputs);
    } catch (e) {
      throw new EngineError('run-failed', `${label}: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const t of Object.values(outputs)) tracker.track(t);
    const result: RunOutputs = { data: {}, device: {} };
    for (const [name, t] of Object.entries(outputs)) {
      if (t.location === 'cpu' || t.location === 'cpu-pinned') {
        // Outputs the caller fed back in as inputs share their buffer with a feed: copy those.
        const fed = Object.values(inputs).some((i) => i.location === 'cpu' && i.data === t.data);
        result.data[name] = fromOrtTensor(t, `${label}: ${name}`, !fed);
      } else if (keepOnDevice) {
        kept.add(t);
        tracker.keptOnDevice();
        result.device[name] = { kind: 'device', tensor: t, dims: [...t.dims] };
      } else {
        result.data[name] = typedToData(t.type, t.dims, await t.getData(), `${label}: ${name}`, true);
      }
    }
    handedOver = true;
    return result;
  } finally {
    for (const t of created) tracker.dispose(t);
    // Device outputs become the caller's only when the run returns; a failure on the way disposes them too.
    for (const t of Object.values(outputs)) if (!(handedOver && kept.has(t))) tracker.dispose(t);
  }
}
