// Issue 9 point 4 in Node (fake-indexeddb; a fake engine only where the test is about orchestration): a run
// is in IndexedDB before it shows as finished; a full disk (QuotaExceededError) is reported, not silent;
// the "all runs" archive exports and imports every run exactly, and a bad archive is refused by name.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ARCHIVE_FORMAT, ArchiveError, archiveFromJson, archiveToJson } from '../../app/persist/archive';
import { isQuotaError, storageError } from '../../app/persist/errors';
import { addRoundTrips, allRoundTrips, closeRunsDb, deleteRun, getRoundTrip, listRuns, saveRoundTrip } from '../../app/persist/runs-db';
import { inputFromScene } from '../../app/lib/images';
import type * as RunsDb from '../../app/persist/runs-db';
import type { RtRun } from '../../app/store/roundtripSlice';
import type { RunLog } from '../../src/engine/runs/index.ts';

// The one thing faked: the worker. Everything else (store, actions, IndexedDB through idb) is the app's own;
// `saveHook` can hold the write back or fail it, around the real saveRoundTrip.
const fakeEngine = vi.hoisted(() => ({ request: vi.fn() }));
vi.mock('../../app/engine', () => ({ engine: () => fakeEngine }));
type Save = typeof RunsDb.saveRoundTrip;
const saveHook = vi.hoisted(() => ({ around: null as null | ((real: Save, ...args: Parameters<Save>) => Promise<void>), calls: 0 }));
vi.mock('../../app/persist/runs-db', async (importOriginal) => {
  const real = await importOriginal<typeof RunsDb>();
  return {
    ...real,
    saveRoundTrip: (...args: Parameters<Save>) => {
      saveHook.calls++;
      return saveHook.around ? saveHook.around(real.saveRoundTrip, ...args) : real.saveRoundTrip(...args);
    },
  };
});

// The store mirrors its config into the page URL; Node has no page.
vi.stubGlobal('location', { search: '', pathname: '/', hash: '' });
vi.stubGlobal('history', { state: null, replaceState: () => undefined });
const { startRoundTrip, summaryOf } = await import('../../app/panels/roundtrip/actions');
const { useStore } = await import('../../app/store/store');

function fakeRun(id: string, startedAt: number, loops = 2): RtRun {
  const input = inputFromScene(7, 'random', `scene ${id}`, 64, 64);
  return {
    id,
    startedAt,
    finishedAt: startedAt + 1000,
    status: 'finished',
    settings: { loops, policy: { kind: 'sample', temperature: 0.7, topP: 0.9 }, steps: 2, seed: 3 },
    bundle: { id: 'uae-tiny', name: 'UAE tiny (test)', version: '1.0.0' },
    backend: 'WASM · 1 thread',
    input,
    error: null,
    loops: Array.from({ length: loops }, (_, i) => ({
      loop: i + 1,
      caption: `a red circle ${i}`,
      ids: [10, 11, 12],
      tokens: 3,
      truncated: false,
      image: new Uint8Array(64 * 64 * 3).map((_, k) => (k * (i + 3)) & 255),
      vsOriginal: { sim: 0.5 + i / 10, psnr: 12.3456789, ssim: 0.41234567 },
      vsPrevious: { sim: 0.9, psnr: 30, ssim: 0.8 },
      attr: { precision: 1, recall: 0.5, f1: 2 / 3 },
      ms: 123.4,
    })),
  };
}

const trainingLog: RunLog = {
  id: 'grpo-a',
  label: 'grpo-a.jsonl',
  source: { kind: 'import', file: 'grpo-a.jsonl', format: 'jsonl' },
  series: {
    reward: [
      { step: 1, value: 0.5 },
      { step: 2, value: 0.75 },
    ],
  },
  text: { sample: [{ step: 2, value: 'a red square' }] },
} as RunLog;

const quota = (): DOMException => new DOMException('The quota has been exceeded.', 'QuotaExceededError');

afterEach(() => {
  vi.restoreAllMocks();
  saveHook.around = null;
  saveHook.calls = 0;
});

