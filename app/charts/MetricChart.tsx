import { useMemo, useRef, useState, type ReactNode } from 'react';
import { Area, CartesianGrid, ComposedChart, Line, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import {
  bandKey,
  chartAxes,
  fileStem,
  markerSide,
  pointCount,
  seriesCsv,
  seriesRows,
  valueKey,
  xExtent,
  zeroNote,
  type ChartSeries,
} from './data';
import { downloadBlob } from '../lib/download';
import { downloadCsv, svgToPng } from './export';
import { formatValue, niceAxis, niceScale } from './ticks';
import './charts.css';

export interface MetricChartProps {
  /** data-testid of the figure (E2E and export file names use it). */
  testId: string;
  title: string;
  xLabel: string;
  yLabel?: string;
  series: ChartSeries[];
  /**
   * The series the axes are sized for (default `series`): the whole runs during a replay, so a growing
   * curve fills a fixed frame instead of rescaling every frame. Its all-zero lines get a note.
   */
  frame?: ChartSeries[];
  /** The x range to show (widened to nice ticks); default the frame's. */
  xDomain?: [number, number];
  /** A vertical marker, e.g. the checkpoint chosen in the scrubber. */
  marker?: { x: number; label: string } | null;
  height?: number;
  emptyText?: string;
  /** Called when an export fails (the panel shows it in the app's error banner). */
  onExportError?: (message: string) => void;
  /** Extra buttons shown before PNG / CSV (e.g. "remove this chart"). */
  actions?: ReactNode;
}

/** Sparse series (e.g. held-out evals every few steps) get dots so single points are visible. */
const DOT_LIMIT = 60;

/** Intervals between x ticks at most (steps 0…120 tick every 20). */
const X_INTERVALS = 6;
/** Colour of the checkpoint marker and its label. */
const MARKER = '#9a5b00';

function LegendSwatch({ color, dash }: { color: string; dash?: string }) {
  return (
    <svg width="22" height="8" aria-hidden="true">
      <line x1="0" y1="4" x2="22" y2="4" stroke={color} strokeWidth="2" strokeDasharray={dash} />
    </svg>
  );
}

/**
 * A line chart of one or more series over steps, each with an optional shaded band (mean ± std or
 * min–max); overlays several runs (a run of another scale gets a right axis); nice ticks on every axis; a
 * note for all-zero lines; exports itself as PNG (its SVG drawn on a canvas) and its data as CSV.
 */
export function MetricChart(props: MetricChartProps) {
  const { testId, title, xLabel, yLabel, series, frame = series, xDomain, marker, height = 220, emptyText, onExportError, actions } = props;
  const wrap = useRef<HTMLDivElement>(null);
  const [busy, setBusy] = useState(false);
  const rows = useMemo(() => seriesRows(series), [series]);
  const axes = useMemo(() => chartAxes(frame) ?? chartAxes(series), [frame, series]);
  const xScale = useMemo(() => {
    const x = xExtent(frame);
    const [lo, hi] = xDomain ?? x?.range ?? [0, 1];
    return niceScale(lo, hi, { integer: (x?.integer ?? true) && Number.isInteger(lo) && Number.isInteger(hi), maxIntervals: X_INTERVALS });
  }, [frame, xDomain]);
  const zero = useMemo(() => zeroNote(frame), [frame]);
  const right = new Set(axes?.rightIds ?? []);
  const axisOf = (s: ChartSeries) => (right.has(s.id) ? 'right' : 'left');
  const named = (s: ChartSeries) => (right.has(s.id) ? `${s.label} (right axis)` : s.label);
  const points = pointCount(series);
  const stem = fileStem(testId);

  const exportPng = async () => {
    const svg = wrap.current?.querySelector<SVGSVGElement>('svg.recharts-surface');
    if (!svg) {
      onExportError?.(`${title}: nothing drawn yet to export`);
      return;
    }
    setBusy(true);
    try {
      const legend = series.map((s) => ({ label: named(s), color: s.color, dash: s.dash }));
      downloadBlob(await svgToPng(svg, { title: yLabel ? `${title} · ${yLabel}` : title, legend }), `${stem}.png`);
    } catch (e) {
      onExportError?.(`${title}: PNG export failed (${e instanceof Error ? e.message : String(e)})`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <figure className="chart" data-testid={testId} data-points={points}>
      <figcaption>
        <span className="chart-title">
          {title}
          {yLabel && <span className="chart-unit"> · {yLabel}</span>}
        </span>
        <span className="chart-actions">
          {actions}
          <button
            type="button"
            disabled={busy || points === 0}
            onClick={() => void exportPng()}
            data-testid={`${testId}-png`}
            title="Download this chart as PNG"
          >
            PNG
          </button>
          <button
            type="button"
            disabled={points === 0}
            onClick={() => downloadCsv(seriesCsv(series, xLabel), `${stem}.csv`)}
            data-testid={`${testId}-csv`}
            title="Download this chart's data as CSV"
          >
            CSV
          </button>
        </span>
      </figcaption>
      {series.length === 0 ? (
        <p className="chart-empty muted" style={{ height }}>
          {emptyText ?? 'No data for this chart.'}
        </p>
      ) : (
        <div ref={wrap} className="chart-plot">
          {zero && (
            <p className="chart-note muted" data-testid={`${testId}-zero-note`}>
              {zero}
            </p>
          )}
          <ComposedChart
            responsive
            style={{ width: '100%', height }}
            data={rows}
            margin={{ top: 8, right: axes?.right ? 4 : 16, bottom: 18, left: 4 }}
          >
            <CartesianGrid stroke="#e3e7ee" strokeDasharray="3 3" yAxisId="left" />
            <XAxis
              dataKey="x"
              type="number"
              {...niceAxis(xScale)}
              allowDataOverflow
              fontSize={11}
              label={{ value: xLabel, position: 'insideBottom', offset: -10, fontSize: 11 }}
            />
            {axes && <YAxis yAxisId="left" {...niceAxis(axes.left)} allowDataOverflow width={52} fontSize={11} />}
            {axes?.right && (
              <YAxis
                yAxisId="right"
                orientation="right"
                {...niceAxis(axes.right)}
                allowDataOverflow
                width={52}
                fontSize={11}
                className="chart-axis-right"
              />
            )}
            <Tooltip
              isAnimationActive={false}
              labelFormatter={(x) => `${xLabel} ${x}`}
              formatter={(v) => (Array.isArray(v) ? v.map((n) => formatValue(Number(n))).join(' – ') : formatValue(Number(v)))}
            />
            {series.map((s, i) =>
              s.points.some((p) => p.lo !== undefined) ? (
                <Area
                  key={`band-${s.id}`}
                  yAxisId={axisOf(s)}
                  dataKey={bandKey(i)}
                  name={`${named(s)} band`}
                  type="linear"
                  stroke="none"
                  fill={s.color}
                  fillOpacity={0.15}
                  connectNulls
                  isAnimationActive={false}
                  activeDot={false}
                  legendType="none"
                  className="chart-band"
                />
              ) : null,
            )}
            {series.map((s, i) => (
              <Line
                key={s.id}
                yAxisId={axisOf(s)}
                dataKey={valueKey(i)}
                name={named(s)}
                type="linear"
                stroke={s.color}
                strokeWidth={1.8}
                strokeDasharray={s.dash}
                dot={s.points.length <= DOT_LIMIT ? { r: 2.2, strokeWidth: 0, fill: s.color } : false}
                connectNulls
                isAnimationActive={false}
              />
            ))}
            {marker && (
              <ReferenceLine
                yAxisId="left"
                x={marker.x}
                stroke={MARKER}
                strokeDasharray="4 3"
                className="chart-marker"
                // Inside the plot, on the side away from the nearer edge: never cut by the SVG's top or sides.
                label={{
                  value: marker.label,
                  position: markerSide(marker.x, xScale.domain) === 'left' ? 'insideTopRight' : 'insideTopLeft',
                  fontSize: 10,
                  fill: MARKER,
                  className: 'chart-marker-label',
                }}
              />
            )}
          </ComposedChart>
        </div>
      )}
      {series.length > 0 && (
        <ul className="chart-legend">
          {series.map((s) => (
            <li key={s.id} title={s.note} data-axis={axisOf(s)}>
              <LegendSwatch color={s.color} dash={s.dash} /> {named(s)}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
