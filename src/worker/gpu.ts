/** Probing WebGPU in the worker: is there an adapter (and a device), and what is it called. */
import type { WebGpuProbe } from './backend.ts';

/** The fields of GPUAdapterInfo the label uses (TypeScript's lib has no WebGPU types). */
export interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /** A software adapter (e.g. SwiftShader); newer browsers report it here rather than on the adapter. */
  isFallbackAdapter?: boolean;
}

/** The part of GPUAdapter the probe uses. */
export interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  isFallbackAdapter?: boolean;
  requestDevice(): Promise<{ destroy(): void }>;
}

/** The part of navigator.gpu the probe uses. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>;
}

/** Returns navigator.gpu when the browser exposes WebGPU, else undefined. */
export function gpuOf(nav: object): GpuLike | undefined {
  const gpu = (nav as { gpu?: unknown }).gpu;
  return typeof gpu === 'object' && gpu !== null && 'requestAdapter' in gpu ? (gpu as GpuLike) : undefined;
}

/** Returns a short adapter label: description, else "vendor architecture" (SwiftShader: "google swiftshader"). */
export function adapterLabel(info: GpuAdapterInfoLike | undefined): string {
  const description = info?.description?.trim();
  if (description) return description;
  const parts = [info?.vendor, info?.architecture, info?.device].map((s) => s?.trim()).filter((s): s is string => !!s);
  return parts.length > 0 ? [...new Set(parts)].join(' ') : 'unknown adapter';
}

/** Returns true when the adapter says it is a fallback (software) adapter, on the adapter or in its info. */
export function isFallbackAdapter(adapter: GpuAdapterLike): boolean {
  return adapter.isFallbackAdapter === true || adapter.info?.isFallbackAdapter === true;
}

/** Returns the adapter label (and whether it is a software fallback) when WebGPU can give an adapter and a device, else why not. */
export async function probeWebGpu(gpu: GpuLike | undefined): Promise<WebGpuProbe> {
  if (!gpu) return { ok: false, reason: 'navigator.gpu is not available (WebGPU disabled or unsupported)' };
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { ok: false, reason: `requestAdapter failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter available' };
  try {
    (await adapter.requestDevice()).destroy();
  } catch (e) {
    return { ok: false, reason: `WebGPU device creation failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { ok: true, adapter: adapterLabel(adapter.info), fallback: isFallbackAdapter(adapter) };
}

/** The part of GPUDevice the keeper uses. */
export interface GpuDeviceLike {
  destroy(): void;
  lost: Promise<{ reason?: string; message?: string }>;
}

/** The part of GPUAdapter the keeper uses (limits and features are copied into the device request). */
export interface GpuFullAdapterLike {
  limits?: object;
  features?: Iterable<string>;
  requestDevice(descriptor?: { requiredLimits?: Record<string, number>; requiredFeatures?: string[] }): Promise<GpuDeviceLike>;
}

/**
 * Owns the GPUDevice the WebGPU sessions run on, so that its loss is seen (device.lost) and a later
 * session gets a new device instead of the dead one. The device asks for everything the adapter offers,
 * as onnxruntime-web's own device would.
 */
export class GpuDeviceKeeper<D extends GpuDeviceLike = GpuDeviceLike> {
  private current: Promise<D> | undefined;
  private readonly lostListeners = new Set<(reason: string) => void>();

  constructor(private readonly gpu: { requestAdapter(): Promise<GpuFullAdapterLike | null> } | undefined) {}

  /** Returns the live device, creating one when there is none or the last one was lost. */
  device(): Promise<D> {
    if (!this.current) {
      const pending = this.create();
      this.current = pending;
      pending.catch(() => {
        if (this.current === pending) this.current = undefined;
      });
    }
    return this.current;
  }

  /** Subscribes to losses of the device handed out (reason: "destroyed: …" or "unknown: …"); returns the unsubscribe function. */
  onLost(listener: (reason: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Destroys the current device (its loss is then reported like any other); false when there is none. */
  async destroyCurrent(): Promise<boolean> {
    if (!this.current) return false;
    (await this.current).destroy();
    return true;
  }

  private async create(): Promise<D> {
    const adapter = await this.gpu?.requestAdapter();
    if (!adapter) throw new Error('no WebGPU adapter available');
    const requiredLimits: Record<string, number> = {};
    // GPUSupportedLimits keeps its values as prototype getters: for…in sees them, Object.keys does not.
    for (const key in adapter.limits ?? {}) {
      const v = (adapter.limits as Record<string, unknown>)[key];
      if (typeof v === 'number') requiredLimits[key] = v;
    }
    const device = (await adapter.requestDevice({ requiredLimits, requiredFeatures: [...(adapter.features ?? [])] })) as D;
    const mine = this.current;
    void device.lost.then((info) => {
      if (this.current === mine) this.current = undefined;
      const reason = [info.reason ?? 'unknown', info.message].filter(Boolean).join(': ');
      for (const l of this.lostListeners) l(reason);
    });
    return device;
  }
}
