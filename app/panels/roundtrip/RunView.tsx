import type { RtRun } from '../../store/roundtrip';
import { exportRunJson, exportRunPng } from './actions';
import { FidelityChart, LengthChart } from './Charts';
import { Filmstrip } from './Filmstrip';
import { policyLabel } from './settings';

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

/** A run: status and settings, exports, the two live charts and the filmstrip. `compact` stacks the charts. */
export function RunView({ run, compact = false, testId = 'rt-run' }: { run: RtRun; compact?: boolean; testId?: string }) {
  const done = run.status === 'finished';
  return (
    <section className={`card rt-run${compact ? ' compact' : ''}`} data-testid={testId} data-status={run.status} data-run-id={run.id} aria-live="polite">
      <header className="rt-run-head">
        <div>
          <strong>{run.input.label}</strong>{' '}
          <span className={`tag rt-status ${run.status}`} data-testid="rt-status">
            {STATUS[run.status]}
            {run.status === 'running' && ` · ${run.loops.length}/${run.settings.loops}`}
          </span>
          <div className="muted small">{runSettingsLine(run)}</div>
          {run.error && (
            <div className="rt-warn small" data-testid="rt-run-error">
              <code>{run.error.code}</code>: {run.error.message}
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
      <div className={compact ? 'rt-charts stacked' : 'rt-charts'}>
        <FidelityChart loops={run.loops} total={run.settings.loops} />
        <LengthChart loops={run.loops} total={run.settings.loops} height={compact ? 160 : 240} />
      </div>
      <Filmstrip run={run} size={compact ? 96 : 128} />
    </section>
  );
}
