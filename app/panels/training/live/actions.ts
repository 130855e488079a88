// "Train live" actions: the form, Start / Pause / Resume / Cancel of a `train` request on the loaded bundle, every
// finished step kept in the store and in IndexedDB (the run, the state to resume from, checkpoints every K steps),
// a reload or a crashed worker leaving the run paused at its last saved step, and the exports.
import type { RequestHandle } from '../../../../src/client/client.ts';
import { isCancelled } from '../../../../src/engine/errors.ts';
import { runJsonl } from '../../../../src/engine/train/export.ts';
import { readTrainForm, type TrainFormField } from '../../../../src/engine/train/form.ts';
import type { TrainPartial, TrainResult, TrainState } from '../../../../src/protocol/train.ts';
import { engine } from '../../../engine';
import { yieldEvaluation } from '../evaluation';
import { addRun } from '../actions';
import { keptRunId, keptRunLabel, lastLiveStep, liveRunLog } from './progress';
import { downloadBlob } from '../../../lib/download';
import { panelErrors, toAppError } from '../../../lib/errors';
import { zipStored } from '../../../lib/zip';
import { storageError } from '../../../persist/errors';
import { clearLiveRun, saveLiveRun, startStoredRun, storedCheckpoint, storedLiveRun, storedState } from '../../../persist/live-train-db';
import type { LiveRun, LiveTrainState } from '../../../store/liveTrainSlice';
import { useStore } from '../../../store/store';

/** This panel's errors: the banner shows them on the training tab only. */
const showError = panelErrors('training');

/** The run's label on the charts and in an exported bundle's roles.runs. */
export const LIVE_LABEL = 'Stage 2: GRPO trained live in the page';

function live(): LiveTrainState {
  return useStore.getState().runs.liveTrain;
}

function patch(update: (t: LiveTrainState) => Partial<LiveTrainState>): void {
  useStore.setState((s) => ({ runs: { ...s.runs, liveTrain: { ...s.runs.liveTrain, ...update(s.runs.liveTrain) } } }));
}

function patchRun(update: (r: LiveRun) => Partial<LiveRun>): LiveRun | null {
  patch((t) => (t.run ? { run: { ...t.run, ...update(t.run) } } : {}));
  return live().run;
}

/** The current bundle's `<id>@<version>`, or null. */
export function bundleKeyNow(): string | null {
  const b = useStore.getState().engine.bundle;
  return b ? `${b.id}@${b.version}` : null;
}

let handle: RequestHandle<'train'> | null = null;
/** IndexedDB writes in order (a step's write never overtakes the one before). */
let saving: Promise<void> = Promise.resolve();

function save(run: LiveRun | null, step?: { state: TrainState; checkpoint: boolean }): void {
  if (!run) return;
  saving = saving
    .then(() => saveLiveRun(run, step))
    .catch((e: unknown) => showError(storageError(e, `the live run's step ${run.savedStep}`)));
}

/** Sets a form field and checks the whole form (every invalid field is named). */
export function setLiveField(field: TrainFormField, value: string): void {
  patch((t) => {
    const form = { ...t.form, [field]: value };
    return { form, formErrors: checkForm(form) };
  });
}

/** Sets every field at once (a preset) and checks the form. */
export function setLiveForm(form: LiveTrainState['form']): void {
  patch(() => ({ form: { ...form }, formErrors: checkForm(form) }));
}

/** Returns every invalid field of the form and why, in display order (empty when the form is valid). */
export function checkForm(form: LiveTrainState['form']): LiveTrainState['formErrors'] {
  try {
    const r = readTrainForm(form);
    return r.ok ? [] : r.errors.map((e) => ({ field: e.field, message: e.message }));
  } catch (e) {
    return [{ field: 'steps', message: e instanceof Error ? e.message : String(e) }];
  }
}

let restoring: Promise<void> | null = null;

/** Reads the stored run back once per page; a run that was running is paused at its last saved step. */
export function initLiveTrain(): Promise<void> {
  restoring ??= (async () => {
    patch((t) => ({ formErrors: checkForm(t.form) }));
    try {
      const run = await storedLiveRun();
      if (run && !live().run) {
        const paused =
          run.status === 'running'
            ? { status: 'paused' as const, message: `The page was reloaded during the run: resume from step ${run.savedStep}.` }
            : {};
        patch(() => ({ run: { ...run, ...paused } }));
      }
    } catch (e) {
      showError({ code: 'storage', message: `the live run could not be read back (${e instanceof Error ? e.message : String(e)})` });
    } finally {
      patch(() => ({ restored: true }));
    }
  })();
  return restoring;
}

