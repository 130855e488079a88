// The `warmUp` request (src/engine/infer/warmup.ts through EngineHost + EngineClient over a real MessageChannel, ORT
// WASM, the tiny bundle): rounds until settled or out of budget, nothing left alive; any request that arrives while
// it runs pre-empts it (answered 'cancelled', naming what it gave way to) and runs as it would have without it.
import { describe, expect, it } from 'vitest';
import { isRoundTripProgress, type RoundTripParams } from '../../src/protocol/roundtrip.ts';
import { rasterizeScene, sampleScene } from '../../src/shapes/index.ts';
import { registerRoundTrip } from '../../src/worker/handlers/roundtrip.ts';
import { registerWarmUp } from '../../src/worker/handlers/warmup.ts';
import type { EngineHost } from '../../src/worker/host.ts';
import { engineFailure } from './engine-fixture.ts';
import { TINY_BUNDLE } from './infer-helpers.ts';
import { connectBundle } from './worker-helpers.ts';

const connect = () =>
  connectBundle(TINY_BUNDLE, (host: EngineHost) => {
    registerRoundTrip(host);
    registerWarmUp(host);
  });

function roundTrip(): { type: 'roundtrip' } & RoundTripParams {
  const scene = sampleScene(82995292);
  return {
    type: 'roundtrip',
    image: rasterizeScene(scene, 64),
    width: 64,
    height: 64,
    loops: 2,
    policy: { kind: 'greedy' },
    steps: 2,
    seed: 9,
  };
}

describe('warmUp request', () => {
  it('runs rounds until one takes about as long as the one before (or the rounds run out); leaves no tensor alive', async () => {
    const { client, host } = await connect();
    const r = await client.request({ type: 'warmUp', maxRounds: 5 }).done;
    expect(r.roundsMs.length).toBeGreaterThanOrEqual(1);
    expect(r.roundsMs.length).toBeLessThanOrEqual(5);
    expect(r.roundsMs.every((ms) => ms > 0)).toBe(true);
    if (r.stoppedBy === 'settled') {
      const [a, b] = r.roundsMs.slice(-2);
      expect(Math.abs(b - a)).toBeLessThanOrEqual(0.15 * a);
    } else expect(r.stoppedBy === 'rounds' ? r.roundsMs.length : 5).toBe(5);
    expect(host.stats().liveTensors).toBe(0);
    // settle 0: never settled; the round budget ends it
    const all = await client.request({ type: 'warmUp', maxRounds: 2, settle: 0 }).done;
    expect(all).toMatchObject({ stoppedBy: 'rounds' });
    expect(all.roundsMs).toHaveLength(2);
  });

  it('gives way to a request that arrives while it runs: answered cancelled, the request runs as without it', async () => {
    const { client, host } = await connect();
    const loopsAlone: string[] = [];
    await client.request(roundTrip(), {
      onPartial: (l) => loopsAlone.push(isRoundTripProgress(l) ? 'progress' : `${l.caption} ${l.vsOriginal.sim}`),
    }).done;

    const kinds: (string | null)[] = [];
    client.onActivity((a) => kinds.push(a.running));
    const running = new Promise<void>((resolve) => client.onActivity((a) => a.running === 'warmUp' && resolve()));
    const warm = client.request({ type: 'warmUp', maxRounds: 100, budgetMs: 60_000, settle: 0 });
    const warmFailure = engineFailure(warm.done);
    await running;
    const loops: string[] = [];
    await client.request(roundTrip(), {
      onPartial: (l) => loops.push(isRoundTripProgress(l) ? 'progress' : `${l.caption} ${l.vsOriginal.sim}`),
    }).done;
    const failure = await warmFailure;
    expect(failure.code).toBe('cancelled');
    expect(failure.message).toMatch(/\(warmUp\) gave way to a roundtrip request$/);
    expect(loops).toEqual(loopsAlone);
    await host.idle();
    // the warm-up never ran again once the round trip had started
    expect(kinds.slice(kinds.indexOf('roundtrip'))).not.toContain('warmUp');
    expect(host.stats().liveTensors).toBe(0);
  });

  it('refuses bad settings naming the field', async () => {
    const { client } = await connect();
    await expect(engineFailure(client.request({ type: 'warmUp', budgetMs: -1 }).done)).resolves.toMatchObject({
      code: 'bad-request',
      message: 'warmUp: budgetMs must be an integer in [1, 60000], got -1',
    });
    await expect(engineFailure(client.request({ type: 'warmUp', settle: 2 }).done)).resolves.toMatchObject({
      code: 'bad-request',
      message: 'warmUp: settle must be a number in [0, 1], got 2',
    });
  });
});
