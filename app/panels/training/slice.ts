// The Training panel's state: runs (the bundle's recorded ones and imported logs), which are overlaid, the
// replay clock anchors, extra charts, the scrubber's checkpoint. Plain data only. It sits in the runs
// slice as `runs.training`, beside the round trip's live state.
import type { ReplayState, RunLog } from '../../../src/engine/runs/index.ts';

/** Replay speeds offered (× the base rate, which plays a whole run in REPLAY_SECONDS). */
export const SPEEDS = [0.5, 1, 2, 4, 8] as const;
/** Seconds a whole run takes to replay at 1×. */
export const REPLAY_SECONDS = 20;

export interface TrainingState {
  /** Bundle runs first (manifest order), then imported runs (import order). */
  runs: RunLog[];
  /** Ids of the runs drawn on the charts (overlay), in `runs` order. */
  shown: string[];
  /** null until some run is shown. */
  replay: ReplayState | null;
  /** × the base rate; one of SPEEDS. */
  speed: number;
  /** `<id>@<version>` of the bundle whose runs are in `runs`; null when none. */
  bundleKey: string | null;
  /** Set while the bundle's runs are being fetched. */
  bundleLoading: boolean;
  /** Why the bundle's runs could not be shown (e.g. a bundle from local files), for the panel to say. */
  bundleNote: string | null;
  /** Keys without a chart of their own that the user chose to chart. */
  extraKeys: string[];
  /** Index into the bundle's `roles.checkpoints` chosen in the scrubber. */
  checkpoint: number;
  /** True once imported runs were read back from IndexedDB. */
  restored: boolean;
}

export const initialTraining: TrainingState = {
  runs: [],
  shown: [],
  replay: null,
  speed: 1,
  bundleKey: null,
  bundleLoading: false,
  bundleNote: null,
  extraKeys: [],
  checkpoint: 0,
  restored: false,
};
