/**
 * `uae rollouts (<image-file> | --scene SEED) [--group G] [--seed S] [--json] …`: one GRPO scoring step on
 * WASM with the worker's own orchestration (src/engine/rollouts): G captions sampled together, per-token
 * log-probs under the policy and (teacher-forced) the reference encoder, reconstructions, rewards,
 * advantages, KL and the loss under every loss type. `--batch B` rolls out on B scenes SEED…SEED+B−1.
 * `--bench` also times batched group sampling against G sequential generations.
 * Exit codes: 0 done, 1 a failure (bad option, unreadable image, bundle or model error), 2 no/two inputs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { LOSS_TYPES, REWARD_SCALINGS, type LengthPenaltySpec, type LossType, type RewardScaling } from '../engine/grpo.ts';
import { createInferContext } from '../engine/infer/index.ts';
import {
  DEFAULT_SETTINGS,
  GROUP_SIZE_RANGE,
  REWARD_NAMES,
  resolveImage,
  runRollouts,
  type OldPolicy,
  type RewardName,
  type RewardWeights,
  type RolloutImageSource,
  type RolloutSettings,
  type RolloutsOutcome,
  formatFixed,
} from '../engine/rollouts/index.ts';
import { lengthPenaltyOf, lengthPenaltySpecOf, rewardSpecOf, rewardWeightsOf } from '../engine/train/specs.ts';
import { DEFAULT_BUNDLE, resolveEvalBundle } from './eval.ts';
import { CliError, openBundleDir, printJson } from './io.ts';
import { benchSampling, printBench, type SamplingBench } from './rollouts-bench.ts';
import { intIn, numberAtLeast, oneOf } from './options.ts';
import { encodePng, readImageFile } from './roundtrip.ts';

/** Options of `uae rollouts` after parsing. */
export interface RolloutsCliOptions {
  scene?: number;
  batch: number;
  group: number;
  seed: number;
  temperature: number;
  topP: number;
  steps?: number;
  reward: RewardWeights;
  lengthPenalty: LengthPenaltySpec | null;
  scale: RewardScaling;
  old: OldPolicy;
  beta: number;
  epsLow: number;
  epsHigh?: number;
  lossType: LossType;
  reconBatch: number;
  noise: 'group' | 'rollout';
  maskTruncated?: boolean;
  bundle?: string;
  out?: string;
  json?: boolean;
  bench?: boolean;
}

/** One rollout in `--json` output. Per-token arrays cover the completion (`length` tokens). */
export interface RolloutJson {
  group: number;
  caption: string;
  /** Content tokens that are not special tokens (display count; no [EOS]). */
  tokens: number;
  /**
   * Completion length: what GRPO's lengths, completions/* and the length penalty count ([EOS] included
   * when the caption terminated; a truncated caption counts its sampled tokens, no [EOS] is forced).
   */
  length: number;
  /** The caption hit the token limit without [EOS]. */
  truncated: boolean;
  reward: number;
  advantage: number;
  scores: Record<RewardName, number | null>;
  logp: number[];
  ref_logp: number[] | null;
  old_logp: number[] | null;
  /** Per-token entropy (nats) of the policy's next-token distribution softmax(logits / temperature). */
  entropy: number[];
  /** Mean k3 KL to the reference over the completion (null without a reference encoder). */
  kl: number | null;
  sequence_logp: number;
}

/** What `uae rollouts --json` prints. */
export interface RolloutsJson {
  bundle: string;
  inputs: string[];
  settings: RolloutSettings;
  rollouts: RolloutJson[];
  /** The step's metrics under TRL's names. */
  metrics: Record<string, number>;
  /** The loss under every loss type. */
  loss: Record<LossType, number>;
  groups: RolloutsOutcome['summary']['groups'];
  old_policy: string;
  timing_ms: RolloutsOutcome['summary']['timing'];
  bench?: SamplingBench;
}

