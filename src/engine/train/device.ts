/**
 * The jax-js device of the browser worker's trainer: WebGPU when the engine runs its sessions there and jax-js can open
 * a device, else WebAssembly. A change of device frees the compiled update programs (they belong to one device).
 */
import { defaultDevice, init } from '@jax-js/jax';
import { EngineError } from '../errors.ts';
import type { BackendName } from '../vocab.ts';
import { disposeTrainPrograms } from './update.ts';

/** A device the trainer runs on. */
export type TrainDeviceName = 'webgpu' | 'wasm';

let current: TrainDeviceName | null = null;

/** Starts jax-js on the device matching `backend` and makes it the default -> the device and why it differs, if it does. */
export async function startTrainDevice(backend: BackendName): Promise<{ device: TrainDeviceName; note?: string }> {
  let device: TrainDeviceName = 'wasm';
  let note: string | undefined;
  if (backend === 'webgpu') {
    const ready = await init('webgpu').catch(() => [] as string[]);
    if (ready.includes('webgpu')) device = 'webgpu';
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
