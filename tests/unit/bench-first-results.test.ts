// The bench's first-results probe (src/bench/first-results.ts): a fresh engine on the tiny bundle, cold and after
// the app's warm-up, times its first caption, decode and round trip and leaves nothing alive; the report's ratios
// and table set the probes' medians against the steady stage medians.
import { describe, expect, it } from 'vitest';
import { firstResults, firstResultsRatios, renderFirstResultsMarkdown, type FirstResults } from '../../src/bench/first-results.ts';
import type { StageResult } from '../../src/bench/stages.ts';
import { nodeOpener, nodeRuntime } from '../../src/cli/bench-node.ts';
import { TINY_BUNDLE } from './infer-helpers.ts';

const stage = (id: string, median: number): StageResult => ({
  id: id as StageResult['id'],
  label: id,
  timing: { warmup: 0, runs: [median], median, min: median, max: median },
  detail: {},
});

const probe = (mode: FirstResults['mode'], captionMs: number, decodeMs: number, roundTripMs: number): FirstResults => ({
  mode,
  loadMs: 100,
  ...(mode === 'warm' ? { warmUpMs: 2600, warmUpRounds: [50, 40], warmUpStoppedBy: 'settled' } : {}),
  captionMs,
  decodeMs,
  roundTripMs,
});

describe('first results in a fresh runtime', () => {
  it('times the first caption, decode and round trip, cold and after the warm-up; releases the engine', async () => {
    const rt = await nodeRuntime('node-wasm', 1);
    let released = 0;
    let live = -1;
    const open = nodeOpener(TINY_BUNDLE, rt);
    const counted = async () => {
      const e = await open();
      return {
        ctx: e.ctx,
        release: async () => {
          released++;
          await e.release();
          live = e.ctx.tracker.live();
        },
      };
    };
    const cold = await firstResults(counted, { mode: 'cold', sceneSeed: 7, flowSteps: 2 });
    expect(cold.mode).toBe('cold');
    expect(cold.warmUpMs).toBeUndefined();
    for (const ms of [cold.loadMs, cold.captionMs, cold.decodeMs, cold.roundTripMs]) expect(ms).toBeGreaterThan(0);
    const warm = await firstResults(counted, { mode: 'warm', sceneSeed: 7, flowSteps: 2, warmUp: { minMs: 0, maxRounds: 3, settle: 0 } });
    expect(warm.warmUpRounds).toHaveLength(3);
    expect(warm.warmUpStoppedBy).toBe('rounds');
    expect(warm.warmUpMs).toBeGreaterThanOrEqual(warm.warmUpRounds!.reduce((a, b) => a + b, 0) - 1);
    expect(released).toBe(2);
    expect(live).toBe(0);
  });

  it('ratios: the probes of a mode, median over steady, the goal on the warmed caption only', () => {
    const runs = [
      {
        key: 'chromium-wasm-1t',
        stages: [stage('load', 250), stage('caption', 10), stage('decode', 60), stage('roundtrip', 90)],
        firstResults: [
          probe('cold', 90, 200, 300),
          probe('warm', 12, 70, 95),
          probe('cold', 110, 180, 280),
          probe('warm', 14, 66, 99),
          probe('warm', 30, 61, 91),
        ],
      },
      { key: 'node-wasm-1t', stages: [stage('caption', 11)] },
    ];
    const ratios = firstResultsRatios(runs);
    const by = (name: string) => ratios.find((r) => r.name === name);
    expect(by('chromium-wasm-1t: first caption after the warm-up / steady')).toMatchObject({ median: 1.4, min: 1.2, goal: '≤ 1.5' });
    expect(by('chromium-wasm-1t: first caption right after the load / steady')).toMatchObject({ median: 10, min: 9, goal: undefined });
    expect(by('chromium-wasm-1t: first decode after the warm-up / steady')?.median).toBeCloseTo(66 / 60);
    expect(by('chromium-wasm-1t: first roundtrip right after the load / steady')?.median).toBeCloseTo(290 / 90);
    expect(ratios.filter((r) => r.name.startsWith('node-wasm-1t'))).toHaveLength(0);
    const md = renderFirstResultsMarkdown(runs).join('\n');
    expect(md).toContain(
      '| chromium-wasm-1t | 2 + 3 | 100 | 250 | 2600 | 100 / 14.0 | 10.0 | 1.40× | 190 / 66.0 | 60.0 | 290 / 95.0 | 90.0 |',
    );
    expect(renderFirstResultsMarkdown([runs[1]])).toEqual([]);
  });
});
