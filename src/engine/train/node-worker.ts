// jax-js 0.1.25 chooses between shared and plain WebAssembly memory by `typeof Worker` each time it compiles a
// kernel, but creates its memory once. In Node, onnxruntime-web's WASM runtime defines globalThis.Worker
// (worker_threads') when its first session is created, so kernels compiled after that ask for shared memory the
// plain memory is not: "memory import 0 has no maximum limit". ORT on 1 thread never starts a worker, so the Node
// trainer removes that global once ORT is up, and jax-js keeps compiling for its plain memory.

/** Removes the globalThis.Worker that onnxruntime-web defines in Node (Node has no Worker global of its own). */
export function removeOrtWorkerGlobal(): void {
  const g = globalThis as { Worker?: unknown; process?: { versions?: { node?: string } } };
  if (g.process?.versions?.node && 'Worker' in g) delete g.Worker;
}
