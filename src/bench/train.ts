/**
 * The benchmark's trainer section, TypeScript side: seconds per stage-2 GRPO step of the trainer the app and
 * `uae train` run (src/engine/train/trainer.ts), from the bundle's cold start. `warmup` untimed steps (the jit
 * compiles land there), then `steps` timed ones; no evaluation. Node (bench/train-node.ts) and the bench page's
 * worker (bench/page/bench.worker.ts) both call timeTrainSteps with their own sessions and jax-js device.
 */
import { STAGE2_PRESET, type TrainConfig } from '../engine/train/config.ts';
import { Stage2Trainer, type TrainerDeps, type TrainPhase } from '../engine/train/trainer.ts';

/** The preset fields a bench run may shrink (for smoke runs); the rest is the shipped preset. */
export interface TrainBenchSettings {
  group: number;
  images: number;
  flowSteps: number;
  warmup: number;
  steps: number;
}

/** The settings of the full section: the shipped preset's G=8 × 8 images at its flow steps, 1 warm-up, 3 steps. */
export const TRAIN_BENCH_DEFAULTS: Readonly<TrainBenchSettings> = {
  group: STAGE2_PRESET.group,
  images: STAGE2_PRESET.images,
  flowSteps: STAGE2_PRESET.flowSteps,
  warmup: 1,
  steps: 3,
};

/** One trainer's timed steps. */
export interface TrainBenchTiming {
  /** Mean seconds of the timed steps. */
  secondsPerStep: number;
  stepSeconds: number[];
  warmup: number;
  steps: number;
  /** Seconds of the warm-up steps (jit compiles included). */
  warmupSeconds: number[];
  /** Mean seconds per timed step spent in each phase (rollouts, logprobs = the update batch, update, policy). */
  phases: Partial<Record<TrainPhase, number>>;
  /** The last timed step's mean completion length (tokens), to compare the runs' caption lengths. */
  meanLength?: number;
}

/** Returns the stage-2 config of a bench run: the shipped preset with the run's group, images and flow steps. */
export function trainBenchConfig(s: TrainBenchSettings): TrainConfig {
  return { ...STAGE2_PRESET, steps: s.warmup + s.steps, group: s.group, images: s.images, flowSteps: s.flowSteps };
}

/** Runs `warmup` + `steps` trainer steps from the cold start -> the timed steps' seconds. */
export async function timeTrainSteps(
  deps: TrainerDeps,
  s: TrainBenchSettings,
  say: (line: string) => void = () => undefined,
): Promise<TrainBenchTiming> {
  const trainer = await Stage2Trainer.create(deps, trainBenchConfig(s));
  const stepSeconds: number[] = [];
  const warmupSeconds: number[] = [];
  const phaseTotals: Partial<Record<TrainPhase, number>> = {};
  let meanLength: number | undefined;
  try {
    for (let i = 0; i < s.warmup + s.steps; i++) {
      let phase: TrainPhase | null = null;
      let since = performance.now();
      const t0 = since;
      const timed = i >= s.warmup;
      const close = (): void => {
        const now = performance.now();
        if (phase && timed) phaseTotals[phase] = (phaseTotals[phase] ?? 0) + (now - since) / 1000;
        since = now;
      };
      const row = await trainer.trainStep({
        onPhase: (_step, p) => {
          close();
          phase = p;
        },
      });
      close();
      const sec = (performance.now() - t0) / 1000;
      (timed ? stepSeconds : warmupSeconds).push(sec);
      meanLength = row['completions/mean_length'];
      say(`train step ${i + 1}/${s.warmup + s.steps}${timed ? '' : ' (warm-up)'}: ${sec.toFixed(2)} s`);
    }
  } finally {
    await trainer.dispose();
  }
  const n = stepSeconds.length;
  const phases = Object.fromEntries(Object.entries(phaseTotals).map(([k, v]) => [k, v / n])) as Partial<Record<TrainPhase, number>>;
  return {
    secondsPerStep: stepSeconds.reduce((a, b) => a + b, 0) / n,
    stepSeconds,
    warmup: s.warmup,
    steps: s.steps,
    warmupSeconds,
    phases,
    meanLength,
  };
}
