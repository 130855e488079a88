/**
 * The `trainExport` request handler: the trained bundle of a live run, as the files of a bundle folder. The loaded
 * bundle's files (its own checkpoint graphs left out, the cold start kept), one decoder graph per checkpoint holding
 * its float32 weights (the cold start's graph with new initializers), the run's log (runs/live-stage2.jsonl, TRL's
 * names) and a manifest listing the checkpoints with every file's size and sha256: what `uae` and the app load.
 */
import { bundleFile } from '../../engine/bundle.ts';
import { EngineError } from '../../engine/errors.ts';
import { archFromWeights, graphWithParams } from '../../engine/train/bundle-weights.ts';
import { checkpointPath, LIVE_RUN, runJsonl, trainedManifest, type ManifestFile } from '../../engine/train/export.ts';
import { readWeights } from '../../engine/train/onnx-weights.ts';
import type { TrainExportParams } from '../../protocol/train.ts';
import { defineJob } from '../job.ts';

async function sha256(data: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', data.slice().buffer);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Returns `raw` as checked TrainExportParams, or throws EngineError('bad-request') naming the bad field. */
export function checkTrainExportParams(raw: unknown): TrainExportParams {
  const p = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<keyof TrainExportParams, unknown>>;
  const bad = (m: string) => new EngineError('bad-request', `trainExport: ${m}`);
  if (!Array.isArray(p.checkpoints) || p.checkpoints.length === 0) throw bad('checkpoints must be a non-empty array');
  p.checkpoints.forEach((c: { step?: unknown; params?: unknown }, i) => {
    if (typeof c?.step !== 'number' || !Number.isInteger(c.step) || c.step < 1) throw bad(`checkpoints[${i}].step must be an integer ≥ 1`);
    const ok = typeof c.params === 'object' && c.params !== null && Object.values(c.params).every((v) => v instanceof Float32Array);
    if (!ok) throw bad(`checkpoints[${i}].params must hold float32 arrays by parameter name`);
  });
  if (!Array.isArray(p.log) || !Array.isArray(p.eval)) throw bad('log and eval must be arrays of rows');
  if (typeof p.label !== 'string' || p.label === '') throw bad('label must be a non-empty string');
  return p as TrainExportParams;
}

/** Registers the `trainExport` handler on a host. */
export const registerTrainExport = defineJob('trainExport', {
  roles: ['referenceEncoder'],
  check: (req) => checkTrainExportParams(req),
  async run({ params: p, request, bundle, manifest }) {
    const ref = manifest.roles.referenceEncoder;
    const referenceGraph = ref ? await bundleFile(bundle, ref.decoder) : undefined;
    if (!ref || !referenceGraph) throw new EngineError('bad-request', `trainExport: bundle ${manifest.id} has no cold start decoder graph`);
    const arch = archFromWeights(readWeights(referenceGraph), ref.numHeads);
    const old = new Set((manifest.roles.checkpoints ?? []).map((c) => c.encoder.decoder));
    const files = new Map<string, Uint8Array>();
    for (const { path } of manifest.files) {
      if (path === 'manifest.json' || (old.has(path) && path !== ref.decoder && path !== ref.vision)) continue;
      request.checkCancelled();
      // Files the load left for their first use (the model card, the backbone, recorded runs) are fetched now.
      files.set(path, await bundleFile(bundle, path));
    }
    const steps = [...new Set(p.checkpoints.map((c) => c.step))].sort((a, b) => a - b);
    for (const c of p.checkpoints) {
      request.checkCancelled();
      try {
        files.set(checkpointPath(c.step, ref.decoder), graphWithParams(referenceGraph, c.params, arch, 'float32'));
      } catch (e) {
        throw new EngineError('bad-request', `trainExport: checkpoint ${c.step}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    files.set(LIVE_RUN.path, new TextEncoder().encode(runJsonl(p.log, p.eval)));
    const listed: ManifestFile[] = [];
    for (const [path, data] of files) listed.push({ path, bytes: data.length, sha256: await sha256(data) });
    const last = steps[steps.length - 1];
    const version = `${manifest.version}-live.${last}`;
    const trained = {
      ...trainedManifest(manifest as unknown as Record<string, unknown>, ref, steps, listed, { ...LIVE_RUN, label: p.label }),
      version,
      name: `${manifest.name} (trained live to step ${last})`,
    };
    const out = [...files].map(([path, data]) => ({ path, data: data.slice().buffer }));
    out.push({ path: 'manifest.json', data: new TextEncoder().encode(`${JSON.stringify(trained, null, 2)}\n`).buffer });
    return { files: out, id: manifest.id, version };
  },
});