/** Returns the weights of `--reward NAME` or `--reward sim=1,psnr=0.02` (a weighted mix). */
export function parseRewardWeights(v: string): RewardWeights {
  try {
    return rewardWeightsOf(v);
  } catch {
    throw new InvalidArgumentError(`--reward takes NAME or NAME=W,NAME=W with NAME in ${REWARD_NAMES.join(', ')}`);
  }
}

/** Returns the length penalty of `--length-penalty none | overlong:MAX:CACHE[:W] | linear:COEF[:W]`. */
export function parseLengthPenalty(v: string): LengthPenaltySpec | null {
  try {
    return lengthPenaltyOf(v);
  } catch {
    throw new InvalidArgumentError('--length-penalty takes none, overlong:MAX:CACHE[:WEIGHT] (MAX ≥ CACHE > 0) or linear:COEF[:WEIGHT]');
  }
}

/** `--reward SPEC` with `default` shown in its text form (`sim`, `sim=1,ssim=0.5`). */
export function rewardOption(def: RewardWeights): Option {
  return new Option('--reward <spec>', `NAME or a mix NAME=W,NAME=W (${REWARD_NAMES.join(', ')})`)
    .argParser(parseRewardWeights)
    .default(def, rewardSpecOf(def));
}

/** `--length-penalty SPEC` with `default` shown in its text form (`none`, `overlong:24:8`). */
export function lengthPenaltyOption(def: LengthPenaltySpec | null): Option {
  return new Option('--length-penalty <spec>', 'none | overlong:MAX:CACHE[:W] | linear:COEF[:W]')
    .argParser(parseLengthPenalty)
    .default(def, lengthPenaltySpecOf(def));
}

/** Returns the old policy of `--old current | STEP` (a checkpoint step the bundle lists). */
export function parseOldPolicy(v: string): OldPolicy {
  if (v === 'current') return { kind: 'current' };
  if (/^\d+$/.test(v)) return { kind: 'checkpoint', step: Number(v) };
  throw new InvalidArgumentError("--old takes 'current' or a checkpoint step");
}

/** Returns the engine settings of parsed options. */
export function settingsOf(opts: RolloutsCliOptions): RolloutSettings {
  return {
    groupSize: opts.group,
    seed: opts.seed,
    temperature: opts.temperature,
    topP: opts.topP,
    flowSteps: opts.steps,
    reconstructBatch: opts.reconBatch,
    noise: opts.noise,
    rewards: opts.reward,
    lengthPenalty: opts.lengthPenalty,
    scaleRewards: opts.scale,
    oldPolicy: opts.old,
    beta: opts.beta,
    epsilonLow: opts.epsLow,
    epsilonHigh: opts.epsHigh ?? opts.epsLow,
    lossType: opts.lossType,
    maskTruncated: opts.maskTruncated ?? false,
  };
}

/** Returns the `--json` document of a finished run (full precision; NaN scores become null). */
export function rolloutsJson(out: RolloutsOutcome, meta: { bundle: string; inputs: string[]; settings: RolloutSettings }): RolloutsJson {
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return {
    ...meta,
    rollouts: out.records.map((r, i) => ({
      group: r.group,
      caption: r.caption,
      tokens: r.tokens,
      length: r.completion.length,
      truncated: r.truncated,
      reward: r.reward,
      advantage: out.summary.advantages[i],
      scores: { sim: r.scores.sim, i2i: finite(r.scores.i2i), psnr: r.scores.psnr, ssim: r.scores.ssim, attr_f1: finite(r.scores.attr_f1) },
      logp: Array.from(r.logp),
      ref_logp: r.refLogp && Array.from(r.refLogp),
      old_logp: r.oldLogp && Array.from(r.oldLogp),
      entropy: Array.from(r.entropy),
      kl: r.meanKl,
      sequence_logp: r.sequenceLogp,
    })),
    metrics: out.summary.metrics,
    loss: out.summary.losses,
    groups: out.summary.groups,
    old_policy: out.summary.oldPolicy,
    timing_ms: out.summary.timing,
  };
}

