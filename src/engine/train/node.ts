// jax-js in Node: the trainer's entry for the CLI and the tests (the browser imports nothing from here, it has both
// features below). jax-js 0.1.25 uses Float16Array (Node >= 24) in instanceof checks on every path, and the iterator
// helpers map and filter (Node >= 22) on RegExp match iterators in its einsum parser (attention). On an older Node the
// first gets an empty stand-in class (only float32/float64 run, nothing is ever an instance of it) and the second a
// minimal map/filter on %IteratorPrototype%, non-enumerable as the real ones. Then initJaxNode() starts the wasm device.
import { defaultDevice, init, type Device } from '@jax-js/jax';

/** The jax-js device of the Node trainer: WebAssembly (jax-js has no WebGPU in Node). */
export const NODE_DEVICE: Device = 'wasm';

type Callback = (value: unknown, index: number) => unknown;

/** Installs what jax-js needs of newer JavaScript where it is missing; idempotent. */
export function installNodeShims(): void {
  const g = globalThis as { Float16Array?: unknown };
  g.Float16Array ??= class Float16Array {};
  const iteratorProto = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as Record<string, unknown>;
  const define = (name: string, fn: (this: Iterable<unknown>, f: Callback) => Generator<unknown>): void => {
    if (typeof iteratorProto[name] !== 'function')
      Object.defineProperty(iteratorProto, name, { value: fn, writable: true, configurable: true });
  };
  define('map', function* (this: Iterable<unknown>, f: Callback) {
    let i = 0;
    for (const x of this) yield f(x, i++);
  });
  define('filter', function* (this: Iterable<unknown>, f: Callback) {
    let i = 0;
    for (const x of this) if (f(x, i++)) yield x;
  });
}

/** Installs the shims, starts jax-js's WebAssembly backend and makes it the default device -> the device. */
export async function initJaxNode(): Promise<Device> {
  installNodeShims();
  const ready = await init(NODE_DEVICE);
  if (!ready.includes(NODE_DEVICE)) throw new Error(`jax-js could not start its ${NODE_DEVICE} device`);
  defaultDevice(NODE_DEVICE);
  return NODE_DEVICE;
}
