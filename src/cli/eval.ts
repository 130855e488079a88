/**
 * `uae eval [--bundle DIR] [--scenes N] [--seed S] [--steps K] [--captions encoder|level:L] [--encoder ROLE]
 * [--checkpoint first|last|STEP] [--batch B] [--json]`: N Shapes scenes (scene i = sampleScene(sceneSeed(S, i)))
 * captioned by the encoder (greedy) — or by a training checkpoint of it — or taken from the grammar at level L,
 * reconstructed by the decoder (Euler, K steps, seeded noise), scored. With --json, one JSON object with exactly
 * the EvalMetrics keys; otherwise a table, with progress on stderr.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { LEVELS, type Level } from '../shapes/caption.ts';
import {
  checkpointEncoder,
  createInferContext,
  evalKeys,
  findCheckpoint,
  runEval,
  type CaptionSource,
  type CheckpointChoice,
  type EncoderChoice,
  type EvalMetrics,
  type InferContext,
} from '../engine/infer/index.ts';
import { CliError, openBundleDir, printJson } from './io.ts';

/** The bundle `uae eval` uses without --bundle. */
export const DEFAULT_BUNDLE = join('public', 'models', 'uae-shapes');
/** The test bundle (same ONNX contracts, near-random weights) used when the default bundle is absent. */
export const FALLBACK_BUNDLE = join('tests', 'fixtures', 'parity', 'uae-tiny');

