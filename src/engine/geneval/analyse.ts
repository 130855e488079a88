/**
 * The independent checker's eyes: a classical analyser of the Shapes world's palette and geometry. It estimates the
 * background, gives each pixel a colour label and a coverage (alpha) by the world's blend model
 * pixel = background + alpha·(colour − background), joins same-label pixels into connected components, splits
 * components that span two objects' cells, and describes each object: colour, size class (by mass), grid cell (by
 * centroid) and shape (by template fitting, shape.ts). It never runs a network.
 */
import {
  BACKGROUND_RGB,
  BACKGROUNDS,
  COLOUR_RGB,
  COLOURS,
  GRID,
  type Background,
  type Colour,
  type Shape,
  type Size,
} from '../../shapes/scene.ts';
import { classifyShape, type AlphaPatch, type ShapeFit } from './shape.ts';

/** One object the checker sees. */
export interface Detection {
  shape: Shape;
  colour: Colour;
  size: Size;
  /** Grid cell [row, col] of the centroid. */
  position: [number, number];
  /** Coverage in pixels (sum of alpha). */
  mass: number;
  /** Centroid in pixels. */
  cx: number;
  cy: number;
  fit: ShapeFit;
}

/** What the checker sees in one image. */
export interface Analysis {
  background: Background;
  objects: Detection[];
}

/** Mass (pixels² at 64×64) between the largest small object (≈72) and the smallest large one (≈153). */
const SIZE_THRESHOLD_64 = 105;
/** Smallest mass that counts as an object (at 64×64; the smallest object, a small triangle, has ≈48). */
const MIN_MASS_64 = 16;
/** Distance (0–255 RGB) from the background below which a pixel is background. */
const FG_DISTANCE = 48;
/** A component spanning cells is split only when each part's centroid lies this close (in cells) to its cell centre. */
const SPLIT_CENTRE = 0.3;

type Vec3 = [number, number, number];

/** Returns the background: the background palette colour most pixels are nearest to, and those pixels' median. */
function estimateBackground(rgb: Uint8Array, n: number): { name: Background; rgb: Vec3 } {
  const palette: [string, readonly number[]][] = [
    ...BACKGROUNDS.map((b): [string, readonly number[]] => [b, BACKGROUND_RGB[b]]),
    ...COLOURS.map((c): [string, readonly number[]] => [c, COLOUR_RGB[c]]),
  ];
  const votes = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bd = Infinity;
    palette.forEach(([, p], k) => {
      const d = (rgb[3 * i] - p[0]) ** 2 + (rgb[3 * i + 1] - p[1]) ** 2 + (rgb[3 * i + 2] - p[2]) ** 2;
      if (d < bd) [bd, best] = [d, k];
    });
    const name = palette[best][0];
    if ((BACKGROUNDS as readonly string[]).includes(name)) {
      const list = votes.get(name) ?? [];
      list.push(i);
      votes.set(name, list);
    }
  }
  let name: Background = 'black';
  let pixels: number[] = [];
  for (const [k, v] of votes) if (v.length > pixels.length) [name, pixels] = [k as Background, v];
  if (pixels.length === 0) return { name, rgb: [...BACKGROUND_RGB[name]] as Vec3 };
  const median = (c: number): number => {
    const vals = pixels.map((i) => rgb[3 * i + c]).sort((a, b) => a - b);
    return vals[vals.length >> 1];
  };
  return { name, rgb: [median(0), median(1), median(2)] };
}

