// Rollouts actions: plain module functions that components call. They send the `rollouts` request and
// fold its partials into the store, rows buffered to one store update per animation frame.
import type { RequestHandle } from '../../../src/client/client.ts';
import type { RolloutRecord } from '../../../src/engine/rollouts/index.ts';
import { backendLabel } from '../../components/BackendBadge';
import { engine } from '../../engine';
import { panelErrors, toAppError } from '../../lib/errors';
import { dropPending, flushFrame, setOnNextFrame } from '../../store/frame';
import { useStore, type Store } from '../../store/store';
import { inputFromBlob } from '../../lib/images';
import type { RolloutsForm, RolloutsRun, RolloutsSort, RolloutsState } from '../../store/rolloutsSlice';
import { formSettings, formSources } from './form';

/** This panel's errors: the banner shows them on the rollouts tab only. */
const showError = panelErrors('rollouts');

const ROWS_KEY = 'rollouts-rows';
const PROGRESS_KEY = 'rollouts-progress';

/** Returns `s` with the rollouts state patched. */
function withRollouts(s: Store, update: (r: RolloutsState) => Partial<RolloutsState>): Partial<Store> {
  return { runs: { ...s.runs, rollouts: { ...s.runs.rollouts, ...update(s.runs.rollouts) } } };
}

function patch(update: (r: RolloutsState) => Partial<RolloutsState>): void {
  useStore.setState((s) => withRollouts(s, update));
}

/** Returns `s` with run `id` patched, if it is still the run on screen. */
function withRun(s: Store, id: string, update: (run: RolloutsRun) => Partial<RolloutsRun>): Partial<Store> {
  return withRollouts(s, (r) => (r.run?.id === id ? { run: { ...r.run, ...update(r.run) } } : {}));
}

/** Changes form fields. */
export function setRolloutsForm(fields: Partial<RolloutsForm>): void {
  patch((r) => ({ form: { ...r.form, ...fields } }));
}

/** Sorts the table by `key`; the same key again flips the direction. */
export function sortRolloutsBy(key: RolloutsSort['key']): void {
  patch((r) => ({
    sort: r.sort.key === key ? { key, dir: r.sort.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: key === 'index' ? 'asc' : 'desc' },
  }));
}

/** Uses an image file as the input (decoded and resized in the page; nothing is uploaded anywhere). */
export async function chooseRolloutsImage(file: File): Promise<void> {
  const pre = useStore.getState().engine.bundle?.manifest.preprocessing.image;
  const W = pre?.width ?? 64;
  const H = pre?.height ?? 64;
  try {
    const input = await inputFromBlob(file, 'file', file.name, W, H);
    patch((r) => ({
      upload: { label: input.label, rgb: input.modelView, width: input.width, height: input.height },
      form: { ...r.form, source: 'image' },
    }));
  } catch (e) {
    showError(toAppError(e, 'bad-image'));
  }
}

let current: RequestHandle<'rollouts'> | null = null;
let pendingRows: RolloutRecord[] = [];

/** Samples, reconstructs and scores a group (B groups in batch mode) with the form's settings and the shared seed. */
export async function scoreRollouts(): Promise<void> {
  const state = useStore.getState();
  const { form, upload } = state.runs.rollouts;
  const bundle = state.engine.bundle;
  const sources = formSources(form, upload);
  if (!bundle || !sources) {
    showError({ code: 'bad-request', message: bundle ? 'choose an image first' : 'no model bundle is loaded' });
    return;
  }
  current?.cancel();
  dropPending(ROWS_KEY);
  pendingRows = [];
  const settings = formSettings(form, state.config.seed);
  const id = `rollouts-${Date.now()}`;
  const t0 = performance.now();
  const run: RolloutsRun = {
    id,
    status: 'running',
    startedAt: Date.now(),
    settings,
    bundleId: bundle.id,
    flowSteps: settings.flowSteps ?? bundle.manifest.defaults.flowSteps,
    backend: state.engine.backend ? backendLabel(state.engine.backend) : '',
    inputs: [],
    rows: [],
    arrivals: [],
    width: bundle.manifest.preprocessing.image.width,
    height: bundle.manifest.preprocessing.image.height,
    sampled: null,
    progress: null,
    result: null,
    error: null,
  };
  patch(() => ({ run }));
  const handle = engine().request(
    { type: 'rollouts', sources, settings },
    {
      lane: 'rollouts',
      onPartial: (p) => {
        if (p.kind === 'inputs') useStore.setState((s) => withRun(s, id, () => ({ inputs: p.images })));
        else if (p.kind === 'sampled')
          useStore.setState((s) => withRun(s, id, () => ({ sampled: { captions: p.captions, decoderRuns: p.decoderRuns, ms: p.ms } })));
        else if (p.kind === 'progress')
          setOnNextFrame(PROGRESS_KEY, (s) => withRun(s, id, () => ({ progress: { phase: p.phase, done: p.done, total: p.total } })));
        else {
          pendingRows.push(...p.rollouts);
          const ms = performance.now() - t0;
          setOnNextFrame(ROWS_KEY, (s) => {
            const rows = pendingRows;
            pendingRows = [];
            return withRun(s, id, (r) => ({
              rows: [...r.rows, ...rows],
              arrivals: [...r.arrivals, { ms, rows: r.rows.length + rows.length }],
            }));
          });
        }
      },
    },
  );
  current = handle;
  try {
    const result = await handle.done;
    flushFrame();
    useStore.setState((s) => withRun(s, id, () => ({ status: 'finished', result, progress: null })));
  } catch (e) {
    flushFrame();
    const error = toAppError(e, 'internal');
    const cancelled = error.code === 'cancelled';
    useStore.setState((s) =>
      withRun(s, id, () => ({ status: cancelled ? 'cancelled' : 'failed', error: cancelled ? null : error, progress: null })),
    );
    if (!cancelled) showError(error);
  } finally {
    if (current === handle) current = null;
  }
}

/** Stops the run in progress (rows already scored stay on screen). */
export function cancelRollouts(): void {
  current?.cancel();
}
