/**
 * `uae roundtrip (<image-file> | --scene SEED) [--loops N] [--seed S] [--json]`: image₀ → caption₁ → image₁ → …
 * with the worker's own job function (src/engine/roundtrip/job.ts), so a seed gives the browser's run.
 * Image files (PNG, JPEG, WebP, GIF, BMP) pass the browser's header gate and are decoded by image-file.ts,
 * then resized with the bundle's 'cover' policy.
 * `uae roundtrip --scenes N [--dataset-seed D] --loops K`: the same trip on N Shapes scenes (scene i =
 * sampleScene(sceneSeed(D, i)), as `uae eval`), reported per loop: mean and median sim against the original and the
 * median over scenes of sim at loop k / sim at loop 1 (how much of what loop 1 kept the loops keep).
 * Exit codes: 0 done, 1 a failure (unreadable image, bad option, bundle or model error), 2 no/two inputs.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { PNG } from 'pngjs';
import { createInferContext, resizeCover, type DecodingPolicy, type Fidelity, type RawImage } from '../engine/infer/index.ts';
import {
  checkRoundTripParams,
  ROUNDTRIP_MAX_LOOPS,
  ROUNDTRIP_MIN_LOOPS,
  runRoundTripJob,
  type RoundTripLoop,
} from '../engine/roundtrip/index.ts';
import { median } from '../bench/timing.ts';
import { rasterizeScene, sampleScene, sceneSeed, type Scene } from '../shapes/index.ts';
import { DEFAULT_BUNDLE, FALLBACK_BUNDLE } from './eval.ts';
import { readImageFile } from './image-file.ts';
import { intIn, numberIn } from './options.ts';
import { CliError, openBundleDir, printJson } from './io.ts';

export { readImageFile } from './image-file.ts';

/** Options of `uae roundtrip` after parsing. */
export interface RoundTripCliOptions {
  scene?: number;
  /** Stability mode: this many Shapes scenes of `datasetSeed`. */
  scenes?: number;
  datasetSeed: number;
  loops: number;
  seed: number;
  steps?: number;
  temperature?: number;
  topP: number;
  bundle?: string;
  out?: string;
  json?: boolean;
}

/** One loop in `--json` output: exactly these keys (fidelity against the original image). */
export interface RoundTripJsonLoop {
  caption: string;
  tokens: number;
  sim: number;
  psnr: number;
  ssim: number;
  attr: { precision: number; recall: number; f1: number } | null;
}

/** What `uae roundtrip --json` prints. */
export interface RoundTripJson {
  loops: RoundTripJsonLoop[];
  /** Fidelity of loop k's reconstruction against loop k−1's (loop 1: against the original). */
  vs_previous: Fidelity[];
  bundle: string;
  input: { kind: 'scene'; seed: number; scene: Scene } | { kind: 'file'; path: string; width: number; height: number; resize: string };
  settings: { loops: number; seed: number; steps: number; policy: DecodingPolicy };
}

/** Returns a PNG file's bytes for uint8 RGB [height,width,3]. */
export function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = rgb[i * 3];
    png.data[i * 4 + 1] = rgb[i * 3 + 1];
    png.data[i * 4 + 2] = rgb[i * 3 + 2];
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

function resolveBundle(bundle: string | undefined, warn: (line: string) => void): string {
  if (bundle) return bundle;
  if (existsSync(join(DEFAULT_BUNDLE, 'manifest.json'))) return DEFAULT_BUNDLE;
  if (existsSync(join(FALLBACK_BUNDLE, 'manifest.json'))) {
    warn(
      `uae roundtrip: ${DEFAULT_BUNDLE} not found; using the test bundle ${FALLBACK_BUNDLE} (near-random weights: meaningless captions). Pass --bundle DIR to choose.`,
    );
    return FALLBACK_BUNDLE;
  }
  throw new CliError(`${DEFAULT_BUNDLE}: no bundle there; pass --bundle DIR`);
}

const round6 = (x: number): number => Number(x.toFixed(6));
const fidelity = (f: Fidelity): Fidelity => ({ sim: round6(f.sim), psnr: round6(f.psnr), ssim: round6(f.ssim) });

/** Returns the `--json` document of a finished run (floats rounded to 6 decimals). */
export function roundTripJson(loops: readonly RoundTripLoop[], meta: Omit<RoundTripJson, 'loops' | 'vs_previous'>): RoundTripJson {
  return {
    loops: loops.map((l) => ({
      caption: l.caption,
      tokens: l.tokens,
      ...fidelity(l.vsOriginal),
      attr: l.attr && { precision: round6(l.attr.precision), recall: round6(l.attr.recall), f1: round6(l.attr.f1) },
    })),
    vs_previous: loops.map((l) => fidelity(l.vsPrevious)),
    ...meta,
  };
}

