/**
 * The jax-js device of the browser worker's trainer, chosen by the user's gradient device: WASM, WebGPU, or Auto —
 * WebGPU when the engine runs its sessions there on an adapter that is not a software fallback (SwiftShader compiles
 * the update for minutes and runs it slower than WASM, as the engine's own Auto judges), else WebAssembly. A change
 * of device frees the compiled update programs (they belong to one device).
 */
import { defaultDevice, init } from '@jax-js/jax';
import { EngineError } from '../errors.ts';
import type { BackendName } from '../vocab.ts';
import type { TrainDeviceChoice } from './form.ts';
import { disposeTrainPrograms } from './update.ts';

/** A device the trainer runs on. */
export type TrainDeviceName = 'webgpu' | 'wasm';

/** What Auto needs to know of the WebGPU adapter: its label and whether it is a software fallback, or why there is none. */
export type TrainAdapterProbe = { ok: true; adapter: string; fallback?: boolean } | { ok: false; reason: string };

let current: TrainDeviceName | null = null;

/** Returns the device Auto leaves to WASM and why, or null when Auto may try WebGPU. */
async function autoRefusal(backend: BackendName, probe?: () => Promise<TrainAdapterProbe>): Promise<string | null> {
  if (backend !== 'webgpu') return null;
  const p = probe ? await probe() : null;
  if (p?.ok && p.fallback)
    return `the only WebGPU adapter here (${p.adapter}) is a software fallback adapter, slower than WASM; choose WebGPU to use it anyway`;
  if (p && !p.ok) return `no WebGPU adapter for jax-js (${p.reason})`;
  return null;
}

/**
 * Starts jax-js on the device `choice` gives for an engine on `backend` and makes it the default -> the device and,
 * when Auto does not follow the engine, why. An explicit WebGPU that jax-js cannot open is an error.
 */
export async function startTrainDevice(
  backend: BackendName,
  choice: TrainDeviceChoice = 'auto',
  probe?: () => Promise<TrainAdapterProbe>,
): Promise<{ device: TrainDeviceName; note?: string }> {
  let device: TrainDeviceName = 'wasm';
  let note: string | undefined;
  const tryGpu = choice === 'webgpu' || (choice === 'auto' && backend === 'webgpu');
  if (choice === 'auto' && tryGpu) note = (await autoRefusal(backend, probe)) ?? undefined;
  if (tryGpu && note === undefined) {
    const ready = await init('webgpu').catch(() => [] as string[]);
    if (ready.includes('webgpu')) device = 'webgpu';
    else if (choice === 'webgpu')
      throw new EngineError(
        'backend-unavailable',
        'train: gradient device WebGPU: jax-js could not open a WebGPU device; choose WASM or Auto',
      );
    else note = 'jax-js could not open a WebGPU device: the updates run on WebAssembly';
  }
  if (device === 'wasm') {
    const ready = await init('wasm');
    if (!ready.includes('wasm')) throw new EngineError('backend-unavailable', 'train: jax-js could not start its WebAssembly device');
  }
  if (current !== null && current !== device) disposeTrainPrograms();
  current = device;
  defaultDevice(device);
  return note ? { device, note } : { device };
}
