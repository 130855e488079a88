// The caption decoder's trainable parameters (uae.encoder.CaptionDecoder), keyed by PyTorch's parameter names
// and in torch's layouts (nn.Linear weight [out, in], nn.Embedding weight [rows, dim]); the LM head is tied to
// tok.weight, so it has no entry of its own. Host copies are Float32Arrays; the trainer holds them as jax-js arrays.
import { numpy as np, type Array as JaxArray } from '@jax-js/jax';

/** What the decoder is: CaptionDecoder's constructor arguments (the MLP is MLP_MULT·dim wide, as layers.mlp). */
export interface DecoderArch {
  vocab: number;
  dim: number;
  heads: number;
  layers: number;
  /** Positions of the learned position embedding: the longest caption, [BOS] and [EOS] included. */
  maxLen: number;
}

/** uae.layers.mlp's hidden width factor. */
export const MLP_MULT = 4;

/** One parameter: its torch name and shape. */
export type ParamSpec = readonly [name: string, shape: readonly number[]];

/** The decoder's weights on the host, by torch name. */
export type DecoderParams = Record<string, Float32Array>;

/** The decoder's weights as jax-js arrays, by torch name (a flat pytree). */
export type JaxParams = Record<string, JaxArray>;

/** A config object that names the decoder's sizes, e.g. a manifest's or a fixture's `arch` (max_len or maxLen). */
export interface DecoderArchConfig {
  vocab: number;
  dim: number;
  heads: number;
  layers: number;
  max_len?: number;
  maxLen?: number;
}

/** Returns the architecture of a config object, validated: positive integers, dim divisible by heads. */
export function decoderArch(cfg: DecoderArchConfig): DecoderArch {
  const arch: DecoderArch = {
    vocab: cfg.vocab,
    dim: cfg.dim,
    heads: cfg.heads,
    layers: cfg.layers,
    maxLen: cfg.maxLen ?? cfg.max_len ?? NaN,
  };
  for (const [k, v] of Object.entries(arch)) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`decoder ${k} must be a positive integer, got ${String(v)}`);
  }
  if (arch.dim % arch.heads !== 0) throw new RangeError(`decoder dim ${arch.dim} is not divisible by heads ${arch.heads}`);
  return arch;
}

/** Returns every trainable parameter of the decoder in torch's named_parameters() order. */
export function decoderParamSpec(arch: DecoderArch): ParamSpec[] {
  const { vocab, dim, layers, maxLen } = arch;
  const hidden = MLP_MULT * dim;
  const spec: ParamSpec[] = [
    ['tok.weight', [vocab, dim]],
    ['pos.weight', [maxLen, dim]],
  ];
  for (let i = 0; i < layers; i++) {
    const p = `layers.${i}.`;
    const norm = (n: string): void => {
      spec.push([`${p}${n}.weight`, [dim]], [`${p}${n}.bias`, [dim]]);
    };
    const attention = (n: string): void => {
      for (const [m, out] of [
        ['q', dim],
        ['kv', 2 * dim],
        ['o', dim],
      ] as const) {
        spec.push([`${p}${n}.${m}.weight`, [out, dim]], [`${p}${n}.${m}.bias`, [out]]);
      }
    };
    norm('n1');
    attention('self_attn');
    norm('n2');
    attention('cross');
    norm('n3');
    spec.push([`${p}mlp.0.weight`, [hidden, dim]], [`${p}mlp.0.bias`, [hidden]]);
    spec.push([`${p}mlp.2.weight`, [dim, hidden]], [`${p}mlp.2.bias`, [dim]]);
  }
  spec.push(['norm.weight', [dim]], ['norm.bias', [dim]]);
  return spec;
}

/** Returns the number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws unless `params` has exactly the spec's names, each with its size. */
export function checkParams(params: DecoderParams, arch: DecoderArch): void {
  const spec = decoderParamSpec(arch);
  const names = new Set(spec.map(([n]) => n));
  for (const k of Object.keys(params)) if (!names.has(k)) throw new RangeError(`unexpected decoder parameter ${k}`);
  for (const [name, shape] of spec) {
    const a = params[name];
    if (!a) throw new RangeError(`missing decoder parameter ${name}`);
    if (a.length !== shapeSize(shape))
      throw new RangeError(`${name} has ${a.length} values, expected ${shapeSize(shape)} [${shape.join(', ')}]`);
  }
}

/** Returns the host weights as jax-js arrays of their torch shapes (float32 unless `dtype` says otherwise). */
export function paramsToJax(params: DecoderParams, arch: DecoderArch, dtype: np.DType = np.float32): JaxParams {
  checkParams(params, arch);
  const out: JaxParams = {};
  for (const [name, shape] of decoderParamSpec(arch)) {
    const data = dtype === np.float64 ? Float64Array.from(params[name]) : params[name];
    out[name] = np.array(data, { dtype, shape: [...shape] });
  }
  return out;
}

/** Returns zero arrays shaped as every parameter (Adam's initial moments). */
export function zerosLikeParams(arch: DecoderArch, dtype: np.DType = np.float32): JaxParams {
  const out: JaxParams = {};
  for (const [name, shape] of decoderParamSpec(arch)) out[name] = np.zeros([...shape], { dtype });
  return out;
}

/** Copies jax-js weights back to the host as Float32Arrays; the arrays stay owned by the caller (read through .ref). */
export async function paramsFromJax(tree: JaxParams, arch: DecoderArch): Promise<DecoderParams> {
  const out: DecoderParams = {};
  for (const [name, shape] of decoderParamSpec(arch)) {
    const a = tree[name];
    if (!a) throw new RangeError(`missing decoder parameter ${name}`);
    const data = Float32Array.from((await a.ref.data()) as ArrayLike<number>);
    if (data.length !== shapeSize(shape)) throw new RangeError(`${name} has ${data.length} values`);
    out[name] = data;
  }
  return out;
}