/** Per-pixel colour label (−1 background) and alpha for that colour, by the blend model against the background. */
function labelPixels(rgb: Uint8Array, n: number, bg: Vec3): { label: Int8Array; alpha: Float32Array } {
  const label = new Int8Array(n).fill(-1);
  const alpha = new Float32Array(n);
  const dirs = COLOURS.map((c) => COLOUR_RGB[c].map((v, k) => v - bg[k]));
  const norms = dirs.map((d) => d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  for (let i = 0; i < n; i++) {
    const d0 = rgb[3 * i] - bg[0];
    const d1 = rgb[3 * i + 1] - bg[1];
    const d2 = rgb[3 * i + 2] - bg[2];
    const dd = d0 * d0 + d1 * d1 + d2 * d2;
    if (dd < FG_DISTANCE * FG_DISTANCE) continue;
    let best = -1;
    let bestRes = Infinity;
    let bestA = 0;
    for (let k = 0; k < dirs.length; k++) {
      if (norms[k] < 1) continue;
      const a = (d0 * dirs[k][0] + d1 * dirs[k][1] + d2 * dirs[k][2]) / norms[k];
      if (a <= 0.15) continue;
      // Distance from the segment background→colour, so a bright pixel is not read as a dim one of another hue.
      const t = Math.min(a, 1);
      const r = (d0 - t * dirs[k][0]) ** 2 + (d1 - t * dirs[k][1]) ** 2 + (d2 - t * dirs[k][2]) ** 2;
      if (r < bestRes) [bestRes, best, bestA] = [r, k, a];
    }
    if (best >= 0) {
      label[i] = best;
      alpha[i] = Math.min(bestA, 1);
    }
  }
  return { label, alpha };
}

/** Returns connected components (8-neighbours) of equal non-negative labels, as pixel index lists. */
function components(label: Int8Array, res: number): number[][] {
  const seen = new Uint8Array(label.length);
  const out: number[][] = [];
  for (let start = 0; start < label.length; start++) {
    if (label[start] < 0 || seen[start]) continue;
    const comp: number[] = [];
    const stack = [start];
    seen[start] = 1;
    while (stack.length > 0) {
      const i = stack.pop() as number;
      comp.push(i);
      const x = i % res;
      const y = (i - x) / res;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= res || ny >= res) continue;
          const j = ny * res + nx;
          if (!seen[j] && label[j] === label[start]) {
            seen[j] = 1;
            stack.push(j);
          }
        }
    }
    out.push(comp);
  }
  return out;
}

/** Mass and centroid of a pixel set. */
function moments(pixels: readonly number[], alpha: Float32Array, res: number): { mass: number; cx: number; cy: number } {
  let m = 0;
  let sx = 0;
  let sy = 0;
  for (const i of pixels) {
    const x = i % res;
    const y = (i - x) / res;
    m += alpha[i];
    sx += alpha[i] * (x + 0.5);
    sy += alpha[i] * (y + 0.5);
  }
  return { mass: m, cx: m > 0 ? sx / m : 0, cy: m > 0 ? sy / m : 0 };
}

const cellOf = (v: number, cell: number): number => Math.min(GRID - 1, Math.max(0, Math.floor(v / cell)));

/** Returns the pixel sets of a component: one, or one per cell when it spans objects in several cells. */
function splitByCell(comp: number[], alpha: Float32Array, res: number, minMass: number): number[][] {
  const cell = res / GRID;
  const parts = new Map<number, number[]>();
  for (const i of comp) {
    const x = i % res;
    const key = cellOf((i - x) / res + 0.5, cell) * GRID + cellOf(x + 0.5, cell);
    const list = parts.get(key) ?? [];
    list.push(i);
    parts.set(key, list);
  }
  if (parts.size < 2) return [comp];
  const big = [...parts.entries()].filter(([, px]) => moments(px, alpha, res).mass >= minMass);
  const centred = big.every(([key, px]) => {
    const { cx, cy } = moments(px, alpha, res);
    const [r, c] = [Math.floor(key / GRID), key % GRID];
    return Math.hypot(cx / cell - (c + 0.5), cy / cell - (r + 0.5)) <= SPLIT_CENTRE;
  });
  return big.length >= 2 && centred ? big.map(([, px]) => px) : [comp];
}

