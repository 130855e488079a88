// The `roundtrip` request through EngineHost + EngineClient over a real MessageChannel (structured clone and
// transfer, as with the Worker), on onnxruntime-web WASM with the tiny bundle: streaming, parity with the
// CLI, cancel, leaks, bad requests.
import { describe, expect, it } from 'vitest';
import type { RoundTripJson } from '../../src/cli/roundtrip.ts';
import { isRoundTripProgress, type RoundTripLoop, type RoundTripParams, type RoundTripProgress } from '../../src/protocol/roundtrip.ts';
import { rasterizeScene, sampleScene } from '../../src/shapes/index.ts';
import { registerRoundTrip } from '../../src/worker/handlers/roundtrip.ts';
import { cliJson as runCliJson } from './cli-helpers.ts';
import { engineFailure, FIXTURE_DIR } from './engine-fixture.ts';
import { TINY_BUNDLE } from './infer-helpers.ts';
import { connectBundle, connectMetered } from './worker-helpers.ts';

const connect = (dir = TINY_BUNDLE) => connectBundle(dir, registerRoundTrip);

const SCENE = 82995292;
function params(over: Partial<RoundTripParams> = {}): RoundTripParams {
  const scene = sampleScene(SCENE);
  return {
    image: rasterizeScene(scene, 64),
    width: 64,
    height: 64,
    loops: 3,
    policy: { kind: 'greedy' },
    steps: 2,
    seed: 9,
    scene,
    ...over,
  };
}

const cliJson = (args: string[]) => runCliJson<RoundTripJson>(['roundtrip', '--bundle', TINY_BUNDLE, '--json', ...args]);

