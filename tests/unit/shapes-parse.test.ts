import { describe, expect, it } from 'vitest';
import {
  LEVELS,
  VOCAB,
  createRng,
  loadTokenizer,
  buildTokenizerJson,
  captionErrors,
  parseCaption,
  sampleScene,
  sceneCaptions,
  sceneSeed,
  scoreCaption,
  type Scene,
} from '../../src/shapes/index.ts';

const tok = loadTokenizer(buildTokenizerJson());

// Hand-made scene: three objects on white.
const SCENE: Scene = {
  background: 'white',
  objects: [
    { shape: 'circle', colour: 'red', size: 'large', row: 0, col: 0 },
    { shape: 'square', colour: 'blue', size: 'small', row: 1, col: 1 },
    { shape: 'triangle', colour: 'green', size: 'small', row: 2, col: 2 },
  ],
};

describe('parseCaption', () => {
  it('reads objects, positions, background and count', () => {
    const a = parseCaption('two objects on a gray background : a large red circle at the top left and a small blue square in the center');
    expect(a.counts).toEqual([2]);
    expect(a.backgrounds).toEqual(['gray']);
    expect(a.objects).toEqual([
      { size: 'large', colour: 'red', shape: 'circle', position: [0, 0] },
      { size: 'small', colour: 'blue', shape: 'square', position: [1, 1] },
    ]);
  });

  it('accepts ids, typed arrays and BigInt64Array, stopping at [EOS]', () => {
    const ids = [1, ...tok.encode('a red circle at the top'), 2, ...tok.encode('a blue square')];
    const expected = { objects: [{ colour: 'red', shape: 'circle', position: [0, 1] }], backgrounds: [], counts: [] };
    expect(parseCaption(ids)).toEqual(expected);
    expect(parseCaption(Int32Array.from(ids))).toEqual(expected);
    expect(parseCaption(BigInt64Array.from(ids.map(BigInt)))).toEqual(expected);
    expect(parseCaption(ids.map((i) => VOCAB[i]))).toEqual(expected);
  });

  it('splits objects on repeated attributes and words after the noun', () => {
    expect(parseCaption('red blue circle large').objects).toEqual([
      { colour: 'red' },
      { colour: 'blue', shape: 'circle' },
      { size: 'large' },
    ]);
    expect(parseCaption('a red circle , at the bottom right').objects).toEqual([{ colour: 'red', shape: 'circle', position: [2, 2] }]);
    expect(parseCaption('top left bottom').objects).toEqual([{ position: [0, 0] }, { position: [2, 1] }]);
  });

  it('never throws on garbage, truncation, random ids or odd values', () => {
    const rng = createRng(5);
    const inputs: unknown[] = [
      '',
      '   ',
      ',,::',
      'background background',
      'four',
      'the the the',
      null,
      undefined,
      42,
      {},
      [NaN, -1, 1e9, 3.5],
    ];
    for (let i = 0; i < 500; i++) inputs.push(Array.from({ length: rng.int(60) }, () => rng.int(VOCAB.length + 10) - 5));
    for (let i = 0; i < 200; i++) inputs.push(Array.from({ length: rng.int(80) }, () => String.fromCharCode(32 + rng.int(95))).join(''));
    for (let i = 0; i < 200; i++) {
      const seed = sceneSeed(9, i);
      const c = sceneCaptions(sampleScene(seed), seed)[4].split(' ');
      inputs.push(c.slice(0, rng.int(c.length + 1)).join(' '));
    }
    for (const input of inputs) {
      const s = scoreCaption(parseCaption(input as string), SCENE);
      for (const v of [s.precision, s.recall, s.f1]) {
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(s.correct + s.contradicted).toBe(s.asserted);
      expect(s.correct).toBeLessThanOrEqual(s.total);
    }
  });
});

describe('scoreCaption', () => {
  it('precision is 1 at every level, recall 1 at level 4', () => {
    for (let i = 0; i < 1500; i++) {
      const seed = sceneSeed(33, i);
      const scene = sampleScene(seed);
      const captions = sceneCaptions(scene, seed);
      for (const level of LEVELS) {
        const s = scoreCaption(parseCaption(tok.encode(captions[level])), scene);
        expect(s.precision).toBe(1);
        expect(s.contradicted).toBe(0);
        if (level === 4) expect(s.recall).toBe(1);
      }
    }
  });

  // total = 4 * 3 + 2 = 14 for SCENE.
  it.each([
    // 2 asserted, both right: P = 1, R = 2/14, F1 = 2*(1/7)/(8/7) = 0.25
    ['a red circle', { asserted: 2, correct: 2, precision: 1, recall: 2 / 14, f1: 0.25 }],
    // 4 asserted; best match is the blue square (colour, shape); size and position wrong: P = 0.5, R = 1/7, F1 = 2/9
    ['a large blue square at the top left', { asserted: 4, correct: 2, precision: 0.5, recall: 1 / 7, f1: 2 / 9 }],
    // background right, count wrong (true 3): P = 0.5, R = 1/14, F1 = 1/8
    ['two objects on a white background', { asserted: 2, correct: 1, precision: 0.5, recall: 1 / 14, f1: 0.125 }],
    // two red circles: only one can match; 4 asserted, 2 correct: P = 0.5, R = 1/7, F1 = 2/9
    ['a red circle and a red circle', { asserted: 4, correct: 2, precision: 0.5, recall: 1 / 7, f1: 2 / 9 }],
    // purple cross matches nothing; green triangle at bottom right: 3 of 3 -> correct 3 of 5
    [
      'a purple cross and a green triangle at the bottom right',
      { asserted: 5, correct: 3, precision: 0.6, recall: 3 / 14, f1: (2 * 0.6 * (3 / 14)) / (0.6 + 3 / 14) },
    ],
    ['', { asserted: 0, correct: 0, precision: 0, recall: 0, f1: 0 }],
  ])('hand-computed: "%s"', (caption, want) => {
    const s = scoreCaption(parseCaption(caption), SCENE);
    expect(s.total).toBe(14);
    expect(s.asserted).toBe(want.asserted);
    expect(s.correct).toBe(want.correct);
    expect(s.contradicted).toBe(want.asserted - want.correct);
    expect(s.precision).toBeCloseTo(want.precision, 12);
    expect(s.recall).toBeCloseTo(want.recall, 12);
    expect(s.f1).toBeCloseTo(want.f1, 12);
  });

  it('breaks the contradicted attributes down by kind', () => {
    const caption =
      'four objects on a black background : a large red circle at the bottom left and a small blue cross in the center and a small orange diamond at the top';
    const a = parseCaption(caption);
    const e = captionErrors(a, SCENE);
    // red circle: position wrong; blue cross: shape wrong; orange diamond at the top: 1 agreement with
    // the green triangle (small) -> colour, shape, position wrong; count 4 != 3; black != white
    expect(e).toEqual({ shape: 2, colour: 1, size: 0, position: 2, extraObject: 0, background: 1, count: 1 });
    const s = scoreCaption(a, SCENE);
    expect(Object.values(e).reduce((x, y) => x + y, 0)).toBe(s.contradicted);
    const extra = captionErrors(parseCaption('a red circle and a red circle and a red circle and a red circle'), SCENE);
    expect(extra.extraObject).toBe(2 * 3);
  });

  it('matches one-to-one, maximising total agreement rather than greedily', () => {
    // First assertion {small, red} agrees 1 with each true object; greedy-by-order would take the red
    // circle (lowest index) and leave {large, red, circle} with 0. The optimum (1 + 3 = 4) gives the
    // first to the small blue square and the second to the red circle.
    const s = scoreCaption(parseCaption('a small red , a large red circle'), SCENE);
    expect(s.matches).toEqual([1, 0]);
    expect(s.correct).toBe(4);
  });
});
