/** Training-run logs normalised to one shape, whatever file they came from. Plain, serialisable data. */

/** One logged number: `value` at training `step` (units of the metric). */
export interface RunPoint {
  step: number;
  value: number;
}

/** One logged string (e.g. `eval/sample_caption`) at training `step`. */
export interface RunTextPoint {
  step: number;
  value: string;
}

/** The file formats a run log can be read from. */
export type RunFormat = 'jsonl' | 'csv' | 'trainer_state';

/** Where a run came from: a bundle's `roles.runs` entry, or a file the user imported. */
export interface RunSource {
  kind: 'bundle' | 'import';
  format: RunFormat;
  /** The file name (import) or bundle path (bundle). */
  file: string;
  /** Bundle id, for bundle runs. */
  bundle?: string;
  /** Training stage from the manifest (bundle runs). */
  stage?: string;
  /** The id of the Train live run it was kept from (a live run added to the Runs list; kind 'import'). */
  keptFrom?: string;
}

/**
 * A run: every numeric key is a series sorted by step (one point per step: a later log line for the
 * same step and key replaces an earlier one); every string key is a text series.
 */
export interface RunLog {
  id: string;
  label: string;
  source: RunSource;
  series: Record<string, RunPoint[]>;
  text: Record<string, RunTextPoint[]>;
  /** Keys renamed on reading (series or text key → the key as the file wrote it), e.g. `eval/loss` ← `eval_loss`. */
  loggedAs?: Record<string, string>;
}

/** Why a file is not a readable run log. */
export type RunErrorCode = 'run-empty' | 'run-unrecognized' | 'run-jsonl' | 'run-csv' | 'run-trainer-state' | 'run-no-metrics';

/** A file that could not be read as a run; `message` starts with the file name and says what was wrong. */
export class RunParseError extends Error {
  constructor(
    readonly code: RunErrorCode,
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'RunParseError';
  }
}
