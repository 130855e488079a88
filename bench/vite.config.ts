/**
 * Vite config of the bench page: the app's config (same ORT runtime files under ort/, same worker build,
 * same COOP/COEP headers for WASM threads), rooted at bench/page and built into bench/out/dist.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeConfig } from 'vite';
import app from '../vite.config.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');

export default mergeConfig(app, {
  root: join(here, 'page'),
  publicDir: join(repo, 'public'),
  logLevel: 'warn',
  build: { outDir: join(here, 'out', 'dist'), emptyOutDir: true },
});
