/**
 * Records every WebAssembly.Memory this worker creates or instantiates (ORT's heap), so the memory soak can
 * read its size. Imported before onnxruntime-web; ORT instantiates its wasm only at the first session.
 */
const memories = new Set<WebAssembly.Memory>();

const NativeMemory = WebAssembly.Memory;
class RecordedMemory extends NativeMemory {
  constructor(descriptor: WebAssembly.MemoryDescriptor) {
    super(descriptor);
    memories.add(this);
  }
}
WebAssembly.Memory = RecordedMemory;

function recordExports(instance: WebAssembly.Instance): void {
  for (const v of Object.values(instance.exports)) if (v instanceof NativeMemory) memories.add(v);
}

const nativeInstantiate = WebAssembly.instantiate;
WebAssembly.instantiate = (async (source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports) => {
  const result = await nativeInstantiate(source as BufferSource, imports);
  recordExports('instance' in result ? result.instance : (result as unknown as WebAssembly.Instance));
  return result;
}) as typeof WebAssembly.instantiate;

const nativeStreaming = WebAssembly.instantiateStreaming;
WebAssembly.instantiateStreaming = async (source, imports) => {
  const result = await nativeStreaming(source, imports);
  recordExports(result.instance);
  return result;
};

/** Returns the bytes of every recorded WebAssembly memory. */
export function wasmBytes(): number {
  let n = 0;
  for (const m of memories) n += m.buffer.byteLength;
  return n;
}
