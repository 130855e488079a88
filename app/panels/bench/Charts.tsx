import type { ReactNode } from 'react';
import { useMemo } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ALL_TASKS } from '../../../src/engine/geneval/index.ts';
import { niceAxis, niceScale } from '../../charts/ticks';
import type { BenchEntry } from '../../store/benchSlice';
import { entryLabel, genevalScores, stepSeries, unifiedScores } from './derive';
import '../../charts/charts.css';

const COLOURS = ['#2458c6', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207', '#be185d'];
const HEIGHT = 220;
/** Most runs a bar chart compares (the latest ones). */
const MAX_SERIES = 8;

/** A titled chart; `points` (the finite values it plots) is in `data-points`, `lines` (if given) in `data-lines`, for tests. */
function Frame(props: { title: string; testId: string; note?: string; points: number; lines?: string; children: ReactNode }) {
  const { title, testId, note, points, lines, children } = props;
  return (
    <figure className="chart bench-chart" data-testid={testId} data-points={points} data-lines={lines}>
      <figcaption>
        <span className="chart-title">{title}</span>
        {note && <span className="muted small">{note}</span>}
      </figcaption>
      <div className="chart-plot" style={{ height: HEIGHT }}>
        {children}
      </div>
    </figure>
  );
}

const hasRows = (e: BenchEntry): boolean => e.done > 0;

/**
 * The unified score against training step: one line per bundle and reference set through its shipped checkpoints, and
 * one (dashed) per live run through the checkpoints trained in the page; a point per evaluated checkpoint.
 */
export function StepChart({ entries }: { entries: BenchEntry[] }) {
  const { data, series } = useMemo(() => {
    const points = entries.filter((e) => e.step !== null && hasRows(e));
    const keys = [...new Set(points.map(stepSeries))];
    const bySeries = keys.map((k) =>
      points
        .filter((e) => stepSeries(e) === k)
        .map((e) => ({ step: e.step as number, overall: unifiedScores(e).overall }))
        .sort((a, b) => a.step - b.step),
    );
    const live = keys.map((k) => points.some((e) => e.liveRun !== undefined && stepSeries(e) === k));
    return { data: bySeries, series: keys.map((name, i) => ({ name, live: live[i] })) };
  }, [entries]);
  const ys = data.flat().map((p) => p.overall);
  const y = niceScale(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 100);
  return (
    <Frame
      title="Unified score against training step"
      testId="bench-chart-steps"
      note={`${data.flat().length} checkpoint runs`}
      points={ys.filter(Number.isFinite).length}
      lines={series.map((s, i) => `${s.live ? 'live' : 'shipped'}:${data[i].length}`).join(' ')}
    >
      {data.length === 0 ? (
        <p className="chart-empty muted">Run Unified-Bench on the bundle’s checkpoints (or the live run’s) to draw this curve.</p>
      ) : (
        <ResponsiveContainer width="100%" height="100%">
          <LineChart margin={{ top: 6, right: 12, bottom: 18, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis
              type="number"
              dataKey="step"
              domain={['dataMin', 'dataMax']}
              allowDecimals={false}
              fontSize={11}
              label={{ value: 'training step', position: 'insideBottom', offset: -10, fontSize: 11 }}
            />
            <YAxis type="number" {...niceAxis(y)} fontSize={11} width={44} />
            <Tooltip formatter={(v) => [Number(v).toFixed(2), 'unified score']} />
            {series.length > 1 && <Legend wrapperStyle={{ fontSize: 11 }} />}
            {data.map((pts, i) => (
              <Line
                key={series[i].name}
                name={series[i].name}
                data={pts}
                dataKey="overall"
                type="linear"
                stroke={COLOURS[i % COLOURS.length]}
                strokeDasharray={series[i].live ? '5 3' : undefined}
                className={series[i].live ? 'bench-line-live' : 'bench-line-shipped'}
                dot
                isAnimationActive={false}
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      )}
    </Frame>
  );
}

/** Per backbone (cosine ×100 and SSIM ×100), one bar per run: the table's numbers side by side. */
export function BackboneChart({ entries }: { entries: BenchEntry[] }) {
  const shown = entries.filter(hasRows).slice(-MAX_SERIES);
  const data = useMemo(() => {
    const backbones = [...new Set(shown.flatMap((e) => e.backbones))].filter((b) => b !== 'psnr');
    const scores = shown.map((e) => unifiedScores(e).means);
    return backbones.map((b) => ({
      backbone: b === 'ssim' ? 'SSIM ×100' : `${b} cos ×100`,
      ...Object.fromEntries(shown.map((e, i) => [e.id, 100 * (scores[i][b] ?? NaN)])),
    }));
  }, [shown]);
  const values = data.flatMap((d) =>
    Object.values(d as Record<string, unknown>).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)),
  );
  const y = niceScale(Math.min(0, ...values), Math.max(100, ...values));
  return (
    <Frame title="Per backbone" testId="bench-chart-backbones" note="PSNR is in the table (dB)" points={values.length}>
      {shown.length === 0 ? (
        <p className="chart-empty muted">No Unified-Bench results yet.</p>
      ) : (
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} margin={{ top: 6, right: 8, bottom: 4, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="backbone" fontSize={11} />
            <YAxis {...niceAxis(y)} fontSize={11} width={36} />
            <Tooltip formatter={(v) => Number(v).toFixed(2)} />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            {shown.map((e, i) => (
              <Bar key={e.id} dataKey={e.id} name={entryLabel(e)} fill={COLOURS[i % COLOURS.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      )}
    </Frame>
  );
}

/** GenEval-Shapes accuracy per task kind (and overall), one bar per decoder run. */
export function TaskChart({ entries }: { entries: BenchEntry[] }) {
  const shown = entries.filter(hasRows).slice(-MAX_SERIES);
  const data = useMemo(() => {
    const scores = shown.map((e) => genevalScores(e.geneval));
    return [...ALL_TASKS, 'overall' as const].map((t) => ({
      task: t,
      ...Object.fromEntries(shown.map((e, i) => [e.id, t === 'overall' ? scores[i].overall : scores[i].tasks[t]])),
    }));
  }, [shown]);
  const points = data
    .flatMap((d) => Object.values(d as Record<string, unknown>))
    .filter((v) => typeof v === 'number' && Number.isFinite(v)).length;
  return (
    <Frame
      points={points}
      title="GenEval-Shapes accuracy per task"
      testId="bench-chart-tasks"
      note="fraction of images where every fact holds"
    >
      {shown.length === 0 ? (
        <p className="chart-empty muted">No GenEval-Shapes results yet.</p>
      ) : (
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} margin={{ top: 6, right: 8, bottom: 4, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="task" fontSize={10} interval={0} />
            <YAxis fontSize={11} width={36} domain={[0, 1]} />
            <Tooltip formatter={(v) => Number(v).toFixed(3)} />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            {shown.map((e, i) => (
              <Bar
                key={e.id}
                dataKey={e.id}
                name={`${entryLabel(e)} (${e.reference})`}
                fill={COLOURS[i % COLOURS.length]}
                isAnimationActive={false}
              />
            ))}
          </BarChart>
        </ResponsiveContainer>
      )}
    </Frame>
  );
}
