/**
 * The checker validated on its own: on the world's true renders of the prompts' scenes, and on those renders degraded
 * as the decoder degrades them (degrade.ts), it must read each prompt's facts right. Per attribute, a confusion table
 * of true against seen values: each true object is paired with the detection nearest its cell centre (within one
 * cell), "none" when nothing is there; counts compare the number of objects.
 */
import { rasterizeScene } from '../../shapes/raster.ts';
import { createRng, mix32 } from '../../shapes/rng.ts';
import { COLOURS, GRID, SHAPES, SIZES } from '../../shapes/scene.ts';
import { analyseImage, type Detection } from './analyse.ts';
import { degrade, type DegradeRanges } from './degrade.ts';
import { checkFacts } from './facts.ts';
import type { GenevalPrompt } from './prompts.ts';

/** Rows: true value; columns: seen value (the last column "none": no detection paired). */
export interface Confusion {
  labels: string[];
  counts: number[][];
}

/** Per-attribute confusion tables and accuracies of a validation. */
export interface CheckerValidation {
  images: number;
  /** Fraction of prompts whose verdict is "every fact holds" (the truth for every prompt here). */
  promptAccuracy: number;
  /** Fraction of facts read as holding. */
  factAccuracy: number;
  confusion: { shape: Confusion; colour: Confusion; size: Confusion; position: Confusion; count: Confusion };
  /** Attribute accuracy (diagonal / all) per table. */
  accuracy: { shape: number; colour: number; size: number; position: number; count: number };
}

function table(labels: readonly string[]): Confusion {
  return { labels: [...labels], counts: labels.map(() => new Array<number>(labels.length + 1).fill(0)) };
}

function bump(t: Confusion, truth: string, seen: string | undefined): void {
  const col = seen === undefined ? t.labels.length : t.labels.indexOf(seen);
  t.counts[t.labels.indexOf(truth)][col < 0 ? t.labels.length : col]++;
}

function diagonal(t: Confusion): number {
  let d = 0;
  let all = 0;
  t.counts.forEach((row, i) => {
    d += row[i];
    all += row.reduce((a, b) => a + b, 0);
  });
  return all === 0 ? 1 : d / all;
}

const CELLS = Array.from({ length: GRID * GRID }, (_, i) => `${Math.floor(i / GRID)},${i % GRID}`);

/** Returns the image the checker is validated on for prompt p: its true render, degraded when `ranges` is given. */
export function validationImage(p: GenevalPrompt, res: number, ranges?: DegradeRanges): Uint8Array {
  const img = rasterizeScene(p.scene, res);
  return ranges ? degrade(img, res, createRng(mix32(p.seed, 0xde9a)), ranges) : img;
}

/** Returns the checker's accuracy and confusion tables on the prompts' true (or degraded) renders. */
export function validateChecker(prompts: readonly GenevalPrompt[], res = 64, ranges?: DegradeRanges): CheckerValidation {
  const confusion = {
    shape: table(SHAPES),
    colour: table(COLOURS),
    size: table(SIZES),
    position: table(CELLS),
    count: table(['1', '2', '3', '4']),
  };
  let promptsOk = 0;
  let facts = 0;
  let factsOk = 0;
  const cell = res / GRID;
  for (const p of prompts) {
    const seen = analyseImage(validationImage(p, res, ranges), res);
    const v = checkFacts(p.facts, seen);
    promptsOk += Number(v.ok);
    facts += v.facts.length;
    factsOk += v.facts.filter(Boolean).length;
    const free = new Set<Detection>(seen.objects);
    for (const o of p.scene.objects) {
      const [tx, ty] = [(o.col + 0.5) * cell, (o.row + 0.5) * cell];
      let d: Detection | undefined;
      for (const c of free)
        if (Math.hypot(c.cx - tx, c.cy - ty) < cell && (!d || Math.hypot(d.cx - tx, d.cy - ty) > Math.hypot(c.cx - tx, c.cy - ty))) d = c;
      if (d) free.delete(d);
      bump(confusion.shape, o.shape, d?.shape);
      bump(confusion.colour, o.colour, d?.colour);
      bump(confusion.size, o.size, d?.size);
      bump(confusion.position, `${o.row},${o.col}`, d && `${d.position[0]},${d.position[1]}`);
    }
    const n = seen.objects.length;
    bump(confusion.count, String(p.scene.objects.length), n >= 1 && n <= 4 ? String(n) : undefined);
  }
  return {
    images: prompts.length,
    promptAccuracy: promptsOk / Math.max(1, prompts.length),
    factAccuracy: factsOk / Math.max(1, facts),
    confusion,
    accuracy: {
      shape: diagonal(confusion.shape),
      colour: diagonal(confusion.colour),
      size: diagonal(confusion.size),
      position: diagonal(confusion.position),
      count: diagonal(confusion.count),
    },
  };
}

/** Returns a confusion table as Markdown (rows true, columns seen, "none" last). */
export function confusionMarkdown(t: Confusion): string {
  const head = `| true \\ seen | ${[...t.labels, 'none'].join(' | ')} |`;
  const rule = `|${' --- |'.repeat(t.labels.length + 2)}`;
  const rows = t.counts.map((r, i) => `| ${t.labels[i]} | ${r.join(' | ')} |`);
  return [head, rule, ...rows].join('\n');
}
