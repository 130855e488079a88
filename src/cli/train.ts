/**
 * `uae train [--steps N] [--group G] [--images B] [--lr LR] [--beta B] [--loss T] [--reward SPEC] [--length-penalty SPEC]
 * [--temperature T] [--seed S] [--eval-every K] [--eval-scenes N] [--eval-seed S] [--bundle DIR] [--json]`: stage 2 of
 * Unified-GRPO (GRPO on the encoder's caption decoder, from the bundle's referenceEncoder) on the CPU with the same
 * trainer as the browser. Defaults are the shipped preset (models/uae/config.py RL_ENCODER['full']).
 * `--json` prints {config, log: [one TRL-named row per step], eval: [{step, mean_tokens, sim, attr_precision, attr_recall,
 * retrieval_top1, sample_caption (the first held-out scene's greedy caption)}]}; otherwise one line per step. Exit codes:
 * 0 done, 1 a bad option, a failure or a diverged run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { LOSS_TYPES, type LengthPenaltySpec, type LossType } from '../engine/grpo.ts';
import { bundleFile } from '../engine/bundle.ts';
import { createInferContext } from '../engine/infer/index.ts';
import { GROUP_SIZE_RANGE, type RewardWeights } from '../engine/rollouts/index.ts';
import { LIVE_PRESET, TrainConfigError, type TrainConfig } from '../engine/train/config.ts';
import { initJaxNode } from '../engine/train/node.ts';
import { removeOrtWorkerGlobal } from '../engine/train/node-worker.ts';
import { archFromWeights } from '../engine/train/bundle-weights.ts';
import { readWeights } from '../engine/train/onnx-weights.ts';
import { Stage2Trainer, type TrainerDeps, type TrainEvalRow, type TrainLogRow, type TrainResult } from '../engine/train/trainer.ts';
import { disposeTrainPrograms } from '../engine/train/update.ts';
import { DEFAULT_BUNDLE, resolveEvalBundle } from './eval.ts';
import { CliError, openBundleDir, printJson, type NodeEngine } from './io.ts';
import { nodeRuntime } from './bench-node.ts';
import { intIn, numberAtLeast, oneOf } from './options.ts';
import { lengthPenaltyOption, rewardOption } from './rollouts.ts';
import { TrainOutput } from './train-out.ts';

/** Options of `uae train` after parsing. */
export interface TrainCliOptions {
  steps: number;
  group: number;
  images: number;
  lr: number;
  beta: number;
  loss: LossType;
  reward: RewardWeights;
  lengthPenalty: LengthPenaltySpec | null;
  temperature: number;
  seed: number;
  evalEvery: number;
  evalScenes: number;
  evalSeed: number;
  flowSteps: number;
  bundle?: string;
  out?: string;
  json?: boolean;
  /** The ONNX Runtime of the rollouts: onnxruntime-web WASM (the browser's) or onnxruntime-node's CPU EP. */
  ort?: 'wasm' | 'native';
}

/** What `uae train --json` prints. */
export interface TrainJson {
  config: TrainConfig;
  log: TrainLogRow[];
  eval: TrainEvalRow[];
}

/** Returns the trainer's settings of parsed options (the preset for everything the CLI does not set). */
export function trainConfigOf(o: TrainCliOptions): TrainConfig {
  return {
    ...LIVE_PRESET,
    steps: o.steps,
    group: o.group,
    images: o.images,
    lr: o.lr,
    beta: o.beta,
    lossType: o.loss,
    rewards: o.reward,
    lengthPenalty: o.lengthPenalty,
    temperature: o.temperature,
    seed: o.seed,
    evalEvery: o.evalEvery,
    evalScenes: o.evalScenes,
    evalSeed: o.evalSeed,
    flowSteps: o.flowSteps,
  };
}

const fmt = (x: number | undefined, d: number): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

/** The trainer's dependencies on a bundle opened in Node: its sessions, the cold start's graph, the same creator. */
export async function nodeTrainerDeps(engine: NodeEngine): Promise<TrainerDeps> {
  const ctx = createInferContext({ ort: engine.ort, tracker: engine.tracker, sessions: engine.sessions, bundle: engine.bundle });
  const refPath = ctx.manifest.roles.referenceEncoder?.decoder;
  const referenceGraph = refPath ? await bundleFile(engine.bundle, refPath) : undefined;
  if (!referenceGraph) throw new CliError(`bundle ${ctx.manifest.id} has no referenceEncoder decoder graph: nothing to train from`);
  return { ctx, referenceGraph, createSession: (model) => engine.create(model, 'wasm') };
}

