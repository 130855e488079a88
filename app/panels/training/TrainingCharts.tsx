import { useMemo } from 'react';
import { chartYLabel, keyChart, loggedKey, otherKeys, runPrefix, TRAINING_CHARTS, type ChartSpec } from '../../../src/engine/runs/index.ts';
import { MetricChart } from '../../charts/MetricChart';
import { addExtraKey, removeExtraKey, reportExportError } from './actions';
import { chartSeries, latestText, type ChartRun } from './series';

interface Props {
  /** The shown runs with their index in the run list (which fixes their colour) and optional legend names. */
  runs: ChartRun[];
  step: number | null;
  range: [number, number] | null;
  extraKeys: string[];
  marker: { x: number; label: string } | null;
  /** Prefixes every data-testid (a second set of charts on the page, e.g. the live run's). */
  idPrefix?: string;
  /** Sample captions from this step or before (the live run's step, so the recorded run's caption is of the same point). */
  captionsUpTo?: number;
}

const EMPTY: Record<string, string> = {
  length: 'No completions/mean_length in the shown runs.',
  reward: 'No reward in the shown runs.',
  fidelity: 'No held-out eval/* (or the Trainer’s eval_*) metrics in the shown runs.',
  kl: 'No kl in the shown runs (β = 0 runs log none).',
  clip: 'No clip_ratio/* in the shown runs.',
};

function Chart({
  chart,
  full,
  visible,
  range,
  marker,
  extra,
  idPrefix,
}: {
  idPrefix: string;
  chart: ChartSpec;
  full: Props['runs'];
  visible: Props['runs'];
  range: [number, number] | null;
  marker: Props['marker'];
  extra: boolean;
}) {
  // Axes come from the whole runs, so a replayed curve grows into a fixed frame instead of rescaling.
  const frame = useMemo(() => chartSeries(chart, full), [chart, full]);
  const series = useMemo(() => chartSeries(chart, visible), [chart, visible]);
  const yLabel = useMemo(
    () =>
      chartYLabel(
        chart,
        full.map((r) => r.run),
      ),
    [chart, full],
  );
  return (
    <MetricChart
      testId={`${idPrefix}${extra ? `chart-key-${chart.lines[0].key.replace(/[^a-zA-Z0-9_]+/g, '-')}` : `chart-${chart.id}`}`}
      title={chart.title}
      xLabel="step"
      yLabel={yLabel}
      series={series}
      frame={frame}
      xDomain={range ?? undefined}
      marker={marker}
      emptyText={EMPTY[chart.id] ?? `No ${chart.title} in the shown runs.`}
      onExportError={reportExportError}
      actions={
        extra ? (
          <button type="button" onClick={() => removeExtraKey(chart.lines[0].key)} aria-label={`Remove chart ${chart.title}`}>
            ×
          </button>
        ) : undefined
      }
    />
  );
}

/** The five training charts, any added metric charts, and the latest sample caption, all cut at `step`. */
export function TrainingCharts({ runs, step, range, extraKeys, marker, idPrefix = '', captionsUpTo }: Props) {
  const visible = useMemo(() => (step === null ? runs : runs.map((r) => ({ ...r, run: runPrefix(r.run, step) }))), [runs, step]);
  const others = useMemo(() => otherKeys(runs.map((r) => r.run)).filter((k) => !extraKeys.includes(k)), [runs, extraKeys]);
  const extraCharts = useMemo(() => extraKeys.map(keyChart), [extraKeys]);
  // A key renamed on reading (eval_loss → eval/loss) is listed with the name the log file gave it.
  const loggedAs = (key: string) => {
    const original = runs.map(({ run }) => loggedKey(run, key)).find((k) => k !== key);
    return original ? `${key} (logged as ${original})` : key;
  };
  const captions = visible
    .map(({ run, index, name }) => ({ run, index, name, caption: latestText(run, 'eval/sample_caption', captionsUpTo) }))
    .filter((c) => c.caption !== null);
  return (
    <>
      {captions.length > 0 && (
        <div className="card sample-captions" data-testid={`${idPrefix}sample-caption`}>
          <h3>Held-out sample caption</h3>
          <p className="muted small" data-testid={`${idPrefix}sample-caption-scene`}>
            The run’s greedy caption of the first scene of its held-out evaluation set, logged during training — a different scene from the
            image the Checkpoints panel evaluates.
          </p>
          {captions.map(({ run, name, caption }) => (
            <p key={run.id} data-testid={`${idPrefix}sample-caption-run`}>
              <span className="muted mono" title={run.label}>
                {runs.length > 1 ? `${name ?? run.label} · ` : ''}held-out scene · step {caption!.step} ·{' '}
                {caption!.value.split(/\s+/).filter(Boolean).length} words
              </span>
              <br />“{caption!.value}”
            </p>
          ))}
        </div>
      )}
      <div className="chart-grid">
        {TRAINING_CHARTS.map((chart) => (
          <Chart
            key={chart.id}
            chart={chart}
            full={runs}
            visible={visible}
            range={range}
            marker={marker}
            extra={false}
            idPrefix={idPrefix}
          />
        ))}
        {extraCharts.map((chart) => (
          <Chart key={chart.id} chart={chart} full={runs} visible={visible} range={range} marker={marker} extra idPrefix={idPrefix} />
        ))}
      </div>
      {others.length > 0 && (
        <label className="row other-keys">
          <span className="muted">Chart another logged metric:</span>
          <select value="" onChange={(e) => e.target.value && addExtraKey(e.target.value)} data-testid={`${idPrefix}add-metric`}>
            <option value="">choose… ({others.length})</option>
            {others.map((k) => (
              <option key={k} value={k}>
                {loggedAs(k)}
              </option>
            ))}
          </select>
        </label>
      )}
    </>
  );
}
