/**
 * Which logged keys the Training panel charts, and how: the names are TRL's GRPOTrainer metric names
 * (plus this project's held-out `eval/*` fidelity; the Trainer's `eval_*` names are read as `eval/*`).
 * Keys no chart claims stay listed and chartable.
 */
import type { RunLog } from './types.ts';

/** One plotted line: `key` (or the first alias a run has), with an optional ±std or min–max band. */
export interface ChartLineSpec {
  key: string;
  label: string;
  /** Older TRL names for the same metric (e.g. `completion_length` before `completions/mean_length`). */
  aliases?: string[];
  /** Band = value ± this key's value. */
  std?: string;
  /** Band = [this key, `max`]. */
  min?: string;
  max?: string;
}

/** One chart of the panel. */
export interface ChartSpec {
  id: string;
  title: string;
  yLabel: string;
  /** The subtitle instead of `yLabel` when every run drawn is rewarded with this project's fidelity (isFidelityReward). */
  fidelityYLabel?: string;
  /** The chart draws each run's reward: runs rewarded otherwise (other reward functions logged) never share an axis. */
  perReward?: boolean;
  lines: ChartLineSpec[];
}

/** The panel's charts: caption length, reward ± std, held-out fidelity, KL, clip ratio (TRL's and Flow-GRPO's names). */
export const TRAINING_CHARTS: readonly ChartSpec[] = [
  {
    id: 'length',
    title: 'Caption length',
    yLabel: 'tokens',
    lines: [
      {
        key: 'completions/mean_length',
        label: 'mean length',
        aliases: ['completion_length'],
        min: 'completions/min_length',
        max: 'completions/max_length',
      },
    ],
  },
  {
    id: 'reward',
    title: 'Reward ± std',
    yLabel: 'reward',
    fidelityYLabel: 'reward (fidelity)',
    perReward: true,
    lines: [{ key: 'reward', label: 'reward', aliases: ['rewards/sim/mean'], std: 'reward_std' }],
  },
  {
    id: 'fidelity',
    title: 'Held-out fidelity',
    yLabel: 'score',
    lines: [
      { key: 'eval/sim', label: 'sim' },
      { key: 'eval/attr_recall', label: 'attribute recall' },
      { key: 'eval/attr_precision', label: 'attribute precision' },
      { key: 'eval/retrieval_top1', label: 'retrieval top-1' },
      // TRL's held-out reward (the Trainer logs it as eval_reward): the mean over the eval set's completions.
      { key: 'eval/reward', label: 'held-out reward', std: 'eval/reward_std' },
    ],
  },
  {
    id: 'kl',
    title: 'KL to the reference',
    yLabel: 'KL',
    lines: [
      { key: 'kl', label: 'KL (k3, TRL)' },
      // Flow-GRPO's own KL (stage 3): mean ‖μθ − μref‖² / (2σ_t²) per element, not TRL's k3.
      { key: 'kl_loss', label: 'KL (Flow-GRPO)' },
    ],
  },
  {
    id: 'clip',
    title: 'Clip ratio',
    yLabel: 'fraction of tokens',
    lines: [
      { key: 'clip_ratio/region_mean', label: 'region', aliases: ['clip_ratio'] },
      { key: 'clip_ratio/low_mean', label: 'low' },
      { key: 'clip_ratio/high_mean', label: 'high' },
      // Flow-GRPO's sign-blind fraction |ρ − 1| > ε (stage 3), a different quantity from TRL's region ratio.
      { key: 'clipfrac', label: 'clipfrac (Flow-GRPO)' },
    ],
  },
];

/** A chart line resolved against one run: the key the run actually has, and its band keys if present. */
export interface ResolvedLine {
  spec: ChartLineSpec;
  key: string;
  band?: { kind: 'std'; std: string } | { kind: 'range'; min: string; max: string };
}

/** Returns the key of `line` present in `run` (the key itself, else the first alias), or undefined. */
export function resolveKey(run: Pick<RunLog, 'series'>, line: ChartLineSpec): string | undefined {
  return [line.key, ...(line.aliases ?? [])].find((k) => (run.series[k]?.length ?? 0) > 0);
}

/** Returns the lines of `chart` that `run` has data for (band keys only when present). */
export function resolveChart(run: Pick<RunLog, 'series'>, chart: ChartSpec): ResolvedLine[] {
  const out: ResolvedLine[] = [];
  for (const spec of chart.lines) {
    const key = resolveKey(run, spec);
    if (!key) continue;
    const has = (k: string | undefined): k is string => k !== undefined && (run.series[k]?.length ?? 0) > 0;
    let band: ResolvedLine['band'];
    if (has(spec.std)) band = { kind: 'std', std: spec.std };
    else if (has(spec.min) && has(spec.max)) band = { kind: 'range', min: spec.min, max: spec.max };
    out.push({ spec, key, band });
  }
  return out;
}

