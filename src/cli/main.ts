/** Entry of the `uae` command (bin/uae.mjs runs it through tsx). */
import { Command, CommanderError } from 'commander';
import { registerScenes } from './scenes.ts';

/** Runs the CLI with `argv` (without node and script) and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('uae').description('UAE playground command line').exitOverride();
  registerScenes(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
}
