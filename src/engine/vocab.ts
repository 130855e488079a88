/**
 * The leaf vocabulary every layer of src/ shares: tensors as plain data, backend names, error codes, bundle
 * files. It imports nothing; the engine speaks it, and the protocol carries it between UI and worker.
 */

/** A backend onnxruntime-web actually runs on. */
export type BackendName = 'webgpu' | 'wasm';
/** What the user asks for: 'auto' = WebGPU first, WASM when there is no adapter or sessions fail. */
export type BackendChoice = 'auto' | BackendName;

/** A tensor as plain data: row-major `data` with `dims` (product of dims == data.length). */
export type TensorData =
  | { dtype: 'float32'; data: Float32Array; dims: number[] }
  | { dtype: 'int32'; data: Int32Array; dims: number[] }
  | { dtype: 'int64'; data: BigInt64Array; dims: number[] }
  | { dtype: 'uint8'; data: Uint8Array; dims: number[] }
  | { dtype: 'bool'; data: Uint8Array; dims: number[] };

/** One local file; `path` is relative to the folder holding manifest.json (a single top folder is stripped). */
export interface BundleFileData {
  path: string;
  data: ArrayBuffer;
}

/** One bundle file after loading. */
export interface LoadedFileInfo {
  path: string;
  bytes: number;
  /** True when the bytes came from the Cache API (no network request). */
  fromCache: boolean;
  /** True when the load left the file for its first use (fetched, verified and cached then). */
  deferred?: boolean;
}

/** Error codes every error event and client rejection uses. */
export type ErrorCode =
  | 'bad-request'
  | 'no-bundle'
  | 'manifest-json'
  | 'manifest-schema'
  | 'missing-file'
  | 'size-mismatch'
  | 'sha256-mismatch'
  | 'not-onnx'
  | 'io-mismatch'
  | 'fetch-failed'
  | 'session-failed'
  | 'backend-unavailable'
  | 'run-failed'
  | 'cancelled'
  | 'worker-crashed'
  | 'device-lost'
  | 'cross-origin'
  | 'internal';

/** The serialisable error shape: `code` for logic, `message` names the file/field for people. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
}

/** Returns the element count a tensor of `dims` holds (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Returns an int64 TensorData of shape `dims` from numbers or bigints. */
export function int64Tensor(values: ArrayLike<number> | BigInt64Array, dims: number[]): TensorData {
  const data = values instanceof BigInt64Array ? values : BigInt64Array.from(Array.from(values, (x) => BigInt(x)));
  checkLength(data.length, dims);
  return { dtype: 'int64', data, dims };
}

function checkLength(length: number, dims: readonly number[]): void {
  if (length !== elementCount(dims))
    throw new Error(`tensor data has ${length} elements but dims [${dims.join(', ')}] need ${elementCount(dims)}`);
}