function loopLine(l: RoundTripLoop): string {
  const f = (x: Fidelity) => `sim ${x.sim.toFixed(3)}  PSNR ${x.psnr.toFixed(2)} dB  SSIM ${x.ssim.toFixed(3)}`;
  const attr = l.attr ? `  attr P ${l.attr.precision.toFixed(2)} R ${l.attr.recall.toFixed(2)} F1 ${l.attr.f1.toFixed(2)}` : '';
  return `loop ${l.loop}: "${l.caption}" (${l.tokens} tokens)\n  vs original: ${f(l.vsOriginal)}${attr}\n  vs previous: ${f(l.vsPrevious)}`;
}

/** The inference context of an opened bundle that can round-trip, and the options' decoding policy and flow steps. */
function tripContext(
  engine: Awaited<ReturnType<typeof openBundleDir>>,
  opts: RoundTripCliOptions,
): { ctx: ReturnType<typeof createInferContext>; policy: DecodingPolicy; steps: number } {
  const ctx = createInferContext({ ort: engine.ort, tracker: engine.tracker, sessions: engine.sessions, bundle: engine.bundle });
  const m = ctx.manifest;
  for (const role of ['encoder', 'decoder', 'scorer'] as const) {
    if (!m.roles[role]) throw new CliError(`bundle ${m.id} has no ${role} role: it cannot run a round trip`);
  }
  const policy: DecodingPolicy =
    opts.temperature === undefined ? { kind: 'greedy' } : { kind: 'sample', temperature: opts.temperature, topP: opts.topP };
  return { ctx, policy, steps: opts.steps ?? m.defaults.flowSteps };
}

/** One loop of `uae roundtrip --scenes N --json`. */
export interface StabilityLoop {
  loop: number;
  sim_mean: number;
  sim_median: number;
  /** Median over scenes of sim at this loop / sim at loop 1. */
  ratio_median: number;
  tokens_mean: number;
}

/** What `uae roundtrip --scenes N --json` prints. */
export interface StabilityJson {
  bundle: string;
  scenes: number;
  dataset_seed: number;
  loops: StabilityLoop[];
  /** ratio_median of the last loop. */
  ratio_last: number;
  settings: { loops: number; seed: number; steps: number; policy: DecodingPolicy };
}

/** Returns the per-loop summary of `sims[scene][loop]` (and tokens), floats rounded to 6 decimals. */
export function stabilityLoops(sims: readonly number[][], tokens: readonly number[][]): StabilityLoop[] {
  const k = sims[0]?.length ?? 0;
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return Array.from({ length: k }, (_, j) => {
    const col = sims.map((s) => s[j]);
    return {
      loop: j + 1,
      sim_mean: round6(mean(col)),
      sim_median: round6(median(col)),
      ratio_median: round6(median(sims.map((s) => s[j] / s[0]))),
      tokens_mean: round6(mean(tokens.map((t) => t[j]))),
    };
  });
}

