/** GenEval-Shapes prompts and the independent checker, validated on true and decoder-like degraded renders. */
import { describe, expect, it } from 'vitest';
import { parseCaption } from '../../src/shapes/index.ts';
import {
  ALL_TASKS,
  analyseImage,
  checkFacts,
  DECODER_LIKE,
  genevalPrompts,
  validateChecker,
  validationImage,
  type GenevalPrompt,
} from '../../src/engine/geneval/index.ts';

/** The seed the checker's settings were chosen on is 1; these tests use others. */
const SEED = 11;

describe('genevalPrompts', () => {
  it('is deterministic in its seed and gives perTask prompts of every task in order', () => {
    const a = genevalPrompts(SEED, 3);
    expect(a).toEqual(genevalPrompts(SEED, 3));
    expect(a.map((p) => p.task)).toEqual(ALL_TASKS.flatMap((t) => [t, t, t]));
    expect(a.map((p) => p.index)).toEqual(a.map((_, i) => i));
    expect(genevalPrompts(SEED + 1, 3).map((p) => p.caption)).not.toEqual(a.map((p) => p.caption));
  });

  it('writes captions the grammar parses back to the prompt scene, with facts true of that scene', () => {
    for (const p of genevalPrompts(SEED, 20)) {
      const said = parseCaption(p.caption);
      const main = p.task === 'single_object' || p.task === 'colors';
      expect(said.objects.length).toBe(main ? 1 : p.scene.objects.length);
      for (const o of said.objects) {
        expect(p.scene.objects.some((s) => s.shape === o.shape && s.colour === o.colour)).toBe(true);
      }
      // The prompt's own scene, seen perfectly, satisfies every fact.
      const seen = {
        background: p.scene.background,
        objects: p.scene.objects.map((o) => ({
          ...o,
          position: [o.row, o.col] as [number, number],
          mass: 0,
          cx: 0,
          cy: 0,
          fit: {} as never,
        })),
      };
      expect(checkFacts(p.facts, seen)).toEqual({ facts: p.facts.map(() => true), ok: true });
    }
  });

  it('fits each task kind: distinct shapes for two objects, 2–4 of one shape for counting, 3–4 full objects for ++', () => {
    const byTask = (t: string): GenevalPrompt[] => genevalPrompts(SEED, 30).filter((p) => p.task === t);
    for (const p of byTask('two_object')) expect(new Set(p.scene.objects.map((o) => o.shape)).size).toBe(2);
    for (const p of byTask('counting')) {
      expect(p.scene.objects.length).toBeGreaterThanOrEqual(2);
      expect(p.caption).toMatch(/(two|three|four) objects/);
      expect(p.facts).toEqual([{ kind: 'count', n: p.scene.objects.length, shape: p.scene.objects[0].shape }]);
    }
    for (const p of byTask('plus_plus')) {
      expect([3, 4]).toContain(p.scene.objects.length);
      expect(p.facts.filter((f) => f.kind === 'object')).toHaveLength(p.scene.objects.length);
    }
  });
});

describe('the checker', () => {
  const prompts = genevalPrompts(SEED, 40);

  it('reads the true renders right (≥ 0.99 per prompt and per fact; 280 prompts)', () => {
    const v = validateChecker(prompts);
    expect(v.images).toBe(280);
    expect(v.promptAccuracy).toBeGreaterThanOrEqual(0.99);
    expect(v.factAccuracy).toBeGreaterThanOrEqual(0.99);
    for (const acc of Object.values(v.accuracy)) expect(acc).toBeGreaterThanOrEqual(0.99);
  });

  it('reads renders degraded as the decoder degrades them (blur, noise, colour shift, JPEG) right ≥ 0.95', () => {
    const v = validateChecker(prompts, 64, DECODER_LIKE);
    expect(v.promptAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(v.factAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(v.accuracy.colour).toBeGreaterThanOrEqual(0.99);
    expect(v.accuracy.count).toBeGreaterThanOrEqual(0.98);
  });

  it('sees an empty background as no objects and works at another resolution', () => {
    expect(analyseImage(new Uint8Array(64 * 64 * 3).fill(128), 64)).toEqual({ background: 'gray', objects: [] });
    const p = genevalPrompts(SEED, 1).find((q) => q.task === 'plus_plus') as GenevalPrompt;
    expect(checkFacts(p.facts, analyseImage(validationImage(p, 96), 96)).ok).toBe(true);
  });
});
