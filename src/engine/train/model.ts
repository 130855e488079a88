// The caption decoder's teacher-forced forward in jax-js, the same maths as uae.encoder.CaptionDecoder with an empty
// KV cache: pre-LN causal self-attention, pre-LN cross-attention to the image states, pre-LN MLP (exact erf GELU), the
// final LayerNorm and the LM head tied to tok.weight. Embedding and target gathers are one-hot matmuls: jit cannot
// compile the scatter that a gather's gradient needs. Every function consumes the jax-js arrays it is given (jax-js
// ownership); pass `.ref` (or tree.ref) to keep one.
import { nn, numpy as np, type Array as JaxArray } from '@jax-js/jax';
import type { DecoderArch, JaxParams } from './params.ts';

/** torch nn.LayerNorm's epsilon. */
const LN_EPS = 1e-5;

/** The decoder's inputs for teacher forcing: N rows of T positions. */
export interface TeacherForced {
  /** int32 [N, T]: ids[:, :-1], the tokens read. */
  inp: JaxArray;
  /** [N, S, dim]: the image states each row attends to (repeated per rollout of an image). */
  enc: JaxArray;
}

const linear = (x: JaxArray, w: JaxArray, b: JaxArray): JaxArray => np.matmul(x, w.transpose()).add(b);

const layerNorm = (x: JaxArray, w: JaxArray, b: JaxArray): JaxArray => nn.standardize(x, -1, { epsilon: LN_EPS }).mul(w).add(b);

/** Multi-head attention of x [N,T,D] to ctx [N,S,D] (null: to itself, causally), uae.layers.Attention's weights at `p`. */
function attention(P: JaxParams, p: string, x: JaxArray, ctx: JaxArray | null, arch: DecoderArch): JaxArray {
  const [n, t, d] = x.shape;
  const h = arch.heads;
  const dh = d / h;
  const s = ctx ? ctx.shape[1] : t;
  const q = linear(ctx ? x : x.ref, P[`${p}.q.weight`], P[`${p}.q.bias`]).reshape([n, t, h, dh]);
  const [k, v] = np.split(linear(ctx ?? x, P[`${p}.kv.weight`], P[`${p}.kv.bias`]), 2, -1);
  const o = nn.dotProductAttention(q, k.reshape([n, s, h, dh]), v.reshape([n, s, h, dh]), { isCausal: ctx === null });
  return linear(o.reshape([n, t, d]), P[`${p}.o.weight`], P[`${p}.o.bias`]);
}

/** Returns the logits [N, T, vocab] of every position (CaptionDecoder.forward with an empty past). */
export function decoderLogits(P: JaxParams, batch: TeacherForced, arch: DecoderArch): JaxArray {
  const { inp, enc } = batch;
  const t = inp.shape[1];
  if (t > arch.maxLen) throw new RangeError(`${t} positions exceed the decoder's ${arch.maxLen}`);
  const dtype = P['tok.weight'].dtype;
  const tok = P['tok.weight'];
  let x = np.matmul(nn.oneHot(inp, arch.vocab).astype(dtype), tok.ref).add(P['pos.weight'].slice([0, t]));
  for (let i = 0; i < arch.layers; i++) {
    const p = `layers.${i}`;
    x = x.ref.add(attention(P, `${p}.self_attn`, layerNorm(x, P[`${p}.n1.weight`], P[`${p}.n1.bias`]), null, arch));
    const ctx = i === arch.layers - 1 ? enc : enc.ref;
    x = x.ref.add(attention(P, `${p}.cross`, layerNorm(x, P[`${p}.n2.weight`], P[`${p}.n2.bias`]), ctx, arch));
    const hidden = linear(layerNorm(x.ref, P[`${p}.n3.weight`], P[`${p}.n3.bias`]), P[`${p}.mlp.0.weight`], P[`${p}.mlp.0.bias`]);
    x = x.add(linear(nn.gelu(hidden, { approximate: false }), P[`${p}.mlp.2.weight`], P[`${p}.mlp.2.bias`]));
  }
  if (arch.layers === 0) enc.dispose();
  return np.matmul(layerNorm(x, P['norm.weight'], P['norm.bias']), tok.transpose());
}

/** Returns TRL's per-token log-probs [N, T]: log_softmax(logits / temperature) at the targets tgt (int32 [N, T]). */
export function tokenLogp(P: JaxParams, batch: TeacherForced, tgt: JaxArray, arch: DecoderArch, temperature: JaxArray | number): JaxArray {
  const logits = decoderLogits(P, batch, arch);
  const lp = nn.logSoftmax(logits.div(temperature), -1);
  return lp.mul(nn.oneHot(tgt, arch.vocab).astype(lp.dtype)).sum(-1);
}

/** Splits caption ids [N, L] (row-major) into teacher forcing's inputs ids[:, :-1] and targets ids[:, 1:], [N, L−1] each. */
export function shiftIds(ids: ArrayLike<number>, n: number, width: number): { inp: Int32Array; tgt: Int32Array } {
  if (ids.length !== n * width) throw new RangeError(`ids has ${ids.length} entries, expected ${n}×${width}`);
  const t = width - 1;
  const inp = new Int32Array(n * t);
  const tgt = new Int32Array(n * t);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < t; j++) {
      inp[i * t + j] = ids[i * width + j];
      tgt[i * t + j] = ids[i * width + j + 1];
    }
  }
  return { inp, tgt };
}
