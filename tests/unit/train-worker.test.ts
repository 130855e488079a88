// The `train`, `trainExport` and live `checkpointEval` requests through EngineHost + EngineClient over a real
// MessageChannel, on onnxruntime-web WASM and jax-js WASM with the shipped bundle and tiny settings: partials in order, a resume from a
// step's state reproducing the uninterrupted run's next step, cancel answered and idle at once, bad params naming
// the field, a non-finite loss ending as 'diverged', a live checkpoint evaluated from its weights as the exported
// bundle's own checkpoint is, and the exported bundle loading back with every file verified.
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { EngineActivity } from '../../src/client/client.ts';
import { isCancelled } from '../../src/engine/errors.ts';
import { resolveImage } from '../../src/engine/rollouts/index.ts';
import { STAGE2_PRESET, type TrainConfig } from '../../src/engine/train/config.ts';
import { startTrainDevice } from '../../src/engine/train/device.ts';
import { initJaxNode } from '../../src/engine/train/node.ts';
import { removeOrtWorkerGlobal } from '../../src/engine/train/node-worker.ts';
import { GrpoUpdater } from '../../src/engine/train/update.ts';
import type { CheckpointEvalResult } from '../../src/protocol/checkpoint.ts';
import type { TrainPartial, TrainResult, TrainState } from '../../src/protocol/train.ts';
import { registerCheckpointEval } from '../../src/worker/handlers/checkpoint.ts';
import { registerTrainExport } from '../../src/worker/handlers/train-export.ts';
import { copyState, registerTrain } from '../../src/worker/handlers/train.ts';
import type { EngineHost } from '../../src/worker/host.ts';
import { HOOK_TIMEOUT, ROOT } from './infer-helpers.ts';
import { connectBundle, type Connected } from './worker-helpers.ts';

const TINY: TrainConfig = {
  ...STAGE2_PRESET,
  steps: 2,
  group: 2,
  images: 1,
  flowSteps: 1,
  lr: 1e-3,
  evalEvery: 2,
  evalScenes: 2,
  evalFlowSteps: 1,
};
/** The shipped bundle (the tiny parity bundle's decoder is not exported under the trainer's initializer names). */
const BUNDLE = join(ROOT, 'public', 'models', 'uae-shapes');
const register = (host: EngineHost): void => {
  registerTrain(host);
  registerTrainExport(host);
  registerCheckpointEval(host);
};

// Every channel is closed after each test (worker-helpers): each test connects its own host.
let conn: Connected;
beforeAll(async () => {
  await initJaxNode();
}, HOOK_TIMEOUT);

async function connect(): Promise<Connected> {
  conn = await connectBundle(BUNDLE, register);
  removeOrtWorkerGlobal();
  return conn;
}

/** Runs a train request to its end; returns the partials and the result. */
async function train(params: {
  config: TrainConfig;
  checkpointEvery: number;
  resume?: { state: TrainState; log: never[] | TrainResult['log']; eval: TrainResult['eval'] };
}) {
  const partials: TrainPartial[] = [];
  const result = await conn.client.request({ type: 'train', ...params }, { onPartial: (p) => partials.push(p) }).done;
  return { partials, result };
}

const IMAGE = resolveImage({ kind: 'scene', seed: 11 }, 64, 64);

function evalLive(step: number, params: TrainState['params'], key: string): Promise<CheckpointEvalResult> {
  const copy = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.slice()]));
  return conn.client.request({
    type: 'checkpointEval',
    step,
    image: IMAGE.image.slice(),
    width: 64,
    height: 64,
    steps: 1,
    seed: 5,
    live: { key, label: `live step ${step}`, params: copy },
  }).done;
}

