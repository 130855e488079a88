/**
 * The caption decoder's weights between a bundle's decoder graph and the trainer. The export names the graph's
 * initializers after the PyTorch parameters: `decoder.<torch name>` for a parameter stored as it is, and
 * `decoder.<torch name>_t` for a Linear weight stored transposed ([in, out]); `decoder.tok.weight_t` is the LM head,
 * the transpose of the tied `tok.weight`. Reading gives DecoderParams (torch names and layouts); writing puts them
 * back under every name that holds them (the tied head included), so a session built from the written graph computes
 * with exactly the trainer's float32 weights when stored as 'float32'.
 */
import { readWeights, writeWeights, type OnnxWeight, type WeightStorage } from './onnx-weights.ts';
import { decoderArch, decoderParamSpec, shapeSize, type DecoderArch, type DecoderParams } from './params.ts';

/** The prefix of the caption decoder's initializers in the exported graph. */
export const DECODER_PREFIX = 'decoder.';
/** The suffix of an initializer stored transposed. */
const TRANSPOSED = '_t';

/** Returns the [rows, cols] matrix `x` transposed ([cols, rows]). */
export function transpose2d(x: Float32Array, rows: number, cols: number): Float32Array {
  if (x.length !== rows * cols) throw new RangeError(`transpose: ${x.length} values are not ${rows}×${cols}`);
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/** Returns the decoder's architecture read from a graph's initializers (vocab, dim, max length, layers) and its heads. */
export function archFromWeights(weights: readonly OnnxWeight[], heads: number): DecoderArch {
  const byName = new Map(weights.map((w) => [w.name, w]));
  const tok = byName.get(`${DECODER_PREFIX}tok.weight`);
  const pos = byName.get(`${DECODER_PREFIX}pos.weight`);
  if (!tok || !pos) throw new RangeError(`the graph has no ${DECODER_PREFIX}tok.weight / ${DECODER_PREFIX}pos.weight initializers`);
  let layers = 0;
  while (byName.has(`${DECODER_PREFIX}layers.${layers}.n1.weight`)) layers++;
  return decoderArch({ vocab: tok.dims[0], dim: tok.dims[1], heads, layers, maxLen: pos.dims[0] });
}

/** Returns the decoder's parameters (torch names and layouts) held by a decoder graph's initializers. */
export function paramsFromGraph(model: Uint8Array, arch: DecoderArch): DecoderParams {
  const byName = new Map(readWeights(model).map((w) => [w.name, w]));
  const out: DecoderParams = {};
  for (const [name, shape] of decoderParamSpec(arch)) {
    const plain = byName.get(DECODER_PREFIX + name);
    const t = byName.get(DECODER_PREFIX + name + TRANSPOSED);
    if (plain) out[name] = plain.values;
    else if (t && shape.length === 2) out[name] = transpose2d(t.values, shape[1], shape[0]);
    else throw new RangeError(`the graph holds no initializer for decoder parameter ${name}`);
    if (out[name].length !== shapeSize(shape)) throw new RangeError(`${name}: ${out[name].length} values, expected [${shape.join(', ')}]`);
  }
  return out;
}

/** Returns a copy of decoder graph `model` holding `params` under every initializer name that stores them. */
export function graphWithParams(
  model: Uint8Array,
  params: DecoderParams,
  arch: DecoderArch,
  storage: WeightStorage = 'float32',
): Uint8Array {
  const names = new Set(readWeights(model).map((w) => w.name));
  const values = new Map<string, Float32Array>();
  for (const [name, shape] of decoderParamSpec(arch)) {
    const p = params[name];
    if (!p) throw new RangeError(`missing decoder parameter ${name}`);
    let stored = false;
    if (names.has(DECODER_PREFIX + name)) {
      values.set(DECODER_PREFIX + name, p);
      stored = true;
    }
    if (shape.length === 2 && names.has(DECODER_PREFIX + name + TRANSPOSED)) {
      values.set(DECODER_PREFIX + name + TRANSPOSED, transpose2d(p, shape[0], shape[1]));
      stored = true;
    }
    if (!stored) throw new RangeError(`the graph holds no initializer for decoder parameter ${name}`);
  }
  return writeWeights(model, values, storage);
}
