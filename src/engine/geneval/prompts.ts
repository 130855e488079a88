/**
 * GenEval-Shapes prompts: GenEval's six task kinds (single object, two objects, counting, colours, position, colour
 * attribution) plus a harder "++" set, written by the Shapes grammar itself (captionScene on a scene built for the
 * prompt, so the wording is the training distribution), each with the facts an image must show.
 */
import { captionScene, type Level } from '../../shapes/caption.ts';
import { createRng, mix32, shuffled, type Rng } from '../../shapes/rng.ts';
import {
  BACKGROUNDS,
  COLOURS,
  GRID,
  SHAPES,
  SIZES,
  type Colour,
  type Scene,
  type SceneObject,
  type Shape,
  type Size,
} from '../../shapes/scene.ts';

/** GenEval's six task kinds; `overall` is their mean. */
export const GENEVAL_TASKS = ['single_object', 'two_object', 'counting', 'colors', 'position', 'color_attr'] as const;
/** Every task kind, the "++" set last (reported apart from `overall`). */
export const ALL_TASKS = [...GENEVAL_TASKS, 'plus_plus'] as const;
export type GenevalTask = (typeof ALL_TASKS)[number];

/** An object the image must show: every given attribute must hold of one detected object. */
export interface ObjectFact {
  kind: 'object';
  shape?: Shape;
  colour?: Colour;
  size?: Size;
  /** Grid cell [row, col]. */
  position?: readonly [number, number];
}

/** What an object of a fact may be described by (no position). */
export type ObjectRef = Pick<ObjectFact, 'shape' | 'colour' | 'size'>;

/** Exactly `n` objects (of `shape`, when given) in the image. */
export interface CountFact {
  kind: 'count';
  n: number;
  shape?: Shape;
}

/** Object `a` stands `rel` object `b` (by grid cell: left_of = a smaller column, above = a smaller row). */
export interface RelationFact {
  kind: 'relation';
  rel: 'left_of' | 'right_of' | 'above' | 'below';
  a: ObjectRef;
  b: ObjectRef;
}

export type Fact = ObjectFact | CountFact | RelationFact;

/** One prompt: the caption the decoder draws, the facts checked, and the scene the caption was written from. */
export interface GenevalPrompt {
  /** Position in the prompt list. */
  index: number;
  task: GenevalTask;
  caption: string;
  facts: Fact[];
  /** The scene the caption describes (its true render is the oracle image). */
  scene: Scene;
  /** Seed of this prompt's generator (scene, phrasing). */
  seed: number;
}

/** Returns `n` distinct cells of the grid as [row, col], drawn from rng. */
function cells(rng: Rng, n: number): [number, number][] {
  return shuffled(
    Array.from({ length: GRID * GRID }, (_, i) => i),
    rng,
  )
    .slice(0, n)
    .map((c) => [Math.floor(c / GRID), c % GRID]);
}

/** Returns `n` distinct items of `items`, drawn from rng. */
function distinct<T>(items: readonly T[], rng: Rng, n: number): T[] {
  return shuffled(items, rng).slice(0, n);
}

function object(shape: Shape, colour: Colour, size: Size, [row, col]: readonly [number, number]): SceneObject {
  return { shape, colour, size, row, col };
}

function scene(rng: Rng, objects: SceneObject[]): Scene {
  return { background: rng.pick(BACKGROUNDS), objects };
}

/** Returns the full fact (shape, colour, size, cell) of a scene object. */
export function fullFact(o: SceneObject): ObjectFact {
  return { kind: 'object', shape: o.shape, colour: o.colour, size: o.size, position: [o.row, o.col] };
}

/** Returns the relation that holds from a's cell to b's (distinct cells): above/below when rows differ, else left/right. */
function relationOf(a: SceneObject, b: SceneObject, rng: Rng): RelationFact['rel'] {
  const vertical = a.row !== b.row && (a.col === b.col || rng.int(2) === 0);
  if (vertical) return a.row < b.row ? 'above' : 'below';
  return a.col < b.col ? 'left_of' : 'right_of';
}

