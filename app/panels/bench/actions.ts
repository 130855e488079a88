// Bench actions: plain module functions the Bench tab calls. A run is a queue of `bench` requests (one per
// benchmark and encoder); each batch's partial is folded into its entry once per animation frame, a finished run
// is stored in IndexedDB, Cancel stops the request in progress and drops the rest of the queue. A checkpoint of the
// run trained in the page has its weights read from IndexedDB (the Training tab's store) just before its request.
import type { RequestHandle } from '../../../src/client/client.ts';
import { ALL_TASKS } from '../../../src/engine/geneval/index.ts';
import { PIXEL_BACKBONES, type ReferenceImage } from '../../../src/engine/unified-bench/index.ts';
import type { BenchParams, BenchPartial, BenchResult } from '../../../src/protocol/bench.ts';
import { BENCH_LIMITS } from '../../../src/protocol/bench.ts';
import { backendLabel } from '../../components/BackendBadge';
import { engine } from '../../engine';
import { downloadBlob } from '../../lib/download';
import { panelErrors, toAppError } from '../../lib/errors';
import type { LocalFile } from '../../lib/folder';
import { inputFromBlob } from '../../lib/images';
import { clearBenchEntries, deleteBenchEntry, storeBenchEntry, storedBenchEntries } from '../../persist/bench-db';
import { storageError } from '../../persist/errors';
import { storedCheckpoint, storedLiveRun } from '../../persist/live-train-db';
import type { BenchEntry, BenchForm, BenchLiveRun, BenchState } from '../../store/benchSlice';
import { dropPending, flushFrame, setOnNextFrame } from '../../store/frame';
import { useStore, type Store } from '../../store/store';
import type { AppError } from '../../store/types';
import { benchCsv, benchJson, genevalWorst, unifiedRows, unifiedWorst } from './derive';
import { benchJobs, liveFor, liveLabel, type BenchJob } from './form';

/** This panel's errors: the banner shows them on the bench tab only. */
const showError = panelErrors('bench');

function withBench(s: Store, update: (b: BenchState) => Partial<BenchState>): Partial<Store> {
  return { runs: { ...s.runs, bench: { ...s.runs.bench, ...update(s.runs.bench) } } };
}

function patch(update: (b: BenchState) => Partial<BenchState>): void {
  useStore.setState((s) => withBench(s, update));
}

function withEntry(s: Store, id: string, update: (e: BenchEntry) => Partial<BenchEntry>): Partial<Store> {
  return withBench(s, (b) => ({ entries: b.entries.map((e) => (e.id === id ? { ...e, ...update(e) } : e)) }));
}

function patchEntry(id: string, update: (e: BenchEntry) => Partial<BenchEntry>): void {
  useStore.setState((s) => withEntry(s, id, update));
}

/** Changes form fields. */
export function setBenchForm(fields: Partial<BenchForm>): void {
  patch((b) => ({ form: { ...b.form, ...fields } }));
}

/** Adds or removes an encoder (id as in the form) from the ones compared. */
export function toggleBenchEncoder(id: string, on: boolean): void {
  patch((b) => ({ form: { ...b.form, encoders: on ? [...new Set([...b.form.encoders, id])] : b.form.encoders.filter((x) => x !== id) } }));
}

/** Shows the worst cases of run `id`. */
export function selectBenchEntry(id: string): void {
  patch(() => ({ selected: id }));
}

/** Returns the live run the tab knows: the Training tab's once it has read the run back (it is kept current), else the stored one. */
export function benchLiveRun(s: Store): BenchLiveRun | null {
  return s.runs.liveTrain.restored ? s.runs.liveTrain.run : s.runs.bench.liveRun;
}

/** Returns the loaded bundle's `<id>@<version>`, or null. */
export function bundleKeyOf(s: Store): string | null {
  const b = s.engine.bundle;
  return b ? `${b.id}@${b.version}` : null;
}

/** Reads the stored live run (its id, bundle and checkpoint steps) again: the tab calls it each time it opens. */
export async function refreshBenchLiveRun(): Promise<void> {
  try {
    const run = await storedLiveRun();
    patch(() => ({ liveRun: run ? { id: run.id, bundleKey: run.bundleKey, checkpoints: [...run.checkpoints] } : null }));
  } catch {
    // Unreadable storage: no live checkpoints are offered (the Training tab names the problem when it reads the run).
    patch(() => ({ liveRun: null }));
  }
}

let loading: Promise<void> | null = null;

/** Reads the stored runs back once per page (the tab calls it when it opens). */
export function loadStoredBench(): Promise<void> {
  loading ??= (async () => {
    try {
      const stored = await storedBenchEntries();
      patch((b) => ({ entries: [...stored.filter((e) => !b.entries.some((x) => x.id === e.id)), ...b.entries], loaded: true }));
    } catch (e) {
      patch(() => ({ loaded: true }));
      showError({ code: 'storage', message: `Stored benchmark results could not be read (${e instanceof Error ? e.message : String(e)})` });
    }
  })();
  return loading;
}

