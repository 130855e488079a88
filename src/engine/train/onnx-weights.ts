/**
 * Reads and rewrites the float initializers of an ONNX model (protobuf ModelProto) without a protobuf library: the
 * trainer loads its weights from a bundle's graph and writes updated weights back, into a session to sample from or
 * into an exported bundle. Only the fields it needs are decoded (ModelProto.graph = 7, GraphProto.initializer = 5,
 * TensorProto dims = 1, data_type = 2, float_data = 4, name = 8, raw_data = 9); every other byte is copied as it was,
 * so rewriting a model with its own values gives the same bytes.
 *
 * The export stores large weights as float16 initializers named `<name>__fp16`, each followed by a Cast to float32
 * (models/uae/export.py, fp16_storage); here such a weight is known by its logical `<name>`. Written back with
 * `storage: 'float32'`, the initializer becomes float32 under the same name and its Cast is a no-op, so a session
 * built from it computes with exactly the trainer's float32 weights.
 */

/** ONNX TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_FLOAT16 = 10;
const FP16_SUFFIX = '__fp16';

/** One float initializer of a graph. */
export interface OnnxWeight {
  /** The logical name: the initializer's name without the `__fp16` storage suffix. */
  name: string;
  dims: number[];
  /** How it is stored: ONNX_FLOAT or ONNX_FLOAT16. */
  dataType: number;
  values: Float32Array;
}

/** How rewritten weights are stored: as they were (float16 stays float16, rounded to nearest even) or as float32. */
export type WeightStorage = 'same' | 'float32';

interface Field {
  no: number;
  wire: number;
  /** The whole field, tag included. */
  start: number;
  end: number;
  /** Payload of a length-delimited field. */
  body?: [number, number];
  varint?: number;
}

function readVarint(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = at; i < b.length; i++) {
    v += (b[i] & 0x7f) * mul;
    if (b[i] < 0x80) return [v, i + 1];
    mul *= 128;
  }
  throw new Error('ONNX model: truncated varint');
}

function fields(b: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  let at = start;
  while (at < end) {
    const [tag, p] = readVarint(b, at);
    const f: Field = { no: Math.floor(tag / 8), wire: tag & 7, start: at, end: p };
    if (f.wire === 0) [f.varint, f.end] = readVarint(b, p);
    else if (f.wire === 1) f.end = p + 8;
    else if (f.wire === 5) f.end = p + 4;
    else if (f.wire === 2) {
      const [len, q] = readVarint(b, p);
      f.body = [q, q + len];
      f.end = q + len;
    } else throw new Error(`ONNX model: unsupported protobuf wire type ${f.wire}`);
    if (f.end > end) throw new Error('ONNX model: a field runs past its message');
    out.push(f);
    at = f.end;
  }
  return out;
}

function sub(b: Uint8Array, f: Field): Field[] {
  if (!f.body) throw new Error(`ONNX model: field ${f.no} is not a message`);
  return fields(b, f.body[0], f.body[1]);
}