describe('roundtrip request', () => {
  it('streams one partial per loop, in order, before the result; the CLI with the same seed gives the same run', async () => {
    const { client, host } = await connect();
    const seen: string[] = [];
    const loops: RoundTripLoop[] = [];
    const progress: number[] = [];
    const handle = client.request(
      { type: 'roundtrip', ...params({ policy: { kind: 'sample', temperature: 1.3, topP: 0.9 } }) },
      {
        onPartial: (l) => {
          if (isRoundTripProgress(l)) throw new Error('progress partial without stream');
          seen.push(`partial ${l.loop}`);
          loops.push(l);
        },
        onProgress: (p) => progress.push(p.loaded),
      },
    );
    const summary = await handle.done;
    seen.push('result');
    expect(seen).toEqual(['partial 1', 'partial 2', 'partial 3', 'result']);
    expect(summary).toMatchObject({ loops: 3, bundleId: 'uae-tiny' });
    expect(progress).toEqual([0, 1, 2, 3]);
    for (const l of loops) {
      expect(l.image).toBeInstanceOf(Uint8Array);
      expect(l.image.length).toBe(64 * 64 * 3);
      expect(l.attr).not.toBeNull();
    }
    // The next loop captions the previous reconstruction: transferring a partial's image must not detach it.
    expect(loops[1].vsPrevious.psnr).toBeLessThan(100);
    expect((await client.request({ type: 'stats' }).done).liveTensors).toBe(0);

    const cli = await cliJson(['--scene', String(SCENE), '--seed', '9', '--steps', '2', '--temperature', '1.3', '--top-p', '0.9']);
    expect(cli.loops.map((l) => l.caption)).toEqual(loops.map((l) => l.caption));
    cli.loops.forEach((c, i) => {
      expect(c.sim).toBeCloseTo(loops[i].vsOriginal.sim, 6);
      expect(c.psnr).toBeCloseTo(loops[i].vsOriginal.psnr, 5);
      expect(c.ssim).toBeCloseTo(loops[i].vsOriginal.ssim, 6);
      expect(c.attr?.f1).toBeCloseTo(loops[i].attr?.f1 ?? NaN, 6);
    });
    await host.idle();
  });

  it('with stream: progress partials inside each loop (tokens, then flow steps with previews), the same loops as without', async () => {
    const { client, host } = await connect();
    const run = async (stream?: RoundTripParams['stream']) => {
      const loops: RoundTripLoop[] = [];
      const events: RoundTripProgress[] = [];
      const order: string[] = [];
      const request = { ...params({ policy: { kind: 'sample', temperature: 1.3, topP: 0.9 }, steps: 3 }), ...(stream ? { stream } : {}) };
      await client.request(
        { type: 'roundtrip', ...request },
        {
          onPartial: (p) => {
            if (isRoundTripProgress(p)) events.push(p);
            else loops.push(p);
            order.push(isRoundTripProgress(p) ? `${p.phase} ${p.loop}` : `loop ${p.loop}`);
          },
        },
      ).done;
      return { loops, events, order: order.filter((s, i) => s !== order[i - 1]) };
    };
    const plain = await run();
    const streamed = await run({ previewEvery: 1 });
    expect(plain.events).toEqual([]);
    const strip = (l: RoundTripLoop) => ({ ...l, ms: 0, image: Array.from(l.image) });
    expect(streamed.loops.map(strip)).toEqual(plain.loops.map(strip));
    expect(streamed.order).toEqual(['caption 1', 'flow 1', 'loop 1', 'caption 2', 'flow 2', 'loop 2', 'caption 3', 'flow 3', 'loop 3']);
    for (const l of streamed.loops) {
      const caption = streamed.events.filter((e) => e.loop === l.loop && e.phase === 'caption');
      const flow = streamed.events.filter((e) => e.loop === l.loop && e.phase === 'flow');
      const last = caption[caption.length - 1];
      expect(last.phase === 'caption' && [last.text, last.tokens]).toEqual([l.caption, l.tokens]);
      expect(caption.map((e) => e.phase === 'caption' && e.token).slice(0, l.ids.length)).toEqual(l.ids);
      const image = 64 * 64 * 3;
      expect(flow.map((e) => e.phase === 'flow' && [e.step, e.steps, e.preview?.length ?? 0])).toEqual([
        [1, 3, image],
        [2, 3, image],
        [3, 3, 0],
      ]);
    }
    expect((await client.request({ type: 'stats' }).done).liveTensors).toBe(0);
    const err = await engineFailure(client.request({ type: 'roundtrip', ...params({ stream: { previewEvery: -1 } }) }).done);
    expect(err.message).toMatch(/stream\.previewEvery must be an integer/);
    await host.idle();
  });

  it('cancel stops the worker between session runs: cancelled, at most one more run, later partials dropped, nothing leaks', async () => {
    const { client, host, meter } = await connectMetered(TINY_BUNDLE, registerRoundTrip);
    const got: number[] = [];
    const handle = client.request(
      { type: 'roundtrip', ...params({ loops: 20 }) },
      {
        onPartial: (l) => {
          if (isRoundTripProgress(l)) return;
          got.push(l.loop);
          if (l.loop === 1) handle?.cancel();
        },
      },
    );
    const err = await engineFailure(handle.done);
    expect(err.code).toBe('cancelled');
    // Resolves once the handler itself has returned, not just once the client was answered.
    await host.idle();
    expect(got).toEqual([1]);
    // 19 loops were left: the worker yields to its message queue and then checks the flag before each session
    // run, so no run starts after the cancel arrived.
    expect(meter.sinceCancel().runs).toBe(0);
    const stats = await client.request({ type: 'stats' }).done;
    expect(stats.liveTensors).toBe(0);
    // The worker is free again: a new request runs to the end; one loop alone is several runs.
    const before = meter.now().runs;
    expect((await client.request({ type: 'roundtrip', ...params({ loops: 1 }) }).done).loops).toBe(1);
    expect(meter.now().runs - before).toBeGreaterThan(3);
  });

  const bad: [string, Partial<RoundTripParams> & Record<string, unknown>, RegExp][] = [
    ['0 loops', { loops: 0 }, /loops must be an integer in \[1, 20\]/],
    ['21 loops', { loops: 21 }, /loops must be an integer/],
    ['a wrong image size', { image: new Uint8Array(10) }, /image must be uint8 RGB of 64x64x3 bytes/],
    ['another input size', { width: 32, height: 32, image: new Uint8Array(32 * 32 * 3) }, /takes 64x64 images, got 32x32/],
    ['an unknown policy', { policy: { kind: 'beam' } as never }, /policy\.kind/],
    ['top-p above 1', { policy: { kind: 'sample', temperature: 1, topP: 1.5 } }, /topP/],
    ['a broken scene', { scene: { background: 'pink', objects: [] } as never }, /scene is not a valid Shapes scene/],
    ['a negative seed', { seed: -1 }, /seed/],
  ];
  it.each(bad)('rejects %s with bad-request', async (_name, over, message) => {
    const { client } = await connect();
    const err = await engineFailure(client.request({ type: 'roundtrip', ...params(over as Partial<RoundTripParams>) }).done);
    expect(err.code).toBe('bad-request');
    expect(err.message).toMatch(message);
  });

  it('rejects a bundle without encoder/decoder with bad-request naming the role', async () => {
    const { client } = await connect(FIXTURE_DIR);
    const err = await engineFailure(client.request({ type: 'roundtrip', ...params() }).done);
    expect(err.code).toBe('bad-request');
    expect(err.message).toBe('roundtrip: bundle fixture-tiny has no encoder role');
  });
});