describe('a run is stored before it shows as finished', () => {
  function setUpPanel(): void {
    useStore.setState((s) => ({
      engine: {
        ...s.engine,
        error: null,
        backend: null,
        bundle: {
          id: 'uae-tiny',
          name: 'UAE tiny',
          version: '1.0.0',
          roles: ['encoder', 'decoder', 'scorer'],
          manifest: { preprocessing: { image: { width: 64, height: 64 } }, defaults: { flowSteps: 2 } },
        } as never,
      },
      runs: {
        ...s.runs,
        items: [],
        roundtrip: { ...s.runs.roundtrip, input: inputFromScene(5, 'random', 'scene 5', 64, 64), current: null },
      },
    }));
    const loop = fakeRun('x', 1).loops[0];
    fakeEngine.request.mockImplementation((_params: unknown, opts: { onPartial(l: unknown): void }) => {
      opts.onPartial(loop);
      return { done: Promise.resolve({ loops: 1, ms: 1, bundleId: 'uae-tiny' }), cancel: () => undefined };
    });
  }

  it('shows "saving" while the write is pending, "finished" only after it committed', async () => {
    setUpPanel();
    let commit!: () => void;
    const pending = new Promise<void>((r) => (commit = r));
    saveHook.around = async (real, run, summary) => {
      await pending;
      await real(run, summary);
    };
    const statuses: string[] = [];
    const unsub = useStore.subscribe((s) => {
      const st = s.runs.roundtrip.current?.status;
      if (st && st !== statuses[statuses.length - 1]) statuses.push(st);
    });
    const started = startRoundTrip();
    await vi.waitFor(() => expect(saveHook.calls).toBe(1));
    const id = useStore.getState().runs.roundtrip.current?.id as string;
    expect(useStore.getState().runs.roundtrip.current?.status).toBe('saving');
    expect(useStore.getState().runs.items.map((i) => i.id)).not.toContain(id);
    commit();
    await started;
    unsub();
    expect(statuses).toEqual(['running', 'saving', 'finished']);
    // What a reload reads back: the run, with its loop.
    await closeRunsDb();
    expect((await listRuns()).map((r) => r.id)).toContain(id);
    expect((await getRoundTrip(id))?.loops).toHaveLength(1);
    expect(useStore.getState().runs.items[0].id).toBe(id);
  });

  it('storage full: the run stays on screen marked not stored, and the banner says storage is full', async () => {
    setUpPanel();
    saveHook.around = () => Promise.reject(quota());
    await startRoundTrip();
    const run = useStore.getState().runs.roundtrip.current as RtRun;
    expect(run.error?.code).toBe('storage-full');
    expect(run.error?.message).toMatch(/^Browser storage is full: this run \(scene 5\) was not saved\. Export your runs/);
    expect(useStore.getState().engine.error?.code).toBe('storage-full');
    expect(useStore.getState().runs.items.map((i) => i.id)).not.toContain(run.id);
  });

  it('recognises the quota error in its forms; other failures keep their own message', () => {
    expect(isQuotaError(quota())).toBe(true);
    expect(isQuotaError(new Error('QuotaExceededError: quota exceeded'))).toBe(true);
    expect(isQuotaError(new DOMException('x', 'AbortError'))).toBe(false);
    expect(storageError(new Error('disk on fire'), 'this run')).toEqual({
      code: 'storage',
      message: 'this run was not saved (disk on fire)',
    });
  });
});

