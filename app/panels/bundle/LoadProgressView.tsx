import { LOAD_PHASES, ProgressBar } from '../../components/ProgressBar';
import { useStore } from '../../store/store';

/** Overall and per-file byte progress of the load in flight (updated once per frame). */
export function LoadProgressView() {
  const progress = useStore((s) => s.engine.loading?.progress ?? null);
  if (!progress) return <p className="muted">Starting…</p>;
  const bytes = progress.phase === 'download' || progress.phase === 'verify';
  return (
    <div className="progress">
      <p className="muted" data-testid="load-phase">
        {LOAD_PHASES[progress.phase] ?? progress.phase}
        {!bytes && progress.total > 0 ? ` (${progress.loaded}/${progress.total})` : ''}
      </p>
      {bytes && <ProgressBar label="all files" loaded={progress.loaded} total={progress.total} overall testId="progress-overall" />}
      {progress.files.map((f) => (
        <ProgressBar key={f.path} label={f.path} loaded={f.loaded} total={f.total} testId="progress-file" />
      ))}
    </div>
  );
}
