import { useShallow } from 'zustand/react/shallow';
import { LOAD_PHASES, ProgressBar } from '../../components/ProgressBar';
import { useStore } from '../../store/store';

/**
 * The bundle load in flight, compactly, for the first screen: what loads, the phase, one bar for all files and
 * one line for the file coming in now (the Model bundle tab lists every file).
 */
export function LoadStrip() {
  const loading = useStore(
    useShallow((s) => (s.engine.loading ? { source: s.engine.loading.source, progress: s.engine.loading.progress } : null)),
  );
  if (!loading) return null;
  const p = loading.progress;
  const bytes = p !== null && (p.phase === 'download' || p.phase === 'verify');
  const current = p?.files.find((f) => f.total > 0 && f.loaded < f.total) ?? p?.files[p.files.length - 1];
  return (
    <div className="card rt-load progress" aria-live="polite" data-testid="rt-load-progress">
      <p className="small">
        Loading the model bundle <code>{loading.source}</code> ·{' '}
        <span className="muted">{p ? (LOAD_PHASES[p.phase] ?? p.phase) : 'starting'}</span>
        {p && !bytes && p.total > 0 ? (
          <span className="muted">
            {' '}
            ({p.loaded}/{p.total})
          </span>
        ) : null}
      </p>
      {bytes && <ProgressBar label="all files" loaded={p.loaded} total={p.total} overall testId="progress-overall" />}
      {bytes && current && <ProgressBar label={current.path} loaded={current.loaded} total={current.total} testId="progress-file" />}
    </div>
  );
}
