// The training slice's run list as one consistent unit: the runs, the ones shown and the replay over them.
// The Training panel's actions and the runs archive (which restores imported runs) both go through here.
import { createReplay, setRange, setSpeed, stepRange, type ReplayState, type RunLog } from '../../src/engine/runs/index.ts';
import { useStore } from '../store/store';
import { REPLAY_SECONDS, type TrainingState } from '../store/trainingSlice';

/** The replay clock (ms). */
export const now = (): number => performance.now();

/** Returns the training slice now. */
export function training(): TrainingState {
  return useStore.getState().runs.training;
}

/** Applies `update` to the training slice. */
export function patchTraining(update: (t: TrainingState) => Partial<TrainingState>): void {
  useStore.setState((s) => ({ runs: { ...s.runs, training: { ...s.runs.training, ...update(s.runs.training) } } }));
}

/** Returns the replay over the shown runs: created, re-ranged and re-rated when the runs shown change. */
export function replayFor(runs: RunLog[], shown: string[], replay: ReplayState | null, speed: number, at: number): ReplayState | null {
  const range = stepRange(runs.filter((r) => shown.includes(r.id)));
  if (!range) return null;
  const rate = (Math.max(range[1] - range[0], 1) / REPLAY_SECONDS) * speed;
  if (!replay) return createReplay(range[0], range[1], rate, at);
  return setSpeed(setRange(replay, range[0], range[1], at), rate, at);
}

/** Applies new runs / shown ids, keeping the replay consistent with them. */
export function setRuns(runs: RunLog[], shown: string[], extra: Partial<TrainingState> = {}): void {
  const at = now();
  patchTraining((t) => {
    const order = runs.map((r) => r.id).filter((id) => shown.includes(id));
    return { ...extra, runs, shown: order, replay: replayFor(runs, order, t.replay, t.speed, at) };
  });
}

/** Shows runs restored from a runs archive (ids the panel already has are skipped). */
export function addRestoredRuns(runs: RunLog[]): void {
  const t = training();
  const taken = new Set(t.runs.map((r) => r.id));
  const fresh = runs.filter((r) => !taken.has(r.id));
  if (fresh.length > 0) setRuns([...t.runs, ...fresh], [...t.shown, ...fresh.map((r) => r.id)]);
}
