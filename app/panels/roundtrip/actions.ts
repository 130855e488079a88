// Round-trip actions: plain module functions that components call. They decode inputs, send the
// `roundtrip` request, fold its per-loop partials into the store, store finished runs in IndexedDB
// (before the run shows as finished) and export runs.
import type { RequestHandle } from '../../../src/client/client.ts';
import type { BundleSummary } from '../../../src/protocol/messages.ts';
import { isRoundTripProgress } from '../../../src/protocol/roundtrip.ts';
import { backendLabel } from '../../components/BackendBadge';
import { engine } from '../../engine';
import { panelErrors, toAppError } from '../../lib/errors';
import { downloadBlob } from '../../lib/download';
import { storageError } from '../../persist/errors';
import { deleteRun, getRoundTrip, listRuns, saveRoundTrip } from '../../persist/runs-db';
import type { RoundTripState, RtInput, RtInputKind, RtRun, RtSettings } from '../../store/roundtripSlice';
import type { RunSummary } from '../../store/runsSlice';
import { useStore } from '../../store/store';
import { contactSheet, runToJson } from './export';
import { inputFromBlob, inputFromScene, rgbToPngDataUrl } from '../../lib/images';
import { foldLive } from './live';
import { decodingPolicy, policyLabel, sanitizeRtSettings } from './settings';

/** This panel's errors: the banner shows them on the roundtrip tab only. */
const showError = panelErrors('roundtrip');

/** Roles a round trip needs. */
export const ROUNDTRIP_ROLES = ['encoder', 'decoder', 'scorer'] as const;

/** Returns the roles `bundle` lacks for a round trip ([] = it can run one). */
export function missingRoles(bundle: BundleSummary | null): string[] {
  return bundle ? ROUNDTRIP_ROLES.filter((r) => !bundle.roles.includes(r)) : [...ROUNDTRIP_ROLES];
}

function patchRt(update: (rt: RoundTripState) => Partial<RoundTripState>): void {
  useStore.setState((s) => ({ runs: { ...s.runs, roundtrip: { ...s.runs.roundtrip, ...update(s.runs.roundtrip) } } }));
}

/** Applies `update` to the run on screen if it is still run `id` (a newer run or an opened one wins). */
function patchRun(id: string, update: (run: RtRun) => Partial<RtRun>): void {
  patchRt((rt) => (rt.current?.id === id ? { current: { ...rt.current, ...update(rt.current) } } : {}));
}

/** The model's input size: the loaded bundle's, else 64×64. */
function modelSize(): { W: number; H: number } {
  const img = useStore.getState().engine.bundle?.manifest.preprocessing.image;
  return { W: img?.width ?? 64, H: img?.height ?? 64 };
}

/** Where the current input came from, kept (outside the store: it may hold a Blob) to remake it at another size. */
type Source = { blob: Blob; kind: RtInputKind; label: string } | { seed: number; kind: RtInputKind; label: string };
let source: Source | null = null;

async function makeInput(W: number, H: number): Promise<RtInput | null> {
  if (!source) return null;
  return 'blob' in source
    ? inputFromBlob(source.blob, source.kind, source.label, W, H)
    : inputFromScene(source.seed, source.kind, source.label, W, H);
}

async function setSource(next: Source): Promise<void> {
  const previous = source;
  source = next;
  patchRt(() => ({ inputBusy: true }));
  try {
    const { W, H } = modelSize();
    const input = await makeInput(W, H);
    if (source === next) patchRt(() => ({ input, inputBusy: false }));
  } catch (e) {
    if (source === next) source = previous;
    patchRt(() => ({ inputBusy: false }));
    showError(toAppError(e, 'bad-image'));
  }
}

/**
 * Uses an image file (picked, dropped or pasted) as the input; it is decoded here and never uploaded. Its bytes,
 * not its name or type, decide whether it is an image; a refused file leaves the previous input in place.
 */
export function chooseImageFile(
  file: Blob,
  kind: 'file' | 'drop' | 'paste',
  label = file instanceof File ? file.name : 'pasted image',
): Promise<void> {
  return setSource({ blob: file, kind, label });
}

/** Uses Shapes scene sampleScene(seed) as the input. */
export function chooseScene(seed: number, kind: RtInputKind, label = `scene ${seed}`): Promise<void> {
  return setSource({ seed, kind, label });
}

/** The input made by preselectGalleryScene while it is still the one on screen (kept out of the URL). */
let preselected: Source | null = null;

