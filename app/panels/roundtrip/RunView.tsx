import type { RtRun } from '../../store/roundtripSlice';
import { useStore } from '../../store/store';
import { exportRunJson, exportRunPng } from './actions';
import { FidelityChart, LengthChart } from './Charts';
import { Filmstrip } from './Filmstrip';
import { liveFor, progressFraction, progressLabel } from './live';
import { policyLabel } from './settings';
import { ErrorText } from '../../components/ErrorText';

const STATUS: Record<RtRun['status'], string> = {
  running: 'running',
  saving: 'saving…',
  finished: 'finished',
  cancelled: 'cancelled (not stored)',
  failed: 'failed',
};

/** One sentence of what a run used. */
export function runSettingsLine(run: RtRun): string {
  const s = run.settings;
  return `${run.bundle.name} v${run.bundle.version} · ${run.backend} · ${s.loops} loops · ${policyLabel(s.policy)} · ${s.steps} flow steps · seed ${s.seed}`;
}

/** Where a running run is, in words and as a bar that moves with every caption token phase and flow step. */
function RunProgress({ run }: { run: RtRun }) {
  const live = useStore((s) => liveFor(s.runs.roundtrip.live, run.id, run.loops.length));
  const { loops, steps } = run.settings;
  const label = progressLabel(live, run.loops.length, loops);
  return (
    <div className="rt-progress small" data-testid="rt-progress">
      <progress value={progressFraction(live, run.loops.length, loops, steps)} max={1} aria-label="round trip progress" />
      <span data-testid="rt-progress-label">{label}</span>
    </div>
  );
}

/** A run: status, progress and settings, exports, the filmstrip (the running loop live) and the two charts. `compact` stacks the charts. */
export function RunView({ run, compact = false, testId = 'rt-run' }: { run: RtRun; compact?: boolean; testId?: string }) {
  const done = run.status === 'finished';
  return (
    <section
      className={`card rt-run${compact ? ' compact' : ''}`}
      data-testid={testId}
      data-status={run.status}
      data-run-id={run.id}
      aria-live="polite"
    >
      <header className="rt-run-head">
        <div>
          <strong>{run.input.label}</strong>{' '}
          <span className={`tag rt-status ${run.status}`} data-testid="rt-status">
            {STATUS[run.status]}
            {run.status === 'running' && ` · ${run.loops.length}/${run.settings.loops} loops done`}
          </span>
          {run.status === 'running' && <RunProgress run={run} />}
          <div className="muted small">{runSettingsLine(run)}</div>
          {run.error && (
            <div className="rt-warn small" data-testid="rt-run-error" data-code={run.error.code} data-message={run.error.message}>
              <ErrorText error={run.error} />
            </div>
          )}
        </div>
        <div className="row">
          <button type="button" disabled={!done} onClick={() => void exportRunJson(run)} data-testid="rt-export-json">
            Export JSON
          </button>
          <button type="button" disabled={!done} onClick={() => void exportRunPng(run)} data-testid="rt-export-png">
            Export PNG
          </button>
        </div>
      </header>
      <Filmstrip run={run} size={compact ? 96 : 128} liveSize={compact ? 128 : 192} />
      <div className={compact ? 'rt-charts stacked' : 'rt-charts'}>
        <FidelityChart loops={run.loops} total={run.settings.loops} />
        <LengthChart loops={run.loops} total={run.settings.loops} height={compact ? 160 : 240} />
      </div>
    </section>
  );
}
