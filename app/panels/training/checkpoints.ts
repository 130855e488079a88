// What the scrubber says about the bundle's encoder checkpoints: how many and of what, and which of the
// panel's runs they belong to. Pure (unit-tested in Node).
import type { CheckpointEntry } from '../../../src/engine/manifest.ts';
import { resolveKey, TRAINING_CHARTS, type RunLog } from '../../../src/engine/runs/index.ts';
import type { LiveRun } from '../../store/liveTrainSlice';

/** A point of the scrubber: a checkpoint of the bundle's manifest, or one of the run trained in the page (`live`). */
export type ScrubberCheckpoint = Pick<CheckpointEntry, 'step' | 'label'> & { live?: { runId: string } };

/**
 * Returns the scrubber's points: the bundle's checkpoints, then the stored checkpoints of the run trained live on this
 * bundle (`bundleKey`: `<id>@<version>`; a run of another bundle lists none).
 */
export function scrubberCheckpoints(
  bundle: readonly CheckpointEntry[],
  run: Pick<LiveRun, 'id' | 'bundleKey' | 'checkpoints'> | null,
  bundleKey: string | null,
): ScrubberCheckpoint[] {
  const own: ScrubberCheckpoint[] = bundle.map((c) => ({ step: c.step, label: c.label }));
  if (!run || run.bundleKey !== bundleKey) return own;
  const live = [...run.checkpoints]
    .sort((a, b) => a - b)
    .map((step) => ({ step, label: `live run step ${step}`, live: { runId: run.id } }));
  return [...own, ...live];
}

/**
 * Returns what the scrubber's points are, counted from the manifest's `roles.checkpoints`: e.g.
 * "11 points: the cold start (step 0) + 10 checkpoints (steps 10–100)". A step-0 entry is the encoder
 * before RL (the cold start), not a training checkpoint.
 */
export function checkpointSummary(checkpoints: readonly Pick<CheckpointEntry, 'step'>[]): string {
  const n = checkpoints.length;
  const trained = checkpoints.filter((c) => c.step > 0).map((c) => c.step);
  const cold = n - trained.length;
  const plural = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  const steps =
    trained.length === 0 ? '' : trained.length === 1 ? ` (step ${trained[0]})` : ` (steps ${Math.min(...trained)}–${Math.max(...trained)})`;
  const parts = [...(cold > 0 ? [cold === 1 ? 'the cold start (step 0)' : `${cold} cold starts (step 0)`] : [])];
  if (trained.length > 0) parts.push(`${plural(trained.length, 'checkpoint')}${steps}`);
  return `${plural(n, 'point')}: ${parts.join(' + ')}`;
}

/**
 * Returns the runs the bundle's encoder checkpoints come from: the bundle's recorded runs that train the
 * encoder (they log its caption lengths, TRL's `completions/mean_length`), else all the bundle's runs.
 * Imported runs never own them.
 */
export function checkpointOwners(runs: readonly RunLog[]): RunLog[] {
  const bundle = runs.filter((r) => r.source.kind === 'bundle');
  const length = TRAINING_CHARTS.find((c) => c.id === 'length')?.lines[0];
  const encoder = length ? bundle.filter((r) => resolveKey(r, length) !== undefined) : [];
  return encoder.length > 0 ? encoder : bundle;
}

/**
 * Returns the label(s) of the runs the checkpoints belong to when some runs are shown but none of them is
 * one (e.g. only an imported run is shown), else null: the scrubber then evaluates nothing and says whose
 * checkpoints they are, instead of passing the bundle's snapshots off as the shown run's.
 */
export function foreignCheckpoints(runs: readonly RunLog[], shown: readonly string[]): string | null {
  const owners = checkpointOwners(runs);
  if (owners.length === 0 || shown.length === 0 || owners.some((r) => shown.includes(r.id))) return null;
  return owners.map((r) => `“${r.label}”`).join(' or ');
}
