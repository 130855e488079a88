// Training panel actions: plain module functions that read and write `runs.training` in the one store.
import {
  parseRunLog,
  pause,
  play,
  restart,
  RunParseError,
  runIdFromFile,
  seek,
  uniqueRunId,
  type ReplayState,
  type RunLog,
} from '../../../src/engine/runs/index.ts';
import { isQuotaError, storageError } from '../../persist/errors';
import { panelErrors } from '../../lib/errors';
import { now, patchTraining as patch, replayFor, setRuns, training } from '../../lib/trainingRuns';
import { useStore } from '../../store/store';
import type { AppError, BundleSummary } from '../../store/types';
import { bundleBaseUrl, fetchBundleRuns, type BundleOrigin } from './bundleRuns';
import { deleteStoredRun, storedRuns, storeRun } from '../../persist/training-db';
import { SPEEDS } from '../../store/trainingSlice';

/** This panel's errors: the banner shows them on the training tab only. */
const showError = panelErrors('training');

/** Shows the first of `errors` in the app's banner, saying how many more there were. */
function showErrors(errors: AppError[]): void {
  if (errors.length === 0) return;
  const more =
    errors.length > 1
      ? ` (and ${errors.length - 1} more: ${errors
          .slice(1)
          .map((e) => e.message.split(':')[0])
          .join(', ')})`
      : '';
  showError({ code: errors[0].code, message: `${errors[0].message}${more}` });
}

let restoring: Promise<void> | null = null;

/** Reads imported runs back from IndexedDB once per page (later calls return the same promise). */
export function initTraining(): Promise<void> {
  restoring ??= (async () => {
    try {
      const stored = await storedRuns();
      const t = training();
      const taken = new Set(t.runs.map((r) => r.id));
      const fresh = stored.filter((r) => !taken.has(r.id));
      setRuns([...t.runs, ...fresh], [...t.shown, ...fresh.map((r) => r.id)], { restored: true });
    } catch (e) {
      patch(() => ({ restored: true }));
      showError({ code: 'runs-storage', message: `imported runs could not be read back (${e instanceof Error ? e.message : String(e)})` });
    }
  })();
  return restoring;
}

/** Puts the loaded bundle's recorded runs in the panel (once per bundle version); drops the previous bundle's. */
export async function syncBundleRuns(bundle: BundleSummary | null, origin: BundleOrigin): Promise<void> {
  const key = bundle ? `${bundle.id}@${bundle.version}` : null;
  const t = training();
  if (key === t.bundleKey) return;
  const imported = t.runs.filter((r) => r.source.kind !== 'bundle');
  const entries = bundle?.manifest.roles.runs ?? [];
  const base = bundleBaseUrl(origin, document.baseURI);
  const note =
    entries.length > 0 && !base
      ? 'This bundle was loaded from local files: import its recorded runs (runs/*.jsonl) with “Import logs”.'
      : null;
  setRuns(imported, t.shown, { bundleKey: key, bundleNote: note, bundleLoading: entries.length > 0 && base !== null, checkpoint: 0 });
  if (!bundle || entries.length === 0 || !base) return;
  const { runs, errors } = await fetchBundleRuns(bundle.manifest, base);
  const now2 = training();
  if (now2.bundleKey !== key) return;
  const wasEmpty = now2.shown.length === 0;
  const rest = now2.runs.filter((r) => r.source.kind !== 'bundle');
  // A bundle's runs are shown when nothing else is, so the panel opens on its curves.
  const shown = wasEmpty ? runs.map((r) => r.id) : now2.shown;
  setRuns([...runs, ...rest], shown, { bundleLoading: false });
  showErrors(errors);
}

