/**
 * Key/value caches left on the device between steps (WebGPU sessions keep their present.* outputs in GPU buffers:
 * `cacheOnGpu`, `runGraphKeeping`). Node has no WebGPU, so a session wrapper plays the GPU: it runs the real WASM
 * session and hands back every present.* output as a tensor whose data cannot be read on the CPU (location
 * 'gpu-buffer', only `getData()`), taking such tensors back as feeds. Through it, the engine's caption loop (greedy,
 * a sampled group sharing one image, compaction) and the flow sampler (text keys/values with CFG, Euler and SDE)
 * give the same tokens, log-probs and latents as the plain path, feed the kept tensors back, and release every one
 * of them, also when a request is cancelled mid-caption. The WebGPU E2E pass runs the same loops on a real
 * WebGPU adapter (SwiftShader) against the CLI.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/shapes/index.ts';
import {
  captionInputIds,
  decoderTokens,
  eulerSample,
  generateCaptions,
  latentNoise,
  sdeSample,
  textStates,
  type F32,
  type InferContext,
} from '../../src/engine/infer/index.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { cacheOnGpu } from '../../src/engine/sessions.ts';
import { kvCacheOutputNames } from '../../src/engine/kv-layout.ts';
import { FLOW_STEP_INPUTS, FLOW_STEP_OUTPUTS, flowStepModel, flowStepName } from '../../src/engine/flow-step.ts';
import { encodeScenes, HOOK_TIMEOUT, maxAbsDiff, openContext, type Opened, ROOT } from './infer-helpers.ts';

const SHAPES_BUNDLE = join(ROOT, 'public', 'models', 'uae-shapes');
const ROWS = 3;
let o: Opened;
let hidden: F32;

/** A tensor "on the GPU": its data only through getData(); counts itself while not disposed. */
class FakeGpuTensor {
  readonly location = 'gpu-buffer';
  constructor(
    readonly type: Tensor['type'],
    readonly dims: readonly number[],
    private readonly values: Float32Array,
    private readonly live: Set<FakeGpuTensor>,
  ) {
    live.add(this);
  }
  get data(): never {
    throw new Error('the data is on the GPU: use getData()');
  }
  getData(): Promise<Float32Array> {
    if (!this.live.has(this)) throw new Error('read after dispose');
    return Promise.resolve(this.values.slice());
  }
  /** The CPU tensor the wrapped WASM session is fed in its place. */
  cpu(): Tensor {
    if (!this.live.has(this)) throw new Error('fed after dispose');
    return new ort.Tensor('float32', this.values, this.dims);
  }
  dispose(): void {
    this.live.delete(this);
  }
}

/** Every session's present.* outputs become FakeGpuTensors; counts the device tensors fed and still alive. */
function gpuPlayingContext(base: InferContext): {
  ctx: InferContext;
  live: Set<FakeGpuTensor>;
  fed: () => number;
  builtinRuns: () => number;
} {
  const live = new Set<FakeGpuTensor>();
  let fed = 0;
  const onGpu = new Set(Object.keys(cacheOnGpu('webgpu').preferredOutputLocation ?? {}));
  const wrap = (session: InferenceSession): InferenceSession =>
    new Proxy(session, {
      get(target, key) {
        if (key !== 'run') return Reflect.get(target, key, target) as unknown;
        return async (feeds: Record<string, Tensor>, fetches?: string[]) => {
          const cpuFeeds: Record<string, Tensor> = {};
          for (const [name, t] of Object.entries(feeds)) {
            if (t instanceof FakeGpuTensor) {
              fed++;
              cpuFeeds[name] = t.cpu();
            } else cpuFeeds[name] = t;
          }
          const out = fetches ? await target.run(cpuFeeds, fetches) : await target.run(cpuFeeds);
          const result: Record<string, unknown> = {};
          for (const [name, t] of Object.entries(out)) {
            if (!onGpu.has(name)) result[name] = t;
            else {
              result[name] = new FakeGpuTensor(t.type, t.dims, (t.data as Float32Array).slice(), live);
              t.dispose();
            }
          }
          return result;
        };
      },
    });
  const builtins = new Map<string, InferenceSession>();
  const sessions = {
    get: async (path: string) => wrap(await base.sessions.get(path)),
    builtin: async (name: string, bytes: () => Uint8Array) => {
      let s = builtins.get(name);
      if (!s) builtins.set(name, (s = await ort.InferenceSession.create(bytes())));
      builtCount++;
      return wrap(s);
    },
  };
  let builtCount = 0;
  return { ctx: { ...base, sessions }, live, fed: () => fed, builtinRuns: () => builtCount };
}

