import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BOS_ID,
  EOS_ID,
  LEVELS,
  MAX_CAPTION_TOKENS,
  PAD_ID,
  UNK_ID,
  VOCAB,
  captionScene,
  createRng,
  loadTokenizer,
  mainObjectIndex,
  sampleScene,
  sceneCaptions,
  sceneSeed,
  tokenizerJsonText,
  type Scene,
} from '../../src/shapes/index.ts';

const TOKENIZER_PATH = resolve(import.meta.dirname, '../../public/tokenizers/shapes/tokenizer.json');
const scenes = Array.from({ length: 2000 }, (_, i) => {
  const seed = sceneSeed(21, i);
  const scene = sampleScene(seed);
  return { seed, scene, captions: sceneCaptions(scene, seed) };
});

describe('caption grammar', () => {
  it('uses only vocabulary words, lowercase, single spaces', () => {
    const vocab = new Set(VOCAB);
    for (const { captions } of scenes) {
      for (const c of captions) {
        expect(c).toMatch(/^[a-z,:]+( [a-z,:]+)*$/);
        for (const w of c.split(' ')) expect(vocab.has(w)).toBe(true);
      }
    }
  });

  it('fits MAX_CAPTION_TOKENS with [BOS] and [EOS] at every level', () => {
    let longest = 0;
    for (const { captions } of scenes) for (const c of captions) longest = Math.max(longest, c.split(' ').length);
    expect(longest + 2).toBeLessThanOrEqual(MAX_CAPTION_TOKENS);
    expect(longest).toBeGreaterThan(30);
  });

  it('is deterministic for a seed and varies phrasing across seeds', () => {
    const { seed, scene, captions } = scenes[0];
    expect(sceneCaptions(scene, seed)).toEqual(captions);
    const scene4 = scenes.find((s) => s.scene.objects.length === 4)!.scene;
    const variants = new Set(Array.from({ length: 40 }, (_, i) => captionScene(scene4, 4, createRng(i))));
    expect(variants.size).toBeGreaterThan(10);
  });

  it('describes the main object at levels 0-2 and every object at level 3', () => {
    const scene: Scene = {
      background: 'navy',
      objects: [
        { shape: 'triangle', colour: 'blue', size: 'small', row: 2, col: 2 },
        { shape: 'circle', colour: 'orange', size: 'large', row: 0, col: 0 },
        { shape: 'cross', colour: 'green', size: 'large', row: 1, col: 1 },
      ],
    };
    expect(mainObjectIndex(scene)).toBe(1);
    const rng = createRng(1);
    expect(captionScene(scene, 0, rng)).toBe('an orange circle');
    expect(captionScene(scene, 1, rng)).toBe('a large orange circle');
    expect(captionScene(scene, 2, rng)).toMatch(/^a large orange circle (at|in) the top left$/);
    const l3 = captionScene(scene, 3, rng);
    for (const p of [/a small blue triangle (at|in) the bottom right/, /a large green cross (in|at) the center/]) expect(l3).toMatch(p);
    const l4 = captionScene(scene, 4, rng);
    expect(l4).toMatch(/^(three objects on a navy background|a navy background with three objects) : /);
  });

  it('grows in length with the level on average', () => {
    const mean = LEVELS.map((l) => scenes.reduce((a, s) => a + s.captions[l].split(' ').length, 0) / scenes.length);
    for (let l = 1; l < mean.length; l++) expect(mean[l]).toBeGreaterThan(mean[l - 1]);
  });
});

describe('tokenizer.json', () => {
  it('committed file equals what scripts/make-tokenizer.ts writes', () => {
    expect(readFileSync(TOKENIZER_PATH, 'utf8')).toBe(tokenizerJsonText());
  });

  it('is a WordLevel tokenizer with the special tokens first', () => {
    const json = JSON.parse(readFileSync(TOKENIZER_PATH, 'utf8'));
    expect(json.model.type).toBe('WordLevel');
    expect(json.pre_tokenizer).toEqual({ type: 'WhitespaceSplit' });
    expect(json.model.vocab['[PAD]']).toBe(0);
    expect(json.model.vocab['[BOS]']).toBe(1);
    expect(json.model.vocab['[EOS]']).toBe(2);
    expect(json.model.vocab['[UNK]']).toBe(3);
    expect(new Set(Object.values(json.model.vocab)).size).toBe(VOCAB.length);
  });

  it('round-trips every caption and skips specials on decode', () => {
    const tok = loadTokenizer(readFileSync(TOKENIZER_PATH, 'utf8'));
    expect([tok.padId, tok.bosId, tok.eosId, tok.unkId, tok.vocabSize]).toEqual([PAD_ID, BOS_ID, EOS_ID, UNK_ID, VOCAB.length]);
    for (const { captions } of scenes.slice(0, 300)) {
      for (const c of captions) {
        const ids = tok.encode(c);
        expect(ids).not.toContain(UNK_ID);
        expect(tok.decode([BOS_ID, ...ids, EOS_ID, PAD_ID, PAD_ID])).toBe(c);
      }
    }
    expect(tok.encode('  a   zebra circle ')).toEqual([VOCAB.indexOf('a'), UNK_ID, VOCAB.indexOf('circle')]);
    expect(tok.decode([-1, 999, 2.5, VOCAB.indexOf('red')])).toBe('red');
  });

  it('rejects a tokenizer.json of another model type', () => {
    expect(() => loadTokenizer({ model: { type: 'BPE', vocab: {} } })).toThrow(/WordLevel/);
  });
});
