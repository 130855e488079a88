/**
 * Caption parser and attribute-level scorer. Accepts anything (text, token ids, token strings,
 * typed arrays, garbage) and never throws; rules are documented in docs/shapes.md.
 */
import { COUNT_WORDS, POSITION_WORDS } from './caption.ts';
import {
  BACKGROUNDS,
  COLOURS,
  SHAPES,
  SIZES,
  type Background,
  type Colour,
  type Scene,
  type SceneObject,
  type Shape,
  type Size,
} from './scene.ts';
import { VOCAB } from './vocab.ts';

/** What a caption says about one object; absent fields are not asserted. */
export interface ObjectAssertion {
  shape?: Shape;
  colour?: Colour;
  size?: Size;
  /** Grid cell as [row, col]; one attribute. */
  position?: readonly [number, number];
}

/** Everything a caption asserts. Backgrounds and counts are distinct values, objects keep repeats. */
export interface CaptionAssertions {
  objects: ObjectAssertion[];
  backgrounds: Background[];
  counts: number[];
}

/** Attribute-level score of a caption against a scene. */
export interface CaptionScore {
  precision: number;
  recall: number;
  f1: number;
  /** Asserted attributes that are not true of the scene (asserted − correct). */
  contradicted: number;
  asserted: number;
  correct: number;
  /** True attributes: 4 per object (shape, colour, size, position) + background + count. */
  total: number;
  /** For each asserted object, the index of the true object it was matched to, or -1. */
  matches: number[];
}

/** Text, token ids (including BigInt64Array from ONNX), or token strings. */
export type CaptionInput = string | ArrayLike<number | bigint | string>;

const SEPARATORS = new Set([',', 'and', ':', 'a', 'an']);
const COUNT_NOUNS = new Set(['object', 'objects']);

/** Returns the word tokens of any input, stopping at [EOS]; never throws. */
function toWords(input: unknown): string[] {
  const words: string[] = [];
  const pushText = (text: string): void => {
    for (const w of text
      .toLowerCase()
      .replace(/([,:])/g, ' $1 ')
      .split(/\s+/))
      if (w) words.push(w);
  };
  if (typeof input === 'string') pushText(input);
  else if (input !== null && typeof input === 'object' && typeof (input as ArrayLike<unknown>).length === 'number') {
    const arr = input as ArrayLike<unknown>;
    const n = Math.min(Math.max(0, Math.floor(Number(arr.length)) || 0), 1_000_000);
    for (let i = 0; i < n; i++) {
      const t = arr[i];
      if (typeof t === 'string') pushText(t);
      else if (typeof t === 'number' || typeof t === 'bigint') {
        const id = Number(t);
        if (Number.isInteger(id) && id >= 0 && id < VOCAB.length) words.push(VOCAB[id].toLowerCase());
      }
    }
  }
  const eos = words.indexOf('[eos]');
  return eos >= 0 ? words.slice(0, eos) : words;
}

/** Returns [row, col] and the number of words consumed for a position starting at words[i], or null. */
function readPosition(words: string[], i: number): { cell: [number, number]; used: number } | null {
  const two = `${words[i]} ${words[i + 1] ?? ''}`;
  const one = words[i];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) if (POSITION_WORDS[r][c] === two) return { cell: [r, c], used: 2 };
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) if (POSITION_WORDS[r][c] === one) return { cell: [r, c], used: 1 };
  return null;
}

const isEmpty = (o: ObjectAssertion): boolean =>
  o.shape === undefined && o.colour === undefined && o.size === undefined && o.position === undefined;

/** Returns what `input` asserts (objects, backgrounds, counts); never throws. */
export function parseCaption(input: CaptionInput): CaptionAssertions {
  const out: CaptionAssertions = { objects: [], backgrounds: [], counts: [] };
  let words: string[];
  try {
    words = toWords(input);
  } catch {
    return out;
  }
  let cur: ObjectAssertion = {};
  const flush = (): void => {
    if (!isEmpty(cur)) out.objects.push(cur);
    cur = {};
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const next = words[i + 1];
    if (SEPARATORS.has(w)) flush();
    else if ((BACKGROUNDS as readonly string[]).includes(w)) {
      if (next === 'background' && !out.backgrounds.includes(w as Background)) out.backgrounds.push(w as Background);
    } else if ((COUNT_WORDS as readonly string[]).includes(w)) {
      const n = COUNT_WORDS.indexOf(w as (typeof COUNT_WORDS)[number]) + 1;
      if (next !== undefined && COUNT_NOUNS.has(next) && !out.counts.includes(n)) out.counts.push(n);
    } else {
      const pos = readPosition(words, i);
      if (pos) {
        if (cur.position !== undefined) flush();
        if (isEmpty(cur) && out.objects.length > 0 && out.objects[out.objects.length - 1].position === undefined) {
          out.objects[out.objects.length - 1].position = pos.cell;
        } else cur.position = pos.cell;
        i += pos.used - 1;
        continue;
      }
      const slot = (SHAPES as readonly string[]).includes(w)
        ? 'shape'
        : (COLOURS as readonly string[]).includes(w)
          ? 'colour'
          : (SIZES as readonly string[]).includes(w)
            ? 'size'
            : null;
      if (slot === null) continue;
      // A repeated slot, or any attribute after the noun or position, begins a new object.
      if (cur[slot] !== undefined || cur.shape !== undefined || cur.position !== undefined) flush();
      (cur as Record<string, string>)[slot] = w;
    }
  }
  flush();
  return out;
}

