// Runs the `uae` CLI in-process with its output captured, for the CLI tests.
import { expect, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

/** What one CLI run returned and printed. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `uae <args>` with stdout/stderr and console.log/error captured; returns exit code and both streams. */
export async function runCli(args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true)),
    vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true)),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`)),
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`)),
  ];
  try {
    return { code: await main(args), out: out.join(''), err: err.join('') };
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
}

/** Runs `uae <args>`, expects exit 0 and nothing on stderr; returns stdout parsed as JSON. */
export async function cliJson<T>(args: string[]): Promise<T> {
  const r = await runCli(args);
  expect(r.err, r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as T;
}
