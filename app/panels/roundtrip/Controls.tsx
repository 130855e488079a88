import { useShallow } from 'zustand/react/shallow';
import { loadBundleById, loadBundleFromUrl, setSeed } from '../../actions';
import { useStore } from '../../store/store';
import { cancelRoundTrip, missingRoles, setRtSettings, startRoundTrip } from './actions';

const num = (v: string): number => (v.trim() === '' ? NaN : Number(v));

function BundleChoice({ disabled }: { disabled: boolean }) {
  const { catalog, wanted, loaded } = useStore(
    useShallow((s) => ({ catalog: s.ui.catalog, wanted: s.config.bundle, loaded: s.engine.bundle?.id })),
  );
  const value = wanted ?? catalog?.defaultId ?? '';
  const listed = catalog?.bundles ?? [];
  return (
    <label className="field-row">
      Bundle
      <select
        value={value}
        disabled={disabled}
        data-testid="rt-bundle"
        onChange={(e) =>
          void (listed.some((b) => b.id === e.target.value) ? loadBundleById(e.target.value) : loadBundleFromUrl(e.target.value))
        }
      >
        {listed.map((b) => (
          <option key={b.id} value={b.id}>
            {b.name}
          </option>
        ))}
        {value && !listed.some((b) => b.id === value) && <option value={value}>{loaded ? `${loaded} (${value})` : value}</option>}
      </select>
    </label>
  );
}

/** Settings of the loop (all shareable through the URL), the seed and bundle, Run and Cancel. The backend is the header's. */
export function Controls() {
  const settings = useStore((s) => s.runs.roundtrip.settings);
  const seed = useStore((s) => s.config.seed);
  const engine = useStore(useShallow((s) => ({ status: s.engine.status, loading: s.engine.loading !== null, bundle: s.engine.bundle })));
  const hasInput = useStore((s) => s.runs.roundtrip.input !== null);
  const status = useStore((s) => s.runs.roundtrip.current?.status);
  const running = status === 'running' || status === 'saving';
  const missing = missingRoles(engine.bundle);
  const sampling = settings.decoding === 'sample';
  const ready = engine.status === 'ready' && !engine.loading && engine.bundle !== null && missing.length === 0;
  return (
    <section className="card rt-controls" aria-labelledby="rt-controls-title">
      <h3 id="rt-controls-title">Loop</h3>
      <div className="rt-fields">
        <label>
          Loops
          <input
            type="number"
            min={1}
            max={20}
            value={settings.loops}
            disabled={running}
            data-testid="rt-loops"
            onChange={(e) => setRtSettings({ loops: num(e.target.value) })}
          />
        </label>
        <label>
          Captions
          <select
            value={settings.decoding}
            disabled={running}
            data-testid="rt-decoding"
            onChange={(e) => setRtSettings({ decoding: e.target.value as 'greedy' | 'sample' })}
          >
            <option value="greedy">greedy</option>
            <option value="sample">sample (temperature, top-p)</option>
          </select>
        </label>
        <label>
          Temperature
          <input
            type="number"
            min={0.05}
            max={10}
            step={0.05}
            value={settings.temperature}
            disabled={running || !sampling}
            data-testid="rt-temperature"
            onChange={(e) => setRtSettings({ temperature: num(e.target.value) })}
          />
        </label>
        <label>
          Top-p
          <input
            type="number"
            min={0.05}
            max={1}
            step={0.05}
            value={settings.topP}
            disabled={running || !sampling}
            data-testid="rt-top-p"
            onChange={(e) => setRtSettings({ topP: num(e.target.value) })}
          />
        </label>
        <label>
          Flow steps
          <input
            type="number"
            min={1}
            max={200}
            value={settings.steps ?? ''}
            placeholder={engine.bundle ? `${engine.bundle.manifest.defaults.flowSteps} (bundle)` : 'bundle default'}
            disabled={running}
            data-testid="rt-steps"
            onChange={(e) => setRtSettings({ steps: e.target.value.trim() === '' ? null : num(e.target.value) })}
          />
        </label>
        <label>
          Seed
          <input
            type="number"
            min={0}
            value={seed}
            disabled={running}
            data-testid="rt-seed"
            onChange={(e) => setSeed(num(e.target.value))}
          />
        </label>
        <BundleChoice disabled={running || engine.loading} />
      </div>
      <div className="row">
        {running ? (
          <button type="button" onClick={cancelRoundTrip} data-testid="rt-cancel">
            Cancel
          </button>
        ) : (
          <button
            type="button"
            className="primary"
            disabled={!ready || !hasInput}
            onClick={() => void startRoundTrip()}
            data-testid="rt-start"
          >
            Run {settings.loops} loop{settings.loops === 1 ? '' : 's'}
          </button>
        )}
        {engine.bundle && missing.length > 0 && (
          <span className="rt-warn" data-testid="rt-missing-roles">
            Bundle “{engine.bundle.name}” has no {missing.join(', ')}: a round trip needs an encoder, a decoder and a scorer. Choose another
            bundle.
          </span>
        )}
        {!engine.bundle && <span className="muted">{engine.loading ? 'loading the model bundle…' : 'no model bundle loaded'}</span>}
        {ready && !hasInput && <span className="muted">choose an image first</span>}
      </div>
    </section>
  );
}
