/**
 * GenEval-Shapes, the benchmark job: for each prompt the flow decoder draws N images (Euler sampling, seeded noise,
 * the same path as `uae eval`'s reconstructions), the independent checker reads each, and an image passes when every
 * fact of its prompt holds. A task's accuracy is the fraction of its images that pass; `overall` is the mean of the six
 * GenEval tasks (plus_plus reported apart). With `oracle`, the checker reads the world's true renders instead.
 */
import { DEFAULT_RESOLUTION, rasterizeScene } from '../../shapes/raster.ts';
import type { InferContext } from '../infer/context.ts';
import { noiseRngs, reconstruct } from '../infer/pipeline.ts';
import { analyseImage, type Analysis } from './analyse.ts';
import { checkFacts } from './facts.ts';
import { ALL_TASKS, GENEVAL_TASKS, genevalPrompts, type Fact, type GenevalPrompt, type GenevalTask } from './prompts.ts';

/** Settings of a GenEval-Shapes run. */
export interface GenevalOptions {
  /** Seed of the prompts and of the decoder's noise. */
  seed: number;
  /** Prompts of each task kind. */
  promptsPerTask: number;
  /** Images the decoder draws per prompt. */
  perPrompt: number;
  /** Flow (Euler) steps (default: the bundle's flowSteps). */
  steps?: number;
  /** Images per session run (default 32). */
  batch?: number;
  /** Read the world's true renders of the prompts' scenes instead of the decoder's images. */
  oracle?: boolean;
  /** Called after each batch of images is checked. */
  onProgress?: (done: number, total: number) => void;
  /** Called after each batch with its images and verdicts (the arrays are the run's own: copy what you keep). */
  onBatch?: (batch: GenevalBatch) => void;
}

/** One checked image of a batch: image `image` (0…N−1) of prompt `prompt` (index into the run's prompts). */
export interface GenevalVerdict {
  prompt: number;
  image: number;
  task: GenevalTask;
  caption: string;
  ok: boolean;
  seen: string[];
}

/** One finished batch of a GenEval-Shapes run: images [start, start+count) in prompt-major order. */
export interface GenevalBatch {
  start: number;
  count: number;
  total: number;
  verdicts: GenevalVerdict[];
  /** uint8 RGB [count,res,res,3]: the images the checker read. */
  images: Uint8Array;
  /** Side of the square images. */
  resolution: number;
}

/** One prompt's outcome. */
export interface GenevalPromptResult {
  index: number;
  task: GenevalTask;
  caption: string;
  facts: Fact[];
  /** Per image: every fact held. */
  passed: boolean[];
  /** Fraction of its images that passed. */
  accuracy: number;
  /** Per image, what the checker saw: "size colour shape @row,col" per object. */
  seen: string[][];
}

/** What `uae geneval --json` prints. */
export interface GenevalResult {
  /** Per task kind, the fraction of its images in which every fact holds. */
  tasks: Record<GenevalTask, number>;
  /** Mean of the six GenEval task accuracies (plus_plus excluded). */
  overall: number;
  /** Number of prompts. */
  prompts: number;
  per_prompt: GenevalPromptResult[];
}

/** Returns one line per object the checker saw. */
export function describeSeen(a: Analysis): string[] {
  return a.objects.map((o) => `${o.size} ${o.colour} ${o.shape} @${o.position[0]},${o.position[1]}`);
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Returns the task accuracies, overall and per-prompt results of checked images (image j of prompt i at i·N + j). */
export function summarise(
  prompts: readonly GenevalPrompt[],
  verdicts: readonly { ok: boolean; seen: string[] }[],
  perPrompt: number,
): GenevalResult {
  const per_prompt = prompts.map((p, i): GenevalPromptResult => {
    const mine = verdicts.slice(i * perPrompt, (i + 1) * perPrompt);
    const passed = mine.map((v) => v.ok);
    return {
      index: p.index,
      task: p.task,
      caption: p.caption,
      facts: p.facts,
      passed,
      accuracy: mean(passed.map(Number)),
      seen: mine.map((v) => v.seen),
    };
  });
  const tasks = {} as Record<GenevalTask, number>;
  for (const t of ALL_TASKS) tasks[t] = mean(per_prompt.filter((r) => r.task === t).flatMap((r) => r.passed.map(Number)));
  return { tasks, overall: mean(GENEVAL_TASKS.map((t) => tasks[t])), prompts: prompts.length, per_prompt };
}

function checkPositive(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
}

/** Runs GenEval-Shapes on the decoder of `ctx` (ctx may be omitted with `oracle`). */
export async function runGeneval(ctx: InferContext | undefined, opts: GenevalOptions): Promise<GenevalResult> {
  checkPositive('promptsPerTask', opts.promptsPerTask);
  checkPositive('perPrompt', opts.perPrompt);
  const prompts = genevalPrompts(opts.seed, opts.promptsPerTask);
  const N = opts.perPrompt;
  const total = prompts.length * N;
  const verdicts: { ok: boolean; seen: string[] }[] = [];
  const judge = (p: GenevalPrompt, img: Uint8Array, res: number): { ok: boolean; seen: string[] } => {
    const seen = analyseImage(img, res);
    return { ok: checkFacts(p.facts, seen).ok, seen: describeSeen(seen) };
  };
  const report = (start: number, images: Uint8Array, res: number): void => {
    if (!opts.onBatch) return;
    const mine = verdicts.slice(start);
    opts.onBatch({
      start,
      count: mine.length,
      total,
      resolution: res,
      images,
      verdicts: mine.map((v, k) => {
        const i = Math.floor((start + k) / N);
        return { prompt: i, image: (start + k) % N, task: prompts[i].task, caption: prompts[i].caption, ok: v.ok, seen: v.seen };
      }),
    });
  };
  if (opts.oracle) {
    const res = ctx?.manifest.preprocessing.image.width ?? DEFAULT_RESOLUTION;
    prompts.forEach((p, i) => {
      // The true render does not depend on the noise: one reading stands for its N images.
      const img = rasterizeScene(p.scene, res);
      const v = judge(p, img, res);
      for (let j = 0; j < N; j++) verdicts.push(v);
      if (opts.onBatch) {
        const imgs = new Uint8Array(N * img.length);
        for (let j = 0; j < N; j++) imgs.set(img, j * img.length);
        report(i * N, imgs, res);
      }
      opts.onProgress?.((i + 1) * N, total);
    });
    return summarise(prompts, verdicts, N);
  }
  if (!ctx) throw new RangeError('runGeneval: a bundle context is needed unless oracle is set');
  const { width: res, height } = ctx.manifest.preprocessing.image;
  const stride = res * height * 3;
  const steps = opts.steps ?? ctx.manifest.defaults.flowSteps;
  const batch = Math.max(1, Math.floor(opts.batch ?? 32));
  const ids = prompts.map((p) => ctx.tokenizer.encode(p.caption));
  for (let start = 0; start < total; start += batch) {
    const count = Math.min(batch, total - start);
    const rows = Array.from({ length: count }, (_, k) => Math.floor((start + k) / N));
    const rec = await reconstruct(
      ctx,
      rows.map((i) => ids[i]),
      noiseRngs(opts.seed, start, count),
      { steps, batch },
    );
    rows.forEach((i, k) => verdicts.push(judge(prompts[i], rec.images.subarray(k * stride, (k + 1) * stride), res)));
    report(start, rec.images.subarray(0, count * stride), res);
    opts.onProgress?.(start + count, total);
  }
  return summarise(prompts, verdicts, N);
}