function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function lengthDelimited(no: number, payload: Uint8Array): Uint8Array {
  const head = [...varintBytes(no * 8 + 2), ...varintBytes(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** float16 bits → float32. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float32 → float16 bits, rounded to nearest even (as numpy's astype(float16)). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

interface Located {
  weight: OnnxWeight;
  /** The TensorProto field inside the graph. */
  field: Field;
  storedName: string;
}

function graphField(model: Uint8Array): Field {
  const g = fields(model, 0, model.length).find((f) => f.no === 7 && f.wire === 2);
  if (!g) throw new Error('ONNX model: no graph');
  return g;
}

function decodeTensor(model: Uint8Array, field: Field): Located | null {
  const dims: number[] = [];
  let dataType = 0;
  let storedName = '';
  let raw: [number, number] | null = null;
  let floats: [number, number] | null = null;
  for (const f of sub(model, field)) {
    if (f.no === 1 && f.wire === 0) dims.push(f.varint ?? 0);
    else if (f.no === 1 && f.wire === 2 && f.body) {
      for (let at = f.body[0]; at < f.body[1];) {
        const [v, next] = readVarint(model, at);
        dims.push(v);
        at = next;
      }
    } else if (f.no === 2) dataType = f.varint ?? 0;
    else if (f.no === 8 && f.body) storedName = new TextDecoder().decode(model.subarray(f.body[0], f.body[1]));
    else if (f.no === 9 && f.body) raw = f.body;
    else if (f.no === 4 && f.body) floats = f.body;
  }
  if (dataType !== ONNX_FLOAT && dataType !== ONNX_FLOAT16) return null;
  const count = dims.reduce((n, d) => n * d, 1);
  const values = new Float32Array(count);
  const span = raw ?? floats;
  if (!span) throw new Error(`ONNX model: initializer ${storedName} has no data (external data is not supported)`);
  const view = new DataView(model.buffer, model.byteOffset + span[0], span[1] - span[0]);
  const width = dataType === ONNX_FLOAT ? 4 : raw ? 2 : 4;
  if (view.byteLength !== count * width) throw new Error(`ONNX model: initializer ${storedName} holds the wrong number of bytes`);
  for (let i = 0; i < count; i++) {
    if (dataType === ONNX_FLOAT) values[i] = view.getFloat32(4 * i, true);
    else values[i] = raw ? halfToFloat(view.getUint16(2 * i, true)) : view.getFloat32(4 * i, true);
  }
  const name = storedName.endsWith(FP16_SUFFIX) ? storedName.slice(0, -FP16_SUFFIX.length) : storedName;
  return { weight: { name, dims, dataType, values }, field, storedName };
}

function locate(model: Uint8Array): { graph: Field; found: Located[] } {
  const graph = graphField(model);
  const found: Located[] = [];
  for (const f of sub(model, graph)) {
    if (f.no !== 5 || f.wire !== 2) continue;
    const t = decodeTensor(model, f);
    if (t) found.push(t);
  }
  return { graph, found };
}

/** Returns every float32/float16 initializer of `model`, decoded to float32, in graph order. */
export function readWeights(model: Uint8Array): OnnxWeight[] {
  return locate(model).found.map((l) => l.weight);
}

function encodeTensor(model: Uint8Array, l: Located, values: Float32Array, storage: WeightStorage): Uint8Array {
  const dataType = storage === 'float32' ? ONNX_FLOAT : l.weight.dataType;
  let data: Uint8Array;
  if (dataType === ONNX_FLOAT) data = new Uint8Array(Float32Array.from(values).buffer);
  else data = new Uint8Array(Uint16Array.from(values, floatToHalf).buffer);
  const parts: Uint8Array[] = [];
  let wroteData = false;
  for (const f of sub(model, l.field)) {
    if (f.no === 2) parts.push(new Uint8Array([0x10, ...varintBytes(dataType)]));
    else if (f.no === 4 || f.no === 9) {
      if (!wroteData) parts.push(lengthDelimited(9, data));
      wroteData = true;
    } else parts.push(model.subarray(f.start, f.end));
  }
  return lengthDelimited(5, concat(parts));
}

/**
 * Returns a copy of `model` whose initializers named in `values` (logical names) hold the given values, stored as
 * `storage` says; everything else is copied byte for byte. Throws on an unknown name or a wrong element count.
 */
export function writeWeights(model: Uint8Array, values: ReadonlyMap<string, Float32Array>, storage: WeightStorage = 'same'): Uint8Array {
  const { graph, found } = locate(model);
  const byField = new Map<number, Located>();
  for (const l of found) byField.set(l.field.start, l);
  const known = new Set(found.map((l) => l.weight.name));
  for (const [name, v] of values) {
    if (!known.has(name)) throw new Error(`ONNX model: no float initializer named ${name}`);
    const l = found.find((x) => x.weight.name === name);
    if (l && l.weight.values.length !== v.length) {
      throw new Error(`ONNX model: ${name} has ${l.weight.values.length} elements, got ${v.length}`);
    }
  }
  const graphParts = sub(model, graph).map((f) => {
    const l = byField.get(f.start);
    const v = l && values.get(l.weight.name);
    return l && v ? encodeTensor(model, l, v, storage) : model.subarray(f.start, f.end);
  });
  const modelParts = fields(model, 0, model.length).map((f) =>
    f.start === graph.start ? lengthDelimited(7, concat(graphParts)) : model.subarray(f.start, f.end),
  );
  return concat(modelParts);
}
