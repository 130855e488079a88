import { memo, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { CartesianGrid, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import type { RoundTripLoop } from '../../../src/protocol/roundtrip.ts';
import { niceAxis, niceScale } from '../../charts/ticks';

interface Row {
  loop: number;
  simOrig: number;
  ssimOrig: number;
  psnrOrig: number;
  simPrev: number;
  tokens: number;
}

function rows(loops: readonly RoundTripLoop[]): Row[] {
  return loops.map((l) => ({
    loop: l.loop,
    simOrig: l.vsOriginal.sim,
    ssimOrig: l.vsOriginal.ssim,
    psnrOrig: l.vsOriginal.psnr,
    simPrev: l.vsPrevious.sim,
    tokens: l.tokens,
  }));
}

const fmt = (v: unknown): string => (typeof v === 'number' ? (Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3)) : String(v));

/**
 * A chart frame whose width comes from a ResizeObserver. Recharts' ResponsiveContainer, its Legend and its
 * tick-interval logic read layout synchronously (getBoundingClientRect); on a busy machine every new point
 * then stalled the page for seconds. Fixed-size charts, explicit tick intervals and an HTML legend avoid that.
 */
function ChartFrame(props: {
  testId: string;
  points: number;
  title: string;
  legend?: { label: string; colour: string; dashed?: boolean }[];
  children: (width: number) => ReactNode;
}) {
  const ref = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver((entries) => setWidth(Math.floor(entries[0]?.contentRect.width ?? 0)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return (
    <figure className="rt-chart" data-testid={props.testId} data-points={props.points} ref={ref}>
      <figcaption>{props.title}</figcaption>
      {props.points === 0 && (
        <p className="muted small rt-chart-empty" data-testid="rt-chart-empty">
          A point appears here as each loop finishes.
        </p>
      )}
      {width > 0 && props.children(width)}
      {props.legend && (
        <ul className="rt-legend">
          {props.legend.map((l) => (
            <li key={l.label}>
              <span className="swatch" style={{ borderTopColor: l.colour, borderTopStyle: l.dashed ? 'dashed' : 'solid' }} />
              {l.label}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}

/** The x axis shared by both charts: loops 1…N fixed, so points land where they belong as they arrive. */
function loopAxis(total: number) {
  return (
    <XAxis
      dataKey="loop"
      type="number"
      domain={[1, Math.max(1, total)]}
      ticks={Array.from({ length: total }, (_, i) => i + 1)}
      interval={0}
      allowDecimals={false}
    />
  );
}

const SERIES = [
  { key: 'simOrig', label: 'sim vs original', colour: '#2458c6', axis: 'unit', width: 2 },
  { key: 'ssimOrig', label: 'SSIM vs original', colour: '#1f7a4d', axis: 'unit', width: 1.5 },
  { key: 'simPrev', label: 'sim vs previous', colour: '#8a63d2', axis: 'unit', width: 1.5, dashed: true },
  { key: 'psnrOrig', label: 'PSNR vs original (dB, right axis)', colour: '#9a5b00', axis: 'db', width: 1.5 },
] as const;

/** A round-trip chart's points (one per finished loop), the run's loop count and the chart's height. */
interface ChartProps {
  loops: readonly RoundTripLoop[];
  total: number;
  height?: number;
}

/**
 * Fidelity per loop: scorer sim and SSIM against the original, sim against the previous image (left axis),
 * PSNR against the original in dB (right axis). A point appears as its loop finishes (no animation).
 */
export const FidelityChart = memo(function FidelityChart({ loops, total, height = 240 }: ChartProps) {
  // Axes fixed at 0…1 and 0…40 dB unless a value falls outside (a negative cosine, PSNR over 40 dB), so they
  // do not change under the points as loops land; memoised by value, not by the loops array.
  const lowest = Math.min(0, ...loops.flatMap((l) => [l.vsOriginal.sim, l.vsOriginal.ssim, l.vsPrevious.sim]));
  const highestDb = Math.max(40, ...loops.map((l) => Math.min(l.vsOriginal.psnr, 100)));
  const unit = useMemo(() => niceScale(lowest, 1), [lowest]);
  const db = useMemo(() => niceScale(0, highestDb, { maxIntervals: 4 }), [highestDb]);
  const data = useMemo(() => rows(loops), [loops]);
  return (
    <ChartFrame
      testId="rt-chart-fidelity"
      points={loops.length}
      title="Fidelity per loop"
      legend={SERIES.map((s) => ({ label: s.label, colour: s.colour, dashed: 'dashed' in s }))}
    >
      {(width) => (
        <LineChart width={width} height={height} data={data} margin={{ top: 8, right: 8, bottom: 4, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          {loopAxis(total)}
          <YAxis yAxisId="unit" {...niceAxis(unit)} width={40} />
          <YAxis yAxisId="db" orientation="right" {...niceAxis(db, ' dB')} width={56} />
          <Tooltip formatter={fmt} labelFormatter={(l) => `loop ${String(l)}`} />
          {SERIES.map((s) => (
            <Line
              key={s.key}
              yAxisId={s.axis}
              dataKey={s.key}
              name={s.label}
              stroke={s.colour}
              strokeWidth={s.width}
              strokeDasharray={'dashed' in s ? '4 3' : undefined}
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      )}
    </ChartFrame>
  );
});

/** Returns nice integer ticks from 0 to at least max+1 (at least 0…4): 0 / 2 / 4 …, 0 / 5 / 10 …, 0 / 10 / 20 …. */
export function integerTicks(max: number): number[] {
  return niceScale(0, Math.max(4, max + 1), { integer: true }).ticks;
}

/** Caption length (content tokens) per loop. */
export const LengthChart = memo(function LengthChart({ loops, total, height = 200 }: ChartProps) {
  const longest = Math.max(0, ...loops.map((l) => l.tokens));
  const lengthTicks = useMemo(() => integerTicks(longest), [longest]);
  const data = useMemo(() => rows(loops), [loops]);
  return (
    <ChartFrame testId="rt-chart-length" points={loops.length} title="Caption length per loop (tokens)">
      {(width) => (
        <LineChart width={width} height={height} data={data} margin={{ top: 8, right: 8, bottom: 4, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          {loopAxis(total)}
          <YAxis domain={[0, lengthTicks.at(-1) ?? 4]} ticks={lengthTicks} interval={0} allowDecimals={false} width={40} />
          <Tooltip labelFormatter={(l) => `loop ${String(l)}`} />
          <Line dataKey="tokens" name="tokens" stroke="#2458c6" strokeWidth={2} isAnimationActive={false} />
        </LineChart>
      )}
    </ChartFrame>
  );
});