/**
 * Makes the gallery's first scene the input when there is none yet, so a first visit can press Run as soon as
 * the bundle is loaded. A choice made meanwhile (a file, a link's scene) wins.
 */
export async function preselectGalleryScene(): Promise<void> {
  const [first] = await loadGallery();
  if (!first || source || useStore.getState().runs.roundtrip.input) return;
  const next: Source = { seed: first.seed, kind: 'gallery', label: `gallery scene ${first.id}` };
  preselected = next;
  await setSource(next);
}

/** Returns true while the input is still the preselected gallery scene (the user chose nothing yet). */
export function isPreselected(): boolean {
  return preselected !== null && preselected === source;
}

/** Uses a new random Shapes scene (its seed goes into the URL, so the link reproduces it). */
export function randomScene(): Promise<void> {
  const seed = crypto.getRandomValues(new Uint32Array(1))[0];
  return chooseScene(seed, 'random');
}

/** Changes round-trip settings (validated; invalid values fall back to defaults). */
export function setRtSettings(patch: Partial<RtSettings>): void {
  patchRt((rt) => ({ settings: sanitizeRtSettings({ ...rt.settings, ...patch }) }));
}

let running: { id: string; handle: RequestHandle<'roundtrip'> } | null = null;

/** Returns the history line of a finished run. */
export function summaryOf(run: RtRun): RunSummary {
  const last = run.loops[run.loops.length - 1];
  const sim = last ? ` · sim ${last.vsOriginal.sim.toFixed(3)}` : '';
  return {
    id: run.id,
    kind: 'roundtrip',
    seed: run.settings.seed,
    startedAt: run.startedAt,
    title: run.input.label,
    detail: `${run.loops.length} loops${sim} · ${policyLabel(run.settings.policy)} · ${run.bundle.id} · ${run.backend}`,
  };
}

/** Runs the round trip of the current input with the current settings and seed; stores it when it finishes. */
export async function startRoundTrip(): Promise<void> {
  const s = useStore.getState();
  const bundle = s.engine.bundle;
  const rt = s.runs.roundtrip;
  if (!bundle || !rt.input || missingRoles(bundle).length > 0 || running) return;
  const { W, H } = modelSize();
  const input = rt.input.width === W && rt.input.height === H ? rt.input : await makeInput(W, H);
  if (!input) return;
  const settings = {
    loops: rt.settings.loops,
    policy: decodingPolicy(rt.settings),
    steps: rt.settings.steps ?? bundle.manifest.defaults.flowSteps,
    seed: s.config.seed,
  };
  const run: RtRun = {
    id: crypto.randomUUID(),
    startedAt: Date.now(),
    finishedAt: null,
    status: 'running',
    settings,
    bundle: { id: bundle.id, name: bundle.name, version: bundle.version },
    backend: s.engine.backend ? backendLabel(s.engine.backend) : 'unknown',
    input,
    loops: [],
    error: null,
  };
  patchRt(() => ({ current: run, input, live: null }));
  // `stream`: the caption token by token and every flow step (previews at the worker's default interval) arrive as
  // progress partials, folded into `live`; each finished loop arrives as before and is appended to the run.
  const handle = engine().request(
    {
      type: 'roundtrip',
      image: input.modelView.slice(),
      width: W,
      height: H,
      ...settings,
      ...(input.scene ? { scene: input.scene } : {}),
      stream: {},
    },
    {
      lane: 'roundtrip',
      onPartial: (p) => {
        if (isRoundTripProgress(p)) patchRt((rt) => (rt.current?.id === run.id ? { live: foldLive(rt.live, run.id, p) } : {}));
        else patchRun(run.id, (r) => ({ loops: [...r.loops, p] }));
      },
    },
  );
  running = { id: run.id, handle };
  try {
    await handle.done;
    patchRun(run.id, () => ({ status: 'saving' }));
    const current = useStore.getState().runs.roundtrip.current;
    const finished: RtRun = { ...(current?.id === run.id ? current : run), status: 'finished', finishedAt: Date.now() };
    try {
      await saveRoundTrip(finished, summaryOf(finished));
      useStore.setState((st) => ({ runs: { ...st.runs, items: [summaryOf(finished), ...st.runs.items.filter((i) => i.id !== run.id)] } }));
      patchRun(run.id, () => ({ status: 'finished', finishedAt: finished.finishedAt }));
    } catch (e) {
      // Never silent: the run stays on screen, marked as not stored, and the banner says why (e.g. storage full).
      const error = storageError(e, `this run (${finished.input.label})`);
      patchRun(run.id, () => ({ status: 'finished', finishedAt: finished.finishedAt, error }));
      showError(error);
    }
  } catch (e) {
    const error = toAppError(e, 'run-failed');
    patchRun(run.id, () => (error.code === 'cancelled' ? { status: 'cancelled' } : { status: 'failed', error }));
  } finally {
    if (running?.id === run.id) running = null;
    patchRt((rt) => (rt.live?.runId === run.id ? { live: null } : {}));
  }
}

