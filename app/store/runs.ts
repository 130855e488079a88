/**
 * Results of round trips, rollouts and training runs. Empty until the panels that produce them
 * land (later issues); the slice exists now so those panels add data, not store plumbing.
 */
export interface RunSummary {
  id: string;
  kind: 'roundtrip' | 'rollouts' | 'training';
  seed: number;
  startedAt: number;
}

export interface RunsState {
  items: RunSummary[];
}

export const initialRuns: RunsState = { items: [] };
