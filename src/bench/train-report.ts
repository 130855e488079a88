/**
 * The trainer section of the benchmark's results (issue 18's speed point): seconds per stage-2 GRPO step of
 * PyTorch (models/uae/bench_step.py, uae.rl's step) at 1 and 2 threads, the TypeScript trainer in Node and in
 * Chromium's bench page, and the ratios against PyTorch at the same thread count, all from one run.
 */
import type { Ratio } from './ratio.ts';
import type { TrainBenchSettings, TrainBenchTiming } from './train.ts';
import type { BrowserTrainFixtureReport } from './train-fixture-browser.ts';
import { FIXTURE_QUANTITIES } from './train-fixture.ts';

/** The issue's goal for the trainer ratios. */
export const TRAIN_GOAL = '≤ 1.5';

/** Keys of the trainer runs, in table order. */
export const TRAIN_KEYS = ['pytorch-1t', 'pytorch-2t', 'node-1t', 'node-native-1t', 'chromium-wasm-2t'] as const;

/** A trainer run's key. */
export type TrainKey = (typeof TRAIN_KEYS)[number];

/** One trainer run as stored in results.json. */
export interface TrainRun extends Partial<TrainBenchTiming> {
  key: TrainKey;
  /** What ran, threads included ("PyTorch 1.13.0, torch.set_num_threads(1)"). */
  runtime: string;
  error?: string;
}

/** The run key of the fixture check: the GRPO-update parity fixture on jax-js WASM and WebGPU in Chromium. */
export const FIXTURE_KEY = 'webgpu-fixture';

/** The fixture check as stored in results.json. */
export interface TrainFixtureSection extends Partial<BrowserTrainFixtureReport> {
  tolerance: number;
  error?: string;
}

/** The trainer section of results.json. */
export interface TrainSection {
  settings: TrainBenchSettings & { preset: string };
  runs: TrainRun[];
  ratios: Ratio[];
  goal: string;
  fixture?: TrainFixtureSection;
}

/** The ratios of the section: each TypeScript run over PyTorch at the same threads (the goal), and a few more. */
export function trainRatios(runs: readonly TrainRun[]): Ratio[] {
  const by = (key: TrainKey): TrainRun | undefined =>
    runs.find((r) => r.key === key && !r.error && r.stepSeconds !== undefined && r.stepSeconds.length > 0);
  const pairs: [TrainKey, TrainKey, string, string?][] = [
    ['node-1t', 'pytorch-1t', 'the TypeScript trainer in Node (ORT WASM, 1 thread) over PyTorch at 1 thread', TRAIN_GOAL],
    [
      'node-native-1t',
      'pytorch-1t',
      'the TypeScript trainer in Node with native ORT (uae train --ort native, 1 thread) over PyTorch at 1 thread',
      TRAIN_GOAL,
    ],
    ['chromium-wasm-2t', 'pytorch-2t', 'the TypeScript trainer in Chromium (WASM, 2 threads) over PyTorch at 2 threads', TRAIN_GOAL],
    ['chromium-wasm-2t', 'node-1t', 'the same trainer in Chromium (2 threads) over Node (1 thread)'],
    ['pytorch-1t', 'pytorch-2t', 'PyTorch at 1 thread over 2 threads'],
  ];
  const out: Ratio[] = [];
  for (const [a, b, detail, goal] of pairs) {
    const ra = by(a);
    const rb = by(b);
    if (!ra?.stepSeconds || !rb?.stepSeconds) continue;
    const mean = (ra.secondsPerStep ?? NaN) / (rb.secondsPerStep ?? NaN);
    const min = Math.min(...ra.stepSeconds) / Math.min(...rb.stepSeconds);
    out.push({ name: `train: ${a} / ${b}`, median: mean, min, detail: `seconds per step: ${detail}`, goal });
  }
  return out;
}

/** Whether a ratio meets a goal written as "≤ X" or "≥ X" (undefined: no goal, or a goal not of that form). */
export function meetsGoal(value: number, goal: string | undefined): boolean | undefined {
  const m = /^([≤≥])\s*([\d.]+)$/.exec(goal?.trim() ?? '');
  if (!m || !Number.isFinite(value)) return undefined;
  return m[1] === '≤' ? value <= Number(m[2]) : value >= Number(m[2]);
}

const s2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));

