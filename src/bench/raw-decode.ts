/**
 * A lever probe, not a product path: greedy decoding of one caption with the merged decoder run straight on
 * ORT, each step's present.* tensors fed back as the next past_key_values.* without leaving ORT's tensor
 * objects (no TensorData copies, no per-step checks). Timed against the engine's generateCaptions, it shows
 * how much of the KV-cache loop is engine overhead rather than ORT's own work.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { argmax, encoderRole, type F32, type InferContext } from '../engine/infer/index.ts';

/**
 * Returns the greedy tokens of `steps` decoder runs (no early stop) for encoder states hidden [1,T,D], on the
 * bundle's decoder session or on `session` (e.g. one whose present.* outputs stay in GPU buffers).
 */
export async function rawGreedyDecode(ctx: InferContext, hidden: F32, steps: number, session?: InferenceSession): Promise<number[]> {
  const role = encoderRole(ctx, 'encoder');
  const decoder = session ?? (await ctx.sessions.get(role.decoder));
  const { ort } = ctx;
  const owned = new Set<Tensor>();
  const own = <T extends Tensor>(t: T): T => (owned.add(t), t);
  const encoder = own(new ort.Tensor('float32', hidden.data, hidden.dims));
  let past: Record<string, Tensor> = {};
  for (let i = 0; i < role.numLayers; i++) {
    for (const kv of ['key', 'value'])
      past[`past_key_values.${i}.${kv}`] = own(new ort.Tensor('float32', new Float32Array(0), [1, role.numHeads, 0, role.headDim]));
  }
  const tokens: number[] = [];
  let token = role.bosId;
  try {
    for (let s = 0; s < steps; s++) {
      const ids = own(new ort.Tensor('int64', BigInt64Array.of(BigInt(token)), [1, 1]));
      const out = await decoder.run({ input_ids: ids, encoder_hidden_states: encoder, ...past });
      for (const t of Object.values(out)) own(t);
      const logits = out.logits;
      const V = logits.dims[2];
      token = argmax(logits.data as Float32Array, logits.data.length - V, V);
      tokens.push(token);
      for (const t of [ids, logits, ...Object.values(past)]) {
        t.dispose();
        owned.delete(t);
      }
      const next: Record<string, Tensor> = {};
      for (const name of Object.keys(past)) next[name] = out[name.replace('past_key_values', 'present')];
      past = next;
    }
  } finally {
    for (const t of owned) t.dispose();
  }
  return tokens;
}

/** Returns the session options that keep the merged decoder's present.* outputs in GPU buffers (WebGPU EP). */
export function gpuKvSessionOptions(numLayers: number): InferenceSession.SessionOptions {
  const preferredOutputLocation: Record<string, 'gpu-buffer'> = {};
  for (let i = 0; i < numLayers; i++) for (const kv of ['key', 'value']) preferredOutputLocation[`present.${i}.${kv}`] = 'gpu-buffer';
  return { executionProviders: ['webgpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3, preferredOutputLocation };
}
