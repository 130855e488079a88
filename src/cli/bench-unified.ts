/**
 * `uae bench-unified [--bundle DIR] [--checkpoint first|last|STEP] [--encoder ROLE] [--images DIR] [--scenes N] [--seed S]
 * [--steps K] [--batch B] [--json]`: Unified-Bench (src/engine/unified-bench) — N held-out Shapes scenes, or every
 * PNG/JPEG in a folder (resized to the bundle's input with the cover policy), captioned by the encoder (greedy) or a
 * training checkpoint of it, reconstructed by the decoder, scored by every backbone. With --json, exactly
 * {bundle, encoder, images, backbones, overall}; otherwise a table, with progress on stderr.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type Command } from 'commander';
import { createInferContext, resizeCover, type InferContext } from '../engine/infer/index.ts';
import { runUnifiedBench, type BackboneScores, type ReferenceImage, type UnifiedBenchResult } from '../engine/unified-bench/index.ts';
import { addEncoderChoiceOptions, checkEncoderChoice, chooseEncoder, DEFAULT_BUNDLE, type EncoderChoiceOptions } from './eval.ts';
import { readImageFile } from './image-file.ts';
import { CliError, openBundleDir, printJson } from './io.ts';
import { intIn } from './options.ts';

/** Options of `uae bench-unified` after parsing. */
export interface BenchUnifiedCliOptions extends EncoderChoiceOptions {
  bundle?: string;
  images?: string;
  scenes: number;
  seed: number;
  steps?: number;
  batch: number;
  json?: boolean;
}

/** What `uae bench-unified --json` prints. */
export interface BenchUnifiedJson {
  /** The bundle's manifest id. */
  bundle: string;
  /** Who captions: 'encoder', 'referenceEncoder' or 'checkpoint:STEP'. */
  encoder: string;
  /** Reference image names, in the order of every per_image list. */
  images: string[];
  /** scorer (i2i cosine), psnr (dB), ssim: mean and per image. */
  backbones: Record<string, BackboneScores>;
  /** 100 × the mean of the similarity backbones' means. */
  overall: number;
}

/** File names (extension .png, .jpg or .jpeg, any case) Unified-Bench reads from a folder. */
export const IMAGE_FILE_RE = /\.(png|jpe?g)$/i;

const round6 = (x: number): number => Number(x.toFixed(6));

/** Returns the images of folder `dir` to read, sorted by name; throws a CliError naming the folder when it has none. */
export function listImageFolder(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`${dir}: no such folder`);
  const files = readdirSync(dir)
    .filter((f) => IMAGE_FILE_RE.test(f))
    .sort();
  if (files.length === 0) throw new CliError(`${dir}: no PNG or JPEG image in this folder (.png, .jpg, .jpeg)`);
  return files.map((f) => join(dir, f));
}

/** Returns each file read (errors name the file) and resized to the bundle's input as its preprocessing says. */
async function readReference(ctx: InferContext, files: readonly string[]): Promise<ReferenceImage[]> {
  const { width, height, resize } = ctx.manifest.preprocessing.image;
  if (resize !== 'cover') throw new CliError(`bundle ${ctx.manifest.id} asks for resize '${resize}'; uae reads images with 'cover' only`);
  const out: ReferenceImage[] = [];
  for (const f of files) out.push({ name: basename(f), rgb: resizeCover(await readImageFile(f), width, height) });
  return out;
}

/** Returns the `--json` document of a result, every float rounded to 6 decimals. */
export function benchUnifiedJson(bundle: string, encoder: string, r: UnifiedBenchResult): BenchUnifiedJson {
  const backbones: Record<string, BackboneScores> = {};
  for (const [k, b] of Object.entries(r.backbones)) backbones[k] = { mean: round6(b.mean), per_image: b.per_image.map(round6) };
  return { bundle, encoder, images: r.images, backbones, overall: round6(r.overall) };
}

