import { useMemo } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  ReferenceLine,
  ResponsiveContainer,
  Scatter,
  ScatterChart,
  Tooltip,
  XAxis,
  YAxis,
  ZAxis,
} from 'recharts';
import { formatValue, niceAxis, niceScale, type NiceScale } from '../../charts/ticks';
import { histogram, rowLength, rowViews } from './derive';
import type { RolloutsRun } from '../../store/rolloutsSlice';
import '../../charts/charts.css';

const GROUP_COLOURS = ['#2458c6', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207', '#be185d'];
const HEIGHT = 200;
const tick = formatValue;

/** Returns the nice axis over `values` (plus `include`, e.g. 0 for bars), or 0…1 when there are none. */
function scaleOf(values: readonly number[], options: { integer?: boolean; include?: number } = {}): NiceScale {
  const xs = [...values, ...(options.include === undefined ? [] : [options.include])].filter(Number.isFinite);
  return xs.length === 0 ? niceScale(0, 1, options) : niceScale(Math.min(...xs), Math.max(...xs), options);
}

/** A titled chart frame (the charts' shared look: app/charts/charts.css). */
function Frame({ title, testId, note, children }: { title: string; testId: string; note?: string; children: React.ReactNode }) {
  return (
    <figure className="chart ro-chart" data-testid={testId}>
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

/** Reward histogram, advantage bars and caption length against reward; they redraw as each rollout arrives. */
export function RolloutCharts({ run }: { run: RolloutsRun }) {
  const views = useMemo(() => rowViews(run), [run]);
  const bins = useMemo(
    () =>
      histogram(
        run.rows.map((r) => r.reward),
        Math.min(10, Math.max(3, Math.ceil(Math.sqrt(run.rows.length)) + 2)),
      ),
    [run.rows],
  );
  const bars = useMemo(
    () =>
      views
        .slice()
        .sort((a, b) => a.record.index - b.record.index)
        .map((v) => ({ name: String(v.record.index), advantage: v.advantage, group: v.record.group })),
    [views],
  );
  const groups = useMemo(() => {
    const by = new Map<number, { tokens: number; reward: number; index: number }[]>();
    for (const r of run.rows) by.set(r.group, [...(by.get(r.group) ?? []), { tokens: rowLength(r), reward: r.reward, index: r.index }]);
    return [...by.entries()].sort((a, b) => a[0] - b[0]);
  }, [run.rows]);
  const final = run.result !== null;
  const countScale = useMemo(
    () =>
      scaleOf(
        bins.map((b) => b.count),
        { integer: true, include: 0 },
      ),
    [bins],
  );
  const advScale = useMemo(
    () =>
      scaleOf(
        bars.map((b) => b.advantage),
        { include: 0 },
      ),
    [bars],
  );
  const tokenScale = useMemo(() => scaleOf(run.rows.map(rowLength), { integer: true }), [run.rows]);
  const rewardScale = useMemo(() => scaleOf(run.rows.map((r) => r.reward)), [run.rows]);
  return (
    <div className="ro-charts">
      <Frame title="Reward histogram" testId="ro-chart-histogram" note={`${run.rows.length} rollouts`}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={bins} margin={{ top: 6, right: 8, bottom: 18, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" fontSize={11} label={{ value: 'reward', position: 'insideBottom', offset: -10, fontSize: 11 }} />
            <YAxis {...niceAxis(countScale)} allowDecimals={false} fontSize={11} width={28} />
            <Tooltip
              formatter={(v) => [v, 'rollouts']}
              labelFormatter={(_l, p) => {
                const b = p?.[0]?.payload;
                return b ? `${tick(b.x0)} … ${tick(b.x1)}` : '';
              }}
            />
            <Bar dataKey="count" fill="#2458c6" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </Frame>
      <Frame title="Advantages" testId="ro-chart-advantages" note={final ? 'final' : 'provisional: over the rollouts scored so far'}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={bars} margin={{ top: 6, right: 8, bottom: 18, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="name" fontSize={11} label={{ value: 'rollout', position: 'insideBottom', offset: -10, fontSize: 11 }} />
            <YAxis {...niceAxis(advScale)} fontSize={11} width={40} />
            <ReferenceLine y={0} stroke="#5b6475" />
            <Tooltip formatter={(v) => [Number(v).toFixed(4), 'advantage']} />
            <Bar dataKey="advantage" isAnimationActive={false}>
              {bars.map((b) => (
                <Cell key={b.name} fill={b.advantage >= 0 ? '#1f7a4d' : '#b3261e'} fillOpacity={final ? 1 : 0.55} />
              ))}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </Frame>
      <Frame title="Caption length vs reward" testId="ro-chart-scatter" note={groups.length > 1 ? 'colour = image' : undefined}>
        <ResponsiveContainer width="100%" height="100%">
          <ScatterChart margin={{ top: 6, right: 12, bottom: 18, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis
              type="number"
              dataKey="tokens"
              name="tokens"
              {...niceAxis(tokenScale)}
              fontSize={11}
              allowDecimals={false}
              label={{ value: 'caption length (incl. [EOS])', position: 'insideBottom', offset: -10, fontSize: 11 }}
            />
            <YAxis type="number" dataKey="reward" name="reward" {...niceAxis(rewardScale)} fontSize={11} width={44} />
            <ZAxis range={[50, 50]} />
            <Tooltip formatter={(v, n) => [typeof v === 'number' ? tick(v) : String(v), String(n)]} />
            {groups.map(([g, pts]) => (
              <Scatter key={g} name={`image ${g}`} data={pts} fill={GROUP_COLOURS[g % GROUP_COLOURS.length]} isAnimationActive={false} />
            ))}
          </ScatterChart>
        </ResponsiveContainer>
      </Frame>
    </div>
  );
}
