import { initialBench, type BenchState } from './benchSlice';
import { initialLiveTrain, type LiveTrainState } from './liveTrainSlice';
import { initialRollouts, type RolloutsState } from './rolloutsSlice';
import { initialRoundTrip, type RoundTripState } from './roundtripSlice';
import { initialTraining, type TrainingState } from './trainingSlice';

/**
 * Results of round trips, rollouts and training runs. `items` is the stored history (newest first) every
 * panel lists; a panel's own live state sits beside it (round trips: `roundtrip`).
 */
export interface RunSummary {
  id: string;
  kind: 'roundtrip' | 'rollouts' | 'training';
  seed: number;
  startedAt: number;
  /** What the run was on, e.g. the input's name. */
  title?: string;
  /** One line of outcome, e.g. "3 loops · sim 0.81 · uae-shapes". */
  detail?: string;
}

export interface RunsState {
  items: RunSummary[];
  roundtrip: RoundTripState;
  rollouts: RolloutsState;
  training: TrainingState;
  liveTrain: LiveTrainState;
  bench: BenchState;
}

export const initialRuns: RunsState = {
  items: [],
  roundtrip: initialRoundTrip,
  rollouts: initialRollouts,
  training: initialTraining,
  bench: initialBench,
  liveTrain: initialLiveTrain,
};
