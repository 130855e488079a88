/**
 * Lever probe: the 48-token greedy KV loop on the shipped merged decoder against the same loop with the
 * cross-attention K/V projection computed once per caption (graphs from split_cross_kv.py), for 1 and 8
 * rows, interleaved, on onnxruntime-web WASM and onnxruntime-node in this process. Prints JSON.
 *   /usr/bin/python3 bench/levers/split_cross_kv.py && node --import tsx bench/levers/cross-kv.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { argmax, bundlePixels, encodeImages, gatherRows, type F32 } from '../../src/engine/infer/index.ts';
import { resolveImage } from '../../src/engine/rollouts/index.ts';
import { measureInterleaved } from '../../src/bench/timing.ts';
import { nodeOpener, nodeRuntime, type NodeBackend } from '../../src/cli/bench-node.ts';

const BUNDLE = join('public', 'models', 'uae-shapes');
const SPLIT = join('bench', 'out', 'crosskv');
const STEPS = 47;
/** --check: one untimed pass each, for the token comparison only. */
const CHECK = process.argv.includes('--check');

/** Returns row 0's greedy tokens of STEPS runs of `decoder` on R rows; `extra` are the constant feeds. */
async function loop(
  ort: typeof import('onnxruntime-web'),
  decoder: InferenceSession,
  extra: Record<string, Tensor>,
  rows: number,
  layers: number,
  heads: number,
  dh: number,
): Promise<number[]> {
  let past: Record<string, Tensor> = {};
  for (let i = 0; i < layers; i++)
    for (const kv of ['key', 'value'])
      past[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [rows, heads, 0, dh]);
  const tokens: number[] = [];
  let token = 1;
  for (let s = 0; s < STEPS; s++) {
    const ids = new ort.Tensor('int64', new BigInt64Array(rows).fill(BigInt(token)), [rows, 1]);
    const out = await decoder.run({ input_ids: ids, ...extra, ...past });
    const V = out.logits.dims[2];
    const S = out.logits.dims[1];
    token = argmax(out.logits.data as Float32Array, (S - 1) * V, V);
    tokens.push(token);
    for (const t of [ids, out.logits, ...Object.values(past)]) t.dispose();
    const next: Record<string, Tensor> = {};
    for (const name of Object.keys(past)) next[name] = out[name.replace('past_key_values', 'present')];
    past = next;
  }
  for (const t of Object.values(past)) t.dispose();
  return tokens;
}

async function probe(backend: NodeBackend): Promise<Record<string, unknown>> {
  const rt = await nodeRuntime(backend, 1);
  const engine = await nodeOpener(BUNDLE, rt)();
  const { ctx } = engine;
  const ort = rt.ort;
  const role = ctx.manifest.roles.encoder;
  if (!role) throw new Error('no encoder role');
  const input = resolveImage({ kind: 'scene', seed: 7 }, 64, 64);
  const hidden1 = await encodeImages(ctx, bundlePixels(ctx, input.image, 1));
  const open = (path: string) => rt.create(new Uint8Array(readFileSync(path)), 'wasm');
  const original = await ctx.sessions.get(role.decoder);
  const split = await open(join(SPLIT, 'decoder_split.onnx'));
  const crossKv = await open(join(SPLIT, 'cross_kv.onnx'));
  const out: Record<string, unknown> = { backend: rt.description };
  for (const rows of [1, 8]) {
    const hidden: F32 = gatherRows(hidden1, new Array<number>(rows).fill(0));
    const enc = new ort.Tensor('float32', hidden.data, hidden.dims);
    const args = [rows, role.numLayers, role.numHeads, role.headDim] as const;
    const runOriginal = () => loop(ort, original, { encoder_hidden_states: enc }, ...args);
    // The split loop pays its one cross-K/V run inside the timing.
    const runSplit = async () => {
      const kv = await crossKv.run({ encoder_hidden_states: enc });
      try {
        return await loop(ort, split, kv, ...args);
      } finally {
        for (const t of Object.values(kv)) t.dispose();
      }
    };
    const reps = { warmup: CHECK ? 0 : 1, repeats: CHECK ? 1 : 7 };
    const [a, b] = await measureInterleaved([runOriginal, runSplit], [reps, reps]);
    out[`rows${rows}`] = {
      shippedMs: a.timing.median,
      splitMs: b.timing.median,
      speedup: a.timing.median / b.timing.median,
      speedupMin: a.timing.min / b.timing.min,
      sameTokens: a.value.join(',') === b.value.join(','),
      // Past the natural [EOS] the logits are near-ties, where float order of the hoisted MatMul can flip one.
      firstDifference: a.value.findIndex((t, i) => t !== b.value[i]),
      naturalEos: a.value.indexOf(role.eosId),
      ...(CHECK ? { shipped: a.value.join(' '), split: b.value.join(' ') } : {}),
    };
    enc.dispose();
  }
  await split.release();
  await crossKv.release();
  await engine.release();
  return out;
}

const results = [];
for (const b of CHECK ? (['node-native'] as const) : (['node-wasm', 'node-native'] as const)) results.push(await probe(b));
console.log(JSON.stringify(results, null, 2));
