// Actions: plain module functions. Components call these; these call the engine and write the store.
import { crossOriginOf } from '../src/engine/bundle.ts';
import type { RestartInfo } from '../src/client/supervisor.ts';
import type { BundleSource, ProgressEvent } from '../src/protocol/messages.ts';
import { engine, onEngineRestart } from './engine';
import { toAppError } from './lib/errors';
import { readLocalFiles, type LocalFile } from './lib/folder';
import { dropPending, flushFrame, setOnNextFrame } from './store/frame';
import { useStore, type Store } from './store/store';
import type { BackendChoice, BundleListing, LoadProgress, Tab } from './store/types';

/** Where a bundle comes from. Not store data: it holds File handles. */
type Origin =
  { kind: 'url'; label: string; baseUrl: string; allowCrossOrigin?: boolean } | { kind: 'files'; label: string; files: LocalFile[] };

/** The origin of the bundle loaded last (reloaded into a restarted worker). */
let lastOrigin: Origin | null = null;

const PROGRESS_KEY = 'bundle-progress';

function patchEngine(patch: Partial<Store['engine']>): void {
  useStore.setState((s) => ({ engine: { ...s.engine, ...patch } }));
}

/** Returns `prev` updated by one progress event: overall bytes, and the event's file line. */
export function applyProgress(prev: LoadProgress | null, ev: ProgressEvent): LoadProgress {
  const files = prev?.files.slice() ?? [];
  if (ev.file !== undefined && ev.fileTotal !== undefined) {
    const line = { path: ev.file, loaded: ev.fileLoaded ?? 0, total: ev.fileTotal };
    const i = files.findIndex((f) => f.path === ev.file);
    if (i >= 0) files[i] = line;
    else files.push(line);
  }
  return { phase: ev.phase, loaded: ev.loaded, total: ev.total, files };
}

/** Boots the page: subscribes to backend events, starts the engine, fetches the catalog, loads the bundle. */
export async function startApp(): Promise<void> {
  engine().onBackend((backend) => patchEngine({ backend }));
  engine().onActivity((activity) => patchEngine({ activity }));
  onEngineRestart((info) => void recoverEngine(info));
  const ready = initEngine(useStore.getState().config.backend);
  const catalog = await loadCatalog();
  if (!(await ready)) return;
  const wanted = useStore.getState().config.bundle ?? catalog?.defaultId;
  if (!wanted) return;
  if (catalog?.bundles.some((b) => b.id === wanted)) await loadBundleById(wanted);
  else await loadBundleFromUrl(wanted);
}

/**
 * Inits the engine on `choice`. On failure the previous backend stays in use (the worker keeps it); on a
 * first start it retries with Auto so the page never ends up without an engine. Returns true when ready.
 */
async function initEngine(choice: BackendChoice): Promise<boolean> {
  const hadBackend = useStore.getState().engine.backend !== null;
  patchEngine({ status: 'starting' });
  try {
    const backend = await engine().init(choice).done;
    patchEngine({ status: 'ready', backend });
    return true;
  } catch (e) {
    const error = toAppError(e, 'backend-unavailable');
    if (hadBackend) {
      patchEngine({ status: 'ready', error });
      return true;
    }
    if (choice !== 'auto' && (await initEngine('auto'))) {
      patchEngine({ error });
      return true;
    }
    patchEngine({ status: 'failed', error });
    return false;
  }
}

/**
 * After the engine worker died and a new one started: says so, inits the new worker on the chosen backend
 * and reloads the bundle that was loaded. Requests that were running failed with 'worker-crashed'.
 */
async function recoverEngine(info: RestartInfo): Promise<void> {
  dropPending(PROGRESS_KEY);
  // The bundle is being reloaded from here on (nothing may be sent to it before): `loading` says so at once.
  const reload = info.restarted ? lastOrigin : null;
  patchEngine({
    restart: { ...info, at: Date.now() },
    activity: { running: null, queued: 0 },
    loading: reload ? { source: reload.label, progress: null } : null,
    backend: null,
  });
  if (!info.restarted) {
    patchEngine({
      status: 'failed',
      error: {
        code: 'worker-crashed',
        message: `${info.reason}; the engine was restarted ${info.restarts - 1} times and is now stopped: reload the page`,
      },
    });
    return;
  }
  if (!(await initEngine(useStore.getState().config.backend))) return;
  if (lastOrigin) await loadFromOrigin(lastOrigin, false);
}

/** Fetches public/models/index.json into the store; returns it, or null (and shows why) on failure. */
export async function loadCatalog(): Promise<Store['ui']['catalog']> {
  try {
    const res = await fetch(new URL('models/index.json', document.baseURI));
    if (!res.ok) throw new Error(`models/index.json: HTTP ${res.status}`);
    const raw = (await res.json()) as { default?: unknown; bundles?: unknown };
    if (typeof raw.default !== 'string' || !Array.isArray(raw.bundles)) throw new Error('models/index.json: needs "default" and "bundles"');
    const bundles = (raw.bundles as BundleListing[]).filter((b) => typeof b?.id === 'string' && typeof b?.name === 'string');
    const catalog = { defaultId: raw.default, bundles };
    useStore.setState((s) => ({ ui: { ...s.ui, catalog } }));
    return catalog;
  } catch (e) {
    patchEngine({ error: toAppError(e, 'catalog') });
    return null;
  }
}

/** Switches backend: the worker re-inits and moves the loaded bundle's sessions to the new backend. */
export async function chooseBackend(choice: BackendChoice): Promise<void> {
  useStore.setState((s) => ({ config: { ...s.config, backend: choice } }));
  await initEngine(choice);
}

