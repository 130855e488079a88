// The trainer's ONNX weight reader/writer (src/engine/train/onnx-weights.ts) on a shipped graph: it reads every float
// initializer (float16 storage decoded), rewrites a model with its own values to the same bytes, and a model rewritten
// with float32 storage computes what the original computes, while a changed weight changes the output.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat, ONNX_FLOAT, ONNX_FLOAT16, readWeights, writeWeights } from '../../src/engine/train/onnx-weights.ts';

const MODEL = new Uint8Array(readFileSync(new URL('../../public/models/uae-shapes/scorer/text_model.onnx', import.meta.url)));

async function embed(model: Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  const len = session.inputMetadata[0]?.isTensor ? Number(session.inputMetadata[0].shape[1]) : 48;
  const ids = BigInt64Array.from({ length: len }, (_, i) => BigInt(i < 6 ? [1, 4, 9, 12, 7, 2][i] : 0));
  const out = await session.run({ input_ids: new ort.Tensor('int64', ids, [1, len]) });
  const data = Float32Array.from(Object.values(out)[0].data as Float32Array);
  await session.release();
  return data;
}

describe('ONNX weights', () => {
  it('float16 conversion matches numpy astype(float16), rounding to nearest even', () => {
    const cases: [number, number][] = [
      [0.1, 0x2e66],
      [1 / 3, 0x3555],
      [1e-5, 0xa8],
      [65504, 0x7bff],
      [70000, 0x7c00],
      [-2.5, 0xc100],
      [6e-8, 0x1],
      [2.9e-8, 0x0],
      [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [x, h] of cases) expect(floatToHalf(x), String(x)).toBe(h);
    expect(halfToFloat(0x2e66)).toBe(0.0999755859375);
    expect(halfToFloat(0x1)).toBe(2 ** -24);
  });

  it('reads every float initializer with logical names, float16 storage decoded', () => {
    const weights = readWeights(MODEL);
    expect(weights.length).toBeGreaterThan(5);
    expect(weights.some((w) => w.dataType === ONNX_FLOAT16)).toBe(true);
    expect(weights.some((w) => w.dataType === ONNX_FLOAT)).toBe(true);
    for (const w of weights) {
      expect(w.name.endsWith('__fp16')).toBe(false);
      expect(w.values.length).toBe(w.dims.reduce((n, d) => n * d, 1));
      expect(w.values.every(Number.isFinite)).toBe(true);
    }
  });

  it('rewriting a model with its own values gives the same bytes', () => {
    const same = new Map(readWeights(MODEL).map((w) => [w.name, w.values]));
    expect(Buffer.from(writeWeights(MODEL, same, 'same')).equals(Buffer.from(MODEL))).toBe(true);
  });

  it('float32 storage computes what the float16-stored original computes; a changed weight changes the output', async () => {
    const weights = readWeights(MODEL);
    const asF32 = writeWeights(MODEL, new Map(weights.map((w) => [w.name, w.values])), 'float32');
    expect(readWeights(asF32).every((w) => w.dataType === ONNX_FLOAT)).toBe(true);
    const before = await embed(MODEL);
    expect(Array.from(await embed(asF32))).toEqual(Array.from(before));
    const big = weights.find((w) => w.dataType === ONNX_FLOAT16)!;
    const changed = writeWeights(MODEL, new Map([[big.name, big.values.map((v) => v * 1.5 + 0.01)]]), 'float32');
    const after = await embed(changed);
    expect(Math.max(...after.map((v, i) => Math.abs(v - before[i])))).toBeGreaterThan(1e-3);
  });

  it('refuses an unknown name and a wrong element count', () => {
    const [w] = readWeights(MODEL);
    expect(() => writeWeights(MODEL, new Map([['no.such.weight', new Float32Array(1)]]))).toThrow(
      /no float initializer named no\.such\.weight/,
    );
    expect(() => writeWeights(MODEL, new Map([[w.name, new Float32Array(w.values.length + 1)]]))).toThrow(/elements, got/);
  });
});