/** Cancels the running round trip (the loops done so far stay on screen, unsaved). */
export function cancelRoundTrip(): void {
  running?.handle.cancel();
}

/** Reads the stored history into `runs.items` (once per page load unless forced). */
export async function loadHistory(force = false): Promise<void> {
  if (useStore.getState().runs.roundtrip.historyLoaded && !force) return;
  try {
    const stored = await listRuns();
    useStore.setState((s) => ({
      runs: { ...s.runs, items: [...stored, ...s.runs.items.filter((i) => !stored.some((x) => x.id === i.id))] },
    }));
  } catch (e) {
    showError(toAppError(e, 'storage'));
  } finally {
    patchRt(() => ({ historyLoaded: true }));
  }
}

async function readRun(id: string): Promise<RtRun | null> {
  const have = useStore.getState().runs.roundtrip.opened[id];
  if (have) return have;
  const run = await getRoundTrip(id);
  if (!run) {
    showError({ code: 'storage', message: `run ${id} is not stored (or was stored by an older version)` });
    return null;
  }
  patchRt((rt) => ({ opened: { ...rt.opened, [id]: run } }));
  return run;
}

/** Shows stored run `id` as the run on screen (not while a run is going). */
export async function openStoredRun(id: string): Promise<void> {
  if (running) return;
  const run = await readRun(id);
  if (run) patchRt(() => ({ current: run }));
}

/** Ticks/unticks stored run `id` for comparison (keeps the last two ticked) and reads it. */
export async function toggleCompare(id: string): Promise<void> {
  patchRt((rt) => ({ compare: rt.compare.includes(id) ? rt.compare.filter((x) => x !== id) : [...rt.compare, id].slice(-2) }));
  if (useStore.getState().runs.roundtrip.compare.includes(id)) await readRun(id);
}

/** Deletes stored run `id`. */
export async function removeRun(id: string): Promise<void> {
  try {
    await deleteRun(id);
    useStore.setState((s) => ({ runs: { ...s.runs, items: s.runs.items.filter((i) => i.id !== id) } }));
    patchRt((rt) => {
      const { [id]: _gone, ...opened } = rt.opened;
      return { opened, compare: rt.compare.filter((x) => x !== id) };
    });
  } catch (e) {
    showError(toAppError(e, 'storage'));
  }
}

const fileStem = (run: RtRun): string => `roundtrip-${new Date(run.startedAt).toISOString().replace(/[:.]/g, '-')}`;

/** Downloads `run` as JSON (images as PNG data URLs). */
export async function exportRunJson(run: RtRun): Promise<void> {
  const doc = await runToJson(run, rgbToPngDataUrl);
  downloadBlob(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }), `${fileStem(run)}.json`);
}

/** Downloads `run` as a PNG contact sheet. */
export async function exportRunPng(run: RtRun): Promise<void> {
  try {
    downloadBlob(await contactSheet(run), `${fileStem(run)}.png`);
  } catch (e) {
    showError(toAppError(e, 'export'));
  }
}

/** One scene of public/gallery/index.json. */
export interface GalleryScene {
  id: string;
  file: string;
  seed: number;
  caption: string;
}

let gallery: Promise<GalleryScene[]> | null = null;

/** Returns the Shapes gallery (public/gallery/index.json), fetched once. */
export function loadGallery(): Promise<GalleryScene[]> {
  gallery ??= fetch(new URL('gallery/index.json', document.baseURI))
    .then((res) => {
      if (!res.ok) throw new Error(`gallery/index.json: HTTP ${res.status}`);
      return res.json() as Promise<{ scenes?: { id: string; file: string; seed: number; captions?: string[] }[] }>;
    })
    .then((doc) =>
      (doc.scenes ?? []).map((s) => ({ id: s.id, file: s.file, seed: s.seed, caption: s.captions?.[s.captions.length - 1] ?? '' })),
    )
    .catch((e: unknown) => {
      gallery = null;
      showError(toAppError(e, 'gallery'));
      return [];
    });
  return gallery;
}
