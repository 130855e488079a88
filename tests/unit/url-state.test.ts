// The table of shareable settings and its one codec (app/store/url.ts): config, round trip and rollouts keys.
import { describe, expect, it } from 'vitest';
import { initialConfig } from '../../app/store/configSlice.ts';
import { DEFAULT_FORM } from '../../app/store/rolloutsSlice.ts';
import { parseQuery, sanitizeGroup, URL_PARAMS, writeQuery } from '../../app/store/url.ts';

describe('URL state table', () => {
  it('names every key once', () => {
    const keys = URL_PARAMS.map((p) => p.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('reads and writes the config keys, leaving defaults out and other keys alone', () => {
    expect(writeQuery('config', initialConfig, '?rt-loops=4')).toBe('?rt-loops=4');
    const q = writeQuery('config', { backend: 'wasm', bundle: 'uae-shapes', seed: 7 }, '');
    expect(q).toBe('?backend=wasm&bundle=uae-shapes&seed=7');
    expect(parseQuery(q).values.config).toEqual({ backend: 'wasm', bundle: 'uae-shapes', seed: 7 });
    expect(parseQuery('?backend=cuda&seed=-1&bundle=').values.config).toEqual({});
    expect(parseQuery('?seed=12345678901').values.config).toEqual({});
  });

  it('round-trips the rollouts form through the URL', () => {
    const form = {
      ...DEFAULT_FORM,
      batch: 4,
      groupSize: 6,
      reward: 'mix' as const,
      weights: { ...DEFAULT_FORM.weights, psnr: 0.1 },
      penalty: 'overlong' as const,
      overlongMax: 30,
      old: 120,
      flowSteps: 8,
      lossType: 'dapo' as const,
    };
    const q = writeQuery('rollouts', form, '?seed=3');
    expect(q).toContain('seed=3');
    expect(q).toContain('ro-w-psnr=0.1');
    expect(q).not.toContain('ro-linear-coef');
    const { values, present } = parseQuery(q);
    expect(present).toEqual({ config: true, roundtrip: false, rollouts: true, train: false, bench: false });
    expect(sanitizeGroup('rollouts', values.rollouts, DEFAULT_FORM)).toEqual(form);
    expect(writeQuery('rollouts', DEFAULT_FORM, q)).toBe('?seed=3');
  });

  it('drops invalid rollouts values', () => {
    const { values } = parseQuery('?ro-group=1&ro-batch=99&ro-reward=bleu&ro-old=x&ro-topp=0&ro-scale=group');
    expect(sanitizeGroup('rollouts', values.rollouts, DEFAULT_FORM)).toEqual({ ...DEFAULT_FORM, scale: 'group' });
  });
});
