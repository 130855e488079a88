/**
 * `uae geneval [--bundle DIR] [--per-prompt N] [--prompts-per-task K] [--seed S] [--steps K] [--batch B] [--oracle]
 * [--json]`: GenEval-Shapes (src/engine/geneval): K prompts of each task kind, N decoder images per prompt, each read by
 * the independent checker. --oracle reads the world's true renders instead (the checker's ceiling; no bundle needed).
 * With --json, exactly {tasks, overall, prompts, per_prompt}; otherwise a table, with progress on stderr.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createInferContext } from '../engine/infer/index.ts';
import { ALL_TASKS, GENEVAL_TASKS, runGeneval, type GenevalResult } from '../engine/geneval/index.ts';
import { DEFAULT_BUNDLE } from './eval.ts';
import { CliError, openBundleDir, printJson } from './io.ts';
import { intIn } from './options.ts';

/** Options of `uae geneval` after parsing. */
export interface GenevalCliOptions {
  bundle?: string;
  perPrompt: number;
  promptsPerTask: number;
  seed: number;
  steps?: number;
  batch: number;
  oracle?: boolean;
  json?: boolean;
}

const round6 = (x: number): number => Number(x.toFixed(6));

/** Returns the result with every accuracy rounded to 6 decimals (the `--json` document). */
export function roundedGeneval(r: GenevalResult): GenevalResult {
  const tasks = {} as GenevalResult['tasks'];
  for (const t of ALL_TASKS) tasks[t] = round6(r.tasks[t]);
  return {
    tasks,
    overall: round6(r.overall),
    prompts: r.prompts,
    per_prompt: r.per_prompt.map((p) => ({ ...p, accuracy: round6(p.accuracy) })),
  };
}

/** Returns the human table of a result: one row per task, overall under the six GenEval tasks, plus_plus apart. */
export function genevalTable(r: GenevalResult): string {
  const count = (t: string): number => r.per_prompt.filter((p) => p.task === t).length;
  const row = (name: string, acc: number, n: string): string => `${name.padEnd(14)} ${acc.toFixed(3).padStart(8)} ${n.padStart(8)}`;
  return [
    `${'task'.padEnd(14)} ${'accuracy'.padStart(8)} ${'prompts'.padStart(8)}`,
    ...GENEVAL_TASKS.map((t) => row(t, r.tasks[t], String(count(t)))),
    row('overall', r.overall, String(GENEVAL_TASKS.reduce((a, t) => a + count(t), 0))),
    row('plus_plus', r.tasks.plus_plus, String(count('plus_plus'))),
  ].join('\n');
}

function resolveBundle(bundle: string | undefined): string {
  if (bundle) return bundle;
  if (existsSync(join(DEFAULT_BUNDLE, 'manifest.json'))) return DEFAULT_BUNDLE;
  throw new CliError(`${DEFAULT_BUNDLE}: no bundle there; pass --bundle DIR (or --oracle to check the true renders)`);
}

/** Runs `uae geneval` with parsed options; returns the result (printed as JSON or a table). */
export async function runGenevalCommand(opts: GenevalCliOptions): Promise<GenevalResult> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const t0 = performance.now();
  const progress = opts.json
    ? undefined
    : (done: number, total: number) => log(`  ${done}/${total} images  ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const settings = {
    seed: opts.seed,
    promptsPerTask: opts.promptsPerTask,
    perPrompt: opts.perPrompt,
    steps: opts.steps,
    batch: opts.batch,
  };
  let result: GenevalResult;
  let source: string;
  if (opts.oracle && !opts.bundle) {
    result = await runGeneval(undefined, { ...settings, oracle: true, onProgress: progress });
    source = 'oracle: the world’s true renders';
  } else {
    const dir = resolveBundle(opts.bundle);
    const engine = await openBundleDir(dir);
    try {
      const ctx = createInferContext({ ort: engine.ort, tracker: engine.tracker, sessions: engine.sessions, bundle: engine.bundle });
      if (!opts.oracle && !ctx.manifest.roles.decoder) throw new CliError(`bundle ${ctx.manifest.id} has no decoder role`);
      result = await runGeneval(ctx, { ...settings, oracle: opts.oracle, onProgress: progress });
      const steps = opts.steps ?? ctx.manifest.defaults.flowSteps;
      source = opts.oracle ? 'oracle: the world’s true renders' : `decoder of ${ctx.manifest.id} (${resolve(dir)}), Euler ${steps} steps`;
    } finally {
      await engine.sessions.release();
    }
  }
  const rounded = roundedGeneval(result);
  if (opts.json) printJson(rounded);
  else {
    console.log(
      `GenEval-Shapes, seed ${opts.seed}, ${opts.promptsPerTask} prompts per task, ${opts.perPrompt} images per prompt; ${source}`,
    );
    console.log(genevalTable(result));
    log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return rounded;
}

/** Adds `uae geneval` to the program. */
export function registerGeneval(program: Command): void {
  program
    .command('geneval')
    .description('GenEval-Shapes: compositional prompts drawn by the decoder, each image read by an independent checker')
    .option('--bundle <dir>', `bundle folder (default ${DEFAULT_BUNDLE}; not needed with --oracle)`)
    .option('--per-prompt <n>', 'images the decoder draws per prompt', intIn('per-prompt', 1, 64), 4)
    .option('--prompts-per-task <k>', 'prompts of each of the seven task kinds', intIn('prompts-per-task', 1, 1000), 15)
    .option('--seed <s>', 'seed of the prompts and the decoder noise', intIn('seed', 0, 0xffffffff), 100)
    .option('--steps <k>', "flow (Euler) steps (default: the bundle's flowSteps)", intIn('steps', 1, 1000))
    .option('--batch <b>', 'images per session run', intIn('batch', 1, 1024), 32)
    .option('--oracle', "check the world's true renders of the prompts instead of the decoder's images")
    .option('--json', 'print one JSON object: {tasks, overall, prompts, per_prompt}')
    .action(async (opts: GenevalCliOptions) => {
      await runGenevalCommand(opts);
    });
}
