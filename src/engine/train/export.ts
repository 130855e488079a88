/**
 * A trained bundle's parts, the same for `uae train --out` (files in a folder) and the Training tab's export (a zip):
 * where checkpoint graphs go, the run's log as JSONL under TRL's names, the manifest listing the checkpoints (the
 * last one as the 'encoder' role, the run under roles.runs). Free of jax-js, so the page can import it.
 */
import type { EncoderRole } from '../manifest.ts';
import type { TrainEvalRow, TrainLogRow } from './trainer.ts';

/** The run's id and file in a trained bundle. */
export const LIVE_RUN = { id: 'live-stage2', label: 'Stage 2: GRPO by uae train', stage: '2', path: 'runs/live-stage2.jsonl' };

/** Returns the bundle path of checkpoint `step`'s decoder graph (step 0: the cold start's own graph). */
export function checkpointPath(step: number, coldStart: string): string {
  return step === 0 ? coldStart : `checkpoints/step-${String(step).padStart(4, '0')}/decoder_model_merged.onnx`;
}

/** Returns the steps of the checkpoint graphs among bundle paths (the cold start's own graph excluded). */
export function checkpointSteps(paths: Iterable<string>, coldStart: string): number[] {
  return [...paths].flatMap((p) => {
    const m = /^checkpoints\/step-(\d+)\/decoder_model_merged\.onnx$/.exec(p);
    return m && p !== coldStart ? [Number(m[1])] : [];
  });
}

/** Returns the run as JSONL: one row per step (TRL's names), the evaluations as eval/* keys at their steps. */
export function runJsonl(log: readonly TrainLogRow[], evals: readonly TrainEvalRow[]): string {
  const byStep = new Map<number, Record<string, unknown>>();
  for (const r of log) byStep.set(r.step, { ...r });
  for (const e of evals) {
    const row = byStep.get(e.step) ?? { step: e.step };
    for (const [k, v] of Object.entries(e)) if (k !== 'step') row[`eval/${k}`] = v;
    byStep.set(e.step, row);
  }
  const lines = [...byStep.keys()].sort((a, b) => a - b).map((s) => JSON.stringify(byStep.get(s)));
  return `${lines.join('\n')}\n`;
}

/** One file of a bundle as its manifest lists it. */
export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * Returns the trained bundle's manifest: the source manifest's fields with roles.checkpoints at `steps` (0 = the cold
 * start `ref`), the last checkpoint as the 'encoder' role, `run` added to roles.runs, the checkpoint graphs' io entries
 * (the cold start's) and `files` as its file list.
 */
export function trainedManifest(
  source: Record<string, unknown>,
  ref: EncoderRole,
  steps: readonly number[],
  files: readonly ManifestFile[],
  run: { id: string; label: string; stage: string; path: string } = LIVE_RUN,
): Record<string, unknown> {
  const sorted = [...new Set([0, ...steps])].sort((a, b) => a - b);
  const roles = { ...(source.roles as Record<string, unknown>) };
  roles.encoder = { ...ref, decoder: checkpointPath(sorted[sorted.length - 1], ref.decoder) };
  roles.checkpoints = sorted.map((step) => ({
    step,
    label: step === 0 ? 'cold start (step 0)' : `GRPO step ${step}`,
    encoder: { vision: ref.vision, decoder: checkpointPath(step, ref.decoder) },
  }));
  const runs = ((roles.runs as { id: string }[] | undefined) ?? []).filter((r) => r.id !== run.id);
  roles.runs = [...runs, run];
  const paths = new Set(files.map((f) => f.path));
  const io = { ...(source.io as Record<string, unknown>) };
  for (const path of Object.keys(io)) if (path.startsWith('checkpoints/') && !paths.has(path)) delete io[path];
  for (const step of sorted) io[checkpointPath(step, ref.decoder)] = io[ref.decoder];
  const listed = [...files].sort((a, b) => a.path.localeCompare(b.path));
  return { ...source, io, roles, files: listed };
}
