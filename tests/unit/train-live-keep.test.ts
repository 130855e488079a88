// Train live's "Keep in Runs" in Node (fake-indexeddb; the store and actions are the app's own): the run as it is now
// joins the Training tab's Runs list, shown and stored for a reload, labelled with the settings that tell runs apart;
// keeping it again at the same step adds nothing, and a later step is kept as another run.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import type { LiveRun } from '../../app/store/liveTrainSlice';
import { LIVE_PRESET } from '../../src/engine/train/config.ts';

vi.stubGlobal('location', { search: '', pathname: '/', hash: '' });
vi.stubGlobal('history', { state: null, replaceState: () => undefined });
const { keepLiveRun } = await import('../../app/panels/training/live/actions');
const { keptRunId, keptRunLabel, lastLiveStep, liveRunLog, runSettingsName } = await import('../../app/panels/training/live/progress');
const { labelHead } = await import('../../app/panels/training/series');
const { asRunLog } = await import('../../src/engine/runs/index.ts');
const { storedRuns } = await import('../../app/persist/training-db');
const { useStore } = await import('../../app/store/store');

const evalRow = (step: number, sim: number) => ({
  step,
  mean_tokens: 3 + step,
  sim,
  attr_precision: 1,
  attr_recall: 0.2,
  retrieval_top1: 0.1,
});

function liveRun(steps: number): LiveRun {
  return {
    id: 'live-m1abc',
    bundleKey: 'uae-shapes@1.0.0',
    config: { ...LIVE_PRESET, steps: 12, group: 4, images: 2 },
    checkpointEvery: 4,
    startedAt: 0,
    status: 'paused',
    message: null,
    log: Array.from({ length: steps }, (_, i) => ({ step: i + 1, reward: 0.2 + 0.01 * i, 'completions/mean_length': 3 + i })),
    eval: [evalRow(0, 0.25), { ...evalRow(4, 0.3), sample_caption: 'a red square' }].filter((e) => e.step <= steps),
    captions: null,
    checkpoints: [],
    savedStep: steps,
  };
}

function setLive(run: LiveRun): void {
  useStore.setState((s) => ({ runs: { ...s.runs, liveTrain: { ...s.runs.liveTrain, run } } }));
}

describe('train live: keep in runs', () => {
  it('labels a kept run by its settings (before the colon: its name in legends) and its steps', () => {
    const label = keptRunLabel({ ...LIVE_PRESET, group: 4, images: 2 }, 12);
    expect(labelHead(label)).toBe('Kept run (β 0.3, G 4×2, lr 0.00004, sim)');
    // the live run's own legend name carries the same settings
    expect(runSettingsName({ ...LIVE_PRESET, beta: 0, lr: 1e-4, rewards: { sim: 0.5, i2i: 0.5 } })).toBe(
      'β 0, G 8×8, lr 0.0001, sim=0.5,i2i=0.5',
    );
    expect(label).toMatch(
      /: GRPO trained live in the page, steps 0–12 \(loss dapo, length penalty none, temperature 1, flow steps 8, seed 0\)$/,
    );
    expect(keptRunId('live-m1abc', 12)).toBe('live-m1abc-step12');
    // a run is marked kept by its source, not its id: an exported JSONL of the same run imported back is not kept
    expect(liveRunLog(liveRun(2), 'live')!.source.keptFrom).toBeUndefined();
    expect(
      asRunLog({ ...liveRunLog(liveRun(2), 'x'), id: 'x', source: { kind: 'import', format: 'jsonl', file: 'f', keptFrom: 3 } }),
    ).toBeNull();
    expect(lastLiveStep({ log: [{ step: 1 }, { step: 2 }], eval: [{ ...evalRow(0, 0), step: 4 }] })).toBe(4);
    expect(lastLiveStep({ log: [], eval: [] })).toBe(0);
  });

  it('adds the run to the Runs list, shown and stored; again at the same step adds nothing; a later step is another run', async () => {
    setLive(liveRun(5));
    await keepLiveRun();
    const kept = () => useStore.getState().runs.training.runs.filter((r) => r.source.keptFrom !== undefined);
    expect(kept().map((r) => r.id)).toEqual(['live-m1abc-step5']);
    const [run] = kept();
    expect(useStore.getState().runs.training.shown).toContain(run.id);
    expect(run.series.reward.map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
    expect(run.series['eval/sim'].map((p) => [p.step, p.value])).toEqual([
      [0, 0.25],
      [4, 0.3],
    ]);
    expect(run.text['eval/sample_caption']).toEqual([{ step: 4, value: 'a red square' }]);
    expect(run.source.keptFrom).toBe('live-m1abc');
    expect((await storedRuns()).map((r) => [r.id, r.source.keptFrom])).toEqual([['live-m1abc-step5', 'live-m1abc']]);

    await keepLiveRun();
    expect(kept()).toHaveLength(1);

    setLive(liveRun(8));
    await keepLiveRun();
    expect(kept().map((r) => r.id)).toEqual(['live-m1abc-step5', 'live-m1abc-step8']);
    expect((await storedRuns()).map((r) => r.id)).toEqual(['live-m1abc-step5', 'live-m1abc-step8']);
    expect(useStore.getState().engine.error).toBeNull();
  });
});
