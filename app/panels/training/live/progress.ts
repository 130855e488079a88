// What the "Train live" section shows of a run, computed from the stored rows: the run as a RunLog (the same charts as
// the replays read it), the pace (seconds per step, time left), and the id and label of a run kept in the Runs list.
// Pure (unit-tested in Node).
import { parseRunLog, type RunLog } from '../../../../src/engine/runs/index.ts';
import { runJsonl } from '../../../../src/engine/train/export.ts';
import type { TrainConfig } from '../../../../src/engine/train/config.ts';
import { lengthPenaltySpecOf, rewardSpecOf } from '../../../../src/engine/train/specs.ts';
import type { LiveRun } from '../../../store/liveTrainSlice';

/** The live run's id on the charts. */
export const LIVE_RUN_ID = 'live-run';

/** Returns the run as the charts read it (its JSONL export parsed back), or null before it has a row. */
export function liveRunLog(run: Pick<LiveRun, 'log' | 'eval'>, label: string): RunLog | null {
  if (run.log.length === 0 && run.eval.length === 0) return null;
  return parseRunLog(runJsonl(run.log, run.eval), 'live-stage2.jsonl', { id: LIVE_RUN_ID, label });
}

/** The pace of a run: seconds per step measured since this request started, and the seconds left at that pace. */
export interface Pace {
  secondsPerStep: number | null;
  etaSeconds: number | null;
}

/** Returns the pace from the steps finished since `since` (performance.now() ms and the step it started at). */
export function pace(step: number, steps: number, since: { at: number; step: number } | null, lastStepAt: number | null): Pace {
  if (!since || lastStepAt === null || step <= since.step) return { secondsPerStep: null, etaSeconds: null };
  const secondsPerStep = (lastStepAt - since.at) / 1000 / (step - since.step);
  return { secondsPerStep, etaSeconds: Math.max(0, steps - step) * secondsPerStep };
}

/** Returns seconds as "42 s", "3 min 05 s" or "1 h 02 min". */
export function formatDuration(s: number): string {
  const t = Math.round(s);
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${String(t % 60).padStart(2, '0')} s`;
  return `${Math.floor(t / 3600)} h ${String(Math.floor((t % 3600) / 60)).padStart(2, '0')} min`;
}

/** Returns the last step the run logged or evaluated (0 before any). */
export function lastLiveStep(run: Pick<LiveRun, 'log' | 'eval'>): number {
  return Math.max(0, ...run.log.map((r) => r.step), ...run.eval.map((r) => r.step));
}

/** The settings that tell live runs apart, e.g. "β 0.3, G 8×8, lr 0.00004, sim" (the kept runs' and the live run's names). */
export function runSettingsName(c: TrainConfig): string {
  return `β ${c.beta}, G ${c.group}×${c.images}, lr ${c.lr}, ${rewardSpecOf(c.rewards)}`;
}

/**
 * The label of a live run kept in the Runs list: its settings that tell runs apart before the colon (the legends' name
 * of the run), the rest after it, e.g. "Kept run (β 0.3, G 8×8, lr 0.00004, sim): GRPO trained live in the page,
 * steps 0–12 (loss dapo, …)".
 */
export function keptRunLabel(c: TrainConfig, lastStep: number): string {
  const rest = [
    `loss ${c.lossType}`,
    `length penalty ${lengthPenaltySpecOf(c.lengthPenalty)}`,
    `temperature ${c.temperature}`,
    `flow steps ${c.flowSteps}`,
    `seed ${c.seed}`,
  ];
  return `Kept run (${runSettingsName(c)}): GRPO trained live in the page, steps 0–${lastStep} (${rest.join(', ')})`;
}

/** The id of a live run kept at `lastStep` (keeping it again at the same step finds it taken). */
export function keptRunId(runId: string, lastStep: number): string {
  return `${runId}-step${lastStep}`;
}
