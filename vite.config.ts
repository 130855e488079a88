import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const root = dirname(fileURLToPath(import.meta.url));
const ortDist = join(root, 'node_modules', 'onnxruntime-web', 'dist');

/** Cross-origin isolation: lets the WASM backend use SharedArrayBuffer threads. */
const isolationHeaders: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * Content-Security-Policy of the production build: scripts only from this origin and never inline or eval'd;
 * 'wasm-unsafe-eval' lets onnxruntime-web compile its WebAssembly (it allows no JS eval). https: in connect-src
 * keeps "load a bundle from a URL" possible; images and exports use data:/blob: URLs. The same policy goes
 * into dist/index.html as a <meta> (for any static host) and, with frame-ancestors, into `vite preview`'s
 * headers, which also cover the engine worker.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  // blob: for jax-js's WebAssembly thread pool (the live trainer): it starts its workers from a script it holds in memory.
  "worker-src 'self' blob:",
  "connect-src 'self' https:",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

/** Adds the policy to the built index.html, before anything else in <head> (build only: dev needs React's inline preamble). */
function cspMeta(): Plugin {
  return {
    name: 'uae-csp-meta',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler: () => [
        { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' },
      ],
    },
  };
}

/**
 * ORT runtime files the app serves itself under `<base>ort/` (never a CDN). The worker imports
 * `onnxruntime-web/webgpu`, whose runtime is the asyncify build (WebGPU sessions), and `onnxruntime-web/wasm`, whose
 * runtime is the plain build (WASM sessions: a 14.2 MB runtime instead of 26.8 MB).
 */
const ORT_FILE = /^ort-wasm-simd-threaded\.(asyncify\.)?(mjs|wasm)$/;
/** `new URL('ort-wasm-…', import.meta.url)` inside ORT's bundle: Vite would copy that 26 MB file into assets/ again. */
const ORT_SELF_URL = /new URL\(("ort-wasm-[^"]+"),\s*import\.meta\.url\)/g;

function ortFiles(): string[] {
  return readdirSync(ortDist).filter((name) => ORT_FILE.test(name));
}

function contentType(name: string): string {
  return name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
}

/**
 * The worker sets env.wasm.wasmPaths to `<base>ort/`, so ORT's own fallback URL is never used; hiding it
 * from Vite's asset detection keeps a second copy of the wasm out of dist/assets/. Semantics unchanged.
 * Runs in the worker build (worker.plugins), where ORT is bundled.
 */
function ortNoSelfUrl(): Plugin {
  return {
    name: 'uae-ort-no-self-url',
    enforce: 'pre',
    transform: {
      filter: { id: /onnxruntime-web[\\/]dist[\\/].*\.mjs$/ },
      handler(code) {
        const out = code.replace(ORT_SELF_URL, 'new URL($1, (0, import.meta.url))');
        return out === code ? null : { code: out, map: null };
      },
    },
  };
}

/** Serves onnxruntime-web's wasm/mjs from node_modules in dev and copies them into dist/ort/ on build. */
function ortRuntime(): Plugin {
  let base = '/';
  return {
    name: 'uae-ort-runtime',
    configResolved(config) {
      base = config.base;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0];
        const prefix = `${base}ort/`;
        if (!path.startsWith(prefix)) return next();
        const name = path.slice(prefix.length);
        const file = join(ortDist, name);
        if (!ORT_FILE.test(name) || !existsSync(file)) return next();
        res.setHeader('Content-Type', contentType(name));
        res.setHeader('Content-Length', String(statSync(file).size));
        for (const [k, v] of Object.entries(isolationHeaders)) res.setHeader(k, v);
        createReadStream(file).pipe(res);
      });
    },
    generateBundle() {
      for (const name of ortFiles()) {
        this.emitFile({ type: 'asset', fileName: `ort/${name}`, source: readFileSync(join(ortDist, name)) });
      }
    },
  };
}

export default defineConfig({
  root,
  publicDir: 'public',
  // One page and no client-side routes: a missing file must be a 404, not index.html (a bundle with a
  // missing file would otherwise fail as a confusing size/sha mismatch of an HTML page).
  appType: 'mpa',
  plugins: [react(), ortRuntime(), cspMeta()],
  worker: { format: 'es', plugins: () => [ortNoSelfUrl()] },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: isolationHeaders },
  preview: { headers: { ...isolationHeaders, 'Content-Security-Policy': `${CONTENT_SECURITY_POLICY}; frame-ancestors 'none'` } },
  build: {
    outDir: 'dist',
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
  },
});