function onPartial(p: TrainPartial): void {
  if (p.kind === 'start') patch(() => ({ device: { device: p.device, choice: p.choice, ...(p.note ? { note: p.note } : {}) } }));
  else if (p.kind === 'phase') patch(() => ({ phase: { step: p.step, phase: p.phase } }));
  else if (p.kind === 'eval') save(patchRun((r) => ({ eval: [...r.eval.filter((e) => e.step !== p.row.step), p.row] })));
  else {
    const run = patchRun((r) => ({
      log: [...r.log.filter((x) => x.step < p.row.step), p.row],
      captions: { step: p.row.step, captions: p.captions },
      savedStep: p.state.step,
      checkpoints: p.checkpoint && !r.checkpoints.includes(p.row.step) ? [...r.checkpoints, p.row.step] : r.checkpoints,
    }));
    patch(() => ({ lastStepAt: performance.now() }));
    save(run, { state: p.state, checkpoint: p.checkpoint });
  }
}

function finished(h: RequestHandle<'train'>, result: TrainResult): void {
  if (handle !== h) return;
  handle = null;
  patch(() => ({ phase: null }));
  save(patchRun(() => ({ status: result.status, message: result.message ?? null })));
}

function failed(h: RequestHandle<'train'>, e: unknown): void {
  if (handle !== h) return;
  handle = null;
  patch(() => ({ phase: null }));
  if (isCancelled(e)) return;
  const err = toAppError(e);
  const step = live().run?.savedStep ?? 0;
  // A crashed worker, a lost device or any failure leaves the run resumable from its last saved step.
  save(patchRun(() => ({ status: 'paused', message: `${err.message} (${err.code}): the run paused; resume from step ${step}.` })));
}

function request(resume: { state: TrainState; log: LiveRun['log']; eval: LiveRun['eval'] } | null): void {
  const run = live().run;
  if (!run) return;
  // the scrubber's evaluation (started when the tab opened) queues behind the run rather than delaying its start
  yieldEvaluation();
  const h = engine().request(
    { type: 'train', config: run.config, checkpointEvery: run.checkpointEvery, device: run.device ?? 'auto', resume },
    { lane: 'train', onPartial: onPartial },
  );
  handle = h;
  patch(() => ({ since: { at: performance.now(), step: run.savedStep }, lastStepAt: null, phase: null, device: null }));
  h.done.then(
    (r) => finished(h, r),
    (e: unknown) => failed(h, e),
  );
}

/** Starts a new run with the form's settings on the loaded bundle (the stored run is replaced). */
export async function startLive(): Promise<void> {
  const form = live().form;
  const formErrors = checkForm(form);
  if (formErrors.length > 0) return patch(() => ({ formErrors }));
  const parsed = readTrainForm(form);
  if (!parsed.ok) return;
  const bundle = useStore.getState().engine.bundle;
  const key = bundleKeyNow();
  if (!bundle || !key) return showError({ code: 'no-bundle', message: 'Train live: no model bundle is loaded' });
  if (!bundle.roles.includes('referenceEncoder'))
    return showError({
      code: 'bad-request',
      message: `Train live: bundle ${bundle.id} has no referenceEncoder (the cold start to train from)`,
    });
  handle?.cancel();
  handle = null;
  const run: LiveRun = {
    id: `live-${Date.now().toString(36)}`,
    bundleKey: key,
    config: parsed.config,
    checkpointEvery: parsed.checkpointEvery,
    device: parsed.device,
    startedAt: Date.now(),
    status: 'running',
    message: null,
    log: [],
    eval: [],
    captions: null,
    checkpoints: [],
    savedStep: 0,
  };
  patch(() => ({ run, formErrors: [] }));
  saving = saving.then(() => startStoredRun(run)).catch((e: unknown) => showError(storageError(e, 'the live run')));
  request(null);
}

