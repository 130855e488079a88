/**
 * The shapes world's scene graph: a background and 1–4 objects on a 3×3 grid, one per cell,
 * each placed exactly at its cell centre so that a full caption determines the image.
 */
import { createRng, shuffled, type Rng } from './rng.ts';

export const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross'] as const;
export const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'] as const;
export const SIZES = ['small', 'large'] as const;
export const BACKGROUNDS = ['black', 'white', 'gray', 'navy'] as const;
export const GRID = 3;
export const MAX_OBJECTS = 4;

export type Shape = (typeof SHAPES)[number];
export type Colour = (typeof COLOURS)[number];
export type Size = (typeof SIZES)[number];
export type Background = (typeof BACKGROUNDS)[number];
export type Rgb = readonly [number, number, number];

/** One object: its attributes and its grid cell (row 0 = top, col 0 = left). */
export interface SceneObject {
  shape: Shape;
  colour: Colour;
  size: Size;
  row: number;
  col: number;
}

/** A whole scene; `objects` order is the sampling order (it breaks ties for the main object). */
export interface Scene {
  background: Background;
  objects: SceneObject[];
}

/** sRGB values of every object colour; chosen to contrast with every background. */
export const COLOUR_RGB: Readonly<Record<Colour, Rgb>> = {
  red: [220, 40, 40],
  green: [40, 180, 60],
  blue: [50, 100, 240],
  yellow: [240, 210, 40],
  purple: [160, 60, 210],
  orange: [245, 140, 30],
};

/** sRGB values of every background colour. */
export const BACKGROUND_RGB: Readonly<Record<Background, Rgb>> = {
  black: [0, 0, 0],
  white: [255, 255, 255],
  gray: [128, 128, 128],
  navy: [20, 30, 80],
};

/** Returns a scene drawn from `rng`: 1–4 objects in distinct cells, uniform attributes. */
export function sampleSceneWith(rng: Rng): Scene {
  const background = rng.pick(BACKGROUNDS);
  const count = 1 + rng.int(MAX_OBJECTS);
  const cells = shuffled(
    Array.from({ length: GRID * GRID }, (_, i) => i),
    rng,
  ).slice(0, count);
  const objects = cells.map((cell): SceneObject => ({
    shape: rng.pick(SHAPES),
    colour: rng.pick(COLOURS),
    size: rng.pick(SIZES),
    row: Math.floor(cell / GRID),
    col: cell % GRID,
  }));
  return { background, objects };
}

/** Returns the scene for a uint32 `seed` (same seed, same scene, in Node and in the browser). */
export function sampleScene(seed: number): Scene {
  return sampleSceneWith(createRng(seed));
}

/** Returns the index into `scene.objects` of the main object: the largest, ties broken by order. */
export function mainObjectIndex(scene: Scene): number {
  const large = scene.objects.findIndex((o) => o.size === 'large');
  return large >= 0 ? large : 0;
}

/** Returns true when `value` is a structurally valid Scene (known words, cells in range, distinct). */
export function isScene(value: unknown): value is Scene {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { background?: unknown; objects?: unknown };
  if (!BACKGROUNDS.includes(v.background as Background) || !Array.isArray(v.objects)) return false;
  if (v.objects.length < 1 || v.objects.length > MAX_OBJECTS) return false;
  const seen = new Set<number>();
  for (const o of v.objects as unknown[]) {
    if (typeof o !== 'object' || o === null) return false;
    const ob = o as Record<string, unknown>;
    const { row, col } = ob;
    if (!SHAPES.includes(ob.shape as Shape) || !COLOURS.includes(ob.colour as Colour)) return false;
    if (!SIZES.includes(ob.size as Size)) return false;
    if (!Number.isInteger(row) || !Number.isInteger(col)) return false;
    const r = row as number;
    const c = col as number;
    if (r < 0 || r >= GRID || c < 0 || c >= GRID || seen.has(r * GRID + c)) return false;
    seen.add(r * GRID + c);
  }
  return true;
}
