// Build and serve the app the way a user runs it: `vite build` into a folder, then `vite preview` of that
// folder on a free port (vite.config.ts adds the COOP/COEP headers to preview responses).
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const viteBin = (root) => join(root, 'node_modules', 'vite', 'bin', 'vite.js');

/** Runs `vite build` into `outDir` (emptied first); throws when it fails. */
export function build(root, outDir) {
  const r = spawnSync(process.execPath, [viteBin(root), 'build', '--logLevel', 'warn', '--outDir', outDir, '--emptyOutDir'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status ?? r.signal})`);
}

/** Returns a TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `vite preview` of `outDir` on 127.0.0.1:port; resolves to { url, stop, headers } once it answers HTTP. */
export async function preview(root, outDir, port) {
  const child = spawn(
    process.execPath,
    [viteBin(root), 'preview', '--outDir', outDir, '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}/`;
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  // A loaded 2-core machine can take a while to start node + vite.
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode}):\n${log}`);
    try {
      const res = await fetch(url);
      if (res.ok) return { url, stop, headers: res.headers };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  await stop();
  throw new Error(`vite preview did not answer on ${url}:\n${log}`);
}