/** Returns the object's coverage patch: the component grown by 2 pixels, in a window around its centroid. */
function patchOf(pixels: number[], colour: number, label: Int8Array, alpha: Float32Array, res: number): AlphaPatch {
  const own = new Set(pixels);
  const { cx, cy } = moments(pixels, alpha, res);
  const half = Math.ceil((0.62 * res) / GRID);
  const size = 2 * half + 1;
  const x0 = Math.round(cx) - half;
  const y0 = Math.round(cy) - half;
  const a = new Float32Array(size * size);
  const near = (x: number, y: number): boolean => {
    for (let dy = -2; dy <= 2; dy++)
      for (let dx = -2; dx <= 2; dx++) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx >= 0 && ny >= 0 && nx < res && ny < res && own.has(ny * res + nx)) return true;
      }
    return false;
  };
  for (let j = 0; j < size; j++)
    for (let i = 0; i < size; i++) {
      const x = x0 + i;
      const y = y0 + j;
      if (x < 0 || y < 0 || x >= res || y >= res) continue;
      const k = y * res + x;
      if (own.has(k)) a[j * size + i] = alpha[k];
      else if ((label[k] < 0 || label[k] === colour) && near(x, y)) a[j * size + i] = Math.max(0, alpha[k]);
    }
  let mass = 0;
  let sx = 0;
  let sy = 0;
  for (let j = 0; j < size; j++)
    for (let i = 0; i < size; i++) {
      const v = a[j * size + i];
      mass += v;
      sx += v * (x0 + i + 0.5);
      sy += v * (y0 + j + 0.5);
    }
  return { alpha: a, x0, y0, size, mass, cx: mass > 0 ? sx / mass : cx, cy: mass > 0 ? sy / mass : cy };
}

/** Returns the soft alpha of every pixel for `colour` against the background (0 where it is background-like). */
function softAlpha(rgb: Uint8Array, n: number, bg: Vec3, colour: number): Float32Array {
  const d = COLOUR_RGB[COLOURS[colour]].map((v, k) => v - bg[k]);
  const norm = Math.max(1, d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = ((rgb[3 * i] - bg[0]) * d[0] + (rgb[3 * i + 1] - bg[1]) * d[1] + (rgb[3 * i + 2] - bg[2]) * d[2]) / norm;
    out[i] = Math.min(Math.max(a, 0), 1);
  }
  return out;
}

/** Returns what the checker sees in a uint8 RGB image [res, res, 3]. */
export function analyseImage(rgb: Uint8Array, res: number): Analysis {
  const n = res * res;
  const area = (res * res) / (64 * 64);
  const bg = estimateBackground(rgb, n);
  const { label, alpha } = labelPixels(rgb, n, bg.rgb);
  const minMass = MIN_MASS_64 * area;
  const objects: Detection[] = [];
  const soft = new Map<number, Float32Array>();
  for (const comp of components(label, res)) {
    if (moments(comp, alpha, res).mass < minMass) continue;
    const colour = label[comp[0]];
    for (const part of splitByCell(comp, alpha, res, minMass)) {
      if (!soft.has(colour)) soft.set(colour, softAlpha(rgb, n, bg.rgb, colour));
      const p = patchOf(part, colour, label, soft.get(colour) as Float32Array, res);
      if (p.mass < minMass) continue;
      const { shape, fit } = classifyShape(p, res);
      const cell = res / GRID;
      objects.push({
        shape,
        colour: COLOURS[colour],
        size: p.mass >= SIZE_THRESHOLD_64 * area ? 'large' : 'small',
        position: [cellOf(p.cy, cell), cellOf(p.cx, cell)],
        mass: p.mass,
        cx: p.cx,
        cy: p.cy,
        fit,
      });
    }
  }
  return { background: bg.name, objects: mergeSameCell(objects, SIZE_THRESHOLD_64 * area) };
}

/**
 * Keeps one object per grid cell, as the world draws at most one: the heaviest detection there gives colour and shape,
 * and the others (colour fringes of a blurred object, fragments split by noise) add their mass to it.
 */
function mergeSameCell(objects: Detection[], sizeThreshold: number): Detection[] {
  const byCell = new Map<number, Detection>();
  for (const o of objects.sort((a, b) => b.mass - a.mass)) {
    const key = o.position[0] * GRID + o.position[1];
    const kept = byCell.get(key);
    if (kept) {
      kept.mass += o.mass;
      kept.size = kept.mass >= sizeThreshold ? 'large' : 'small';
    } else byCell.set(key, { ...o });
  }
  return [...byCell.values()];
}
