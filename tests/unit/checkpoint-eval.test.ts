// Encoder checkpoints: naming one, evaluating one on an image (real ORT WASM on the tiny bundle with the
// checkpoint fixtures), the `checkpointEval` request through EngineHost + EngineClient over a MessageChannel
// (phases, caption partial, cancel, leaks, the cap on open checkpoint sessions), and releaseLazy.
import { rmSync } from 'node:fs';
import type { InferenceSession } from 'onnxruntime-web';
import * as ort from 'onnxruntime-web';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient } from '../../src/client/client.ts';
import {
  attributeScores,
  captionImages,
  CHECKPOINT_PHASES,
  embedImages,
  evaluateCheckpoint,
  findCheckpoint,
  noiseSeed,
  reconstruct,
  type CheckpointPhase,
} from '../../src/engine/infer/index.ts';
import { BundleSessions } from '../../src/engine/sessions.ts';
import type { CheckpointEvalParams, CheckpointEvalPartial } from '../../src/protocol/checkpoint.ts';
import { createRng } from '../../src/shapes/rng.ts';
import { rasterizeScene, sampleScene } from '../../src/shapes/index.ts';
import { CHECKPOINT_SESSION_LIMIT, registerCheckpointEval } from '../../src/worker/handlers/checkpoint.ts';
import { EngineHost } from '../../src/worker/host.ts';
import { checkpointBundle, LATER_STEPS } from './checkpoint-fixture.ts';
import { engineFailure, folderFetch } from './engine-fixture.ts';
import { HOOK_TIMEOUT, openContext, TINY_BUNDLE, type Opened } from './infer-helpers.ts';
import { connectMetered } from './worker-helpers.ts';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const SCENE = 1771437443; // public/gallery scene-01: two objects
const scene = sampleScene(SCENE);
const image = rasterizeScene(scene, 64);
const LAST = LATER_STEPS[LATER_STEPS.length - 1];

let dir: string;
let o: Opened;
beforeAll(async () => {
  dir = checkpointBundle();
  o = await openContext(dir);
}, HOOK_TIMEOUT);
afterAll(async () => {
  await o?.engine.sessions.release();
  rmSync(dir, { recursive: true, force: true });
});