/** Reads log files (JSONL, CSV, trainer_state.json), adds and shows the good ones, stores them; errors go to the banner. */
export async function importRunFiles(files: File[]): Promise<void> {
  const errors: AppError[] = [];
  const added: RunLog[] = [];
  const taken = new Set(training().runs.map((r) => r.id));
  for (const file of files) {
    try {
      const id = uniqueRunId(runIdFromFile(file.name), taken);
      const run = parseRunLog(await file.text(), file.name, { id, label: file.name });
      taken.add(id);
      added.push(run);
    } catch (e) {
      errors.push(
        e instanceof RunParseError ? { code: e.code, message: e.message } : { code: 'run-read', message: `${file.name}: ${String(e)}` },
      );
    }
  }
  errors.push(...(await addRuns(added, 'the imported runs')));
  if (errors.length > 0) showErrors(errors);
  else if (added.length > 0)
    useStore.setState((s) => (s.engine.error?.code.startsWith('run') ? { engine: { ...s.engine, error: null } } : {}));
}

/**
 * Adds runs to the panel, shown, and stores them for a reload like imported files (ids must be new) -> the storage
 * errors, named by `what` (the runs stay shown).
 */
async function addRuns(added: RunLog[], what: string): Promise<AppError[]> {
  if (added.length === 0) return [];
  const t = training();
  setRuns([...t.runs, ...added], [...t.shown, ...added.map((r) => r.id)]);
  const order = Date.now();
  try {
    await Promise.all(added.map((run, i) => storeRun(run, order + i)));
    return [];
  } catch (e) {
    return [
      isQuotaError(e)
        ? storageError(e, `${what} (shown, but gone after a reload)`)
        : {
            code: 'runs-storage',
            message: `${what}: shown, but not stored for a reload (${e instanceof Error ? e.message : String(e)})`,
          },
    ];
  }
}

/** Adds one run made in the page (a kept live run) to the panel and to storage, unless a run has its id already. */
export async function addRun(run: RunLog): Promise<void> {
  if (training().runs.some((r) => r.id === run.id)) return;
  showErrors(await addRuns([run], `the run ${run.label}`));
}

/** Removes an imported run from the panel and from storage. */
export async function removeRun(id: string): Promise<void> {
  const t = training();
  setRuns(
    t.runs.filter((r) => r.id !== id || r.source.kind === 'bundle'),
    t.shown.filter((s) => s !== id),
  );
  await deleteStoredRun(id).catch(() => undefined);
}

/** Shows or hides a run on the charts (overlay). */
export function toggleRun(id: string): void {
  const t = training();
  setRuns(t.runs, t.shown.includes(id) ? t.shown.filter((s) => s !== id) : [...t.shown, id]);
}

function withReplay(f: (r: ReplayState, at: number) => ReplayState): void {
  const at = now();
  patch((t) => (t.replay ? { replay: f(t.replay, at) } : {}));
}

/** Plays the replay (from the start when it had finished). */
export function playReplay(): void {
  withReplay(play);
}

/** Pauses the replay where it is. */
export function pauseReplay(): void {
  withReplay(pause);
}

/** Goes back to the first step and plays. */
export function restartReplay(): void {
  withReplay((r, at) => play(restart(r, at), at));
}

/** Moves the replay to `step`. */
export function seekReplay(step: number): void {
  withReplay((r, at) => seek(r, step, at));
}

/** Sets the replay speed (× the base rate; one of SPEEDS). */
export function setReplaySpeed(speed: number): void {
  if (!(SPEEDS as readonly number[]).includes(speed)) return;
  const at = now();
  patch((t) => ({ speed, replay: replayFor(t.runs, t.shown, t.replay, speed, at) }));
}

/** Adds a chart for a key no built-in chart shows. */
export function addExtraKey(key: string): void {
  patch((t) => (t.extraKeys.includes(key) ? {} : { extraKeys: [...t.extraKeys, key] }));
}

/** Removes an added chart. */
export function removeExtraKey(key: string): void {
  patch((t) => ({ extraKeys: t.extraKeys.filter((k) => k !== key) }));
}

/** Chooses a checkpoint (index into the bundle's roles.checkpoints) in the scrubber. */
export function chooseCheckpoint(index: number): void {
  patch(() => ({ checkpoint: index }));
}

/** Shows an export failure in the banner. */
export function reportExportError(message: string): void {
  showError({ code: 'export-failed', message });
}