/** Returns every numeric key the charts use for `run` (line keys and band keys). */
export function chartedKeys(run: Pick<RunLog, 'series'>, charts: readonly ChartSpec[] = TRAINING_CHARTS): Set<string> {
  const used = new Set<string>();
  for (const chart of charts) {
    for (const line of resolveChart(run, chart)) {
      used.add(line.key);
      if (line.band?.kind === 'std') used.add(line.band.std);
      if (line.band?.kind === 'range') used.add(line.band.min).add(line.band.max);
    }
  }
  return used;
}

/** Returns the numeric keys of `runs` that no chart shows, sorted: the panel lists them as extra charts. */
export function otherKeys(runs: readonly Pick<RunLog, 'series'>[], charts: readonly ChartSpec[] = TRAINING_CHARTS): string[] {
  const all = new Set<string>();
  const used = new Set<string>();
  for (const run of runs) {
    for (const k of Object.keys(run.series)) all.add(k);
    for (const k of chartedKeys(run, charts)) used.add(k);
  }
  return [...all].filter((k) => !used.has(k)).sort();
}

/** Returns a one-line chart spec for any key (the "other metrics" charts). */
export function keyChart(key: string): ChartSpec {
  return { id: `key:${key}`, title: key, yLabel: '', lines: [{ key, label: key }] };
}

/** Hugging Face Trainer's prefix for evaluation metrics (`eval_loss`; TRL's GRPOTrainer: `eval_reward`, …). */
export const HF_EVAL_PREFIX = 'eval_';

/**
 * Returns the name this app charts a logged key under: the Trainer's `eval_X` becomes `eval/X`, as
 * transformers' own W&B / TensorBoard callbacks rename it (`rewrite_logs`); any other key is unchanged.
 */
export function appKeyName(key: string): string {
  return key.startsWith(HF_EVAL_PREFIX) && key.length > HF_EVAL_PREFIX.length ? `eval/${key.slice(HF_EVAL_PREFIX.length)}` : key;
}

/**
 * Returns `run` with its `eval_*` series and text keys renamed to `eval/*` (appKeyName), each original
 * recorded in `loggedAs`; a key is kept as logged when the run also logs the `eval/*` name itself.
 */
export function withAppKeyNames<T extends Pick<RunLog, 'series' | 'text' | 'loggedAs'>>(run: T): T {
  const loggedAs: Record<string, string> = { ...run.loggedAs };
  const rename = <V>(map: Record<string, V>): Record<string, V> => {
    const out: Record<string, V> = {};
    for (const [key, value] of Object.entries(map)) {
      const name = appKeyName(key);
      const free = name === key || !(name in map);
      out[free ? name : key] = value;
      if (free && name !== key) loggedAs[name] = key;
    }
    return out;
  };
  const series = rename(run.series);
  const text = rename(run.text);
  return Object.keys(loggedAs).length > 0 ? { ...run, series, text, loggedAs } : run;
}

/** Returns the key as the log file wrote it (`eval_loss` for `eval/loss` read from a trainer_state.json). */
export function loggedKey(run: Pick<RunLog, 'loggedAs'>, key: string): string {
  return run.loggedAs?.[key] ?? key;
}

/** Returns the names of the reward functions a TRL run logs (`rewards/<name>/mean`), sorted. */
export function rewardFunctions(run: Pick<RunLog, 'series'>): string[] {
  return Object.keys(run.series)
    .map((k) => /^rewards\/(.+)\/mean$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
}

/** The project's fidelity rewards: the scorer's sim and the i2i backbone's cosine (stage 2's mix), each
 * reconstruction's PSNR in dB (stage 3's `psnr`, models/uae/rl.py). */
const FIDELITY_REWARDS: readonly string[] = ['sim', 'i2i', 'psnr'];

/**
 * Returns true when `run`'s reward is this project's fidelity reward (how close the reconstruction is to the
 * image): a bundle's recorded run (every Unified-GRPO stage is rewarded so), or a log whose reward functions
 * are all fidelity rewards (`sim`, or a mix of sim, i2i, psnr). A TRL run with other reward functions, or none
 * named, is not.
 */
export function isFidelityReward(run: Pick<RunLog, 'series' | 'source'>): boolean {
  if (run.source.kind === 'bundle') return true;
  const fns = rewardFunctions(run);
  return fns.length > 0 && fns.every((f) => FIDELITY_REWARDS.includes(f));
}

/**
 * Returns the subtitle of `chart` for the `runs` drawn on it: its fidelity subtitle only when every run
 * with data for the chart has the fidelity reward (a TRL run's reward in −3…5 is just "reward").
 */
export function chartYLabel(chart: ChartSpec, runs: readonly Pick<RunLog, 'series' | 'source'>[]): string {
  if (!chart.fidelityYLabel) return chart.yLabel;
  const drawn = runs.filter((r) => resolveChart(r, chart).length > 0);
  return drawn.length > 0 && drawn.every(isFidelityReward) ? chart.fidelityYLabel : chart.yLabel;
}
