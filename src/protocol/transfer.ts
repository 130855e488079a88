/** What to put in postMessage's transfer list, and helpers to build TensorData. */
import type { TensorData } from './messages.ts';

/** Returns every distinct ArrayBuffer reachable from `value` (typed arrays' buffers, ArrayBuffers); SharedArrayBuffers are skipped. */
export function collectTransferables(value: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (v instanceof ArrayBuffer) {
      found.add(v);
    } else if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) found.add(v.buffer);
    } else if (Array.isArray(v)) {
      v.forEach(walk);
    } else {
      Object.values(v).forEach(walk);
    }
  };
  walk(value);
  return [...found];
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
  if (length !== elementCount(dims)) throw new Error(`tensor data has ${length} elements but dims [${dims.join(', ')}] need ${elementCount(dims)}`);
}
