/** What to put in postMessage's transfer list. */

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