/** Prints the human-readable table of a run (float noise around 0 printed as 0; `--json` keeps raw values). */
export function printText(doc: RolloutsJson): void {
  const f = (x: number | null, d = 3) => (x === null ? '–' : formatFixed(x, d));
  console.log(
    `bundle ${doc.bundle}; ${doc.inputs.join(', ')}; G ${doc.settings.groupSize}, seed ${doc.settings.seed}; old policy: ${doc.old_policy}`,
  );
  // len: the completion length (tokens incl. [EOS]) that completions/*_length and the panel's Length count;
  // tok: the caption's content tokens (no specials); + = truncated
  console.log(' #  reward   adv     kl        logp  len  tok  caption');
  doc.rollouts.forEach((r, i) => {
    const len = `${r.length}${r.truncated ? '+' : ''}`;
    console.log(
      `${String(i).padStart(2)} ${f(r.reward, 4).padStart(7)} ${f(r.advantage, 3).padStart(6)} ${f(r.kl, 5).padStart(8)} ${f(r.sequence_logp, 2).padStart(9)} ${len.padStart(4)} ${String(r.tokens).padStart(4)}  ${r.caption}`,
    );
  });
  for (const [k, v] of Object.entries(doc.metrics)) console.log(`${k.padEnd(36)} ${f(v, 6)}`);
  for (const t of LOSS_TYPES) console.log(`${`loss (${t})`.padEnd(36)} ${f(doc.loss[t], 6)}`);
}

/** Runs `uae rollouts` on `file` or scenes from `opts.scene`; returns the JSON document (printed as JSON or text). */
export async function runRolloutsCommand(file: string | undefined, opts: RolloutsCliOptions): Promise<RolloutsJson> {
  if ((file === undefined) === (opts.scene === undefined)) throw new CliError('give exactly one input: an image file or --scene SEED', 2);
  if (file !== undefined && opts.batch > 1) throw new CliError('--batch B takes B Shapes scenes: use it with --scene');
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const sources: RolloutImageSource[] =
    file === undefined
      ? Array.from({ length: opts.batch }, (_, i) => ({ kind: 'scene' as const, seed: ((opts.scene as number) + i) >>> 0 }))
      : [{ kind: 'pixels', name: file, ...(await readImageFile(file)), channels: 4 }];
  const engine = await openBundleDir(resolveEvalBundle(opts.bundle, (l) => log(l.replace(/^uae eval:/, 'uae rollouts:'))));
  try {
    const ctx = createInferContext({ ort: engine.ort, tracker: engine.tracker, sessions: engine.sessions, bundle: engine.bundle });
    const m = ctx.manifest;
    for (const role of ['encoder', 'decoder', 'scorer'] as const)
      if (!m.roles[role]) throw new CliError(`bundle ${m.id} has no ${role} role: it cannot score rollouts`);
    const { width, height } = m.preprocessing.image;
    const images = sources.map((s) => resolveImage(s, width, height));
    const settings = settingsOf(opts);
    const out = await runRollouts(ctx, images, settings, {
      onRollouts: opts.json ? undefined : (_recs, scored, total) => log(`  ${scored}/${total} rollouts scored`),
    });
    const doc = rolloutsJson(out, { bundle: m.id, inputs: images.map((im) => im.label), settings });
    if (opts.bench) doc.bench = await benchSampling(ctx, images, settings);
    if (opts.out) {
      mkdirSync(opts.out, { recursive: true });
      images.forEach((im, g) => writeFileSync(join(opts.out as string, `image-${g}.png`), encodePng(im.image, width, height)));
      out.records.forEach((r) =>
        writeFileSync(
          join(opts.out as string, `rollout-${r.group}-${r.index % settings.groupSize}.png`),
          encodePng(r.image, width, height),
        ),
      );
    }
    if (opts.json) printJson(doc);
    else {
      printText(doc);
      if (doc.bench) printBench(doc.bench);
    }
    return doc;
  } finally {
    await engine.sessions.release();
  }
}

