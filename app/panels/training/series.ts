// Runs → chart series for the shared MetricChart: one line per (run, chart line), bands from ± std or
// min–max logged at the same step. Pure (unit-tested in Node).
import { loggedKey, resolveChart, rewardFunctions, type ChartSpec, type RunLog, type RunPoint } from '../../../src/engine/runs/index.ts';
import type { ChartSeries, XY } from '../../charts/data';

/** Colours of overlaid runs (charts with one line) and of a chart's lines (charts with several). */
export const PALETTE = ['#2458c6', '#c0392b', '#1f7a4d', '#8e44ad', '#b9770e', '#117a8b', '#6d4c41', '#d81b60'];
/** Dash patterns telling overlaid runs apart on charts with several lines. */
export const DASHES = [undefined, '6 3', '2 3', '10 3 2 3'];

function byStep(points: RunPoint[] | undefined): Map<number, number> {
  return new Map((points ?? []).map((p) => [p.step, p.value]));
}

/** A shown run: its index in the panel's run list (which fixes its colour) and, optionally, its name in legends. */
export interface ChartRun {
  run: RunLog;
  index: number;
  /** The run's name in legends (e.g. "live run"); default: legendNames of the shown runs' labels. */
  name?: string;
}

/**
 * Returns the series of `chart` for `runs`. One line per chart line per run; with several runs labels carry the
 * run's name.
 */
export function chartSeries(chart: ChartSpec, runs: ChartRun[]): ChartSeries[] {
  const out: ChartSeries[] = [];
  const single = chart.lines.length === 1;
  const auto = legendNames(runs.map(({ run }) => run.label));
  const names = runs.map((r, i) => r.name ?? auto[i]);
  runs.forEach(({ run, index }, r) => {
    const name = names[r];
    resolveChart(run, chart).forEach((line) => {
      const lineIndex = chart.lines.indexOf(line.spec);
      const band = line.band;
      const std = band?.kind === 'std' ? byStep(run.series[band.std]) : null;
      const lo = band?.kind === 'range' ? byStep(run.series[band.min]) : null;
      const hi = band?.kind === 'range' ? byStep(run.series[band.max]) : null;
      const points: XY[] = run.series[line.key].map((p) => {
        const xy: XY = { x: p.step, y: p.value };
        const sd = std?.get(p.step);
        if (sd !== undefined) {
          xy.lo = p.value - sd;
          xy.hi = p.value + sd;
        }
        const l = lo?.get(p.step);
        const h = hi?.get(p.step);
        if (l !== undefined && h !== undefined) {
          xy.lo = l;
          xy.hi = h;
        }
        return xy;
      });
      const what = `${line.spec.label}${band?.kind === 'std' ? ' ± std' : band?.kind === 'range' ? ' (band: min–max)' : ''}`;
      const label = single ? name : runs.length > 1 ? `${name} · ${what}` : what;
      out.push({
        id: `${run.id}|${line.key}`,
        label: single && what !== line.key ? `${label} — ${what}` : label,
        color: single ? PALETTE[index % PALETTE.length] : PALETTE[lineIndex % PALETTE.length],
        dash: single ? undefined : DASHES[index % DASHES.length],
        points,
        // One scale per run: a run of another magnitude, or on the reward chart one rewarded otherwise, gets the
        // chart's right axis.
        group: run.id,
        scale: chart.perReward ? rewardScale(run) : undefined,
        note: keyNote(run, line.key, band),
      });
    });
  });
  return out;
}

/**
 * The runs' names in a legend: what comes before the label's colon ("Stage 2" of "Stage 2: GRPO on the encoder by uae
 * train (reward = …)") when every run has one and they differ, else the whole labels. The run list and each line's
 * tooltip keep the whole label.
 */
export function legendNames(labels: string[]): string[] {
  const heads = labels.map(labelHead);
  return heads.every((h) => h.length > 0) && new Set(heads).size === heads.length ? heads : labels;
}

/** Returns what precedes a run label's first ': ' ("" when it has none). */
export function labelHead(label: string): string {
  return label.includes(': ') ? label.slice(0, label.indexOf(': ')).trim() : '';
}

/**
 * Returns what a run's reward measures, by the reward functions it logs (`rewards/<name>/mean`: stage 2's
 * `i2i+length_penalty+sim`, stage 3's `psnr+sim`), or undefined when it names none (a reward of unknown make shares any axis
 * its magnitude allows).
 */
function rewardScale(run: RunLog): string | undefined {
  const fns = rewardFunctions(run);
  return fns.length > 0 ? fns.join('+') : undefined;
}

/** Returns a line's legend tooltip: its keys as the file logged them ("eval/reward ← eval_reward"). */
function keyNote(run: RunLog, key: string, band: ReturnType<typeof resolveChart>[number]['band']): string {
  const keys = [key, ...(band?.kind === 'std' ? [band.std] : band?.kind === 'range' ? [band.min, band.max] : [])];
  return `${run.label}: ${keys.map((k) => (loggedKey(run, k) === k ? k : `${k} (logged as ${loggedKey(run, k)})`)).join(', ')}`;
}

/** Returns the latest text logged under `key` (at or before step `upTo` when given), or null. */
export function latestText(run: RunLog, key: string, upTo = Infinity): { step: number; value: string } | null {
  const list = (run.text[key] ?? []).filter((t) => t.step <= upTo);
  return list.length > 0 ? list[list.length - 1] : null;
}

/**
 * Returns the runs of Train live's charts, each in its Runs-list colour (as in the charts above): the live run, the
 * bundle's recorded run, and the kept runs shown in the list that are not copies of this live run (those would lie
 * on its own lines). The live run takes the colour its copy has, or will have once kept (the list's next slot),
 * unless a run drawn beside it has that colour; then the first free one.
 */
export function liveChartRuns(
  live: { log: RunLog; id: string; name: string } | null,
  recorded: RunLog | null,
  listed: readonly RunLog[],
  shown: readonly string[],
): ChartRun[] {
  const others: ChartRun[] = [];
  if (recorded) others.push({ run: recorded, index: Math.max(0, listed.indexOf(recorded)), name: 'recorded run' });
  for (const r of listed)
    if (r.source.keptFrom !== undefined && r.source.keptFrom !== live?.id && shown.includes(r.id))
      others.push({ run: r, index: listed.indexOf(r), name: labelHead(r.label) || r.label });
  if (!live) return others;
  const used = new Set(others.map((o) => o.index % PALETTE.length));
  const copies = listed.flatMap((r, i) => (r.source.keptFrom === live.id ? [i] : []));
  let index = copies.length > 0 ? copies[copies.length - 1] : listed.length;
  for (let k = 0; k < PALETTE.length && used.has(index % PALETTE.length); k++) index++;
  return [{ run: live.log, index, name: live.name }, ...others];
}
