/**
 * ONNX models written here, byte by byte (protobuf wire format), for graphs the engine (or a bench probe) needs and
 * no bundle holds: the Euler step of the flow sampler that keeps its latents on the GPU (flow.ts) and the bench's
 * MatMul probe. Only what those graphs use: float tensors, symbolic or fixed dims, int attributes, raw initializers.
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A protobuf field: varint (wire type 0) for numbers, length-delimited (2) for strings and messages. */
export function field(no: number, value: number | string | Uint8Array | number[]): number[] {
  if (typeof value === 'number') return [...varint(no * 8), ...varint(value)];
  const bytes = typeof value === 'string' ? [...new TextEncoder().encode(value)] : [...value];
  return [...varint(no * 8 + 2), ...varint(bytes.length), ...bytes];
}

/** ValueInfoProto of a float tensor: a number is a fixed dim, a string a symbolic one (dim_param). */
export function floatValueInfo(name: string, dims: readonly (number | string)[]): number[] {
  const shape = dims.flatMap((d) => field(1, typeof d === 'number' ? field(1, d) : field(2, d)));
  const tensorType = [...field(1, 1), ...field(2, shape)];
  return [...field(1, name), ...field(2, field(1, tensorType))];
}

/** NodeProto: op `op` from `inputs` to `outputs`, with int attributes. */
export function node(
  op: string,
  inputs: readonly string[],
  outputs: readonly string[],
  name: string,
  ints: Record<string, number> = {},
): number[] {
  // AttributeProto: name (1), i (3), type (20) = INT (2).
  const attrs = Object.entries(ints).flatMap(([k, v]) => field(5, [...field(1, k), ...field(3, v), ...field(20, 2)]));
  return [...inputs.flatMap((i) => field(1, i)), ...outputs.flatMap((o) => field(2, o)), ...field(3, name), ...field(4, op), ...attrs];
}

/** A float32 initializer (TensorProto: dims, data_type FLOAT, name, little-endian raw_data). */
export function floatInitializer(name: string, dims: readonly number[], values: Float32Array): number[] {
  const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return [...dims.flatMap((d) => field(1, d)), ...field(2, 1), ...field(8, name), ...field(9, raw)];
}

/** ModelProto (IR 8, default-domain opset 17) of a graph: nodes, initializers, inputs and outputs (ValueInfoProtos). */
export function model(
  graphName: string,
  parts: { nodes: number[][]; initializers?: number[][]; inputs: number[][]; outputs: number[][] },
  producer = 'uae-playground',
): Uint8Array {
  const graph = [
    ...parts.nodes.flatMap((n) => field(1, n)),
    ...field(2, graphName),
    ...(parts.initializers ?? []).flatMap((t) => field(5, t)),
    ...parts.inputs.flatMap((v) => field(11, v)),
    ...parts.outputs.flatMap((v) => field(12, v)),
  ];
  return Uint8Array.from([...field(1, 8), ...field(2, producer), ...field(7, graph), ...field(8, [...field(1, ''), ...field(2, 17)])]);
}
