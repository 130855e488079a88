/**
 * The layers of the project (docs/architecture.md draws them), kept by dependency-cruiser in `npm test`'s lint suite.
 * Every rule is an edge that must not exist; `npm run lint` names the offending import.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycle anywhere, type-only ones included.',
      from: {},
      to: { circular: true },
    },
    // src/: engine/vocab.ts (leaf) ← engine (+ shapes) ← protocol ← worker | client | cli | bench
    {
      name: 'src-not-to-outside',
      severity: 'error',
      comment: 'src/ is the framework-free core: it never imports the app, the bench harness, tests, bin or scripts',
      from: { path: '^src/' },
      to: { path: '^(app|bench|tests|bin|scripts|models)/' },
    },
    {
      name: 'vocab-is-a-leaf',
      severity: 'error',
      comment: 'src/engine/vocab.ts (tensor data, error codes, backend names) imports nothing',
      from: { path: '^src/engine/vocab\\.ts$' },
      to: { pathNot: '^src/engine/vocab\\.ts$' },
    },
    {
      name: 'shapes-self-contained',
      severity: 'error',
      comment: 'src/shapes (scenes, rasterizer, caption grammar) imports nothing but itself',
      from: { path: '^src/shapes/' },
      to: { pathNot: '^src/shapes/' },
    },
    {
      name: 'engine-not-up',
      severity: 'error',
      comment: 'the inference core never imports the protocol, the worker, the client, the CLI or the bench',
      from: { path: '^src/engine/' },
      to: { path: '^src/(protocol|worker|client|cli|bench)/' },
    },
    {
      name: 'protocol-not-up',
      severity: 'error',
      comment: 'the wire protocol sits on the core: it never imports the worker, the client, the CLI or the bench',
      from: { path: '^src/protocol/' },
      to: { path: '^src/(worker|client|cli|bench)/' },
    },
    {
      name: 'worker-not-sideways',
      severity: 'error',
      comment: 'the worker is an adapter over the core and the protocol: not the client, the CLI or the bench',
      from: { path: '^src/worker/' },
      to: { path: '^src/(client|cli|bench)/' },
    },
    {
      name: 'client-not-sideways',
      severity: 'error',
      comment: 'the client (UI end of the protocol) never reaches into the worker, the CLI or the bench',
      from: { path: '^src/client/' },
      to: { path: '^src/(worker|cli|bench)/' },
    },
    {
      name: 'client-no-ort',
      severity: 'error',
      comment: 'the client runs on the UI thread: no onnxruntime-web there',
      from: { path: '^src/client/' },
      to: { path: 'onnxruntime-web' },
    },
    {
      name: 'cli-not-browser',
      severity: 'error',
      comment: 'the CLI is a Node adapter over the core: not the worker or the client',
      from: { path: '^src/cli/' },
      to: { path: '^src/(worker|client)/' },
    },
    {
      name: 'src-bench-not-adapters',
      severity: 'error',
      comment: 'the bench stages (src/bench) run the core directly: not the worker, the client or the CLI',
      from: { path: '^src/bench/' },
      to: { path: '^src/(worker|client|cli)/' },
    },
    {
      name: 'ort-webgpu-only-in-workers',
      severity: 'error',
      comment: 'only the worker entries (app worker, bench worker) load the browser builds (webgpu, wasm) and choose a backend',
      from: { pathNot: '^(src/worker/engine\\.worker\\.ts|bench/page/bench\\.worker\\.ts)$' },
      to: { path: '^onnxruntime-web/(webgpu|wasm)$|onnxruntime-web/dist/ort\\.(webgpu|wasm)' },
    },
    // app/: main → App, urlSync → panels → components, charts | lib, persist → store; the engine only through src/client
    {
      name: 'app-panel-not-to-other-panel',
      severity: 'error',
      comment: 'A panel imports only its own folder; what two panels share goes to app/components or app/lib.',
      from: { path: '^app/panels/([^/]+)/' },
      to: { path: '^app/panels/([^/]+)/', pathNot: '^app/panels/$1/' },
    },
    {
      name: 'app-store-down-only',
      severity: 'error',
      comment: 'The store holds plain data: it never imports panels, components, charts, lib, persist or the engine client.',
      from: { path: '^app/store/' },
      to: { path: '^app/(panels|components|charts|lib|persist)/|^app/(App|main|actions|engine|urlSync)\\.tsx?$' },
    },
    {
      name: 'app-lib-no-ui',
      severity: 'error',
      comment: 'app/lib and app/persist are non-UI helpers: no panels, no components, no React.',
      from: { path: '^app/(lib|persist)/' },
      to: { path: '^app/(panels|components|charts)/|^app/(App|main|urlSync)\\.tsx?$|\\.tsx$|node_modules/react' },
    },
    {
      name: 'app-components-no-panels',
      severity: 'error',
      comment: 'Shared UI (components, charts) knows no panel.',
      from: { path: '^app/(components|charts)/' },
      to: { path: '^app/panels/|^app/(App|main|urlSync)\\.tsx?$' },
    },
    {
      name: 'app-only-main-imports-shell',
      severity: 'error',
      comment: 'Only main.tsx wires the shell (App, the URL sync); nothing else imports main.',
      from: { path: '^app/', pathNot: '^app/main\\.tsx$' },
      to: { path: '^app/(main\\.tsx|urlSync\\.ts|App\\.tsx)$' },
    },
    {
      name: 'app-no-worker-internals',
      severity: 'error',
      comment: 'The app talks to the engine through the client (src/client, src/engine/client): never the worker internals.',
      from: { path: '^app/' },
      to: { path: '^src/worker/', pathNot: '^src/worker/engine\\.worker\\.ts$' },
    },
    {
      name: 'app-no-bench',
      severity: 'error',
      from: { path: '^app/' },
      to: { path: '^(bench|bin|tests)/' },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|public|bench/out|\\.e2e-tmp|\\.bench-tmp|test-results)/' },
  },
};
