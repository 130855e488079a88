/** A ratio of two timings in the benchmark's results, and how it was formed. */
export interface Ratio {
  name: string;
  /** numerator / denominator of medians (and of minima, steadier under a loaded machine); the trainer's: of means. */
  median: number;
  min: number;
  detail: string;
  /** The goal for it, when it has one (e.g. "≤ 2"). */
  goal?: string;
}