describe('the "all runs" archive', () => {
  it('exports every stored run and imports it back byte for byte; runs already stored are kept as they are', async () => {
    const a = fakeRun('arch-a', 5000, 3);
    const b = fakeRun('arch-b', 6000, 1);
    await saveRoundTrip(a, summaryOf(a));
    await saveRoundTrip(b, summaryOf(b));
    const stored = (await allRoundTrips()).filter((r) => r.run.id.startsWith('arch-'));
    const text = archiveToJson({ roundtrips: stored, training: [trainingLog] }, new Date(Date.UTC(2026, 0, 1)));
    const back = archiveFromJson(text, 'runs.json');
    expect(back.roundtrips.map((r) => r.run.id)).toEqual(['arch-b', 'arch-a']);
    const a2 = back.roundtrips[1].run;
    expect(a2).toEqual(a);
    expect(a2.input.preview.data).toBeInstanceOf(Uint8ClampedArray);
    expect(a2.loops[2].image).toBeInstanceOf(Uint8Array);
    expect(back.training).toEqual([trainingLog]);
    expect(JSON.parse(text).format).toBe(ARCHIVE_FORMAT);

    // Into an empty browser (a new database), then again: the second import adds nothing.
    await deleteRun('arch-a');
    expect(await addRoundTrips(back.roundtrips)).toBe(1);
    expect(await getRoundTrip('arch-a')).toEqual(a);
    expect(await addRoundTrips(back.roundtrips)).toBe(0);
  });

  it('an import that hits a full disk stores none of its runs (one transaction) and says so', async () => {
    const c = fakeRun('quota-c', 7000);
    const d = fakeRun('quota-d', 8000);
    const put = IDBObjectStore.prototype.put;
    let n = 0;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['put']>
    ) {
      if (++n === 3) throw quota();
      return put.apply(this, args);
    });
    let caught: unknown;
    await addRoundTrips([
      { summary: summaryOf(c), run: c },
      { summary: summaryOf(d), run: d },
    ]).catch((e: unknown) => (caught = e));
    vi.restoreAllMocks();
    expect(isQuotaError(caught)).toBe(true);
    expect(await getRoundTrip('quota-c')).toBeNull();
    expect(storageError(caught, 'the runs of runs.json').code).toBe('storage-full');
  });

  const good = (): Record<string, unknown> =>
    JSON.parse(archiveToJson({ roundtrips: [{ summary: summaryOf(fakeRun('g', 1)), run: fakeRun('g', 1) }], training: [] }, new Date(0)));
  const edit = (f: (d: Record<string, unknown>) => void): string => {
    const d = good();
    f(d);
    return JSON.stringify(d);
  };
  const run0 = (d: Record<string, unknown>) => (d.roundtrips as { run: Record<string, unknown> }[])[0].run;

  it.each([
    ['an empty file', '', /^bad\.json: the file is empty$/],
    ['not JSON', '{"format": "uae-playground-runs/1", ', /^bad\.json: not JSON \(/],
    ['another JSON file', '{"name": "package"}', /^bad\.json: not a runs archive: format is null, expected "uae-playground-runs\/1"$/],
    ['a single-run export', '{"format": "uae-roundtrip-run/1"}', /this is a single-run export/],
    [
      'a loop image of the wrong size',
      edit((d) => ((run0(d).loops as { image: unknown }[])[1].image = { $bytes: btoa('abc') })),
      /^bad\.json: round trip 1 \(id g\): loops\[1\]\.image holds 3 bytes, expected 12288$/,
    ],
    [
      'bad base64',
      edit((d) => (((run0(d).input as Record<string, unknown>).modelView as Record<string, string>).$bytes = '***')),
      /input\.modelView is not valid base64/,
    ],
    [
      'a NaN metric',
      edit((d) => ((run0(d).loops as { vsOriginal: { sim: unknown } }[])[0].vsOriginal.sim = 'NaN')),
      /loops\[0\]\.vsOriginal\.sim is not a number/,
    ],
    ['an unknown status', edit((d) => (run0(d).status = 'running')), /status "running" is not one of finished, cancelled, failed/],
    [
      'a summary of another run',
      edit((d) => ((d.roundtrips as { summary: { id: string } }[])[0].summary.id = 'other')),
      /summary\.id "other" differs/,
    ],
    ['a broken training log', edit((d) => (d.training = [{ id: 'x' }])), /^bad\.json: training run 1: is not a training log/],
    [
      'the same run twice',
      edit((d) => (d.roundtrips = [...(d.roundtrips as unknown[]), ...(d.roundtrips as unknown[])])),
      /round trip id g appears twice/,
    ],
  ])('refuses %s with a message naming the file and the field', (_name, text, message) => {
    expect(() => archiveFromJson(text, 'bad.json')).toThrow(ArchiveError);
    expect(() => archiveFromJson(text, 'bad.json')).toThrow(message);
  });
});
