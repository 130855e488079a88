import { useStore } from '../store/store';
import type { BackendInfo } from '../store/types';

/** Header text for the backend in use: "WebGPU · swiftshader", "WASM · 2 threads". */
export function backendLabel(info: BackendInfo): string {
  const name = info.backend === 'webgpu' ? 'WebGPU' : 'WASM';
  return info.adapter ? `${name} · ${info.adapter}` : name;
}

/** Shows the backend actually in use (not the one asked for) and why it fell back, if it did. */
export function BackendBadge() {
  const backend = useStore((s) => s.engine.backend);
  const status = useStore((s) => s.engine.status);
  if (!backend) {
    return (
      <span className="badge" data-testid="backend-badge" data-backend="none" aria-live="polite">
        <span className="dot" aria-hidden="true" />
        {status === 'failed' ? 'engine failed' : 'starting engine…'}
      </span>
    );
  }
  return (
    <span
      className="badge"
      data-testid="backend-badge"
      data-backend={backend.backend}
      title={backend.reason ? `Fallback: ${backend.reason}` : `Requested: ${backend.requested}`}
      aria-live="polite"
    >
      <span className="dot" aria-hidden="true" />
      {backendLabel(backend)}
    </span>
  );
}

/** A one-line notice when the engine is not on WebGPU although it may have wanted to be, and why. */
export function FallbackNotice() {
  const reason = useStore((s) => s.engine.backend?.reason);
  if (!reason) return null;
  return (
    <p className="notice" data-testid="backend-reason">
      Running on WASM (CPU): {reason}.
    </p>
  );
}
