import { useMemo, useRef, useState, type ReactNode } from 'react';
import { Area, CartesianGrid, ComposedChart, Line, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import { bandKey, fileStem, pointCount, seriesCsv, seriesRows, valueKey, type ChartSeries } from './data';
import { downloadBlob, downloadCsv, svgToPng } from './export';
import './charts.css';

export interface MetricChartProps {
  /** data-testid of the figure (E2E and export file names use it). */
  testId: string;
  title: string;
  xLabel: string;
  yLabel?: string;
  series: ChartSeries[];
  /** Fixed axes keep a growing (replayed) curve from rescaling every frame. */
  xDomain?: [number, number];
  yDomain?: [number, number] | null;
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

function tick(v: number): string {
  const a = Math.abs(v);
  if (a >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a === 0) return '0';
  if (a < 0.001) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

function LegendSwatch({ color, dash }: { color: string; dash?: string }) {
  return (
    <svg width="22" height="8" aria-hidden="true">
      <line x1="0" y1="4" x2="22" y2="4" stroke={color} strokeWidth="2" strokeDasharray={dash} />
    </svg>
  );
}

/**
 * A line chart of one or more series over steps, each with an optional shaded band (mean ± std or
 * min–max); overlays several runs; exports itself as PNG (its SVG drawn on a canvas) and its data as CSV.
 */
export function MetricChart(props: MetricChartProps) {
  const { testId, title, xLabel, yLabel, series, xDomain, yDomain, marker, height = 220, emptyText, onExportError, actions } = props;
  const wrap = useRef<HTMLDivElement>(null);
  const [busy, setBusy] = useState(false);
  const rows = useMemo(() => seriesRows(series), [series]);
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
      const legend = series.map((s) => ({ label: s.label, color: s.color, dash: s.dash }));
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
          <button type="button" disabled={busy || points === 0} onClick={() => void exportPng()} data-testid={`${testId}-png`} title="Download this chart as PNG">
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
          <ComposedChart responsive style={{ width: '100%', height }} data={rows} margin={{ top: 8, right: 16, bottom: 18, left: 4 }}>
            <CartesianGrid stroke="#e3e7ee" strokeDasharray="3 3" />
            <XAxis
              dataKey="x"
              type="number"
              domain={xDomain ?? ['dataMin', 'dataMax']}
              allowDataOverflow
              tickFormatter={tick}
              fontSize={11}
              label={{ value: xLabel, position: 'insideBottom', offset: -10, fontSize: 11 }}
            />
            <YAxis
              domain={yDomain ?? ['auto', 'auto']}
              allowDataOverflow
              tickFormatter={tick}
              width={52}
              fontSize={11}
            />
            <Tooltip
              isAnimationActive={false}
              labelFormatter={(x) => `${xLabel} ${x}`}
              formatter={(v) => (Array.isArray(v) ? v.map((n) => tick(Number(n))).join(' – ') : tick(Number(v)))}
            />
            {series.map((s, i) =>
              s.points.some((p) => p.lo !== undefined) ? (
                <Area
                  key={`band-${s.id}`}
                  dataKey={bandKey(i)}
                  name={`${s.label} band`}
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
                dataKey={valueKey(i)}
                name={s.label}
                type="linear"
                stroke={s.color}
                strokeWidth={1.8}
                strokeDasharray={s.dash}
                dot={s.points.length <= DOT_LIMIT ? { r: 2.2, strokeWidth: 0, fill: s.color } : false}
                connectNulls
                isAnimationActive={false}
              />
            ))}
            {marker && <ReferenceLine x={marker.x} stroke="#9a5b00" strokeDasharray="4 3" label={{ value: marker.label, position: 'top', fontSize: 10, fill: '#9a5b00' }} />}
          </ComposedChart>
        </div>
      )}
      {series.length > 0 && (
        <ul className="chart-legend">
          {series.map((s) => (
            <li key={s.id}>
              <LegendSwatch color={s.color} dash={s.dash} /> {s.label}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
