// Pure helpers of the Bench tab: a run's numbers from its rows (so a table fills as batches arrive and equals the
// engine's result once all are in), the worst cases kept from each batch, and the CSV/JSON exports.
import { ALL_TASKS, GENEVAL_TASKS, type GenevalBatch, type GenevalTask } from '../../../src/engine/geneval/index.ts';
import type { UnifiedBenchBatch } from '../../../src/engine/unified-bench/index.ts';
import type { BenchCase, BenchEntry, BenchGenevalRow, BenchUnifiedRow } from '../../store/benchSlice';

/** Worst cases kept per Unified-Bench run (lowest similarity). */
export const UNIFIED_WORST = 8;
/** Failed images kept per GenEval task kind. */
export const GENEVAL_WORST_PER_TASK = 2;

const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Returns each backbone's mean over the rows so far and the overall score (100 × mean of the similarity means). */
export function unifiedScores(e: Pick<BenchEntry, 'unified' | 'backbones' | 'similarity'>): {
  means: Record<string, number>;
  overall: number;
} {
  const means: Record<string, number> = {};
  for (const b of e.backbones) means[b] = mean(e.unified.map((r) => r.scores[b]));
  return { means, overall: 100 * mean(e.similarity.map((b) => means[b])) };
}

/** Returns each task's accuracy over the images so far (NaN: none yet) and overall (mean of the six GenEval tasks). */
export function genevalScores(rows: readonly BenchGenevalRow[]): { tasks: Record<GenevalTask, number>; overall: number } {
  const tasks = {} as Record<GenevalTask, number>;
  for (const t of ALL_TASKS) tasks[t] = mean(rows.filter((r) => r.task === t).map((r) => (r.ok ? 1 : 0)));
  const seen = GENEVAL_TASKS.map((t) => tasks[t]).filter(Number.isFinite);
  return { tasks, overall: mean(seen) };
}

/** Returns a batch's rows, the backbones in order and the similarity ones. */
export function unifiedRows(
  b: UnifiedBenchBatch,
  pixel: readonly string[],
): { rows: BenchUnifiedRow[]; backbones: string[]; similarity: string[] } {
  const backbones = Object.keys(b.scores);
  const rows = b.names.map((name, i) => ({
    name,
    caption: b.captions[i],
    scores: Object.fromEntries(backbones.map((k) => [k, b.scores[k][i]])),
  }));
  return { rows, backbones, similarity: backbones.filter((k) => !pixel.includes(k)) };
}

/** Returns the worst cases after a Unified-Bench batch: the `UNIFIED_WORST` lowest first-similarity scores so far. */
export function unifiedWorst(
  worst: readonly BenchCase[],
  b: UnifiedBenchBatch,
  rows: readonly BenchUnifiedRow[],
  key: string,
): BenchCase[] {
  const stride = b.references.length / Math.max(1, b.count);
  const fresh = rows.map((r, i): BenchCase => ({
    key: `${b.start + i}`,
    image: b.reconstructions.slice(i * stride, (i + 1) * stride),
    reference: b.references.slice(i * stride, (i + 1) * stride),
    text: r.caption,
    detail: r.name,
    score: r.scores[key],
  }));
  return [...worst, ...fresh].sort((a, c) => a.score - c.score).slice(0, UNIFIED_WORST);
}

/** Returns the worst cases after a GenEval batch: failed images, at most `GENEVAL_WORST_PER_TASK` per task kind. */
export function genevalWorst(worst: readonly BenchCase[], b: GenevalBatch): BenchCase[] {
  const out = [...worst];
  const stride = b.resolution * b.resolution * 3;
  b.verdicts.forEach((v, k) => {
    if (v.ok || out.filter((c) => c.task === v.task).length >= GENEVAL_WORST_PER_TASK) return;
    out.push({
      key: `${v.prompt}.${v.image}`,
      image: b.images.slice(k * stride, (k + 1) * stride),
      reference: null,
      text: v.caption,
      detail: v.seen.length ? v.seen.join('; ') : 'no object',
      score: 0,
      task: v.task,
    });
  });
  return out.sort((a, c) => ALL_TASKS.indexOf(a.task!) - ALL_TASKS.indexOf(c.task!));
}

/** How a table and a chart name a run: "bundle · encoder". */
export function entryLabel(e: Pick<BenchEntry, 'bundleId' | 'encoderLabel' | 'benchmark'>): string {
  return e.benchmark === 'geneval' ? e.bundleId : `${e.bundleId} · ${e.encoderLabel}`;
}

/**
 * The step chart's line a run belongs to: the shipped checkpoints per bundle and reference set; a live run's checkpoints
 * on a line of their own (per run: a new live run starts a new line).
 */
export function stepSeries(e: Pick<BenchEntry, 'bundleId' | 'reference' | 'liveRun'>): string {
  return e.liveRun ? `${e.bundleId} · live run ${e.liveRun} · ${e.reference}` : `${e.bundleId} · ${e.reference}`;
}

const round6 = (x: number): number | null => (Number.isFinite(x) ? Number(x.toFixed(6)) : null);

/** Returns the JSON export: per run its settings, the numbers (as the CLIs print them) and its rows. */
export function benchJson(entries: readonly BenchEntry[]): string {
  const runs = entries.map((e) => {
    const base = {
      id: e.id,
      benchmark: e.benchmark,
      status: e.status,
      startedAt: new Date(e.startedAt).toISOString(),
      bundle: e.bundleId,
      encoder: e.encoderId,
      step: e.step,
      ...(e.liveRun ? { live_run: e.liveRun } : {}),
      reference: e.reference,
      seed: e.seed,
      steps: e.steps,
      batch: e.batch,
      backend: e.backend,
      images: e.done,
      ms: e.ms,
    };
    if (e.benchmark === 'unified') {
      const { means, overall } = unifiedScores(e);
      const backbones = Object.fromEntries(
        e.backbones.map((b) => [b, { mean: round6(means[b]), per_image: e.unified.map((r) => r.scores[b]) }]),
      );
      return { ...base, overall: round6(overall), backbones, rows: e.unified.map((r) => ({ name: r.name, caption: r.caption })) };
    }
    const { tasks, overall } = genevalScores(e.geneval);
    const t = Object.fromEntries(ALL_TASKS.map((k) => [k, round6(tasks[k])]));
    return { ...base, overall: round6(overall), tasks: t, rows: e.geneval };
  });
  return `${JSON.stringify({ schema: 'uae-bench/1', runs }, null, 2)}\n`;
}

function csvCell(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Returns the CSV export: one row per run and metric (the backbones and overall, or the task kinds and overall). */
export function benchCsv(entries: readonly BenchEntry[]): string {
  const head = ['benchmark', 'bundle', 'encoder', 'step', 'reference', 'seed', 'steps', 'images', 'status', 'metric', 'value'];
  const lines = [head.join(',')];
  for (const e of entries) {
    const metrics: [string, number][] =
      e.benchmark === 'unified'
        ? (() => {
            const { means, overall } = unifiedScores(e);
            return [...e.backbones.map((b): [string, number] => [b, means[b]]), ['overall', overall]];
          })()
        : (() => {
            const { tasks, overall } = genevalScores(e.geneval);
            return [...ALL_TASKS.map((t): [string, number] => [t, tasks[t]]), ['overall', overall]];
          })();
    for (const [metric, value] of metrics) {
      const row = [e.benchmark, e.bundleId, e.encoderId, e.step, e.reference, e.seed, e.steps, e.done, e.status, metric, round6(value)];
      lines.push(row.map(csvCell).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}