beforeAll(async () => {
  o = await openContext(SHAPES_BUNDLE);
  hidden = await encodeScenes(o.ctx, 12, ROWS);
}, HOOK_TIMEOUT);
afterAll(async () => {
  await o?.engine.sessions.release();
}, HOOK_TIMEOUT);

describe('key/value caches kept on the device between steps', () => {
  it('WebGPU sessions ask for the outputs fed back to later runs on the GPU (caches, velocity, the Euler step), WASM for nothing', () => {
    const names = Object.keys(cacheOnGpu('webgpu').preferredOutputLocation ?? {});
    expect(names).toEqual([...kvCacheOutputNames(), 'out_sample', ...FLOW_STEP_OUTPUTS]);
    expect(names).toContain('present.0.decoder.key');
    expect(names).toContain('present.4.encoder.value');
    expect(names).toContain('present.1.key');
    expect(names).not.toContain('logits');
    expect(cacheOnGpu('wasm')).toEqual({});
  });

  it('captions: the same greedy tokens and the same sampled group (one image shared, compacted), every kept tensor released', async () => {
    const gpu = gpuPlayingContext(o.ctx);
    const keptBefore = o.engine.tracker.deviceKept();
    const greedy = { kind: 'greedy' as const };
    const plain = await generateCaptions(o.ctx, hidden, { policy: greedy });
    const kept = await generateCaptions(gpu.ctx, hidden, { policy: greedy });
    expect(kept.map((c) => c.completion)).toEqual(plain.map((c) => c.completion));
    expect(new Set(plain.map((c) => c.completion.length)).size).toBeGreaterThan(1); // rows finished apart: compaction ran

    const policy = { kind: 'sample' as const, temperature: 1.2, topP: 1 };
    const one: F32 = { ...hidden, data: hidden.data.slice(0, hidden.data.length / ROWS), dims: [1, ...hidden.dims.slice(1)] };
    const a = await generateCaptions(o.ctx, one, { policy, rng: createRng(4), groupSize: 8 });
    const b = await generateCaptions(gpu.ctx, one, { policy, rng: createRng(4), groupSize: 8 });
    expect(b.map((c) => c.completion)).toEqual(a.map((c) => c.completion));
    expect(b.map((c) => [...c.logp])).toEqual(a.map((c) => [...c.logp]));

    expect(o.engine.tracker.deviceKept()).toBeGreaterThan(keptBefore);
    expect(gpu.fed()).toBeGreaterThan(0);
    expect(gpu.live.size).toBe(0);
    expect(o.engine.tracker.live()).toBe(0);
  });

  it('flow sampling with CFG: Euler steps on the "GPU" (the step graph) and SDE steps read back, as on the CPU', async () => {
    const gpu = gpuPlayingContext(o.ctx);
    const ids = captionInputIds(
      [o.ctx.tokenizer.encode('a small red circle at the top left'), o.ctx.tokenizer.encode('a large blue square')],
      decoderTokens(o.ctx),
    );
    const states = await textStates(o.ctx, ids);
    const role = o.ctx.manifest.roles.decoder;
    if (!role) throw new Error('no decoder role');
    const noise = latentNoise(role, [createRng(1), createRng(2)]);
    for (const guidance of [undefined, 1]) {
      const cpuEstimates: F32[] = [];
      const gpuEstimates: F32[] = [];
      const euler = await eulerSample(o.ctx, states, noise, {
        steps: 3,
        guidance,
        onStep: async (_s, _n, e) => void cpuEstimates.push(await e()),
      });
      const before = gpu.builtinRuns();
      // Only step 2's estimate is read (a preview), as the round trip's stream does.
      const eulerKept = await eulerSample(gpu.ctx, states, noise, {
        steps: 3,
        guidance,
        onStep: async (s, _n, e) => void (s === 2 && gpuEstimates.push(await e())),
      });
      expect(gpu.builtinRuns() - before).toBe(3);
      // The step graph computes in float32 op by op where the CPU loop rounds once: equal to float rounding.
      expect(maxAbsDiff(eulerKept.data, euler.data)).toBeLessThan(1e-5);
      expect(eulerKept.dims).toEqual(euler.dims);
      expect(gpuEstimates).toHaveLength(1);
      expect(maxAbsDiff(gpuEstimates[0].data, cpuEstimates[1].data)).toBeLessThan(1e-5);
      expect(maxAbsDiff(euler.data, noise.data)).toBeGreaterThan(0.1);
    }
    const sde = await sdeSample(o.ctx, states, noise, [createRng(5), createRng(6)], { steps: 3 });
    const sdeKept = await sdeSample(gpu.ctx, states, noise, [createRng(5), createRng(6)], { steps: 3 });
    expect([...sdeKept.latents.data]).toEqual([...sde.latents.data]);
    expect(sdeKept.logp.map((l) => [...l])).toEqual(sde.logp.map((l) => [...l]));
    expect(gpu.fed()).toBeGreaterThan(0);
    expect(gpu.live.size).toBe(0);
    expect(o.engine.tracker.live()).toBe(0);
  });

  it('a request cancelled mid-caption or mid-sampling still releases what it kept on the device', async () => {
    const gpu = gpuPlayingContext(o.ctx);
    let runs = 0;
    const cancelAfter = (n: number): InferContext => ({
      ...gpu.ctx,
      checkCancelled: () => {
        if (++runs > n) throw new EngineError('cancelled', 'cancelled');
      },
    });
    runs = 0;
    await expect(generateCaptions(cancelAfter(9), hidden, { policy: { kind: 'greedy' } })).rejects.toThrow(/cancelled/);
    expect(gpu.fed()).toBeGreaterThan(0);
    expect(gpu.live.size).toBe(0);
    const role = o.ctx.manifest.roles.decoder;
    if (!role) throw new Error('no decoder role');
    const states = await textStates(o.ctx, captionInputIds([o.ctx.tokenizer.encode('a red circle')], decoderTokens(o.ctx)));
    runs = 0;
    await expect(eulerSample(cancelAfter(5), states, latentNoise(role, [createRng(3)]), { steps: 6 })).rejects.toThrow(/cancelled/);
    expect(gpu.live.size).toBe(0);
    expect(o.engine.tracker.live()).toBe(0);
  });

  it("a bundle's sessions make the engine's own graphs once, on their backend, apart from the bundle's files, and release them with the rest", async () => {
    const opened = await openContext(SHAPES_BUNDLE);
    const sessions = opened.engine.sessions;
    let made = 0;
    const bytes = () => (made++, flowStepModel(true));
    const a = await sessions.builtin(flowStepName(true), bytes);
    const b = await sessions.builtin(flowStepName(true), bytes);
    expect(b).toBe(a);
    expect(made).toBe(1);
    expect(a.inputNames).toEqual([...FLOW_STEP_INPUTS]);
    expect(a.outputNames).toEqual([...FLOW_STEP_OUTPUTS]);
    expect(sessions.openPaths().some((p) => p.includes('flow-step'))).toBe(false);
    let released = 0;
    const release = a.release.bind(a);
    a.release = () => (released++, release());
    await sessions.release();
    expect(released).toBe(1);
    // After the release a new one is made on demand.
    const c = await sessions.builtin(flowStepName(true), bytes);
    expect(c).not.toBe(a);
    expect(made).toBe(2);
    await sessions.release();
  });
});