/** Runs `uae train` with parsed options; returns the JSON document (printed as JSON or as lines). */
export async function runTrainCommand(opts: TrainCliOptions): Promise<TrainJson> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const config = trainConfigOf(opts);
  await initJaxNode();
  const dir = resolveEvalBundle(opts.bundle, (l) => log(l.replace(/^uae eval:/, 'uae train:')));
  // --ort native: onnxruntime-node's CPU EP with 1 intra-op thread, as the bench's node-native-1t
  const engine = await openBundleDir(dir, opts.ort === 'native' ? await nodeRuntime('node-native', 1) : undefined);
  removeOrtWorkerGlobal();
  let trainer: Stage2Trainer | undefined;
  try {
    const deps = await nodeTrainerDeps(engine);
    const { ctx, referenceGraph } = deps;
    const out = opts.out
      ? new TrainOutput(
          opts.out,
          engine.bundle,
          readFileSync(join(dir, 'manifest.json'), 'utf8'),
          archFromWeights(readWeights(referenceGraph), ctx.manifest.roles.referenceEncoder?.numHeads ?? 1),
        )
      : null;
    const saved = out?.loadState() ?? null;
    if (saved && JSON.stringify({ ...saved.run.config, steps: 0 }) !== JSON.stringify({ ...config, steps: 0 }))
      throw new CliError(
        `${opts.out ?? ''}: holds a run with other settings (${JSON.stringify(saved.run.config)}); pass those or another --out`,
      );
    const rows: TrainLogRow[] = saved ? [...saved.run.log] : [];
    const evals: TrainEvalRow[] = saved ? [...saved.run.eval] : [];
    const checkpoints = new Set(saved?.run.checkpoints ?? []);
    const resumedAt = [...(saved?.run.resumedAt ?? [])];
    if (saved && saved.state.step < config.steps) resumedAt.push(saved.state.step);
    try {
      trainer = await Stage2Trainer.create(deps, config, saved?.state);
    } catch (e) {
      if (e instanceof TrainConfigError) throw new CliError(e.message);
      throw e;
    }
    if (!opts.json) {
      log(`uae train: bundle ${ctx.manifest.id}, ${config.steps} steps of G=${config.group} × ${config.images} images, lr ${config.lr}`);
      console.log('step   reward  mean_len        kl      loss  s/step');
    }
    if (saved && !opts.json) log(`uae train: resuming ${opts.out ?? ''} at step ${saved.state.step}`);
    const t = trainer;
    const save = (): void =>
      out?.saveState(t.state(), {
        config,
        log: rows,
        eval: evals,
        checkpoints: [...checkpoints],
        ...(resumedAt.length ? { resumedAt } : {}),
      });
    const result: TrainResult = await trainer.run({
      onStep: (r) => {
        rows.push(r);
        save();
        if (!opts.json)
          console.log(
            `${String(r.step).padStart(4)} ${fmt(r.reward, 4).padStart(8)} ${fmt(r['completions/mean_length'], 2).padStart(9)} ` +
              `${fmt(r.kl, 6).padStart(9)} ${fmt(r.loss, 5).padStart(9)} ${fmt(r.s_per_step, 2).padStart(7)}`,
          );
      },
      onEval: (e) => {
        evals.push(e);
        checkpoints.add(e.step);
        out?.writeBundle(new Map([[e.step, t.policyGraph()]]), rows, evals);
        save();
        if (!opts.json)
          console.log(
            `eval @${e.step}: mean_tokens ${fmt(e.mean_tokens, 2)}  sim ${fmt(e.sim, 4)}  attr_precision ${fmt(e.attr_precision, 3)}  ` +
              `attr_recall ${fmt(e.attr_recall, 3)}  retrieval_top1 ${fmt(e.retrieval_top1, 3)}` +
              (e.sample_caption === undefined ? '' : `\n  held-out scene 0: "${e.sample_caption}"`),
          );
      },
    });
    const doc: TrainJson = { config, log: rows, eval: evals };
    if (opts.json) printJson(doc);
    if (result.status !== 'done') throw new CliError(result.message ?? `train: ${result.status}`);
    return doc;
  } finally {
    await trainer?.dispose();
    disposeTrainPrograms();
    await engine.sessions.release();
  }
}

/** Adds `uae train` to the program. */
export function registerTrain(program: Command): void {
  const p = LIVE_PRESET;
  const max = Number.MAX_SAFE_INTEGER;
  program
    .command('train')
    .description("stage 2 of Unified-GRPO: GRPO on the encoder's caption decoder from the cold start (decoder and scorer frozen)")
    .option('--steps <n>', 'GRPO steps', intIn('steps', 1, max), p.steps)
    .option('--group <g>', 'captions sampled per image (G ≥ 2)', intIn('group', GROUP_SIZE_RANGE.min, GROUP_SIZE_RANGE.max), p.group)
    .option('--images <b>', 'training images per step', intIn('images', 1, 256), p.images)
    .option('--lr <lr>', 'AdamW learning rate (> 0)', numberAtLeast('lr', 0, true), p.lr)
    .option('--beta <b>', 'k3 KL weight to the cold start (≥ 0)', numberAtLeast('beta', 0), p.beta)
    .option('--loss <t>', `loss type (${LOSS_TYPES.join(', ')})`, oneOf('loss', LOSS_TYPES), p.lossType)
    .addOption(rewardOption(p.rewards))
    .addOption(lengthPenaltyOption(p.lengthPenalty))
    .option('--temperature <t>', 'sampling temperature (> 0)', numberAtLeast('temperature', 0, true), p.temperature)
    .option('--seed <s>', 'seed of the step images, caption sampling and decoder noise', intIn('seed', 0, 0xffffffff), p.seed)
    .option(
      '--eval-every <k>',
      'held-out evaluation every K steps (and at step 0 and the last step)',
      intIn('eval-every', 1, max),
      p.evalEvery,
    )
    .option('--eval-scenes <n>', 'held-out Shapes scenes per evaluation', intIn('eval-scenes', 1, 100000), p.evalScenes)
    .option('--eval-seed <s>', 'dataset seed of the held-out scenes', intIn('eval-seed', 0, 0xffffffff), p.evalSeed)
    .option('--flow-steps <k>', "Euler steps of the reward's decoder", intIn('flow-steps', 1, 1000), p.flowSteps)
    .option('--bundle <dir>', `bundle folder (default ${DEFAULT_BUNDLE})`)
    .option('--out <dir>', 'write the trained bundle there (a checkpoint at every evaluation) and resume from its state/')
    .option('--json', 'print one JSON object {config, log, eval}')
    .option(
      '--ort <runtime>',
      "ONNX Runtime of the rollouts: wasm (onnxruntime-web, the browser's) or native (onnxruntime-node CPU EP, faster)",
      oneOf('ort', ['wasm', 'native'] as const),
      'wasm',
    )
    .action(async (opts: TrainCliOptions) => {
      await runTrainCommand(opts);
    });
}
