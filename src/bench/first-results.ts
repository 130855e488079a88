/**
 * The first results after a load, in a fresh runtime (issue 21 point 3): a new process (Node) or a new page and
 * worker (Chromium) opens the bundle, optionally runs the app's warm-up (src/engine/infer/warmup.ts, the request
 * the worker starts after every load and any user request pre-empts), then times its first greedy caption, its
 * first decode (K flow steps) and a one-loop round trip, in that order. `npm run bench` runs a few such probes
 * per backend, cold and warmed alternately, and sets their medians against the steady stage medians of the
 * same run: what a user's first click costs, with and without the warm-up having run.
 */
import { captionImages, reconstruct, warmUp, WARMUP_DEFAULTS, type WarmUpOptions } from '../engine/infer/index.ts';
import { resolveImage } from '../engine/rollouts/index.ts';
import { runRoundTripJob } from '../engine/roundtrip/index.ts';
import { createRng } from '../shapes/rng.ts';
import { median } from './timing.ts';
import type { OpenedEngine, StageResult } from './stages.ts';
import type { Ratio } from './ratio.ts';

/** Whether a probe runs the app's warm-up between the load and its first request. */
export type FirstResultsMode = 'cold' | 'warm';

/** One probe's times (ms). */
export interface FirstResults {
  mode: FirstResultsMode;
  /** Bundle load + session creation. */
  loadMs: number;
  /** The warm-up's wall time and rounds (warm probes only). */
  warmUpMs?: number;
  warmUpRounds?: number[];
  warmUpStoppedBy?: string;
  /** The first greedy caption. */
  captionMs: number;
  /** Then the first decode of that caption. */
  decodeMs: number;
  /** Then a one-loop round trip (caption, decode, scores). */
  roundTripMs: number;
}

export interface FirstResultsOptions {
  mode: FirstResultsMode;
  /** Shapes scene seed of the image (the bench's scene). */
  sceneSeed: number;
  /** Flow steps of the decode and the round trip (default: the bundle's). */
  flowSteps?: number;
  /** Changes to the app's warm-up settings (tests; the bench runs the app's own). */
  warmUp?: Partial<Omit<WarmUpOptions, 'now'>>;
  now?: () => number;
}

/** Opens a fresh engine with `open` and returns its first results; releases the engine. */
export async function firstResults(open: () => Promise<OpenedEngine>, o: FirstResultsOptions): Promise<FirstResults> {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const engine = await open();
  try {
    const { ctx } = engine;
    const loadMs = now() - t0;
    const { width: W, height: H } = ctx.manifest.preprocessing.image;
    const K = o.flowSteps ?? ctx.manifest.defaults.flowSteps;
    const input = resolveImage({ kind: 'scene', seed: o.sceneSeed }, W, H);
    let warm: Pick<FirstResults, 'warmUpMs' | 'warmUpRounds' | 'warmUpStoppedBy'> = {};
    if (o.mode === 'warm') {
      const tw = now();
      const report = await warmUp(ctx, { ...WARMUP_DEFAULTS, ...o.warmUp, now });
      warm = { warmUpMs: now() - tw, warmUpRounds: report.roundsMs, warmUpStoppedBy: report.stoppedBy };
    }
    const tc = now();
    const [caption] = await captionImages(ctx, input.image, 1, { policy: { kind: 'greedy' } });
    const captionMs = now() - tc;
    const td = now();
    await reconstruct(ctx, [caption.ids], [createRng(o.sceneSeed)], { steps: K });
    const decodeMs = now() - td;
    const tr = now();
    await runRoundTripJob(ctx, {
      image: input.image,
      width: W,
      height: H,
      loops: 1,
      steps: K,
      seed: o.sceneSeed,
      policy: { kind: 'greedy' },
      scene: input.scene ?? undefined,
    });
    const roundTripMs = now() - tr;
    return { mode: o.mode, loadMs, ...warm, captionMs, decodeMs, roundTripMs };
  } finally {
    await engine.release();
  }
}

/** One line for a probe's log: its mode and first times. */
export function firstResultsLine(p: FirstResults): string {
  const warm = p.warmUpMs !== undefined ? `, warm-up ${p.warmUpMs.toFixed(0)} ms` : '';
  return `first results (${p.mode}${warm}): load ${p.loadMs.toFixed(0)} ms, caption ${p.captionMs.toFixed(1)} ms, decode ${p.decodeMs.toFixed(1)} ms, round trip ${p.roundTripMs.toFixed(1)} ms`;
}