/** Independent cosine of row 0 of two [1,E] embeddings. */
function cos(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('findCheckpoint', () => {
  it("names the lowest step 'first', the highest 'last', and any listed step", () => {
    const m = o.ctx.manifest;
    expect(findCheckpoint(m, 'first').step).toBe(0);
    expect(findCheckpoint(m, 'last').step).toBe(LAST);
    expect(findCheckpoint(m, 8).encoder.decoder).toBe('checkpoints/step-0008/decoder_model_merged.onnx');
    // Manifest order does not matter.
    const shuffled = { ...m, roles: { ...m.roles, checkpoints: [...(m.roles.checkpoints ?? [])].reverse() } };
    expect(findCheckpoint(shuffled, 'first').step).toBe(0);
  });

  it('a step the bundle lacks, or a bundle without checkpoints, fails naming what there is', () => {
    expect(() => findCheckpoint(o.ctx.manifest, 5)).toThrow(
      'bundle uae-tiny-ckpt has no checkpoint at step 5; its checkpoints are at steps 0, 8, 16',
    );
    const none = { ...o.ctx.manifest, roles: { ...o.ctx.manifest.roles, checkpoints: undefined } };
    expect(() => findCheckpoint(none, 'last')).toThrow(
      'bundle uae-tiny-ckpt has no encoder checkpoints (manifest roles.checkpoints is absent)',
    );
    expect(() => findCheckpoint({ ...none, roles: { ...none.roles, checkpoints: [] } }, 0)).toThrow(/is empty/);
  });
});

describe('evaluateCheckpoint', () => {
  it('captions with the checkpoint, redraws from that caption with fixed noise, and scores the redraw against the image', async () => {
    const phases: string[] = [];
    const last = await evaluateCheckpoint(o.ctx, image, 'last', {
      steps: 2,
      seed: 5,
      scene,
      onPhase: (p) => phases.push(p),
      onCaption: (c) => phases.push(`caption:${c.tokens}`),
    });
    expect(phases).toEqual(['sessions', 'caption', `caption:${last.caption.tokens}`, 'reconstruct', 'score']);
    expect(last.step).toBe(LAST);
    expect(last.label).toBe(`GRPO step ${LAST}`);
    // The [EOS]-suppressed checkpoint writes until the token limit; the cold start stops at once.
    expect(last.caption.truncated).toBe(true);
    const first = await evaluateCheckpoint(o.ctx, image, 'first', { steps: 2, seed: 5, scene });
    expect(last.caption.tokens).toBeGreaterThan(first.caption.tokens);
    // Step 0 is the encoder role's own graphs: the same caption as the default encoder.
    const [byEncoder] = await captionImages(o.ctx, image, 1, { policy: { kind: 'greedy' } });
    expect(first.caption.ids).toEqual(byEncoder.ids);
    // The reconstruction is the decoder's image of that caption with noise noiseSeed(seed, 0).
    const rec = await reconstruct(o.ctx, [last.caption.ids], [createRng(noiseSeed(5, 0))], { steps: 2 });
    expect(last.image).toEqual(rec.images);
    const sim = cos((await embedImages(o.ctx, last.image, 1)).data, (await embedImages(o.ctx, image, 1)).data);
    expect(last.fidelity.sim).toBeCloseTo(sim, 5);
    expect(last.attr).toEqual(attributeScores(last.caption.text, scene));
    expect(o.ctx.tracker.live()).toBe(0);
  }, 300_000);

  it('rejects an image of the wrong size and an unknown step', async () => {
    await expect(evaluateCheckpoint(o.ctx, new Uint8Array(10), 0, { steps: 1, seed: 0 })).rejects.toThrow(/expected a 64x64 RGB image/);
    await expect(evaluateCheckpoint(o.ctx, image, 3, { steps: 1, seed: 0 })).rejects.toThrow(/steps 0, 8, 16/);
  });
});

describe('BundleSessions.releaseLazy', () => {
  it('releases sessions created on first use except those kept; role graphs opened at load stay', async () => {
    const released: string[] = [];
    const bundle = await o.engine.bundle;
    // Real sessions (their I/O is checked against the roles at creation), with release() recorded by path.
    const pathOf = new Map([...bundle.files].map(([p, b]) => [b, p]));
    const create = async (bytes: Uint8Array): Promise<InferenceSession> => {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      const release = session.release.bind(session);
      return Object.assign(session, {
        release: async () => {
          released.push(pathOf.get(bytes) ?? '?');
          await release();
        },
      });
    };
    const sessions = await BundleSessions.open(bundle, create, { backend: 'wasm', allowFallback: false });
    const eager = sessions.openPaths();
    const [a, b] = LATER_STEPS.map((s) => findCheckpoint(bundle.manifest, s).encoder.decoder);
    await sessions.get(a);
    await sessions.get(b);
    expect(await sessions.releaseLazy([b])).toEqual([a]);
    expect(released).toEqual([a]);
    expect(sessions.openPaths().sort()).toEqual([...eager, b].sort());
    // The vision graph is shared with the encoder role: getting it through a checkpoint opens nothing new.
    await sessions.get(bundle.manifest.roles.encoder?.vision ?? '');
    expect(await sessions.releaseLazy()).toEqual([b]);
    expect(sessions.openPaths().sort()).toEqual([...eager].sort());
    await sessions.get(a);
    expect(sessions.openPaths()).toContain(a);
  });
});

describe('checkpointEval request', () => {
  const channels: MessageChannel[] = [];
  afterEach(() => {
    for (const ch of channels.splice(0)) {
      ch.port1.close();
      ch.port2.close();
    }
  });

  async function connect(folder: string) {
    const ch = new MessageChannel();
    channels.push(ch);
    const { fetch, base } = folderFetch(folder);
    const host = new EngineHost({
      ort,
      fetch,
      maxWasmThreads: 1,
      post: (event, transfer) => ch.port2.postMessage(event, transfer),
      probeWebGpu: async () => ({ ok: false, reason: 'Node' }),
    });
    registerCheckpointEval(host);
    ch.port2.addEventListener('message', (e: MessageEvent) => host.handle(e.data));
    ch.port2.start();
    ch.port1.start();
    const client = new EngineClient(ch.port1);
    await client.loadBundle({ kind: 'url', baseUrl: base }).done;
    return { host, client };
  }

  const params = (over: Partial<CheckpointEvalParams> = {}): CheckpointEvalParams => ({
    step: 0,
    image: image.slice(),
    width: 64,
    height: 64,
    steps: 2,
    seed: 5,
    scene,
    ...over,
  });

  it('streams the phases and the caption, returns what evaluateCheckpoint returns, and keeps at most the limit of checkpoint sessions', async () => {
    const { client, host } = await connect(dir);
    const seen: string[] = [];
    const onPartial = (p: CheckpointEvalPartial) => seen.push(p.kind === 'phase' ? p.phase : `caption:${p.tokens}`);
    const r8 = await client.request({ type: 'checkpointEval', ...params({ step: 8 }) }, { onPartial }).done;
    const phases: CheckpointPhase[] = [...CHECKPOINT_PHASES];
    expect(seen).toEqual([phases[0], phases[1], `caption:${r8.tokens}`, phases[2], phases[3]]);
    const direct = await evaluateCheckpoint(o.ctx, image, 8, { steps: 2, seed: 5, scene });
    expect(r8.caption).toBe(direct.caption.text);
    expect(r8.image).toEqual(direct.image);
    expect(r8.fidelity.sim).toBeCloseTo(direct.fidelity.sim, 6);
    expect(r8).toMatchObject({ step: 8, label: 'GRPO step 8', bundleId: 'uae-tiny-ckpt', width: 64, height: 64, released: [] });
    const ck = (s: number) => findCheckpoint(o.ctx.manifest, s).encoder.decoder;
    const stats = () => client.request({ type: 'stats' }).done;
    expect((await stats()).sessions).toContain(ck(8));
    const r16 = await client.request({ type: 'checkpointEval', ...params({ step: 16 }) }).done;
    expect(r16.tokens).toBeGreaterThanOrEqual(r8.tokens);
    expect(CHECKPOINT_SESSION_LIMIT).toBe(2);
    expect((await stats()).sessions).toEqual(expect.arrayContaining([ck(8), ck(16)]));
    // Step 0 uses the encoder role's graphs; with it, step 8 is the third most recent and is released.
    const r0 = await client.request({ type: 'checkpointEval', ...params({ step: 0 }) }).done;
    expect(r0.tokens).toBeLessThan(r16.tokens);
    expect(r0.released).toEqual([ck(8)]);
    const after = await stats();
    expect(after.sessions).not.toContain(ck(8));
    expect(after.sessions).toContain(ck(16));
    expect(after.liveTensors).toBe(0);
    // A released checkpoint is opened again on demand and gives the same result.
    const again = await client.request({ type: 'checkpointEval', ...params({ step: 8 }) }).done;
    expect(again.caption).toBe(r8.caption);
    expect(again.image).toEqual(r8.image);
    await host.idle();
  }, 600_000);

  it('cancel stops the evaluation between session runs: at most one more run; nothing leaks and the worker is free again', async () => {
    const { client, host, meter } = await connectMetered(dir, registerCheckpointEval);
    const seen: string[] = [];
    const handle = client.request(
      { type: 'checkpointEval', ...params({ step: 16, steps: 50 }) },
      {
        onPartial: (p) => {
          seen.push(p.kind);
          if (p.kind === 'caption') handle?.cancel();
        },
      },
    );
    expect((await engineFailure(handle.done)).code).toBe('cancelled');
    // Resolves once the handler itself has returned, not just once the client was answered.
    await host.idle();
    expect(seen).toEqual(['phase', 'phase', 'caption']);
    // 50 flow steps and the scoring were left: the worker yields to its message queue and then checks the flag
    // before each session run, so no run starts after the cancel arrived.
    expect(meter.sinceCancel().runs).toBe(0);
    expect((await client.request({ type: 'stats' }).done).liveTensors).toBe(0);
    const before = meter.now().runs;
    expect((await client.request({ type: 'checkpointEval', ...params({ step: 16 }) }).done).step).toBe(16);
    // What the cancel saved: after its caption, a whole evaluation (2 flow steps here) is still many runs.
    expect(meter.now().runs - before).toBeGreaterThan(3);
  });

  const bad: [string, Partial<CheckpointEvalParams>, RegExp][] = [
    ['an unlisted step', { step: 12 }, /no checkpoint at step 12; its checkpoints are at steps 0, 8, 16/],
    ['a negative step', { step: -1 }, /step must be a non-negative integer/],
    ['a wrong image size', { image: new Uint8Array(10) }, /image must be uint8 RGB of 64x64x3 bytes/],
    ['another input size', { width: 32, height: 32 }, /takes 64x64 images, got 32x32/],
    ['0 flow steps', { steps: 0 }, /steps must be an integer in \[1, 1000\]/],
    ['a broken scene', { scene: { background: 'pink', objects: [] } as never }, /scene is not a valid Shapes scene/],
  ];
  it.each(bad)('rejects %s with bad-request', async (_name, over, message) => {
    const { client } = await connect(dir);
    const err = await engineFailure(client.request({ type: 'checkpointEval', ...params(over) }).done);
    expect(err.code).toBe('bad-request');
    expect(err.message).toMatch(message);
  });

  it('a bundle without checkpoints says so', async () => {
    const { client } = await connect(TINY_BUNDLE);
    const err = await engineFailure(client.request({ type: 'checkpointEval', ...params() }).done);
    expect(err.message).toBe('bundle uae-tiny has no encoder checkpoints (manifest roles.checkpoints is absent)');
  });
});