/** Builds one prompt of `task` from rng (scene first, then the caption's phrasing, then the facts). */
function buildPrompt(task: GenevalTask, rng: Rng): { caption: string; facts: Fact[]; scene: Scene } {
  const say = (s: Scene, level: Level): string => captionScene(s, level, rng);
  switch (task) {
    case 'single_object': {
      const s = scene(rng, [object(rng.pick(SHAPES), rng.pick(COLOURS), rng.pick(SIZES), cells(rng, 1)[0])]);
      return { scene: s, caption: say(s, 0), facts: [{ kind: 'object', shape: s.objects[0].shape }] };
    }
    case 'colors': {
      const s = scene(rng, [object(rng.pick(SHAPES), rng.pick(COLOURS), rng.pick(SIZES), cells(rng, 1)[0])]);
      const o = s.objects[0];
      return { scene: s, caption: say(s, 0), facts: [{ kind: 'object', shape: o.shape, colour: o.colour }] };
    }
    case 'two_object': {
      const [sa, sb] = distinct(SHAPES, rng, 2);
      const [ca, cb] = cells(rng, 2);
      const s = scene(rng, [object(sa, rng.pick(COLOURS), rng.pick(SIZES), ca), object(sb, rng.pick(COLOURS), rng.pick(SIZES), cb)]);
      return {
        scene: s,
        caption: say(s, 3),
        facts: [
          { kind: 'object', shape: sa },
          { kind: 'object', shape: sb },
        ],
      };
    }
    case 'color_attr': {
      const [sa, sb] = distinct(SHAPES, rng, 2);
      const [ka, kb] = distinct(COLOURS, rng, 2);
      const [ca, cb] = cells(rng, 2);
      const s = scene(rng, [object(sa, ka, rng.pick(SIZES), ca), object(sb, kb, rng.pick(SIZES), cb)]);
      return {
        scene: s,
        caption: say(s, 3),
        facts: [
          { kind: 'object', shape: sa, colour: ka },
          { kind: 'object', shape: sb, colour: kb },
        ],
      };
    }
    case 'position': {
      const [sa, sb] = distinct(SHAPES, rng, 2);
      const [ca, cb] = cells(rng, 2);
      const a = object(sa, rng.pick(COLOURS), rng.pick(SIZES), ca);
      const b = object(sb, rng.pick(COLOURS), rng.pick(SIZES), cb);
      const s = scene(rng, [a, b]);
      const rel = relationOf(a, b, rng);
      return { scene: s, caption: say(s, 3), facts: [{ kind: 'relation', rel, a: { shape: sa }, b: { shape: sb } }] };
    }
    case 'counting': {
      const n = 2 + rng.int(3);
      const shape = rng.pick(SHAPES);
      const s = scene(
        rng,
        cells(rng, n).map((c) => object(shape, rng.pick(COLOURS), rng.pick(SIZES), c)),
      );
      return { scene: s, caption: say(s, 4), facts: [{ kind: 'count', n, shape }] };
    }
    case 'plus_plus': {
      const n = 3 + rng.int(2);
      const s = scene(
        rng,
        cells(rng, n).map((c) => object(rng.pick(SHAPES), rng.pick(COLOURS), rng.pick(SIZES), c)),
      );
      const level: Level = rng.int(2) === 0 ? 3 : 4;
      return { scene: s, caption: say(s, level), facts: [{ kind: 'count', n }, ...s.objects.map(fullFact)] };
    }
  }
}

/** Returns the seed of prompt `i` of `task` in a prompt set seeded with `seed`. */
export function promptSeed(seed: number, task: GenevalTask, i: number): number {
  return mix32(mix32(mix32(seed, 0x6e7e4a1), ALL_TASKS.indexOf(task)), i);
}

/** Returns `perTask` prompts of every task kind (ALL_TASKS order), deterministic in `seed`. */
export function genevalPrompts(seed: number, perTask: number, tasks: readonly GenevalTask[] = ALL_TASKS): GenevalPrompt[] {
  if (!Number.isInteger(perTask) || perTask < 1) throw new RangeError(`perTask must be a positive integer, got ${perTask}`);
  const out: GenevalPrompt[] = [];
  for (const task of tasks) {
    for (let i = 0; i < perTask; i++) {
      const s = promptSeed(seed, task, i);
      out.push({ index: out.length, task, seed: s, ...buildPrompt(task, createRng(s)) });
    }
  }
  return out;
}
