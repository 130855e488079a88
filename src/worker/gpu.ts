/** Probing WebGPU in the worker: is there an adapter (and a device), and what is it called. */
import type { WebGpuProbe } from './host.ts';

/** The fields of GPUAdapterInfo the label uses (TypeScript's lib has no WebGPU types). */
export interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
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

/** Returns the adapter label when WebGPU can give an adapter and a device, else why not. */
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
  return { ok: true, adapter: adapterLabel(adapter.info) };
}
