/** Entry of the `uae` command (bin/uae.mjs runs it through tsx). Every subcommand takes --json. */
import { Command, CommanderError } from 'commander';
import { EngineError } from '../engine/errors.ts';
import { registerBench } from './bench.ts';
import { registerBenchUnified } from './bench-unified.ts';
import { registerEval } from './eval.ts';
import { registerGeneval } from './geneval.ts';
import { registerInfo } from './info.ts';
import { CliError } from './io.ts';
import { registerRollouts } from './rollouts.ts';
import { registerRoundTrip } from './roundtrip.ts';
import { registerScenes } from './scenes.ts';
import { registerTrain } from './train.ts';

/** Returns the commander program with every subcommand registered (errors throw instead of exiting). */
export function buildProgram(): Command {
  const program = new Command('uae')
    .description('UAE playground command line: the same engine as the browser, on onnxruntime-web WASM in Node')
    .exitOverride()
    .showHelpAfterError(false);
  registerInfo(program);
  registerScenes(program);
  registerEval(program);
  registerRoundTrip(program);
  registerRollouts(program);
  registerBench(program);
  registerTrain(program);
  registerGeneval(program);
  registerBenchUnified(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    // One line, no stack: the message names the file/field at fault.
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof EngineError ? `${err.code}: ` : '';
    console.error(`uae: ${code}${message}`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
