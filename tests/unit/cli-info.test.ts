// `uae info` on the fixture and every broken variant: exit codes, one-line messages, --json output.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InfoReport } from '../../src/cli/info.ts';
import { runCli } from './cli-helpers.ts';
import { BAD_DIR, FIXTURE_DIR } from './engine-fixture.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

afterEach(() => vi.restoreAllMocks());

describe('uae info', () => {
  it('prints id, roles, files with sizes, and verifies the good bundle', async () => {
    const r = await runCli(['info', FIXTURE_DIR]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^fixture-tiny@1\.0\.0 {2}Tiny test fixture$/m);
    expect(r.out).toMatch(/^ {2}scorer\.vision {2}scorer\/vision\.onnx$/m);
    expect(r.out).toMatch(/^ {2}ok +40,111 {2}scorer\/vision\.onnx +sha256 cb8a340a25c1 {2}pixel_values -> image_embeds$/m);
    expect(r.out).toMatch(/all 3 files verified \(size \+ sha256\); 2 ONNX graph\(s\) open on WASM/);
  });

  it('--json gives the machine-readable report', async () => {
    const r = await runCli(['info', FIXTURE_DIR, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as InfoReport;
    expect(report.ok).toBe(true);
    expect(report.files.map((f) => [f.path, f.status])).toEqual([
      ['scorer/vision.onnx', 'ok'],
      ['scorer/text.onnx', 'ok'],
      ['tokenizer.json', 'ok'],
    ]);
    expect(report.files[1].inputs).toEqual(['input_ids']);
  });

  it.each([
    ['malformed-manifest', 'manifest-json', /^uae: manifest\.json: is not valid JSON \(/],
    ['schema-error', 'manifest-schema', /^uae: manifest\.json: files\[1\]\.sha256 must be 64 hex chars$/],
    ['missing-file', 'missing-file', /^uae: scorer\/text\.onnx: not found in .*missing-file$/],
    [
      'sha-mismatch',
      'sha256-mismatch',
      /^uae: scorer\/vision\.onnx: sha256 mismatch: expected cb8a340a25c1[0-9a-f]{52}, got [0-9a-f]{64}$/,
    ],
    ['size-mismatch', 'size-mismatch', /^uae: scorer\/text\.onnx: size mismatch: manifest says 6128 bytes, got 6135$/],
    ['not-onnx', 'not-onnx', /^uae: scorer\/vision\.onnx: is not a valid ONNX model/],
  ])('%s: exit 1 with one line naming the problem (%s)', async (variant, code, line) => {
    const dir = join(BAD_DIR, variant);
    const r = await runCli(['info', dir]);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    const json = await runCli(['info', dir, '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.out) as InfoReport;
    expect(report.ok).toBe(false);
    expect(report.errors.map((e) => e.code)).toEqual([code]);
  });

  it('a folder without a manifest is a one-line error', async () => {
    const r = await runCli(['info', join(BAD_DIR, 'no-such-bundle')]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toMatch(/^uae: .*no-such-bundle\/manifest\.json: not found$/);
  });
});

describe('bin/uae.mjs', () => {
  it('--help lists info; a bad bundle exits 1 without a stack trace', () => {
    const help = spawnSync(process.execPath, ['bin/uae.mjs', '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/info \[options\] <bundle-dir>/);
    const bad = spawnSync(process.execPath, ['bin/uae.mjs', 'info', join(BAD_DIR, 'sha-mismatch')], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