/** The probes' medians of one mode, or undefined when there are none. */
export function firstResultsMedian(
  probes: readonly FirstResults[] | undefined,
  mode: FirstResultsMode,
): { n: number; loadMs: number; captionMs: number; decodeMs: number; roundTripMs: number; warmUpMs?: number } | undefined {
  const of = (probes ?? []).filter((p) => p.mode === mode);
  if (of.length === 0) return undefined;
  const m = (f: (p: FirstResults) => number): number => median(of.map(f));
  return {
    n: of.length,
    loadMs: m((p) => p.loadMs),
    captionMs: m((p) => p.captionMs),
    decodeMs: m((p) => p.decodeMs),
    roundTripMs: m((p) => p.roundTripMs),
    ...(mode === 'warm' ? { warmUpMs: m((p) => p.warmUpMs ?? NaN) } : {}),
  };
}

/** The goal of issue 21 point 3: the first caption after the warm-up within 1.5× of the steady median. */
export const FIRST_CAPTION_GOAL = '≤ 1.5';

const STAGE_OF = { captionMs: 'caption', decodeMs: 'decode', roundTripMs: 'roundtrip' } as const;

/** A backend's probes and its steady stages. */
export interface FirstResultsRun {
  key: string;
  stages: StageResult[];
  firstResults?: FirstResults[];
}

function steady(run: FirstResultsRun, id: string): number | undefined {
  return run.stages.find((s) => s.id === id)?.timing.median;
}

/** The ratios "first X after the warm-up (or right after the load) ÷ steady X" of every run with probes. */
export function firstResultsRatios(runs: readonly FirstResultsRun[]): Ratio[] {
  const out: Ratio[] = [];
  for (const r of runs) {
    for (const mode of ['warm', 'cold'] as const) {
      const m = firstResultsMedian(r.firstResults, mode);
      if (!m) continue;
      for (const [field, id] of Object.entries(STAGE_OF) as [keyof typeof STAGE_OF, string][]) {
        const s = steady(r, id);
        if (s === undefined) continue;
        const first = Math.min(...(r.firstResults ?? []).filter((p) => p.mode === mode).map((p) => p[field]));
        out.push({
          name: `${r.key}: first ${id} ${mode === 'warm' ? 'after the warm-up' : 'right after the load'} / steady`,
          median: m[field] / s,
          min: first / s,
          detail: `median of ${m.n} fresh runtimes against the stage's steady median`,
          goal: mode === 'warm' && id === 'caption' ? FIRST_CAPTION_GOAL : undefined,
        });
      }
    }
  }
  return out;
}

const f0 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(x < 100 ? 1 : 0));

/** The Markdown section of the probes (empty when no run has any). */
export function renderFirstResultsMarkdown(runs: readonly FirstResultsRun[]): string[] {
  const withProbes = runs.filter((r) => (r.firstResults?.length ?? 0) > 0);
  if (withProbes.length === 0) return [];
  const lines = [
    '',
    '### First results in a fresh runtime',
    '',
    "Each probe is a fresh process (Node) or page and worker (Chromium): the bundle loaded, then either nothing (cold) or the app's warm-up after a load (`src/engine/infer/warmup.ts`, which any user request pre-empts), then the first greedy caption, the first decode and a one-loop round trip, in that order. Medians over the probes of a kind; ÷ steady is against the stage medians above. The load column is the probes' own load (a fresh runtime's first, runtime start included), against the load stage's median.",
    '',
    '| backend | probes | load ms: fresh runtime | load stage | warm-up ms | first caption ms: cold / warmed | steady | warmed ÷ steady | first decode ms: cold / warmed | steady | first round trip ms: cold / warmed | steady |',
    '|---|---:|---:|---:|---:|---|---:|---:|---|---:|---|---:|',
  ];
  for (const r of withProbes) {
    const cold = firstResultsMedian(r.firstResults, 'cold');
    const warm = firstResultsMedian(r.firstResults, 'warm');
    const sc = steady(r, 'caption');
    const pair = (field: keyof typeof STAGE_OF): string => `${f0(cold?.[field])} / ${f0(warm?.[field])}`;
    const loads = (r.firstResults ?? []).map((p) => p.loadMs);
    lines.push(
      `| ${r.key} | ${cold?.n ?? 0} + ${warm?.n ?? 0} | ${f0(median(loads))} | ${f0(steady(r, 'load'))} | ${f0(warm?.warmUpMs)} | ${pair('captionMs')} | ${f0(sc)} | ${
        warm && sc ? `${(warm.captionMs / sc).toFixed(2)}×` : '–'
      } | ${pair('decodeMs')} | ${f0(steady(r, 'decode'))} | ${pair('roundTripMs')} | ${f0(steady(r, 'roundtrip'))} |`,
    );
  }
  return lines;
}
