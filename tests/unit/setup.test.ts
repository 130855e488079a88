// A quiet install and start, and a test command that installs what it needs (issue 22, points 7 and 9):
// npm prints no warning of ours, `vite preview` (what `npm start` serves with) starts without a stack trace,
// and CI runs exactly the README's test command, whose first step installs the missing system packages.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The fenced shell commands of the README's "Two commands" section, in order. */
function readmeCommands(): string[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Two commands')) ?? '';
  return [...section.matchAll(/```sh\n([^`]+?)\n```/g)].map((m) => m[1].trim());
}

describe('install and start', () => {
  it('npm reads the project config without a warning (no unknown .npmrc keys)', () => {
    const r = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('"uae-playground"');
    expect(r.stderr).not.toMatch(/warn/i);
  });

  it("onnxruntime-node's download script is denied, esbuild's and protobufjs' reviewed", () => {
    // Without the denial `npm install` runs its postinstall, which downloads CUDA binaries (no network here).
    expect(pkg.allowScripts).toEqual({ esbuild: true, protobufjs: true, 'onnxruntime-node': false });
    expect(existsSync(join(ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'onnxruntime_binding.node'))).toBe(
      true,
    );
  });

  it('npm start builds and serves with vite preview, which starts without an error or a stack trace', async () => {
    // The serving half of `npm start`, with its own flags, on a PATH without xdg-open (a fresh machine has none:
    // `--open false` made vite try to open a browser called "false" and print `Error: spawn xdg-open ENOENT`).
    const [build, serve] = pkg.scripts.start.split('&&').map((c) => c.trim().split(/\s+/));
    expect(build.slice(0, 2)).toEqual(['vite', 'build']);
    expect(serve.slice(0, 2)).toEqual(['vite', 'preview']);
    const dist = join(ROOT, '.e2e-tmp', 'setup-test-dist');
    // A one-file outDir is enough to start the server; the build itself is what the E2E suites check.
    mkdirSync(dist, { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>setup test</title>');
    const bin = mkdtempSync(join(tmpdir(), 'uae-node-only-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    const child = spawn(process.execPath, [vite, ...serve.slice(1), '--outDir', dist, '--port', '0'], { cwd: ROOT, env: { PATH: bin } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`vite preview printed no URL in 30 s:\n${out}`)), 30_000);
        const poll = setInterval(() => {
          if (/http:\/\/localhost:\d+/.test(out)) {
            clearInterval(poll);
            clearTimeout(timer);
            setTimeout(resolve, 1500); // an opener error comes just after the URL
          }
        }, 100);
      });
    } finally {
      child.kill();
      rmSync(bin, { recursive: true, force: true });
    }
    expect(out).not.toMatch(/Error|ENOENT|\n\s+at /);
  }, 40_000);
});

describe('the test command', () => {
  it('the README has the two commands, and CI runs exactly its test command after npm ci', () => {
    expect(readmeCommands()).toEqual(['npm install && npm start', 'npm test']);
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'));
    expect(ci[ci.length - 1].trim()).toBe('npm test');
    expect(ci.some((l) => /npm ci\b/.test(l))).toBe(true);
    expect(pkg.scripts.test).toBe('node scripts/test-all.mjs');
  });

  it('npm test installs the missing system packages first, and says so', () => {
    const all = readFileSync(join(ROOT, 'scripts', 'test-all.mjs'), 'utf8');
    const firstSuite = all.indexOf('ensure-test-deps.sh');
    expect(firstSuite).toBeGreaterThan(0);
    expect(firstSuite).toBeLessThan(all.indexOf("name: 'typecheck'"));
    // Run it: on this machine everything is present, so it must say so and exit 0 without installing.
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'ensure-test-deps.sh')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^test deps: (nothing to install|installed) .*chromium.*python3-torch.*python3-pytest/m);
  });

  it('a package it cannot install is named in the failure', () => {
    // A machine where nothing is installed, the user is not root and there is no sudo: fake dpkg-query and id.
    const bin = mkdtempSync(join(tmpdir(), 'uae-deps-'));
    writeFileSync(join(bin, 'dpkg-query'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    writeFileSync(join(bin, 'id'), '#!/bin/sh\necho 1000\n', { mode: 0o755 });
    symlinkSync('/usr/bin/grep', join(bin, 'grep'));
    try {
      const r = spawnSync('/bin/bash', [join(ROOT, 'scripts', 'ensure-test-deps.sh')], { encoding: 'utf8', env: { PATH: bin } });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(
        /installing chromium python3-torch python3-onnx python3-numpy python3-pytest python3-flake8 libopenblas0-pthread/,
      );
      expect(r.stderr).toMatch(/cannot install chromium .*need root or sudo .*apt-get install -y chromium python3-torch/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