/**
 * Reads a picked or dropped folder as Unified-Bench's reference set: every image decoded in this page at the
 * bundle's input size (cover); files that are not images are named and left out; an empty folder or one without
 * any image is refused with a sentence naming it.
 */
export async function chooseBenchFolder(files: LocalFile[], label: string): Promise<void> {
  const pre = useStore.getState().engine.bundle?.manifest.preprocessing.image;
  const W = pre?.width ?? 64;
  const H = pre?.height ?? 64;
  if (files.length === 0) {
    showError({ code: 'bad-folder', message: `The folder ${label} is empty: it holds no files to benchmark.` });
    return;
  }
  const { max } = BENCH_LIMITS.images;
  patch(() => ({ folderBusy: true }));
  try {
    const images: ReferenceImage[] = [];
    const skipped: string[] = [];
    for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
      try {
        images.push({ name: f.path, rgb: (await inputFromBlob(f.file, 'file', f.path, W, H)).modelView });
      } catch (e) {
        skipped.push(toAppError(e).message);
      }
    }
    if (images.length === 0) {
      const why = skipped.slice(0, 3).join('; ');
      showError({ code: 'bad-folder', message: `The folder ${label} has no image Unified-Bench can read: ${why}` });
      return;
    }
    if (images.length > max) {
      showError({ code: 'bad-folder', message: `The folder ${label} holds ${images.length} images; Unified-Bench takes at most ${max}.` });
      return;
    }
    patch((b) => ({ folder: { label, images, width: W, height: H, skipped }, form: { ...b.form, reference: 'folder' } }));
  } finally {
    patch(() => ({ folderBusy: false }));
  }
}

let current: RequestHandle<'bench'> | null = null;
let stopped = false;
const pendingPartials = new Map<string, BenchPartial[]>();

/** Returns `e` with one batch folded in: its rows, the worst cases so far, the progress. */
export function applyBenchPartial(e: BenchEntry, p: BenchPartial): Partial<BenchEntry> {
  if (p.kind === 'unified') {
    const { rows, backbones, similarity } = unifiedRows(p.batch, PIXEL_BACKBONES);
    return {
      unified: [...e.unified, ...rows],
      backbones,
      similarity,
      worst: unifiedWorst(e.worst, p.batch, rows, similarity[0] ?? backbones[0]),
      done: p.batch.start + p.batch.count,
      total: p.batch.total,
    };
  }
  const rows = p.batch.verdicts.map(({ prompt, image, task, caption, ok, seen }) => ({ prompt, image, task, caption, ok, seen }));
  return {
    geneval: [...e.geneval, ...rows],
    worst: genevalWorst(e.worst, p.batch),
    done: p.batch.start + p.batch.count,
    total: p.batch.total,
  };
}

function newEntry(job: BenchJob, i: number, bundleId: string, backend: string, W: number, H: number): BenchEntry {
  const p = job.params;
  const total =
    p.benchmark === 'geneval'
      ? p.promptsPerTask * ALL_TASKS.length * p.perPrompt
      : p.reference.kind === 'scenes'
        ? p.reference.scenes
        : p.reference.images.length;
  return {
    id: `bench-${Date.now()}-${i}`,
    benchmark: p.benchmark,
    status: 'queued',
    startedAt: Date.now() + i,
    bundleId,
    encoderId: job.encoderId,
    encoderLabel: job.encoderLabel,
    step: job.step,
    ...(job.liveRun ? { liveRun: job.liveRun } : {}),
    reference: job.reference,
    seed: p.seed,
    steps: p.steps,
    batch: p.batch,
    backend,
    width: W,
    height: H,
    done: 0,
    total,
    unified: [],
    backbones: [],
    similarity: [],
    geneval: [],
    worst: [],
    ms: null,
    error: null,
  };
}

/**
 * Returns a job's request params: as planned, with a live checkpoint's weights read from IndexedDB (keyed as the
 * scrubber keys them, so the worker's kept session serves both), or an error naming the checkpoint when they are not stored.
 */
async function requestParams(job: BenchJob): Promise<{ params: BenchParams } | { error: AppError }> {
  const p = job.params;
  if (p.benchmark !== 'unified' || p.encoder.kind !== 'live') return { params: p as BenchParams };
  const { step, runId } = p.encoder;
  const weights = await storedCheckpoint(runId, step).catch(() => null);
  if (!weights) {
    const message = `Bench: ${liveLabel(step)}: its weights are not stored in this browser (the live run was replaced or cleared).`;
    return { error: { code: 'storage', message } };
  }
  return { params: { ...p, encoder: { kind: 'live', step, live: { key: `${runId}:${step}`, label: liveLabel(step), params: weights } } } };
}

