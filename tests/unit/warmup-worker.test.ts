// The `warmUp` request (src/engine/infer/warmup.ts through EngineHost + EngineClient over a real MessageChannel, ORT
// WASM, the tiny bundle): rounds for at least minMs and until settled, or out of budget, nothing left alive; any request that arrives while
// it runs pre-empts it (answered 'cancelled', naming what it gave way to) and runs as it would have without it.
import { describe, expect, it } from 'vitest';
import { isRoundTripProgress, type RoundTripParams } from '../../src/protocol/roundtrip.ts';
import { rasterizeScene, sampleScene } from '../../src/shapes/index.ts';
import { registerRoundTrip } from '../../src/worker/handlers/roundtrip.ts';
import { registerWarmUp } from '../../src/worker/handlers/warmup.ts';
import type { EngineHost } from '../../src/worker/host.ts';
import { engineFailure } from './engine-fixture.ts';
import { openContext, TINY_BUNDLE } from './infer-helpers.ts';
import { warmUp, WARMUP_DEFAULTS } from '../../src/engine/infer/warmup.ts';
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
  it('runs rounds until the median of the last window is within settle of the window before (or the rounds run out); leaves no tensor alive', async () => {
    const { client, host } = await connect();
    const median = (xs: number[]): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const r = await client.request({ type: 'warmUp', minMs: 0, maxRounds: 12, window: 2, settle: 0.5 }).done;
    expect(r.roundsMs.length).toBeGreaterThanOrEqual(1);
    expect(r.roundsMs.length).toBeLessThanOrEqual(12);
    expect(r.roundsMs.every((ms) => ms > 0)).toBe(true);
    if (r.stoppedBy === 'settled') {
      const n = r.roundsMs.length;
      expect(n).toBeGreaterThanOrEqual(4);
      const [last, before] = [median(r.roundsMs.slice(n - 2)), median(r.roundsMs.slice(n - 4, n - 2))];
      expect(Math.abs(last - before)).toBeLessThanOrEqual(0.5 * before);
    } else expect(r.stoppedBy === 'rounds' ? r.roundsMs.length : 12).toBe(12);
    expect(host.stats().liveTensors).toBe(0);
    // settle 0: never settled; the round budget ends it
    const all = await client.request({ type: 'warmUp', maxRounds: 2, settle: 0 }).done;
    expect(all).toMatchObject({ stoppedBy: 'rounds' });
    expect(all.roundsMs).toHaveLength(2);
    // the floor: settled rounds go on until minMs has passed (or the budget ends them); that it stops at the first
    // settled round past the floor is checked on a clock of fixed rounds below (real rounds vary with the machine's load)
    const floor = await client.request({ type: 'warmUp', minMs: 300, budgetMs: 5000, window: 1, settle: 1 }).done;
    expect(floor.roundsMs.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(300);
    expect(['settled', 'budget']).toContain(floor.stoppedBy);
  });

  it('on a clock where every round takes 50 ms: stops at the first settled round past the floor, or when the budget or rounds run out', async () => {
    const o = await openContext(TINY_BUNDLE);
    let t = 0;
    const now = () => (t += 50); // read before and after a round: 50 ms each
    const opts = { ...WARMUP_DEFAULTS, flowSteps: 1, window: 1, settle: 0, now };
    const floor = await warmUp(o.ctx, { ...opts, minMs: 300, budgetMs: 5000, maxRounds: 100 });
    expect(floor).toEqual({ roundsMs: [50, 50, 50, 50, 50, 50], stoppedBy: 'settled' });
    const budget = await warmUp(o.ctx, { ...opts, minMs: 1000, budgetMs: 200, maxRounds: 100 });
    expect(budget).toEqual({ roundsMs: [50, 50, 50, 50], stoppedBy: 'budget' });
    const rounds = await warmUp(o.ctx, { ...opts, minMs: 1000, budgetMs: 5000, maxRounds: 3 });
    expect(rounds).toEqual({ roundsMs: [50, 50, 50], stoppedBy: 'rounds' });
    expect(o.engine.tracker.live()).toBe(0);
    await o.engine.sessions.release();
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
    await expect(engineFailure(client.request({ type: 'warmUp', minMs: 1.5 }).done)).resolves.toMatchObject({
      code: 'bad-request',
      message: 'warmUp: minMs must be an integer in [0, 60000], got 1.5',
    });
    await expect(engineFailure(client.request({ type: 'warmUp', settle: 2 }).done)).resolves.toMatchObject({
      code: 'bad-request',
      message: 'warmUp: settle must be a number in [0, 1], got 2',
    });
  });
});
