import { useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useStore } from '../../store/store';
import { initTraining, syncBundleRuns } from './actions';
import { foreignCheckpoints, scrubberCheckpoints } from './checkpoints';
import { LiveTrain } from './live/LiveTrain';
import { ReplayControls } from './ReplayControls';
import { RunList } from './RunList';
import { Scrubber } from './Scrubber';
import { TrainingCharts } from './TrainingCharts';
import { useReplayStep } from './useReplayStep';
import { scrollBehavior } from '../../lib/motion';
import './training.css';

/** Brings the Train live form into view and puts the focus on its first field (the form sits below the charts). */
function goToTrainLive(): void {
  const form = document.querySelector<HTMLElement>('[data-testid="train-live"]');
  form?.scrollIntoView({ block: 'start', behavior: scrollBehavior() });
  form?.querySelector<HTMLElement>('input, select')?.focus({ preventScroll: true });
}

/**
 * Training: recorded Unified-GRPO runs (the bundle's and imported logs) replayed as growing curves —
 * caption length, reward ± std, held-out fidelity, KL, clip ratio — overlaid, exportable.
 */
export function TrainingPanel() {
  const t = useStore((s) => s.runs.training);
  const { bundle, origin } = useStore(useShallow((s) => ({ bundle: s.engine.bundle, origin: s.engine.bundleOrigin })));
  useEffect(() => {
    void initTraining();
  }, []);
  useEffect(() => {
    void syncBundleRuns(bundle, origin);
  }, [bundle, origin]);
  const step = useReplayStep(t.replay);
  const shown = useMemo(
    () => t.runs.map((run, index) => ({ run, index })).filter(({ run }) => t.shown.includes(run.id)),
    [t.runs, t.shown],
  );
  const liveRun = useStore((s) => s.runs.liveTrain.run);
  const checkpoints = useMemo(
    () => scrubberCheckpoints(bundle?.manifest.roles.checkpoints ?? [], liveRun, bundle ? `${bundle.id}@${bundle.version}` : null),
    [bundle, liveRun],
  );
  const chosen = checkpoints[Math.min(t.checkpoint, checkpoints.length - 1)];
  const belongsTo = useMemo(() => foreignCheckpoints(t.runs, t.shown), [t.runs, t.shown]);
  // The bundle's checkpoint is not marked on curves of runs it does not come from.
  const marker = chosen && !chosen.live && belongsTo === null ? { x: chosen.step, label: `ckpt ${chosen.step}` } : null;
  const range: [number, number] | null = t.replay ? [t.replay.start, t.replay.end] : null;
  return (
    <section aria-labelledby="training-heading" data-testid="training-panel">
      <h2 id="training-heading">Training: recorded runs and the “aha moment”</h2>
      <p className="muted">
        Unified-GRPO stage 2 trains the encoder to write captions the decoder can redraw faithfully. Replay a run and watch the curves grow:
        captions lengthen as reward (fidelity) rises. Metric names follow TRL’s GRPOTrainer. Or train one here, with your own β, group size,
        loss and reward:{' '}
        <button type="button" className="link in-text" data-testid="go-train-live" onClick={goToTrainLive}>
          Train live
        </button>{' '}
        (below the charts).
      </p>
      <div className="training-top">
        <RunList />
        <Scrubber checkpoints={checkpoints} index={t.checkpoint} belongsTo={belongsTo} />
      </div>
      <ReplayControls replay={t.replay} step={step} speed={t.speed} />
      {shown.length === 0 ? (
        <p className="muted" data-testid="no-run-shown">
          Tick a run above (or import one) to chart it.
        </p>
      ) : (
        <TrainingCharts runs={shown} step={step} range={range} extraKeys={t.extraKeys} marker={marker} />
      )}
      <LiveTrain />
    </section>
  );
}
