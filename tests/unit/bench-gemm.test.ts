import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { gemmProbe, matmulModel, probeValues } from '../../src/bench/gemm.ts';

describe('MatMul probe', () => {
  it('writes an ONNX model ORT runs as x · W with W row-major K×N', async () => {
    const w = Float32Array.of(1, 2, 3, 4, 5, 6); // K=2, N=3
    const session = await ort.InferenceSession.create(matmulModel(2, 2, 3, w), { executionProviders: ['wasm'] });
    try {
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 0, 2, -1), [2, 2]) });
      expect(out.y.dims).toEqual([2, 3]);
      expect([...(out.y.data as Float32Array)]).toEqual([1, 2, 3, -2, -1, 0]);
    } finally {
      await session.release();
    }
  });

  it('rejects a weight of the wrong size, naming both sizes', () => {
    expect(() => matmulModel(2, 3, 4, new Float32Array(11))).toThrow(/11 values, K·N is 12/);
  });

  it('counts its operations and agrees with the plain product; a wrong kernel would not', async () => {
    const shape = { M: 5, K: 300, N: 7, reps: 3 };
    const create = (bytes: Uint8Array) => ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const probe = await gemmProbe(ort, create, shape);
    try {
      expect(probe.flops).toBe(2 * 5 * 300 * 7 * 3);
      await probe.run();
      expect(await probe.check()).toBeLessThan(1e-5);
    } finally {
      await probe.release();
    }
    // A session on another weight than the probe's gives another product, and the check says so.
    const other = await gemmProbe(ort, () => create(matmulModel(5, 300, 7, probeValues(300 * 7, 8))), shape);
    try {
      expect(await other.check()).toBeGreaterThan(1e-2);
    } finally {
      await other.release();
    }
  });
});
