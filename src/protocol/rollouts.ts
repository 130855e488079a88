/**
 * The `rollouts` request: B images × G sampled captions, reconstructed, scored and turned into GRPO's
 * numbers in the worker. Partials stream as the run goes (the images, sampling progress, then each batch
 * of finished rollouts, each event with its own copies of the arrays); the result is the GRPO summary.
 */
import type {
  RolloutImage,
  RolloutImageSource,
  RolloutPhase,
  RolloutRecord,
  RolloutSettings,
  RolloutsSummary,
} from '../engine/rollouts/index.ts';

/** Parameters of a rollouts run (besides `type` and `id`). */
export interface RolloutsParams {
  /** One source per image: B = sources.length (batch mode when B > 1). */
  sources: RolloutImageSource[];
  settings: RolloutSettings;
}

/** What streams while a run goes. */
export type RolloutsPartial =
  | { kind: 'inputs'; images: RolloutImage[] }
  | { kind: 'progress'; phase: RolloutPhase; done: number; total: number }
  | { kind: 'sampled'; captions: number; decoderRuns: number; ms: number }
  | { kind: 'rollouts'; rollouts: RolloutRecord[]; scored: number; total: number };

/** The result: the GRPO summary, and the bundle that produced it. */
export type RolloutsResult = RolloutsSummary & { bundleId: string };

/** The protocol registry entry (messages.ts adds it to RequestSpecs). */
export interface RolloutsSpec {
  params: RolloutsParams;
  partial: RolloutsPartial;
  result: RolloutsResult;
}
