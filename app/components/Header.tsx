import { useShallow } from 'zustand/react/shallow';
import { useStore } from '../store/store';
import { chooseBackend } from '../actions';
import type { BackendChoice } from '../store/types';
import { BackendBadge } from './BackendBadge';

const CHOICES: { value: BackendChoice; label: string }[] = [
  { value: 'auto', label: 'Auto (WebGPU, else WASM)' },
  { value: 'webgpu', label: 'WebGPU' },
  { value: 'wasm', label: 'WASM' },
];

/** Title, backend in use, backend chooser, and the loaded bundle. */
export function Header() {
  const choice = useStore((s) => s.config.backend);
  const busy = useStore((s) => s.engine.status === 'starting' || s.engine.loading !== null);
  const bundle = useStore(
    useShallow((s) => (s.engine.bundle ? { id: s.engine.bundle.id, name: s.engine.bundle.name, version: s.engine.bundle.version } : null)),
  );
  const loading = useStore((s) => s.engine.loading !== null);
  return (
    <header className="header">
      <div className="title">
        <h1>UAE Playground</h1>
        <p>
          Unified Auto-Encoder: understanding (image → caption) and generation (caption → image), one objective: reconstruction fidelity
        </p>
      </div>
      <div className="status">
        <BackendBadge />
        <label>
          Backend
          <select
            value={choice}
            disabled={busy}
            onChange={(e) => void chooseBackend(e.target.value as BackendChoice)}
            data-testid="backend-choice"
          >
            {CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <span
          className="badge"
          data-testid="bundle-badge"
          data-bundle-id={bundle?.id ?? ''}
          data-loading={loading}
          title="Loaded model bundle"
        >
          {bundle ? (
            <>
              {bundle.name} <span className="muted">v{bundle.version}</span>
            </>
          ) : (
            <span className="muted">no bundle</span>
          )}
        </span>
      </div>
    </header>
  );
}