/** Loads a catalog bundle (public/models/<id>/) and remembers it in the shareable config. */
export function loadBundleById(id: string): Promise<void> {
  const baseUrl = new URL(`models/${encodeURIComponent(id)}/`, document.baseURI).href;
  return loadFromOrigin({ kind: 'url', label: id, baseUrl }, true, id);
}

/**
 * Loads a bundle from a folder URL (the folder holding manifest.json). A URL on another origin is not
 * fetched until the user agreed (answerOriginPrompt); the app shell shows the question above every tab.
 */
export function loadBundleFromUrl(url: string): Promise<void> {
  let baseUrl: string;
  try {
    const u = new URL(url.trim(), document.baseURI);
    if (u.pathname.endsWith('/manifest.json')) u.pathname = u.pathname.slice(0, -'manifest.json'.length);
    else if (!u.pathname.endsWith('/')) u.pathname += '/';
    baseUrl = u.href;
  } catch {
    patchEngine({ error: { code: 'bad-url', message: `not a URL: ${url}` } });
    return Promise.resolve();
  }
  const foreign = crossOriginOf(baseUrl, window.location.origin);
  if (foreign !== undefined) {
    patchEngine({ originPrompt: { url: url.trim(), baseUrl, origin: foreign } });
    setTab('bundle');
    return Promise.resolve();
  }
  return loadFromOrigin({ kind: 'url', label: baseUrl, baseUrl }, true, url.trim());
}

/** Answers the other-origin question: yes loads that bundle (and remembers it), no loads nothing. */
export function answerOriginPrompt(accept: boolean): Promise<void> {
  const prompt = useStore.getState().engine.originPrompt;
  patchEngine({ originPrompt: null });
  if (!prompt || !accept) return Promise.resolve();
  return loadFromOrigin({ kind: 'url', label: prompt.baseUrl, baseUrl: prompt.baseUrl, allowCrossOrigin: true }, true, prompt.url);
}

/** Loads a bundle from local files (folder picker or drop). Not shareable, so the config is untouched. */
export function loadBundleFromFiles(files: LocalFile[], label: string): Promise<void> {
  if (files.length === 0) {
    patchEngine({ error: { code: 'no-files', message: 'the folder is empty' } });
    return Promise.resolve();
  }
  return loadFromOrigin({ kind: 'files', label, files }, false);
}

let currentLoad: { id: string; cancel(): void } | null = null;

async function loadFromOrigin(origin: Origin, remember: boolean, configValue?: string): Promise<void> {
  patchEngine({ loading: { source: origin.label, progress: null }, error: null });
  let handle: ReturnType<ReturnType<typeof engine>['loadBundle']> | null = null;
  try {
    const source: BundleSource =
      origin.kind === 'url'
        ? { kind: 'url', baseUrl: origin.baseUrl, ...(origin.allowCrossOrigin ? { allowCrossOrigin: true } : {}) }
        : { kind: 'files', files: await readLocalFiles(origin.files) };
    handle = engine().loadBundle(source, (ev) =>
      setOnNextFrame(PROGRESS_KEY, (s) => ({
        engine: {
          ...s.engine,
          loading: s.engine.loading && { ...s.engine.loading, progress: applyProgress(s.engine.loading.progress, ev) },
        },
      })),
    );
    currentLoad = handle;
    const bundle = await handle.done;
    flushFrame();
    lastOrigin = origin;
    patchEngine({ bundle, bundleOrigin: { kind: origin.kind, label: origin.label }, loading: null, error: null });
    warmUpEngine(bundle.id, bundle.roles);
    if (remember && configValue !== undefined) useStore.setState((s) => ({ config: { ...s.config, bundle: configValue } }));
  } catch (e) {
    dropPending(PROGRESS_KEY);
    const error = toAppError(e);
    // A load superseded by a newer one leaves `loading` to the newer one; a user cancel is not an error.
    if (error.code === 'cancelled') {
      if (currentLoad === handle) patchEngine({ loading: null });
      return;
    }
    patchEngine({ loading: null, error });
  } finally {
    if (currentLoad === handle) currentLoad = null;
  }
}

/**
 * Warms the freshly loaded bundle's sessions up in the worker (src/engine/infer/warmup.ts) so the first round trip
 * runs at steady speed; any request sent meanwhile pre-empts it (the worker's queue), so nobody waits on it.
 */
function warmUpEngine(bundleId: string, roles: readonly string[]): void {
  if (!['encoder', 'decoder', 'scorer'].every((r) => roles.includes(r))) return;
  patchEngine({ warmUp: { status: 'running', bundleId } });
  engine()
    .request({ type: 'warmUp' }, { lane: 'warmUp' })
    .done.then(
      (r) => patchEngine({ warmUp: { status: 'done', bundleId, roundsMs: r.roundsMs, stoppedBy: r.stoppedBy } }),
      (e: unknown) => {
        const error = toAppError(e);
        patchEngine({ warmUp: { status: error.code === 'cancelled' ? 'gave-way' : 'failed', bundleId, message: error.message } });
      },
    );
}

/** Cancels the bundle download in progress (the previous bundle stays loaded). */
export function cancelLoad(): void {
  currentLoad?.cancel();
}

/** Hides the error banner. */
export function dismissError(): void {
  patchEngine({ error: null });
}

/** Shows a tab. */
export function setTab(tab: Tab): void {
  useStore.setState((s) => ({ ui: { ...s.ui, tab } }));
}

/** Sets the seed every sampled run uses (shareable via the URL). */
export function setSeed(seed: number): void {
  if (Number.isInteger(seed) && seed >= 0) useStore.setState((s) => ({ config: { ...s.config, seed } }));
}
