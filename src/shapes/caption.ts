/**
 * Caption grammar with five levels of detail. Phrasing (object order, prepositions, list joiners,
 * header order) is drawn from an injected generator; every variant parses back with parseCaption.
 */
import { createRng, captionSeed, shuffled, type Rng } from './rng.ts';
import { mainObjectIndex, type Scene, type SceneObject } from './scene.ts';

/** Caption levels: 0 main object colour+shape, 1 +size, 2 +position, 3 every object, 4 +count+background. */
export const LEVELS = [0, 1, 2, 3, 4] as const;
export type Level = (typeof LEVELS)[number];

/** Position words by [row][col]. */
export const POSITION_WORDS: readonly (readonly string[])[] = [
  ['top left', 'top', 'top right'],
  ['left', 'center', 'right'],
  ['bottom left', 'bottom', 'bottom right'],
];
export const COUNT_WORDS = ['one', 'two', 'three', 'four'] as const;

/** Returns the prepositions a position may take ("at the top left", "in the center", ...). */
function prepositions(row: number, col: number): readonly string[] {
  if (row === 1 && col === 1) return ['in', 'at'];
  if (row === 1) return ['at', 'on'];
  if (col === 1) return ['at'];
  return ['at', 'in'];
}

/** Returns "a"/"an" for the word that follows. */
function article(next: string): string {
  return /^[aeiou]/.test(next) ? 'an' : 'a';
}

function positionPhrase(o: SceneObject, rng: Rng): string {
  return `${rng.pick(prepositions(o.row, o.col))} the ${POSITION_WORDS[o.row][o.col]}`;
}

function fullObjectPhrase(o: SceneObject, rng: Rng): string {
  return `${article(o.size)} ${o.size} ${o.colour} ${o.shape} ${positionPhrase(o, rng)}`;
}

/** Joins clauses with "," / "and" in a style drawn from rng (always single-token separators). */
function joinList(items: string[], rng: Rng): string {
  if (items.length === 1) return items[0];
  const allAnd = rng.int(2) === 1;
  let out = items[0];
  for (let i = 1; i < items.length; i++) {
    const last = i === items.length - 1;
    out += allAnd || last ? ` and ${items[i]}` : ` , ${items[i]}`;
  }
  return out;
}

function countPhrase(n: number): string {
  return `${COUNT_WORDS[n - 1]} ${n === 1 ? 'object' : 'objects'}`;
}

/** Returns the caption of `scene` at `level` (lowercase words and punctuation, single spaces). */
export function captionScene(scene: Scene, level: Level, rng: Rng): string {
  const main = scene.objects[mainObjectIndex(scene)];
  switch (level) {
    case 0:
      return `${article(main.colour)} ${main.colour} ${main.shape}`;
    case 1:
      return `${article(main.size)} ${main.size} ${main.colour} ${main.shape}`;
    case 2:
      return fullObjectPhrase(main, rng);
    case 3:
    case 4: {
      const list = joinList(
        shuffled(scene.objects, rng).map((o) => fullObjectPhrase(o, rng)),
        rng,
      );
      if (level === 3) return list;
      const count = countPhrase(scene.objects.length);
      const header = rng.int(2) === 0 ? `${count} on a ${scene.background} background` : `a ${scene.background} background with ${count}`;
      return `${header} : ${list}`;
    }
  }
}

/** Returns the captions at every level [L0..L4] for the scene sampled from `seed`. */
export function sceneCaptions(scene: Scene, seed: number): string[] {
  return LEVELS.map((level) => captionScene(scene, level, createRng(captionSeed(seed, level))));
}