/** Options of `uae eval` after parsing. */
export interface EvalCliOptions extends EncoderChoiceOptions {
  bundle?: string;
  scenes: number;
  seed: number;
  steps?: number;
  captions: CaptionSource;
  batch: number;
  json?: boolean;
}

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--${name} must be a positive integer`);
    return n;
  };
}

function seedArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError('--seed must be an integer in [0, 2^32)');
  return n;
}

/** Returns the caption source of `--captions encoder|level:L`. */
export function parseCaptionSource(v: string): CaptionSource {
  if (v === 'encoder') return { kind: 'encoder' };
  const m = /^level:(\d+)$/.exec(v);
  if (m && (LEVELS as readonly number[]).includes(Number(m[1]))) return { kind: 'level', level: Number(m[1]) as Level };
  throw new InvalidArgumentError(`--captions must be 'encoder' or level:L with L in ${LEVELS.join(',')}`);
}

/** Returns the checkpoint of `--checkpoint first|last|STEP`. */
export function parseCheckpointChoice(v: string): CheckpointChoice {
  if (v === 'first' || v === 'last') return v;
  if (/^\d+$/.test(v)) return Number(v);
  throw new InvalidArgumentError("--checkpoint takes 'first', 'last' or a step number");
}

/** `--encoder ROLE` and `--checkpoint first|last|STEP`, as options of `uae eval` and `uae bench-unified`. */
export interface EncoderChoiceOptions {
  /** Which encoder role captions. */
  encoder: 'encoder' | 'referenceEncoder';
  /** A training checkpoint of the encoder that captions instead (manifest roles.checkpoints). */
  checkpoint?: CheckpointChoice;
}

/** Adds `--encoder` and `--checkpoint` to `cmd`. */
export function addEncoderChoiceOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--encoder <role>', 'encoder role that captions').choices(['encoder', 'referenceEncoder']).default('encoder'))
    .option(
      '--checkpoint <which>',
      "caption with a training checkpoint of the encoder: 'first', 'last' or a step (manifest roles.checkpoints)",
      parseCheckpointChoice,
    );
}

/** Throws a CliError when --checkpoint and --encoder are both given (either one picks the encoder). */
export function checkEncoderChoice(opts: EncoderChoiceOptions): void {
  if (opts.checkpoint !== undefined && opts.encoder !== 'encoder') {
    throw new CliError(`--checkpoint picks the encoder that captions; it cannot be combined with --encoder ${opts.encoder}`);
  }
}

/**
 * Returns the encoder the options choose in `ctx`'s bundle, its id ('encoder', 'referenceEncoder' or
 * 'checkpoint:STEP') and how a report names it.
 */
export function chooseEncoder(ctx: InferContext, opts: EncoderChoiceOptions): { encoder: EncoderChoice; id: string; who: string } {
  const checkpoint = opts.checkpoint === undefined ? undefined : findCheckpoint(ctx.manifest, opts.checkpoint);
  if (!checkpoint) return { encoder: opts.encoder, id: opts.encoder, who: opts.encoder };
  return {
    encoder: checkpointEncoder(ctx, checkpoint),
    id: `checkpoint:${checkpoint.step}`,
    who: `checkpoint step ${checkpoint.step} "${checkpoint.label}"`,
  };
}

/** Returns the bundle folder to use: --bundle, else the default, else the tiny test bundle (with a warning). */
export function resolveEvalBundle(bundle: string | undefined, warn: (line: string) => void): string {
  if (bundle) return bundle;
  if (existsSync(join(DEFAULT_BUNDLE, 'manifest.json'))) return DEFAULT_BUNDLE;
  if (existsSync(join(FALLBACK_BUNDLE, 'manifest.json'))) {
    warn(
      `uae eval: ${DEFAULT_BUNDLE} not found (the reference models are not exported yet); using the test bundle ${FALLBACK_BUNDLE}, whose near-random weights make these numbers meaningless. Pass --bundle DIR to choose.`,
    );
    return FALLBACK_BUNDLE;
  }
  throw new CliError(`${DEFAULT_BUNDLE}: no bundle there; pass --bundle DIR`);
}

/** Returns the metrics with floats rounded to 6 decimals, keys in print order (evalKeys). */
export function roundedMetrics(m: EvalMetrics): EvalMetrics {
  const out = {} as Record<keyof EvalMetrics, number>;
  for (const k of evalKeys(m)) out[k] = Number.isInteger(m[k]) ? m[k] : Number(m[k].toFixed(6));
  return out as EvalMetrics;
}

/** Runs an evaluation with parsed options; returns its metrics (printed as JSON or a table). */
export async function runEvalCommand(opts: EvalCliOptions): Promise<EvalMetrics> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  checkEncoderChoice(opts);
  if (opts.checkpoint !== undefined && opts.captions.kind !== 'encoder') {
    throw new CliError(`--checkpoint needs encoder captions; --captions level:${opts.captions.level} takes them from the grammar`);
  }
  const dir = resolveEvalBundle(opts.bundle, log);
  const engine = await openBundleDir(dir);
  try {
    const ctx = createInferContext({ ort: engine.ort, tracker: engine.tracker, sessions: engine.sessions, bundle: engine.bundle });
    const steps = opts.steps ?? ctx.manifest.defaults.flowSteps;
    const { encoder, who } = chooseEncoder(ctx, opts);
    const t0 = performance.now();
    const { metrics, rows } = await runEval(ctx, {
      scenes: opts.scenes,
      seed: opts.seed,
      steps,
      captions: opts.captions,
      encoder,
      batch: opts.batch,
      onProgress: opts.json
        ? undefined
        : (done, total) => log(`  ${done}/${total} scenes  ${((performance.now() - t0) / 1000).toFixed(1)} s`),
    });
    const rounded = roundedMetrics(metrics);
    if (opts.json) {
      printJson(rounded);
    } else {
      const source = opts.captions.kind === 'encoder' ? `${who} (greedy)` : `grammar level ${opts.captions.level}`;
      console.log(`bundle ${engine.bundle.manifest.id} (${resolve(dir)}), captions: ${source}, flow steps ${steps}`);
      for (const r of rows.slice(0, 3)) console.log(`  scene ${r.index}: "${r.caption}"  sim ${r.sim.toFixed(3)}`);
      for (const k of evalKeys(rounded)) console.log(`${k.padEnd(16)} ${rounded[k]}`);
      log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    return metrics;
  } finally {
    await engine.sessions.release();
  }
}

/** Adds `uae eval` to the program. */
export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('caption N Shapes scenes, reconstruct them, print fidelity and attribute metrics')
    .option('--bundle <dir>', `bundle folder (default ${DEFAULT_BUNDLE})`)
    .option('--scenes <n>', 'number of scenes', positiveInt('scenes'), 200)
    .option('--seed <s>', 'dataset seed (training used 1)', seedArg, 2)
    .option('--steps <k>', "flow (Euler) steps (default: the bundle's flowSteps)", positiveInt('steps'))
    .addOption(
      new Option('--captions <source>', "'encoder' (greedy) or level:L (the grammar's captions)")
        .argParser(parseCaptionSource)
        .default({ kind: 'encoder' }, 'encoder'),
    );
  addEncoderChoiceOptions(cmd)
    .option('--batch <b>', 'images per session run', positiveInt('batch'), 32)
    .option('--json', 'print one JSON object with exactly the metric keys')
    .action(async (opts: EvalCliOptions) => {
      await runEvalCommand(opts);
    });
}