/** Runs one queued request; resolves to whether the queue may go on. */
async function runJob(job: BenchJob, entry: BenchEntry): Promise<boolean> {
  const key = `bench-${entry.id}`;
  const t0 = performance.now();
  patchEntry(entry.id, () => ({ status: 'running', startedAt: Date.now() }));
  const resolved = await requestParams(job);
  if ('error' in resolved) {
    patchEntry(entry.id, () => ({ status: 'failed', error: resolved.error }));
    showError(resolved.error);
    return false;
  }
  if (stopped) {
    // Cancel came while the weights were read: nothing was sent.
    patchEntry(entry.id, () => ({ status: 'cancelled' }));
    return false;
  }
  const { params } = resolved;
  pendingPartials.set(entry.id, []);
  const handle = engine().request(
    { type: 'bench', ...params },
    {
      lane: 'bench',
      onPartial: (p) => {
        pendingPartials.get(entry.id)?.push(p);
        setOnNextFrame(key, (s) => {
          const batch = pendingPartials.get(entry.id) ?? [];
          pendingPartials.set(entry.id, []);
          return withEntry(s, entry.id, (e) => batch.reduce<BenchEntry>((acc, q) => ({ ...acc, ...applyBenchPartial(acc, q) }), e));
        });
      },
    },
  );
  current = handle;
  try {
    const result: BenchResult = await handle.done;
    flushFrame();
    const fields: Partial<BenchEntry> = { status: 'finished', ms: performance.now() - t0, encoderLabel: result.encoderLabel };
    if (result.benchmark === 'unified') Object.assign(fields, { backbones: Object.keys(result.backbones), similarity: result.similarity });
    patchEntry(entry.id, () => fields);
    const done = useStore.getState().runs.bench.entries.find((e) => e.id === entry.id);
    if (done) await storeBenchEntry(done).catch((e: unknown) => showError(storageError(e, 'this benchmark result')));
    return true;
  } catch (e) {
    flushFrame();
    dropPending(key);
    const error = toAppError(e, 'internal');
    const cancelled = error.code === 'cancelled';
    patchEntry(entry.id, () => ({ status: cancelled ? 'cancelled' : 'failed', error: cancelled ? null : error }));
    if (!cancelled) showError(error);
    return false;
  } finally {
    pendingPartials.delete(entry.id);
    if (current === handle) current = null;
  }
}

/** Runs the form's benchmarks on the loaded bundle, one request after another. */
export async function runBench(): Promise<void> {
  const state = useStore.getState();
  const bundle = state.engine.bundle;
  if (!bundle) {
    showError({ code: 'no-bundle', message: 'No model bundle is loaded: load one in the Model bundle tab first.' });
    return;
  }
  if (state.runs.bench.queue) return;
  const live = liveFor(benchLiveRun(state), bundleKeyOf(state)).run;
  const planned = benchJobs(state.runs.bench.form, bundle.manifest, state.runs.bench.folder, live);
  if ('error' in planned) {
    showError({ code: 'bad-request', message: planned.error });
    return;
  }
  const { width: W, height: H } = bundle.manifest.preprocessing.image;
  const backend = state.engine.backend ? backendLabel(state.engine.backend) : '';
  const entries = planned.jobs.map((job, i) => newEntry(job, i, bundle.id, backend, W, H));
  stopped = false;
  patch((b) => ({ entries: [...b.entries, ...entries], selected: null, queue: { index: 0, count: entries.length } }));
  try {
    for (let i = 0; i < entries.length; i++) {
      patch(() => ({ queue: { index: i, count: entries.length } }));
      const goOn = !stopped && (await runJob(planned.jobs[i], entries[i]));
      if (!goOn) {
        const rest = new Set(entries.slice(i + 1).map((e) => e.id));
        patch((b) => ({ entries: b.entries.map((e) => (rest.has(e.id) ? { ...e, status: 'cancelled' } : e)) }));
        break;
      }
    }
  } finally {
    patch(() => ({ queue: null }));
  }
}

/** Stops the request in progress and the rest of the queue (batches already in stay on screen). */
export function cancelBench(): void {
  stopped = true;
  current?.cancel();
}

/** Removes run `id` from the screen and from storage. */
export async function removeBenchEntry(id: string): Promise<void> {
  patch((b) => ({ entries: b.entries.filter((e) => e.id !== id), selected: b.selected === id ? null : b.selected }));
  await deleteBenchEntry(id).catch((e: unknown) => showError(toAppError(e, 'storage')));
}

/** Removes every finished, cancelled or failed run from the screen and from storage. */
export async function clearBench(): Promise<void> {
  patch((b) => ({ entries: b.entries.filter((e) => e.status === 'running' || e.status === 'queued'), selected: null }));
  await clearBenchEntries().catch((e: unknown) => showError(toAppError(e, 'storage')));
}

/** Downloads the runs on screen as `uae-bench.csv` or `uae-bench.json`. */
export function exportBench(format: 'csv' | 'json'): void {
  const entries = useStore.getState().runs.bench.entries.filter((e) => e.status !== 'queued');
  if (format === 'csv') downloadBlob(new Blob([benchCsv(entries)], { type: 'text/csv' }), 'uae-bench.csv');
  else downloadBlob(new Blob([benchJson(entries)], { type: 'application/json' }), 'uae-bench.json');
}