describe('train request', () => {
  let first: Awaited<ReturnType<typeof train>>;
  const states: TrainState[] = [];

  it('streams steps with state and captions; a resume at step 1 gives the same step 2; live checkpoints evaluate as exported ones', async () => {
    await connect();
    first = await train({ config: TINY, checkpointEvery: 1 });
    const { partials, result } = first;
    expect(result.status).toBe('done');
    expect(result.device).toBe('wasm');
    expect(result.log.map((r) => r.step)).toEqual([1, 2]);
    expect(result.eval.map((r) => r.step)).toEqual([0, 2]);
    const kinds = partials.map((p) => (p.kind === 'phase' ? `phase:${p.phase}` : p.kind));
    expect(kinds).toEqual([
      'start',
      'phase:eval',
      'eval',
      ...['phase:rollouts', 'phase:logprobs', 'phase:update', 'phase:policy', 'step'],
      ...['phase:rollouts', 'phase:logprobs', 'phase:update', 'phase:policy', 'step', 'phase:eval', 'eval'],
    ]);
    for (const p of partials) {
      if (p.kind !== 'step') continue;
      expect(p.checkpoint).toBe(true);
      expect(p.captions).toHaveLength(TINY.group * TINY.images);
      expect(p.state.step).toBe(p.row.step);
      expect(p.state.adam.step).toBe(p.row.step * TINY.iterations);
      expect(Number.isFinite(p.row.loss)).toBe(true);
      states.push(p.state);
    }
    // The weights moved, and each step's state is its own copy (the transfer detached nothing the run still needed).
    const w = 'layers.0.mlp.0.weight';
    expect(states[0].params[w].length).toBeGreaterThan(0);
    expect(Array.from(states[1].params[w])).not.toEqual(Array.from(states[0].params[w]));

    const resumed = await train({
      config: TINY,
      checkpointEvery: 1,
      // The request transfers the arrays it carries: send a copy.
      resume: { state: copyState(states[0]), log: result.log.slice(0, 1), eval: result.eval.slice(0, 1) },
    });
    expect(resumed.partials[0]).toMatchObject({ kind: 'start', step: 1 });
    expect(resumed.result.log.map((r) => r.step)).toEqual([1, 2]);
    expect(resumed.result.eval.map((r) => r.step)).toEqual([0, 2]);
    const [a, b] = [result.log[1], resumed.result.log[1]];
    for (const k of ['loss', 'reward', 'kl', 'grad_norm', 'completions/mean_length']) expect(b[k], k).toBeCloseTo(a[k], 5);
    expect(resumed.result.eval[1].sim).toBeCloseTo(result.eval[1].sim, 5);
    expect(conn.host.tracker.live()).toBe(0);

    // A live checkpoint evaluated from its weights says what the exported bundle's checkpoint file says.
    const live = await evalLive(2, states[1].params, 'run-a:2');
    expect(live.step).toBe(2);
    expect(live.label).toBe('live step 2');
    expect(Number.isFinite(live.fidelity.sim)).toBe(true);

    const exported = await conn.client.request({
      type: 'trainExport',
      checkpoints: states.map((s) => ({
        step: s.step,
        params: Object.fromEntries(Object.entries(s.params).map(([k, v]) => [k, v.slice()])),
      })),
      log: first.result.log,
      eval: first.result.eval,
      label: 'Stage 2: GRPO trained in the page',
    }).done;
    const manifest = JSON.parse(new TextDecoder().decode(exported.files.find((f) => f.path === 'manifest.json')!.data));
    expect(manifest.roles.checkpoints.map((c: { step: number }) => c.step)).toEqual([0, 1, 2]);
    expect(manifest.roles.encoder.decoder).toBe('checkpoints/step-0002/decoder_model_merged.onnx');
    expect(manifest.roles.runs.at(-1)).toMatchObject({ id: 'live-stage2', label: 'Stage 2: GRPO trained in the page' });
    const jsonl = new TextDecoder()
      .decode(exported.files.find((f) => f.path === 'runs/live-stage2.jsonl')!.data)
      .trim()
      .split('\n');
    expect(jsonl.map((l) => JSON.parse(l).step)).toEqual([0, 1, 2]);
    expect(JSON.parse(jsonl[2])['eval/sim']).toBe(first.result.eval[1].sim);

    // Loaded back (every file's size and sha256 checked), the bundle's step-2 checkpoint says what the live one said.
    const other = await connectBundle(BUNDLE, register);
    await other.client.loadBundle({ kind: 'files', files: exported.files }).done;
    const shipped = await other.client.request({
      type: 'checkpointEval',
      step: 2,
      image: IMAGE.image.slice(),
      width: 64,
      height: 64,
      steps: 1,
      seed: 5,
    }).done;
    expect(shipped.caption).toBe(live.caption);
    expect(shipped.fidelity.sim).toBeCloseTo(live.fidelity.sim, 6);
  }, 300_000);

  it('cancel is idle within 1 s; bad settings are refused naming the field; a non-finite loss ends the run as diverged', async () => {
    await connect();
    const activity: (EngineActivity & { at: number })[] = [];
    const off = conn.client.onActivity((a) => activity.push({ ...a, at: performance.now() }));
    let cancelAt = 0;
    const handle = conn.client.request(
      { type: 'train', config: { ...TINY, steps: 5 }, checkpointEvery: 1 },
      {
        onPartial: (p) => {
          if (p.kind === 'phase' && p.phase === 'update' && !cancelAt) {
            cancelAt = performance.now();
            handle.cancel();
          }
        },
      },
    );
    const err = await handle.done.catch((e: unknown) => e);
    expect(isCancelled(err)).toBe(true);
    await vi.waitFor(() => expect(activity.some((a) => a.running === null && a.at >= cancelAt)).toBe(true), { timeout: 1000 });
    const idleAt = activity.find((a) => a.running === null && a.at >= cancelAt)!.at;
    expect(idleAt - cancelAt).toBeLessThan(1000);
    off();
    await conn.host.idle();

    const bad = (config: TrainConfig, k = 1) =>
      conn.client.request({ type: 'train', config, checkpointEvery: k }).done.catch((e: Error & { code?: string }) => e);
    expect(await bad({ ...TINY, group: 1 })).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/group/) });
    expect(await bad({ ...TINY, lr: 0 })).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/lr/) });
    expect(await bad({ ...TINY, beta: -1 })).toMatchObject({ message: expect.stringMatching(/beta/) });
    expect(await bad({ ...TINY, steps: 1.5 })).toMatchObject({ message: expect.stringMatching(/steps/) });
    expect(await bad(TINY, 0)).toMatchObject({ message: expect.stringMatching(/checkpointEvery/) });
    const badDevice = await conn.client
      .request({ type: 'train', config: TINY, checkpointEvery: 1, device: 'gpu' as 'auto' })
      .done.catch((e: Error & { code?: string }) => e);
    expect(badDevice).toMatchObject({ code: 'bad-request', message: "train: device must be one of auto, wasm, webgpu, got 'gpu'" });

    const spy = vi
      .spyOn(GrpoUpdater.prototype, 'update')
      .mockImplementation(async () => ({ loss: NaN, gradNorm: 1, logp: new Float32Array(0) }));
    try {
      const { partials, result } = await train({
        config: { ...TINY, evalEvery: 5, evalScenes: 1 },
        checkpointEvery: 1,
      });
      expect(result.status).toBe('diverged');
      expect(result.message).toMatch(/step 1.*loss is NaN.*last good state \(step 0\)/);
      expect(result.step).toBe(0);
      expect(partials.some((p) => p.kind === 'step')).toBe(false);
    } finally {
      spy.mockRestore();
    }
  }, 300_000);
});

describe('gradient device', () => {
  it('Auto follows a WASM engine, and refuses a software fallback adapter under a WebGPU engine, saying why', async () => {
    await initJaxNode();
    expect(await startTrainDevice('wasm', 'auto')).toEqual({ device: 'wasm' });
    const probe = vi.fn(async () => ({ ok: true as const, adapter: 'google swiftshader', fallback: true }));
    const fallback = await startTrainDevice('webgpu', 'auto', probe);
    expect(probe).toHaveBeenCalledTimes(1);
    expect(fallback.device).toBe('wasm');
    expect(fallback.note).toMatch(/\(google swiftshader\) is a software fallback adapter.*choose WebGPU/);
    expect(await startTrainDevice('webgpu', 'wasm', probe)).toEqual({ device: 'wasm' });
    expect(probe).toHaveBeenCalledTimes(1);
  });
});