/** Pauses the run: the request is cancelled, the last finished step's state is kept to resume from. */
export function pauseLive(): void {
  handle?.cancel();
  handle = null;
  patch(() => ({ phase: null }));
  save(patchRun((r) => ({ status: 'paused', message: `Paused after step ${r.savedStep}.` })));
}

/** Cancels the run for good (its log and checkpoints stay, to look at and export). */
export function cancelLive(): void {
  handle?.cancel();
  handle = null;
  patch(() => ({ phase: null }));
  save(patchRun((r) => ({ status: 'cancelled', message: `Cancelled after step ${r.savedStep}.` })));
}

/** Resumes a paused run from its last saved step (a new request with that state and the rows finished before it). */
export async function resumeLive(): Promise<void> {
  const run = live().run;
  if (!run || run.status !== 'paused' || handle) return;
  if (run.bundleKey !== bundleKeyNow())
    return showError({ code: 'bad-request', message: `Train live: the run trains ${run.bundleKey}; load that bundle to resume it` });
  await saving;
  let state: TrainState | null;
  try {
    state = run.savedStep > 0 ? await storedState(run.id) : null;
  } catch (e) {
    return showError(toAppError(e, 'storage'));
  }
  if (run.savedStep > 0 && !state)
    return showError({ code: 'storage', message: `Train live: the state saved at step ${run.savedStep} is not in this browser's storage` });
  const at = state?.step ?? 0;
  const resumed = patchRun((r) => ({
    status: 'running',
    message: null,
    savedStep: at,
    log: r.log.filter((x) => x.step <= at),
    eval: r.eval.filter((x) => x.step <= at),
    checkpoints: r.checkpoints.filter((s) => s <= at),
  }));
  if (!resumed) return;
  save(resumed);
  request(state ? { state, log: resumed.log, eval: resumed.eval } : null);
}

/** Forgets the run (store and IndexedDB). */
export async function discardLive(): Promise<void> {
  handle?.cancel();
  handle = null;
  patch(() => ({ run: null, phase: null, device: null, since: null }));
  await saving;
  await clearLiveRun().catch((e: unknown) => showError(toAppError(e, 'storage')));
}

/**
 * Keeps the run as it is now in the Runs list (stored like an imported log, labelled with its settings), so a next
 * run with other settings can be compared with it on the charts.
 */
export async function keepLiveRun(): Promise<void> {
  const run = live().run;
  if (!run || run.log.length === 0) return;
  const step = lastLiveStep(run);
  const log = liveRunLog(run, keptRunLabel(run.config, step));
  if (log) await addRun({ ...log, id: keptRunId(run.id, step), source: { ...log.source, keptFrom: run.id } });
}

/** Downloads the run as JSONL: one row per step under TRL's names, evaluations as eval/* at their steps. */
export function exportLiveJsonl(): void {
  const run = live().run;
  if (!run) return;
  downloadBlob(new Blob([runJsonl(run.log, run.eval)], { type: 'application/jsonl' }), `${run.id}.jsonl`);
}

/** Downloads the trained bundle (a zip of the bundle folder: checkpoints, run log, manifest) built by the worker. */
export async function exportLiveBundle(): Promise<void> {
  const run = live().run;
  if (!run || run.checkpoints.length === 0) return;
  if (run.bundleKey !== bundleKeyNow())
    return showError({
      code: 'bad-request',
      message: `Export: the run trains ${run.bundleKey}; load that bundle to export its trained bundle`,
    });
  patch(() => ({ exporting: 'bundle' }));
  try {
    await saving;
    const checkpoints = [];
    for (const step of run.checkpoints) {
      const params = await storedCheckpoint(run.id, step);
      if (params) checkpoints.push({ step, params });
    }
    if (checkpoints.length === 0) throw new Error('no checkpoint of this run is stored');
    const out = await engine().request(
      { type: 'trainExport', checkpoints, log: run.log, eval: run.eval, label: LIVE_LABEL },
      { lane: 'trainExport' },
    ).done;
    const zip = zipStored(out.files.map((f) => ({ path: f.path, data: new Uint8Array(f.data) })));
    downloadBlob(new Blob([zip], { type: 'application/zip' }), `${out.id}-${out.version}.zip`);
  } catch (e) {
    if (!isCancelled(e)) showError(toAppError(e, 'export-failed'));
  } finally {
    patch(() => ({ exporting: null }));
  }
}