/** Returns the human table, laid out like the paper's: one row per backbone, then the overall score. */
export function benchUnifiedTable(r: UnifiedBenchResult): string {
  const row = (name: string, measure: string, value: string): string => `${name.padEnd(10)} ${measure.padEnd(26)} ${value.padStart(8)}`;
  const lines = [row('backbone', 'measure', 'score')];
  for (const k of r.similarity) lines.push(row(k, 'i2i cosine × 100', (100 * r.backbones[k].mean).toFixed(2)));
  lines.push(row('psnr', 'dB (capped at 100)', r.backbones.psnr.mean.toFixed(2)));
  lines.push(row('ssim', '−1…1', r.backbones.ssim.mean.toFixed(4)));
  lines.push(row('overall', `mean of ${r.similarity.join(', ')} × 100`, r.overall.toFixed(2)));
  return lines.join('\n');
}

function resolveBundle(bundle: string | undefined): string {
  if (bundle) return bundle;
  if (existsSync(join(DEFAULT_BUNDLE, 'manifest.json'))) return DEFAULT_BUNDLE;
  throw new CliError(`${DEFAULT_BUNDLE}: no bundle there; pass --bundle DIR`);
}

/** Runs `uae bench-unified` with parsed options; returns the `--json` document (printed as JSON or a table). */
export async function runBenchUnifiedCommand(opts: BenchUnifiedCliOptions): Promise<BenchUnifiedJson> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  checkEncoderChoice(opts);
  // A missing or empty folder fails before the bundle opens.
  const files = opts.images === undefined ? undefined : listImageFolder(opts.images);
  const dir = resolveBundle(opts.bundle);
  const engine = await openBundleDir(dir);
  try {
    const ctx = createInferContext({ ort: engine.ort, tracker: engine.tracker, sessions: engine.sessions, bundle: engine.bundle });
    const steps = opts.steps ?? ctx.manifest.defaults.flowSteps;
    const { encoder, id, who } = chooseEncoder(ctx, opts);
    const reference = files
      ? { kind: 'images' as const, images: await readReference(ctx, files) }
      : { kind: 'scenes' as const, scenes: opts.scenes };
    const t0 = performance.now();
    const result = await runUnifiedBench(ctx, {
      reference,
      seed: opts.seed,
      steps,
      encoder,
      batch: opts.batch,
      onProgress: opts.json
        ? undefined
        : (done, total) => log(`  ${done}/${total} images  ${((performance.now() - t0) / 1000).toFixed(1)} s`),
    });
    const doc = benchUnifiedJson(ctx.manifest.id, id, result);
    if (opts.json) printJson(doc);
    else {
      const what = files
        ? `${files.length} images from ${resolve(opts.images as string)}`
        : `${opts.scenes} Shapes scenes (seed ${opts.seed})`;
      console.log(`Unified-Bench: bundle ${ctx.manifest.id} (${resolve(dir)}), captions: ${who} (greedy), flow steps ${steps}`);
      console.log(`reference: ${what}`);
      console.log(benchUnifiedTable(result));
      log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    return doc;
  } finally {
    await engine.sessions.release();
  }
}

/** Adds `uae bench-unified` to the program. */
export function registerBenchUnified(program: Command): void {
  const cmd = program
    .command('bench-unified')
    .description('Unified-Bench: caption reference images, reconstruct them, score by every backbone (scorer cosine, PSNR, SSIM)')
    .option('--bundle <dir>', `bundle folder (default ${DEFAULT_BUNDLE})`);
  addEncoderChoiceOptions(cmd)
    .option('--images <dir>', 'reference images: every PNG/JPEG in this folder (default: Shapes scenes)')
    .option('--scenes <n>', 'number of held-out Shapes scenes (without --images)', intIn('scenes', 1, 100000), 100)
    .option('--seed <s>', 'dataset seed of the scenes and seed of the decoder noise (training used 1)', intIn('seed', 0, 0xffffffff), 2)
    .option('--steps <k>', "flow (Euler) steps (default: the bundle's flowSteps)", intIn('steps', 1, 1000))
    .option('--batch <b>', 'images per session run', intIn('batch', 1, 1024), 32)
    .option('--json', 'print one JSON object: {bundle, encoder, images, backbones, overall}')
    .action(async (opts: BenchUnifiedCliOptions) => {
      await runBenchUnifiedCommand(opts);
    });
}
