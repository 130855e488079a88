// The trainer's parameter spec (src/engine/train/params.ts) is the PyTorch CaptionDecoder's: the fixture's
// params/<name> entries were written in torch's named_parameters() order with torch's shapes. Conversions to and from
// jax-js arrays round-trip, and malformed configs or weights are refused with the name at fault.
import { initJaxNode } from '../../src/engine/train/node.ts';
import { tree } from '@jax-js/jax';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkParams,
  decoderArch,
  decoderParamSpec,
  paramsFromJax,
  paramsToJax,
  shapeSize,
  type DecoderParams,
} from '../../src/engine/train/params.ts';
import { shiftIds } from '../../src/engine/train/model.ts';

interface Fixture {
  arch: { vocab: number; dim: number; heads: number; layers: number; max_len: number };
  tensors: Record<string, { offset: number; shape: number[] }>;
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/train/update.json', import.meta.url), 'utf8')) as Fixture;

describe('caption decoder parameters', () => {
  beforeAll(async () => {
    await initJaxNode();
  });

  it("are torch's named_parameters(), in order and shape (the fixture's)", () => {
    const torch = Object.entries(fx.tensors)
      .filter(([k]) => k.startsWith('params/'))
      .map(([k, e]) => [k.slice('params/'.length), e.shape]);
    expect(decoderParamSpec(decoderArch(fx.arch)).map(([n, s]) => [n, [...s]])).toEqual(torch);
  });

  it('count 541,056 at the shipped size (vocab 43, dim 128, 4 heads, 2 layers, 48 positions)', () => {
    const spec = decoderParamSpec(decoderArch({ vocab: 43, dim: 128, heads: 4, layers: 2, maxLen: 48 }));
    expect(spec.reduce((a, [, s]) => a + shapeSize(s), 0)).toBe(541056);
  });

  it('round-trip through jax-js arrays', async () => {
    const arch = decoderArch(fx.arch);
    const params: DecoderParams = {};
    for (const [n, s] of decoderParamSpec(arch)) params[n] = Float32Array.from({ length: shapeSize(s) }, (_, i) => Math.sin(i + n.length));
    const jax = paramsToJax(params, arch);
    expect(jax['layers.1.cross.kv.weight'].shape).toEqual([2 * arch.dim, arch.dim]);
    expect(await paramsFromJax(jax, arch)).toEqual(params);
    tree.dispose(jax);
  });

  it('refuse a bad config or bad weights, naming the field', () => {
    expect(() => decoderArch({ vocab: 43, dim: 30, heads: 4, layers: 2, max_len: 48 })).toThrow(/divisible/);
    expect(() => decoderArch({ vocab: 43, dim: 32, heads: 4, layers: 2 })).toThrow(/maxLen/);
    expect(() => decoderArch({ vocab: 0, dim: 32, heads: 4, layers: 2, maxLen: 8 })).toThrow(/vocab/);
    const arch = decoderArch({ vocab: 5, dim: 4, heads: 2, layers: 1, maxLen: 3 });
    const params: DecoderParams = Object.fromEntries(decoderParamSpec(arch).map(([n, s]) => [n, new Float32Array(shapeSize(s))]));
    checkParams(params, arch);
    expect(() => checkParams({ ...params, 'layers.0.n1.weight': new Float32Array(3) }, arch)).toThrow(/layers\.0\.n1\.weight/);
    expect(() => checkParams({ ...params, extra: new Float32Array(1) }, arch)).toThrow(/extra/);
    const { 'norm.bias': _drop, ...missing } = params;
    expect(() => checkParams(missing, arch)).toThrow(/norm\.bias/);
  });

  it('teacher forcing reads ids[:, :-1] and predicts ids[:, 1:]', () => {
    const { inp, tgt } = shiftIds([1, 5, 6, 2, 1, 7, 0, 0], 2, 4);
    expect(Array.from(inp)).toEqual([1, 5, 6, 1, 7, 0]);
    expect(Array.from(tgt)).toEqual([5, 6, 2, 7, 0, 0]);
  });
});