/** Returns the Markdown lines of the trainer section (empty when there is none). */
export function renderTrainMarkdown(t: TrainSection | undefined): string[] {
  if (!t) return [];
  const st = t.settings;
  const lines: string[] = ['', '## Trainer: seconds per stage-2 GRPO step', ''];
  lines.push(
    `${st.preset}: G=${st.group} × ${st.images} image${st.images === 1 ? '' : 's'}, ${st.flowSteps} flow step${st.flowSteps === 1 ? '' : 's'}; from the cold start, ${st.warmup} warm-up ` +
      `step${st.warmup === 1 ? '' : 's'} (not timed), then ${st.steps} timed step${st.steps === 1 ? '' : 's'}. Goal: TypeScript ` +
      `trainer ÷ PyTorch at the same thread count ${t.goal}.`,
    '',
  );
  lines.push(
    '| run | s/step (mean) | min–max | warm-up s | rollouts | update batch | updates | policy session | mean length | runtime |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  );
  for (const r of t.runs) {
    if (r.error) {
      lines.push(`| ${r.key} | FAILED: ${r.error.split('\n')[0]} | | | | | | | | ${r.runtime} |`);
      continue;
    }
    const xs = r.stepSeconds ?? [];
    const p = r.phases ?? {};
    lines.push(
      `| ${r.key} | ${s2(r.secondsPerStep)} | ${s2(Math.min(...xs))}–${s2(Math.max(...xs))} | ${(r.warmupSeconds ?? []).map(s2).join(', ') || '–'} | ` +
        `${s2(p.rollouts)} | ${s2(p.logprobs)} | ${s2(p.update)} | ${s2(p.policy)} | ${s2(r.meanLength)} | ${r.runtime} |`,
    );
  }
  lines.push('', '| ratio | mean | min | goal | met |', '|---|---:|---:|---|---|');
  for (const r of t.ratios) {
    const met = meetsGoal(r.median, r.goal);
    lines.push(
      `| ${r.name} | ${r.median.toFixed(2)}× | ${r.min.toFixed(2)}× | ${r.goal ?? ''} | ${met === undefined ? '' : met ? 'yes' : 'no'} |`,
    );
  }
  lines.push(
    '',
    'Phases are the TypeScript trainer’s (mean seconds per timed step); PyTorch reports only the whole step. The ' +
      "runs' step images and sampled captions differ (each its own seeded stream), so their caption lengths, and with " +
      'them the cost of a step, differ a little.' +
      (st.warmup + st.steps < 100
        ? ' A few steps from the cold start time short captions and include the TypeScript update’s first compiles ' +
          'of new shapes (one per multiple of 8 positions); `--train-steps 100 --train-warmup 0` times a whole run ' +
          '(bench/whole-run/).'
        : ''),
  );
  lines.push(...renderFixtureMarkdown(t.fixture));
  return lines;
}

const ex = (x: number): string => (Number.isFinite(x) ? x.toExponential(1) : String(x));

/** Returns the Markdown lines of the fixture check (empty when it did not run). */
function renderFixtureMarkdown(f: TrainFixtureSection | undefined): string[] {
  if (!f) return [];
  const lines = ['', '### The update on jax-js WebGPU: the parity fixture', ''];
  if (f.error) return [...lines, `FAILED: ${f.error.split('\n')[0]}`];
  lines.push(
    `tests/fixtures/train (models/make_train_fixture.py: one GRPO update of a small CaptionDecoder from PyTorch's fixed ` +
      `rollouts) run in the bench page by the trainer's GrpoUpdater on jax-js WASM, then WebGPU${f.adapter ? ` (${f.adapter})` : ''}. ` +
      `Worst |a − b| / max(1, |b|) against PyTorch per quantity; goal ≤ ${f.tolerance}. Seconds include compiling the update.`,
    '',
    `| device | case | loss | PyTorch loss | ${FIXTURE_QUANTITIES.join(' | ')} | s | met |`,
    `|---|---|---:|---:|${FIXTURE_QUANTITIES.map(() => '---:|').join('')}---:|---|`,
  );
  for (const r of f.runs ?? []) {
    const worst = Math.max(...FIXTURE_QUANTITIES.map((q) => r.diffs[q]));
    lines.push(
      `| ${r.device} | ${r.case} | ${r.loss.toPrecision(8)} | ${r.expectedLoss.toPrecision(8)} | ` +
        `${FIXTURE_QUANTITIES.map((q) => ex(r.diffs[q])).join(' | ')} | ${r.seconds.toFixed(1)} | ${worst <= f.tolerance ? 'yes' : 'no'} |`,
    );
  }
  const g = f.gpuVsWasm ?? [];
  const within = (d: number): string => (d <= f.tolerance ? '' : ' (OUT of tolerance)');
  if (g.length > 0)
    lines.push(
      '',
      `WebGPU loss against WASM loss (scaled difference): ${g.map((x) => `${x.case} ${ex(x.diff)}${within(x.diff)}`).join(', ')}.`,
    );
  return lines;
}

/** The fixture runs (and WebGPU-vs-WASM losses) outside the tolerance, as one message; undefined when none. */
export function fixtureMisses(f: TrainFixtureSection): string | undefined {
  const misses = [
    ...(f.runs ?? []).flatMap((r) =>
      Object.entries(r.diffs)
        .filter(([, d]) => !(d <= f.tolerance))
        .map(([q, d]) => `${r.device} ${r.case} ${q} ${d.toExponential(2)}`),
    ),
    ...(f.gpuVsWasm ?? []).filter((g) => !(g.diff <= f.tolerance)).map((g) => `${g.case} WebGPU vs WASM loss ${g.diff.toExponential(2)}`),
  ];
  if ((f.runs ?? []).length === 0) misses.push('no case ran');
  return misses.length > 0 ? `the parity fixture is out of tolerance ${f.tolerance}: ${misses.join('; ')}` : undefined;
}