/** Runs the stability mode: `opts.scenes` round trips of `opts.loops` loops -> the per-loop summary. */
export async function runStabilityCommand(opts: RoundTripCliOptions & { scenes: number }): Promise<StabilityJson> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const engine = await openBundleDir(resolveBundle(opts.bundle, log));
  try {
    const { ctx, policy, steps } = tripContext(engine, opts);
    const m = ctx.manifest;
    const { width, height } = m.preprocessing.image;
    const sims: number[][] = [];
    const tokens: number[][] = [];
    const t0 = performance.now();
    for (let i = 0; i < opts.scenes; i++) {
      const scene = sampleScene(sceneSeed(opts.datasetSeed, i));
      const image = rasterizeScene(scene, width);
      const params = checkRoundTripParams({ image, width, height, loops: opts.loops, policy, steps, seed: opts.seed, scene });
      const loops = await runRoundTripJob(ctx, params, () => undefined);
      sims.push(loops.map((l) => l.vsOriginal.sim));
      tokens.push(loops.map((l) => l.tokens));
      if (!opts.json && ((i + 1) % 10 === 0 || i + 1 === opts.scenes))
        log(`  ${i + 1}/${opts.scenes} scenes  ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const loops = stabilityLoops(sims, tokens);
    const doc: StabilityJson = {
      bundle: m.id,
      scenes: opts.scenes,
      dataset_seed: opts.datasetSeed,
      loops,
      ratio_last: loops[loops.length - 1].ratio_median,
      settings: { loops: opts.loops, seed: opts.seed, steps, policy },
    };
    if (opts.json) printJson(doc);
    else {
      console.log(`bundle ${m.id}: ${opts.scenes} scenes of dataset seed ${opts.datasetSeed}, ${opts.loops} loops, flow steps ${steps}`);
      console.log('loop  sim mean  sim median  median sim_k/sim_1  mean tokens');
      for (const l of loops)
        console.log(
          `${String(l.loop).padStart(4)}  ${l.sim_mean.toFixed(3).padStart(8)}  ${l.sim_median.toFixed(3).padStart(10)}  ` +
            `${l.ratio_median.toFixed(3).padStart(18)}  ${l.tokens_mean.toFixed(1).padStart(11)}`,
        );
    }
    return doc;
  } finally {
    await engine.sessions.release();
  }
}

/** Runs `uae roundtrip` on `file` or `opts.scene`; returns the JSON document (printed as JSON or text). */
export async function runRoundTripCommand(file: string | undefined, opts: RoundTripCliOptions): Promise<RoundTripJson> {
  if ((file === undefined) === (opts.scene === undefined)) {
    throw new CliError('give exactly one input: an image file, --scene SEED or --scenes N', 2);
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const source = file === undefined ? undefined : await readImageFile(file);
  const engine = await openBundleDir(resolveBundle(opts.bundle, log));
  try {
    const { ctx, policy, steps } = tripContext(engine, opts);
    const m = ctx.manifest;
    const { width, height } = m.preprocessing.image;
    const scene = opts.scene === undefined ? undefined : sampleScene(opts.scene);
    const image = scene ? rasterizeScene(scene, width) : resizeCover(source as RawImage, width, height);
    const params = checkRoundTripParams({ image, width, height, loops: opts.loops, policy, steps, seed: opts.seed, scene });
    if (opts.out) mkdirSync(opts.out, { recursive: true });
    const save = (name: string, rgb: Uint8Array) => opts.out && writeFileSync(join(opts.out, name), encodePng(rgb, width, height));
    save('loop-0.png', image);
    const loops = await runRoundTripJob(ctx, params, (l) => {
      save(`loop-${l.loop}.png`, l.image);
      if (!opts.json) console.log(loopLine(l));
    });
    const input: RoundTripJson['input'] = scene
      ? { kind: 'scene', seed: opts.scene as number, scene }
      : {
          kind: 'file',
          path: file as string,
          width: (source as RawImage).width,
          height: (source as RawImage).height,
          resize: `cover ${width}x${height}`,
        };
    const doc = roundTripJson(loops, { bundle: m.id, input, settings: { loops: opts.loops, seed: opts.seed, steps, policy } });
    if (opts.json) printJson(doc);
    return doc;
  } finally {
    await engine.sessions.release();
  }
}

/** Adds `uae roundtrip` to the program. */
export function registerRoundTrip(program: Command): void {
  program
    .command('roundtrip')
    .description('caption an image, redraw it from the caption, caption that, … N times; fidelity per loop')
    .argument(
      '[image-file]',
      'a PNG, JPEG, WebP, GIF (first frame) or BMP image, at most 40 MP (resized to the bundle input with the cover policy: scale, centre crop)',
    )
    .option(
      '--scene <seed>',
      'use the Shapes scene sampleScene(SEED) instead of a file (adds attribute P/R/F1)',
      intIn('scene', 0, 0xffffffff),
    )
    .option(
      '--loops <n>',
      `loops (${ROUNDTRIP_MIN_LOOPS}-${ROUNDTRIP_MAX_LOOPS})`,
      intIn('loops', ROUNDTRIP_MIN_LOOPS, ROUNDTRIP_MAX_LOOPS),
      3,
    )
    .option('--scenes <n>', 'stability mode: N Shapes scenes of --dataset-seed, summarised per loop', intIn('scenes', 1, 10000))
    .option(
      '--dataset-seed <d>',
      'dataset seed of --scenes (scene i = sampleScene(sceneSeed(D, i)), as uae eval)',
      intIn('dataset-seed', 0, 0xffffffff),
      2,
    )
    .option('--seed <s>', 'seed of caption sampling and decoder noise', intIn('seed', 0, 0xffffffff), 0)
    .option('--steps <k>', "flow (Euler) steps (default: the bundle's flowSteps)", intIn('steps', 1, 1000))
    .option('--temperature <t>', 'sample captions at this temperature (default: greedy)', numberIn('temperature', 0, 10))
    .option('--top-p <p>', 'nucleus mass when sampling', numberIn('top-p', 0, 1), 1)
    .option('--bundle <dir>', `bundle folder (default ${DEFAULT_BUNDLE})`)
    .option('--out <dir>', 'write loop-0.png (the model input) … loop-N.png there')
    .option('--json', 'print one JSON object: {"loops": [{caption, tokens, sim, psnr, ssim, attr}], ...}')
    .action(async (file: string | undefined, opts: RoundTripCliOptions) => {
      if (opts.scenes === undefined) return void (await runRoundTripCommand(file, opts));
      if (file !== undefined || opts.scene !== undefined)
        throw new CliError('give exactly one input: an image file, --scene SEED or --scenes N', 2);
      if (opts.out) throw new CliError("--out writes one trip's images; it does not combine with --scenes");
      await runStabilityCommand({ ...opts, scenes: opts.scenes });
    });
}
