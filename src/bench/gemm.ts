/**
 * A lever probe, not a product path: one float32 MatMul x[M,K] · W[K,N] with W a constant initializer, as the
 * bundles' linear layers are, timed on the same ORT backend as the stages. It measures what one backend's matrix
 * product kernel does per second at a given shape, so the stage ratios can be read against the ratio of the bare
 * kernels (WASM's 128-bit SIMD against native MLAS with the CPU's widest vectors): a stage made of such products
 * cannot come closer to native than its products do (bench/README.md, "Compute-bound stages").
 *
 * The ONNX model is written by ../engine/onnx-write.ts, so the probe needs no file.
 */
import type { InferenceSession } from 'onnxruntime-web';
import type { OrtModule } from '../engine/tensors.ts';
import { floatInitializer, floatValueInfo, model, node } from '../engine/onnx-write.ts';

/** The probe's shapes: a flow-transformer MLP up-projection (2 rows × 16 tokens with guidance) and a large square one. */
export const GEMM_SHAPES = {
  gemm: { M: 32, K: 128, N: 512, reps: 100 },
  gemm_large: { M: 512, K: 512, N: 512, reps: 4 },
} as const;

/** A probe shape: the product's sizes and how many products one timed run makes. */
export interface GemmShape {
  M: number;
  K: number;
  N: number;
  reps: number;
}

/**
 * Returns the bytes of an ONNX model (IR 8, opset 17) computing y[M,N] = x[M,K] · W[K,N], W the initializer `weight`
 * (row-major K×N).
 */
export function matmulModel(M: number, K: number, N: number, weight: Float32Array): Uint8Array {
  if (weight.length !== K * N) throw new RangeError(`matmulModel: weight has ${weight.length} values, K·N is ${K * N}`);
  return model(
    'gemm_probe',
    {
      nodes: [node('MatMul', ['x', 'W'], ['y'], 'matmul')],
      initializers: [floatInitializer('W', [K, N], weight)],
      inputs: [floatValueInfo('x', [M, K])],
      outputs: [floatValueInfo('y', [M, N])],
    },
    'uae-bench',
  );
}

/** Returns deterministic values in [−0.5, 0.5) (a fixed linear congruential sequence). */
export function probeValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

/** A prepared probe: `run` makes `shape.reps` products; `check` compares one product with a plain JS one. */
export interface GemmProbe {
  shape: GemmShape;
  run(): Promise<void>;
  /** Largest |ORT − JS| over the product's entries. */
  check(): Promise<number>;
  /** Multiply-adds of one timed run ×2 (floating-point operations). */
  flops: number;
  release(): Promise<void>;
}

/** Returns a probe of `shape` on a session `create` makes from the model bytes (the backend's own options). */
export async function gemmProbe(
  ort: OrtModule,
  create: (bytes: Uint8Array) => Promise<InferenceSession>,
  shape: GemmShape,
): Promise<GemmProbe> {
  const { M, K, N, reps } = shape;
  const w = probeValues(K * N, 7);
  const xData = probeValues(M * K, 11);
  const session = await create(matmulModel(M, K, N, w));
  const x = new ort.Tensor('float32', xData, [M, K]);
  const once = async (): Promise<Float32Array> => {
    const out = await session.run({ x });
    const y = out.y;
    const data = (y.data as Float32Array).slice();
    y.dispose();
    return data;
  };
  return {
    shape,
    flops: 2 * M * K * N * reps,
    async run() {
      for (let r = 0; r < reps; r++) await once();
    },
    async check() {
      const y = await once();
      let worst = 0;
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let acc = 0;
          for (let k = 0; k < K; k++) acc += xData[i * K + k] * w[k * N + j];
          worst = Math.max(worst, Math.abs(acc - y[i * N + j]));
        }
      return worst;
    },
    async release() {
      x.dispose();
      await session.release();
    },
  };
}
