// The caption decoder's weights between the shipped cold-start graph and the trainer (src/engine/train/bundle-weights.ts):
// every torch parameter is found (transposed Linear weights, the tied LM head), and the graph written back with float32
// storage computes exactly what the float16-stored original computes (fp16 → f32 is exact).
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { archFromWeights, graphWithParams, paramsFromGraph, transpose2d } from '../../src/engine/train/bundle-weights.ts';
import { readWeights } from '../../src/engine/train/onnx-weights.ts';
import { decoderParamSpec } from '../../src/engine/train/params.ts';

const GRAPH = new Uint8Array(readFileSync(new URL('../../public/models/uae-shapes/encoder/decoder_model_merged.onnx', import.meta.url)));

/** Logits [1, 6, vocab] of a fixed prefix on fixed image states, with an empty cache. */
async function logits(model: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from([1n, 5n, 9n, 12n, 7n, 3n]), [1, 6]),
    encoder_hidden_states: new ort.Tensor(
      'float32',
      Float32Array.from({ length: 64 * 128 }, (_, i) => Math.sin(i * 0.37)),
      [1, 64, 128],
    ),
  };
  for (const m of s.inputMetadata) {
    if (m.name.startsWith('past_key_values.') && m.isTensor) feeds[m.name] = new ort.Tensor('float32', new Float32Array(0), [1, 4, 0, 32]);
    if (m.name === 'use_cache_branch') feeds[m.name] = new ort.Tensor('bool', Uint8Array.of(0), [1]);
  }
  const out = await s.run(feeds, ['logits']);
  const data = Float32Array.from(out.logits.data as Float32Array);
  await s.release();
  return data;
}

describe('decoder weights of a bundle graph', () => {
  const arch = archFromWeights(readWeights(GRAPH), 4);

  it('reads the architecture and every torch parameter; the tied head is the transpose of tok.weight', () => {
    expect(arch).toEqual({ vocab: 43, dim: 128, heads: 4, layers: 2, maxLen: 48 });
    const params = paramsFromGraph(GRAPH, arch);
    expect(Object.keys(params)).toEqual(decoderParamSpec(arch).map(([n]) => n));
    const head = readWeights(GRAPH).find((w) => w.name === 'decoder.tok.weight_t')!;
    expect(Array.from(transpose2d(params['tok.weight'], 43, 128))).toEqual(Array.from(head.values));
  });

  it('written back as float32, the graph computes exactly the original logits; changed weights change them', async () => {
    const params = paramsFromGraph(GRAPH, arch);
    const f32 = graphWithParams(GRAPH, params, arch, 'float32');
    expect(readWeights(f32).every((w) => w.dataType === 1)).toBe(true);
    const before = await logits(GRAPH);
    expect(Array.from(await logits(f32))).toEqual(Array.from(before));
    const changed = { ...params, 'layers.1.mlp.2.weight': params['layers.1.mlp.2.weight'].map((v) => v * 1.5) };
    const after = await logits(graphWithParams(GRAPH, changed, arch));
    expect(Math.max(...after.map((v, i) => Math.abs(v - before[i])))).toBeGreaterThan(1e-3);
    expect(paramsFromGraph(graphWithParams(GRAPH, changed, arch), arch)['layers.1.mlp.2.weight']).toEqual(changed['layers.1.mlp.2.weight']);
  });
});
