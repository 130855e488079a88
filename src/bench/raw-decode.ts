/**
 * A lever probe, not a product path: greedy decoding of one caption with the merged decoder run straight on
 * ORT, each step's present.* tensors fed back as the next past_key_values.* (with the merged encoder-decoder
 * layout the image's keys/values from the first step only) without leaving ORT's tensor
 * objects (no TensorData copies, no per-step checks). Timed against the engine's generateCaptions, it shows
 * how much of the KV-cache loop is engine overhead rather than ORT's own work.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { argmax, encoderRole, type F32, type InferContext } from '../engine/infer/index.ts';
import { kvLayoutOf, kvNames, USE_CACHE_BRANCH, type KvLayout } from '../engine/kv-layout.ts';

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
  const layout = kvLayoutOf(decoder.inputNames);
  const pastNames = kvNames(layout, role.numLayers, 'past_key_values');
  const presentNames = kvNames(layout, role.numLayers, 'present');
  let past: Record<string, Tensor> = {};
  for (const { name } of pastNames) past[name] = own(new ort.Tensor('float32', new Float32Array(0), [1, role.numHeads, 0, role.headDim]));
  const branch = [false, true].map((on) => own(new ort.Tensor('bool', Uint8Array.of(on ? 1 : 0), [1])));
  const tokens: number[] = [];
  let token = role.bosId;
  try {
    for (let s = 0; s < steps; s++) {
      const ids = own(new ort.Tensor('int64', BigInt64Array.of(BigInt(token)), [1, 1]));
      const feeds: Record<string, Tensor> = { input_ids: ids, encoder_hidden_states: encoder, ...past };
      if (layout === 'cross') feeds[USE_CACHE_BRANCH] = branch[s > 0 ? 1 : 0];
      // After the first step the image's keys/values stay in `past`: only the self-attention cache is fetched.
      const fetches = ['logits', ...presentNames.filter((k) => s === 0 || k.side === 'decoder').map((k) => k.name)];
      const out = await decoder.run(feeds, fetches);
      for (const t of Object.values(out)) own(t);
      const logits = out.logits;
      const V = logits.dims[2];
      token = argmax(logits.data as Float32Array, logits.data.length - V, V);
      tokens.push(token);
      const next: Record<string, Tensor> = {};
      pastNames.forEach((p, j) => {
        next[p.name] = layout === 'cross' && p.side === 'encoder' && s > 0 ? past[p.name] : out[presentNames[j].name];
      });
      for (const t of [ids, logits, ...Object.values(past)]) {
        if (Object.values(next).includes(t)) continue;
        t.dispose();
        owned.delete(t);
      }
      past = next;
    }
  } finally {
    for (const t of owned) t.dispose();
  }
  return tokens;
}

/** Returns the session options that keep the merged decoder's present.* outputs in GPU buffers (WebGPU EP). */
export function gpuKvSessionOptions(numLayers: number, layout: KvLayout): InferenceSession.SessionOptions {
  const preferredOutputLocation: Record<string, 'gpu-buffer'> = {};
  for (const { name } of kvNames(layout, numLayers, 'present')) preferredOutputLocation[name] = 'gpu-buffer';
  return { executionProviders: ['webgpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3, preferredOutputLocation };
}
