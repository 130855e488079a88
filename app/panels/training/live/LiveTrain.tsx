import { useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import {
  DEFAULT_TRAIN_FORM,
  PYTORCH_RUN_FORM,
  SHIPPED_RUN_FORM,
  TRAIN_DEVICE_CHOICES,
  TRAIN_FORM_FIELDS,
  type TrainDeviceChoice,
} from '../../../../src/engine/train/form.ts';
import { LOSS_TYPES } from '../../../../src/engine/grpo.ts';
import { liveChartRuns, PALETTE } from '../series';
import { useStore } from '../../../store/store';
import { engineReady } from '../../../store/engineSlice';
import { checkpointOwners } from '../checkpoints';
import { TrainingCharts } from '../TrainingCharts';
import {
  bundleKeyNow,
  cancelLive,
  discardLive,
  exportLiveBundle,
  exportLiveJsonl,
  initLiveTrain,
  keepLiveRun,
  LIVE_LABEL,
  pauseLive,
  resumeLive,
  setLiveField,
  setLiveForm,
  startLive,
} from './actions';
import { formatDuration, keptRunId, lastLiveStep, liveRunLog, pace, runSettingsName } from './progress';

const fmt = (x: number | undefined, d: number): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

const DEVICE_LABEL: Record<TrainDeviceChoice, string> = { auto: 'Auto', wasm: 'WASM', webgpu: 'WebGPU' };

const PHASE: Record<string, string> = {
  rollouts: 'sampling the group and rewarding it',
  logprobs: 'image states for the update',
  update: 'GRPO update',
  policy: 'rebuilding the policy session',
  eval: 'held-out evaluation',
};

const LOSS_CHOICES: ReadonlyArray<readonly [string, string]> = LOSS_TYPES.map((t) => [t, t]);
const DEVICE_CHOICES: ReadonlyArray<readonly [string, string]> = TRAIN_DEVICE_CHOICES.map((d) => [d, DEVICE_LABEL[d]]);

/** A form field with fixed choices ([value, label]); a value from a link that is not a choice stays visible, named by its form error. */
function ChoiceSelect(props: {
  id: string;
  field: 'loss' | 'device';
  value: string;
  choices: ReadonlyArray<readonly [string, string]>;
  invalid: { 'aria-invalid': boolean; 'aria-describedby': string | undefined };
}) {
  const { id, field, value, choices, invalid } = props;
  return (
    <select id={id} value={value} onChange={(e) => setLiveField(field, e.target.value)} {...invalid} data-testid={`tl-field-${field}`}>
      {!choices.some(([v]) => v === value) && <option value={value}>{value}</option>}
      {choices.map(([v, label]) => (
        <option key={v} value={v}>
          {label}
        </option>
      ))}
    </select>
  );
}

function LiveForm({ disabled }: { disabled: boolean }) {
  const { form, errors } = useStore(useShallow((s) => ({ form: s.runs.liveTrain.form, errors: s.runs.liveTrain.formErrors })));
  return (
    <fieldset className="tl-form" disabled={disabled} data-testid="tl-form">
      <legend className="muted small">Settings (shareable in the link)</legend>
      <p className="tl-presets small">
        Presets:{' '}
        <button type="button" className="link" onClick={() => setLiveForm(DEFAULT_TRAIN_FORM)} data-testid="tl-preset-default">
          default (β {DEFAULT_TRAIN_FORM.beta}, lr {DEFAULT_TRAIN_FORM.lr})
        </button>{' '}
        ·{' '}
        <button type="button" className="link" onClick={() => setLiveForm(SHIPPED_RUN_FORM)} data-testid="tl-preset-shipped">
          the shipped run’s (reward {SHIPPED_RUN_FORM.reward}, length penalty {SHIPPED_RUN_FORM.lengthPenalty}, {SHIPPED_RUN_FORM.steps}{' '}
          steps)
        </button>{' '}
        ·{' '}
        <button type="button" className="link" onClick={() => setLiveForm(PYTORCH_RUN_FORM)} data-testid="tl-preset-pytorch">
          the PyTorch stage 2’s (β {PYTORCH_RUN_FORM.beta}, lr {PYTORCH_RUN_FORM.lr}, reward {PYTORCH_RUN_FORM.reward})
        </button>
        <span className="muted"> — the default’s stronger pull to the cold start keeps caption precision ≥ 0.9 whatever the seed</span>
      </p>
      {TRAIN_FORM_FIELDS.map((f) => {
        const bad = errors.some((e) => e.field === f.field);
        const id = `tl-${f.field}`;
        const invalid = { 'aria-invalid': bad, 'aria-describedby': bad ? `tl-form-error-${f.field}` : undefined };
        return (
          <label key={f.field} htmlFor={id} title={f.help}>
            <span className="small">{f.label}</span>
            {f.field === 'loss' || f.field === 'device' ? (
              <ChoiceSelect
                id={id}
                field={f.field}
                value={form[f.field]}
                choices={f.field === 'loss' ? LOSS_CHOICES : DEVICE_CHOICES}
                invalid={invalid}
              />
            ) : (
              <input
                id={id}
                type="text"
                inputMode={f.field === 'reward' || f.field === 'lengthPenalty' ? 'text' : 'decimal'}
                value={form[f.field]}
                onChange={(e) => setLiveField(f.field, e.target.value)}
                {...invalid}
                data-testid={`tl-field-${f.field}`}
              />
            )}
          </label>
        );
      })}
      {errors.length > 0 && (
        <div className="tl-errors" role="alert" data-testid="tl-form-errors" data-fields={errors.map((e) => e.field).join(' ')}>
          {errors.map((e) => (
            <p key={e.field} id={`tl-form-error-${e.field}`} className="tl-error small" data-testid="tl-form-error" data-field={e.field}>
              {e.message.charAt(0).toUpperCase() + e.message.slice(1)}
            </p>
          ))}
        </div>
      )}
    </fieldset>
  );
}

/** The run's pace and phase: step i of N, seconds per step, time left. */
function Progress() {
  const { run, phase, since, lastStepAt, device } = useStore(
    useShallow((s) => ({
      run: s.runs.liveTrain.run,
      phase: s.runs.liveTrain.phase,
      since: s.runs.liveTrain.since,
      lastStepAt: s.runs.liveTrain.lastStepAt,
      device: s.runs.liveTrain.device,
    })),
  );
  if (!run) return null;
  const step = run.savedStep;
  const N = run.config.steps;
  const running = run.status === 'running';
  const last = run.log.at(-1);
  const p = running ? pace(step, N, since, lastStepAt) : { secondsPerStep: null, etaSeconds: null };
  return (
    <div className="tl-progress" data-testid="tl-progress" data-status={run.status} data-step={step} data-steps={N}>
      <progress value={step} max={N} aria-label={`step ${step} of ${N}`} />
      <span className="mono" data-testid="tl-step">
        step {step} of {N}
      </span>
      <span className="tag" data-testid="tl-status" data-status={run.status}>
        {run.status}
      </span>
      {p.secondsPerStep !== null && (
        <span className="small" data-testid="tl-rate" data-seconds={p.secondsPerStep}>
          {p.secondsPerStep.toFixed(1)} s/step
        </span>
      )}
      {p.etaSeconds !== null && (
        <span className="small" data-testid="tl-eta">
          ETA {formatDuration(p.etaSeconds)}
        </span>
      )}
      {running && phase && (
        <span className="small muted" data-testid="tl-phase" data-phase={phase.phase}>
          step {phase.step}: {PHASE[phase.phase] ?? phase.phase}
        </span>
      )}
      {running && device && (
        <span className="small muted" data-testid="tl-device" data-device={device.device} data-choice={device.choice}>
          updates on jax-js {device.device === 'webgpu' ? 'WebGPU' : 'WASM'} (gradient device {DEVICE_LABEL[device.choice]}
          {device.note ? <span data-testid="tl-device-note">: {device.note}</span> : null})
        </span>
      )}
      {last && (
        <p className="small mono tl-last" data-testid="tl-last-row" data-step={last.step} data-loss={last.loss} data-reward={last.reward}>
          step {last.step}: reward {fmt(last.reward, 4)} · mean length {fmt(last['completions/mean_length'], 2)} · KL {fmt(last.kl, 5)} ·
          loss {fmt(last.loss, 5)}
        </p>
      )}
      {run.message && (
        <p className="small tl-message" data-testid="tl-message" data-status={run.status}>
          {run.message}
        </p>
      )}
    </div>
  );
}

function EvalTable() {
  const rows = useStore((s) => s.runs.liveTrain.run?.eval);
  if (!rows || rows.length === 0) return null;
  return (
    <div className="tl-eval-wrap">
      <table className="tl-eval small" data-testid="tl-eval">
        <caption className="muted">Held-out evaluation (greedy captions)</caption>
        <thead>
          <tr>
            <th>step</th>
            <th>mean tokens</th>
            <th>sim</th>
            <th>attr precision</th>
            <th>attr recall</th>
            <th>retrieval top-1</th>
          </tr>
        </thead>
        <tbody>
          {[...rows]
            .sort((a, b) => a.step - b.step)
            .map((r) => (
              <tr key={r.step} data-testid="tl-eval-row" data-step={r.step} data-sim={r.sim}>
                <td className="mono">{r.step}</td>
                <td>{r.mean_tokens.toFixed(2)}</td>
                <td>{r.sim.toFixed(4)}</td>
                <td>{r.attr_precision.toFixed(3)}</td>
                <td>{r.attr_recall.toFixed(3)}</td>
                <td>{r.retrieval_top1.toFixed(3)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Train live: stage 2 of Unified-GRPO in the engine worker on the loaded bundle, with the shipped preset as the form's
 * default. Each finished step is charted over the bundle's recorded stage-2 run, with held-out evaluations and the
 * latest group's captions; the run and its checkpoints are kept in IndexedDB, so a reload resumes it.
 */
export function LiveTrain() {
  const { run, invalidForm, exporting, bundle, trainingRuns, shownRuns, ready } = useStore(
    useShallow((s) => ({
      run: s.runs.liveTrain.run,
      invalidForm: s.runs.liveTrain.formErrors.length > 0,
      exporting: s.runs.liveTrain.exporting,
      bundle: s.engine.bundle,
      trainingRuns: s.runs.training.runs,
      shownRuns: s.runs.training.shown,
      ready: engineReady(s.engine),
    })),
  );
  useEffect(() => {
    void initLiveTrain();
  }, []);
  const liveLog = useMemo(() => (run ? liveRunLog(run, `${LIVE_LABEL} (now)`) : null), [run]);
  const recorded = useMemo(() => checkpointOwners(trainingRuns)[0] ?? null, [trainingRuns]);
  // The live run, the bundle's recorded run, and the earlier live runs kept in the Runs list and shown there (not
  // the copies of this run, which would lie on its own lines).
  const runId = run?.id;
  const liveConfig = run?.config;
  const chartRuns = useMemo(
    () =>
      liveChartRuns(
        liveLog && liveConfig && runId ? { log: liveLog, id: runId, name: `live run (${runSettingsName(liveConfig)})` } : null,
        recorded,
        trainingRuns,
        shownRuns,
      ),
    [liveLog, liveConfig, recorded, trainingRuns, shownRuns, runId],
  );
  const liveColour = chartRuns[0] && chartRuns[0].run === liveLog ? PALETTE[chartRuns[0].index % PALETTE.length] : undefined;
  // The recorded run's sample caption of the same step as the live run's latest.
  const liveStep = run ? lastLiveStep(run) : 0;
  const kept = run !== null && trainingRuns.some((r) => r.id === keptRunId(run.id, liveStep));
  const running = run?.status === 'running';
  const paused = run?.status === 'paused';
  const canTrain = !!bundle && bundle.roles.includes('referenceEncoder');
  const otherBundle = run !== null && run.bundleKey !== bundleKeyNow();
  return (
    <section className="card live-train" data-testid="train-live" aria-labelledby="train-live-heading" data-status={run?.status ?? 'none'}>
      <h3 id="train-live-heading">Train live</h3>
      <p className="muted small">
        GRPO on the encoder’s caption decoder, right here: captions are sampled, redrawn by the frozen decoder, scored, and the encoder is
        updated (jax-js autodiff in the engine worker). Every step is charted over the bundle’s recorded stage-2 run.
      </p>
      {!canTrain && (
        <p className="muted small" data-testid="tl-unavailable">
          The loaded bundle has no cold start to train (manifest <code>roles.referenceEncoder</code>).
        </p>
      )}
      <LiveForm disabled={running} />
      <div className="row tl-controls">
        <button
          type="button"
          onClick={() => void startLive()}
          disabled={running || !ready || !canTrain || invalidForm}
          data-testid="tl-start"
        >
          {run ? 'Start a new run' : 'Start'}
        </button>
        <button type="button" onClick={pauseLive} disabled={!running} data-testid="tl-pause">
          Pause
        </button>
        <button type="button" onClick={() => void resumeLive()} disabled={!paused || !ready || otherBundle} data-testid="tl-resume">
          Resume
        </button>
        <button type="button" onClick={cancelLive} disabled={!running && !paused} data-testid="tl-cancel">
          Cancel
        </button>
        <button type="button" onClick={exportLiveJsonl} disabled={!run || run.log.length === 0} data-testid="tl-export-jsonl">
          Export run (JSONL)
        </button>
        <button
          type="button"
          onClick={() => void exportLiveBundle()}
          disabled={!run || run.checkpoints.length === 0 || otherBundle || exporting !== null}
          data-testid="tl-export-bundle"
          aria-busy={exporting === 'bundle'}
        >
          {exporting === 'bundle' ? 'Exporting…' : 'Export trained bundle (zip)'}
        </button>
        <button
          type="button"
          onClick={() => void keepLiveRun()}
          disabled={!run || running || run.log.length === 0 || kept}
          data-testid="tl-keep"
          title="Add this run, as it is now, to the Runs list above (stored in this browser) to compare it with the next run"
        >
          {kept ? 'Kept in Runs' : 'Keep in Runs'}
        </button>
        {run && !running && (
          <button type="button" className="link" onClick={() => void discardLive()} data-testid="tl-discard">
            Discard run
          </button>
        )}
      </div>
      {otherBundle && (
        <p className="muted small" data-testid="tl-other-bundle">
          This run trains {run.bundleKey}; load that bundle to resume or export it.
        </p>
      )}
      <Progress />
      {run?.captions && (
        <div className="tl-captions" data-testid="tl-captions" data-step={run.captions.step}>
          <h4 className="small">Group captions of step {run.captions.step}</h4>
          <ol className="small">
            {run.captions.captions.map((c, i) => (
              <li key={i} data-testid="tl-caption">
                “{c || '(empty caption)'}”
              </li>
            ))}
          </ol>
        </div>
      )}
      <EvalTable />
      {liveLog && (
        <div data-testid="tl-charts" data-live-colour={liveColour}>
          <TrainingCharts
            runs={chartRuns}
            step={null}
            range={run ? [0, run.config.steps] : null}
            extraKeys={[]}
            marker={null}
            idPrefix="tl-"
            captionsUpTo={liveStep}
          />
        </div>
      )}
    </section>
  );
}
