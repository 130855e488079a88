// The loaded bundle's recorded runs (manifest roles.runs): fetched from the bundle's folder URL, checked
// against the manifest's size + sha256 like every bundle file, then parsed.
import { verifyFile } from '../../../src/engine/bundle.ts';
import type { BundleManifest } from '../../../src/engine/manifest.ts';
import { parseRunLog, type RunLog } from '../../../src/engine/runs/index.ts';
import { toAppError } from '../../lib/errors';
import type { AppError } from '../../store/types';

/** Where the loaded bundle came from, as the engine slice records it. */
export type BundleOrigin = { kind: 'url' | 'files'; label: string } | null;

/**
 * Returns the folder URL of a bundle loaded from a URL: the origin label is either an absolute URL (a
 * bundle loaded by URL) or a catalog id (served from `models/<id>/`). Null for local files.
 */
export function bundleBaseUrl(origin: BundleOrigin, documentBase: string): string | null {
  if (!origin || origin.kind !== 'url') return null;
  try {
    const u = new URL(origin.label);
    return u.href.endsWith('/') ? u.href : `${u.href}/`;
  } catch {
    return new URL(`models/${encodeURIComponent(origin.label)}/`, documentBase).href;
  }
}

/** Returns the id a bundle run gets in the panel (prefixed so it never collides with an import). */
export function bundleRunId(runId: string): string {
  return `bundle:${runId}`;
}

/** Fetches, verifies and parses every run of `manifest`; returns the runs read and an error per run that failed. */
export async function fetchBundleRuns(
  manifest: BundleManifest,
  baseUrl: string,
  fetcher: typeof fetch = fetch,
): Promise<{ runs: RunLog[]; errors: AppError[] }> {
  const runs: RunLog[] = [];
  const errors: AppError[] = [];
  for (const entry of manifest.roles.runs ?? []) {
    try {
      const url = new URL(entry.path.split('/').map(encodeURIComponent).join('/'), baseUrl).href;
      const res = await fetcher(url);
      if (!res.ok)
        throw {
          code: res.status === 404 ? 'missing-file' : 'fetch-failed',
          message: `${entry.path}: not found at ${url} (HTTP ${res.status})`,
        };
      let bytes: Uint8Array = new Uint8Array(await res.arrayBuffer());
      const listed = manifest.files.find((f) => f.path === entry.path);
      if (listed) bytes = await verifyFile(listed, bytes);
      const text = new TextDecoder().decode(bytes);
      runs.push(
        parseRunLog(text, entry.path, {
          id: bundleRunId(entry.id),
          label: entry.label,
          source: { kind: 'bundle', bundle: manifest.id, stage: String(entry.stage) },
        }),
      );
    } catch (e) {
      errors.push(toAppError(e, 'fetch-failed'));
    }
  }
  return { runs, errors };
}