/** Adds `uae rollouts` to the program. */
export function registerRollouts(program: Command): void {
  const d = DEFAULT_SETTINGS;
  program
    .command('rollouts')
    .description('sample a GRPO group of captions for an image, reconstruct and reward them; advantages, KL, losses')
    .argument('[image-file]', 'a PNG or JPEG image (resized to the bundle input with the cover policy)')
    .option('--scene <seed>', 'use the Shapes scene sampleScene(SEED) (enables the attr_f1 reward)', intIn('scene', 0, 0xffffffff))
    .option('--batch <b>', 'batch mode: B scenes SEED, SEED+1, … (with --scene)', intIn('batch', 1, 16), 1)
    .option(
      '--group <g>',
      `captions per image (${GROUP_SIZE_RANGE.min}-${GROUP_SIZE_RANGE.max})`,
      intIn('group', GROUP_SIZE_RANGE.min, GROUP_SIZE_RANGE.max),
      d.groupSize,
    )
    .option('--seed <s>', 'seed of caption sampling and decoder noise', intIn('seed', 0, 0xffffffff), d.seed)
    .option(
      '--temperature <t>',
      'sampling temperature T (log-probs and entropies are of logits / T)',
      numberAtLeast('temperature', 0, true),
      d.temperature,
    )
    .option('--top-p <p>', 'nucleus mass', numberAtLeast('top-p', 0, true), d.topP)
    .option('--steps <k>', "flow (Euler) steps (default: the bundle's flowSteps)", intIn('steps', 1, 1000))
    .addOption(rewardOption(d.rewards))
    .addOption(lengthPenaltyOption(null))
    .option('--scale <s>', `advantage scaling (${REWARD_SCALINGS.join(', ')})`, oneOf('scale', REWARD_SCALINGS), d.scaleRewards)
    .addOption(
      new Option('--old <policy>', "old policy of the ratio: 'current' or a checkpoint step")
        .argParser(parseOldPolicy)
        .default(d.oldPolicy, 'current'),
    )
    .option('--beta <b>', 'KL coefficient β', numberAtLeast('beta', 0), d.beta)
    .option('--eps-low <e>', 'ε_low of the clipped ratio', numberAtLeast('eps-low', 0), d.epsilonLow)
    .option('--eps-high <e>', 'ε_high (default: ε_low)', numberAtLeast('eps-high', 0))
    .option(
      '--loss-type <t>',
      `the loss whose value is the 'loss' metric (${LOSS_TYPES.join(', ')})`,
      oneOf('loss-type', LOSS_TYPES),
      d.lossType,
    )
    .option('--recon-batch <k>', 'rollouts reconstructed per decoder batch', intIn('recon-batch', 1, 512), d.reconstructBatch)
    .option(
      '--noise <n>',
      "decoder noise: 'group' (shared by an image's rollouts) or 'rollout'",
      oneOf('noise', ['group', 'rollout'] as const),
      d.noise,
    )
    .option('--mask-truncated', 'drop captions that hit the token limit from the loss')
    .option('--bundle <dir>', `bundle folder (default ${DEFAULT_BUNDLE})`)
    .option('--out <dir>', 'write image-<g>.png and rollout-<g>-<i>.png there')
    .option('--bench', 'also time batched group sampling against G sequential generations')
    .option(
      '--json',
      'print one JSON object: {"rollouts": [{caption, tokens, reward, advantage, logp, ref_logp, kl, …}], "metrics", "loss", …}',
    )
    .action(async (file: string | undefined, opts: RolloutsCliOptions) => {
      await runRolloutsCommand(file, opts);
    });
}
