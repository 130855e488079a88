/**
 * The built-in bundle requests: `loadBundle` (validated, verified files; sessions on the backend in use,
 * committed only once complete, so a failed load leaves the previous bundle in place) and `runGraph`
 * (one graph of the loaded bundle, for diagnostics and tests).
 */
import { crossOriginOf, loadBundleFromFiles, startBundleFromUrl, type BundleCache } from '../../engine/bundle.ts';
import { EngineError } from '../../engine/errors.ts';
import { deferredAtLoad, presentRoles, resolveRole } from '../../engine/roles.ts';
import { runSession } from '../../engine/tensors.ts';
import type { BundleSummary, ProgressEvent, RequestOf } from '../../protocol/messages.ts';
import type { EngineBackend } from '../backend.ts';
import { defineJob, type RequestContext } from '../job.ts';

/** Where bundles come from: fetch, the Cache API store, the app's origin (absent: no cross-origin check). */
export interface BundleSourceDeps {
  fetch?: (url: string) => Promise<Response>;
  cache?: BundleCache;
  origin?: string;
}

/** Returns the loaded bundle's summary after loading `req.source` and opening its sessions on `backend`. */
export async function loadBundle(
  backend: EngineBackend,
  deps: BundleSourceDeps,
  req: RequestOf<'loadBundle'>,
  ctx: RequestContext<'loadBundle'>,
): Promise<BundleSummary> {
  const info = backend.info() ?? (await backend.init('auto'));
  const opts = {
    fetch: deps.fetch,
    cache: deps.cache,
    checkCancelled: ctx.checkCancelled,
    // Checkpoints, the reference encoder, backbones, the card and runs are fetched on their first use.
    defer: deferredAtLoad,
    onProgress: (p: Omit<ProgressEvent, 'type' | 'id'>) => ctx.progress(p),
  };
  const src = req.source;
  if (src?.kind !== 'url' && src?.kind !== 'files')
    throw new EngineError('bad-request', "loadBundle: source.kind must be 'url' or 'files'");
  const foreign = src.kind === 'url' && deps.origin !== undefined ? crossOriginOf(src.baseUrl, deps.origin) : undefined;
  if (foreign !== undefined && src.kind === 'url' && src.allowCrossOrigin !== true) {
    throw new EngineError('cross-origin', `${src.baseUrl}: the bundle is on another origin (${foreign}) and loading it was not confirmed`);
  }
  // From a URL, each session is created as soon as its file is in, while the rest download.
  const source = src.kind === 'url' ? await startBundleFromUrl(src.baseUrl, opts) : await loadBundleFromFiles(src.files, opts);
  ctx.checkCancelled();
  const sessions = await backend.openSessions(source, info, ctx);
  const { bundle } = sessions;
  try {
    ctx.checkCancelled();
  } catch (e) {
    await sessions.release();
    throw e;
  }
  // Commit only now: a failed load leaves the previous bundle in place.
  const inUse = await backend.commit(bundle, sessions, info);
  const m = bundle.manifest;
  return {
    id: m.id,
    name: m.name,
    version: m.version,
    manifest: m,
    files: bundle.info,
    roles: presentRoles(m),
    sessions: sessions.openPaths(),
    backend: inUse,
  };
}

/** Registers the `runGraph` handler on a host: one run of a bundle file or role graph, progress 0/1 and 1/1. */
export const registerRunGraph = defineJob('runGraph', {
  roles: [],
  check(req, bundle) {
    const target = req.target;
    if (target && 'file' in target) {
      if (!bundle.manifest.files.some((f) => f.path === target.file))
        throw new EngineError('bad-request', `${target.file}: not a file of bundle ${bundle.manifest.id}`);
      return target.file;
    }
    if (target && 'role' in target) return resolveRole(bundle.manifest, target.role);
    throw new EngineError('bad-request', 'runGraph: target must be {file} or {role}');
  },
  async run({ req, params: path, request, host, sessions }) {
    const session = await sessions.get(path);
    request.checkCancelled();
    request.progress({ phase: 'run', loaded: 0, total: 1, file: path });
    const outputs = await runSession(host.deps.ort, host.tracker, session, req.feeds ?? {}, req.fetches, path);
    request.progress({ phase: 'run', loaded: 1, total: 1, file: path });
    return { outputs };
  },
});
