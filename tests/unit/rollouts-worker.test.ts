// The `rollouts` request through EngineHost + EngineClient over a real MessageChannel (structured clone and
// transfer, as with the Worker), on onnxruntime-web WASM with the tiny bundle: the partials' order, rows
// that survive the transfer intact and equal the engine's own run, cancel, leaks, bad requests.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, resolveImage, runRollouts, type RolloutRecord, type RolloutSettings } from '../../src/engine/rollouts/index.ts';
import type { RolloutsPartial } from '../../src/protocol/rollouts.ts';
import { registerRollouts } from '../../src/worker/handlers/rollouts.ts';
import { engineFailure } from './engine-fixture.ts';
import { openContext, TINY_BUNDLE } from './infer-helpers.ts';
import { connectBundle, connectMetered } from './worker-helpers.ts';

const connect = () => connectBundle(TINY_BUNDLE, registerRollouts);

const SETTINGS: RolloutSettings = {
  ...DEFAULT_SETTINGS,
  groupSize: 6,
  temperature: 8,
  topP: 0.9,
  seed: 21,
  flowSteps: 2,
  reconstructBatch: 2,
  beta: 0.02,
};

describe('rollouts request', () => {
  it('streams inputs, sampling progress, then rows batch by batch before the result; rows equal the engine run', async () => {
    const { client, host } = await connect();
    const events: RolloutsPartial[] = [];
    const rows: RolloutRecord[] = [];
    const handle = client.request(
      { type: 'rollouts', sources: [{ kind: 'scene', seed: 3 }], settings: SETTINGS },
      {
        onPartial: (p) => {
          events.push(p);
          if (p.kind === 'rollouts') rows.push(...p.rollouts);
        },
      },
    );
    const result = await handle.done;
    const kinds = events.map((e) => (e.kind === 'progress' ? `progress:${e.phase}` : e.kind)).filter((k, i, a) => k !== a[i - 1]);
    expect(kinds).toEqual([
      'inputs',
      'progress:sample',
      'sampled',
      'progress:logprobs',
      'progress:reconstruct',
      'rollouts',
      'progress:reconstruct',
      'rollouts',
      'progress:reconstruct',
      'rollouts',
    ]);
    expect(events.filter((e) => e.kind === 'rollouts').map((e) => (e.kind === 'rollouts' ? [e.scored, e.total] : []))).toEqual([
      [2, 6],
      [4, 6],
      [6, 6],
    ]);
    const inputs = events[0];
    expect(inputs.kind === 'inputs' && inputs.images[0].label).toBe('scene 3');

    const o = await openContext(TINY_BUNDLE);
    try {
      const local = await runRollouts(o.ctx, [resolveImage({ kind: 'scene', seed: 3 }, 64, 64)], SETTINGS);
      expect(rows.map((r) => r.completion)).toEqual(local.records.map((r) => r.completion));
      rows.forEach((r, i) => {
        const l = local.records[i];
        expect(r.image.length).toBe(64 * 64 * 3);
        expect(Array.from(r.logp)).toEqual(Array.from(l.logp));
        expect(Array.from(r.refLogp!)).toEqual(Array.from(l.refLogp!));
        expect(r.reward).toBeCloseTo(l.reward, 9);
        expect(result.rewards[i]).toBeCloseTo(r.reward, 12);
      });
      expect(Array.from(result.advantages)).toEqual(Array.from(local.summary.advantages));
      expect(result.metrics).toEqual(local.summary.metrics);
    } finally {
      await o.engine.sessions.release();
    }
    expect(result.bundleId).toBe('uae-tiny');
    expect(result.groups).toHaveLength(1);
    expect(host.tracker.live()).toBe(0);
  });

  it('a cancel after the first rows stops the worker itself: "cancelled", at most one more session run, nothing leaked', async () => {
    const { client, host, meter } = await connectMetered(TINY_BUNDLE, registerRollouts);
    const request = { type: 'rollouts' as const, sources: [{ kind: 'scene' as const, seed: 4 }], settings: { ...SETTINGS, groupSize: 8 } };
    // The same request uncancelled: how many session runs the whole group takes.
    const before = meter.now().runs;
    await client.request(request).done;
    const whole = meter.now().runs - before;

    const start = meter.now().runs;
    let rowsSeen = 0;
    const handle = client.request(request, {
      onPartial: (p) => {
        if (p.kind !== 'rollouts') return;
        rowsSeen += p.rollouts.length;
        handle?.cancel();
      },
    });
    const err = await engineFailure(handle.done);
    expect(err.code).toBe('cancelled');
    // Resolves once the handler itself has returned, not just once the client was answered.
    await host.idle();
    const done = meter.atCancel!.runs - start;
    // The bound below means something only when much of the group was still to do when the cancel arrived.
    expect(whole - done).toBeGreaterThanOrEqual(6);
    // The worker yields to its message queue and then checks the flag before each session run: none runs after the cancel.
    expect(meter.sinceCancel().runs).toBe(0);
    expect(rowsSeen).toBeLessThan(8);
    expect(host.tracker.live()).toBe(0);
  });

  it('rejects bad sources and settings with bad-request', async () => {
    const { client } = await connect();
    const bad = (sources: unknown, settings: unknown = SETTINGS) =>
      engineFailure(client.request({ type: 'rollouts', sources, settings } as never).done);
    expect(await bad([])).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/sources/) });
    expect(await bad([{ kind: 'pixels', name: 'x', data: new Uint8Array(5), width: 2, height: 2, channels: 3 }])).toMatchObject({
      code: 'bad-request',
    });
    expect(await bad([{ kind: 'scene', seed: 1 }], null)).toMatchObject({
      code: 'bad-request',
      message: expect.stringMatching(/settings/),
    });
    expect(await bad([{ kind: 'scene', seed: 1 }], { ...SETTINGS, groupSize: 40 })).toMatchObject({
      code: 'bad-request',
      message: expect.stringMatching(/groupSize/),
    });
    const img = resolveImage(
      { kind: 'pixels', name: 'flat', data: new Uint8ClampedArray(4 * 4 * 4).fill(128), width: 4, height: 4, channels: 4 },
      64,
      64,
    );
    expect(img.image.length).toBe(64 * 64 * 3);
  });
});