/** Returns how many attributes of `a` are true of `o` (0..4). */
function agreement(a: ObjectAssertion, o: SceneObject): number {
  let n = 0;
  if (a.shape !== undefined && a.shape === o.shape) n++;
  if (a.colour !== undefined && a.colour === o.colour) n++;
  if (a.size !== undefined && a.size === o.size) n++;
  if (a.position !== undefined && a.position[0] === o.row && a.position[1] === o.col) n++;
  return n;
}

function assertedCount(a: ObjectAssertion): number {
  return Number(a.shape !== undefined) + Number(a.colour !== undefined) + Number(a.size !== undefined) + Number(a.position !== undefined);
}

/**
 * Returns the one-to-one matching (asserted object → true object or -1) that maximises the total
 * number of agreeing attributes; ties go to the lowest true index for the earliest asserted object.
 */
export function matchObjects(asserted: readonly ObjectAssertion[], truth: readonly SceneObject[]): number[] {
  const m = asserted.length;
  const n = Math.min(truth.length, 16);
  const full = 1 << n;
  // best[i * full + mask]: most agreement reachable from asserted i onwards with true objects in mask used.
  const best = new Int32Array((m + 1) * full);
  const agree = asserted.map((a) => truth.slice(0, n).map((o) => agreement(a, o)));
  for (let i = m - 1; i >= 0; i--) {
    for (let mask = 0; mask < full; mask++) {
      let v = best[(i + 1) * full + mask];
      for (let t = 0; t < n; t++) {
        if (!(mask & (1 << t))) v = Math.max(v, agree[i][t] + best[(i + 1) * full + (mask | (1 << t))]);
      }
      best[i * full + mask] = v;
    }
  }
  const matches: number[] = [];
  let mask = 0;
  for (let i = 0; i < m; i++) {
    const target = best[i * full + mask];
    let pick = -1;
    for (let t = 0; t < n && pick < 0; t++) {
      if (!(mask & (1 << t)) && agree[i][t] > 0 && agree[i][t] + best[(i + 1) * full + (mask | (1 << t))] === target) pick = t;
    }
    if (pick >= 0) mask |= 1 << pick;
    matches.push(pick);
  }
  return matches;
}

/** Returns precision, recall, F1 and counts of `assertions` against the true `scene`; never throws. */
export function scoreCaption(assertions: CaptionAssertions, scene: Scene): CaptionScore {
  const truth = scene.objects;
  const total = 4 * truth.length + 2;
  const matches = matchObjects(assertions.objects, truth);
  let asserted = 0;
  let correct = 0;
  assertions.objects.forEach((a, i) => {
    asserted += assertedCount(a);
    if (matches[i] >= 0) correct += agreement(a, truth[matches[i]]);
  });
  asserted += assertions.backgrounds.length + assertions.counts.length;
  correct += Number(assertions.backgrounds.includes(scene.background));
  correct += Number(assertions.counts.includes(truth.length));
  const precision = asserted > 0 ? correct / asserted : 0;
  const recall = total > 0 ? correct / total : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, contradicted: asserted - correct, asserted, correct, total, matches };
}

/** Asserted attributes that are false of the scene, by kind (they sum to `scoreCaption(...).contradicted`). */
export interface CaptionErrors {
  shape: number;
  colour: number;
  size: number;
  position: number;
  /** Attributes of asserted objects that match no true object (an object the scene does not have). */
  extraObject: number;
  background: number;
  count: number;
}

/** Returns which asserted attributes are wrong, under `scoreCaption`'s one-to-one object matching. */
export function captionErrors(assertions: CaptionAssertions, scene: Scene): CaptionErrors {
  const truth = scene.objects;
  const matches = matchObjects(assertions.objects, truth);
  const e: CaptionErrors = { shape: 0, colour: 0, size: 0, position: 0, extraObject: 0, background: 0, count: 0 };
  assertions.objects.forEach((a, i) => {
    const o = matches[i] >= 0 ? truth[matches[i]] : undefined;
    if (!o) {
      e.extraObject += assertedCount(a);
      return;
    }
    if (a.shape !== undefined && a.shape !== o.shape) e.shape++;
    if (a.colour !== undefined && a.colour !== o.colour) e.colour++;
    if (a.size !== undefined && a.size !== o.size) e.size++;
    if (a.position !== undefined && (a.position[0] !== o.row || a.position[1] !== o.col)) e.position++;
  });
  e.background = assertions.backgrounds.filter((b) => b !== scene.background).length;
  e.count = assertions.counts.filter((c) => c !== truth.length).length;
  return e;
}
