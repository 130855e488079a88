/** A trainer's state (weights, AdamW's m and v) as one float32 array, as `uae train --out` saves it to resume from. */
import { decoderParamSpec, shapeSize, type DecoderArch, type DecoderParams } from './params.ts';
import type { TrainState } from './trainer.ts';

/** Returns the float32 values a state holds (weights, then AdamW's m and v, each in decoderParamSpec order). */
export function packState(state: Pick<TrainState, 'params' | 'adam'>, arch: DecoderArch): Float32Array {
  const spec = decoderParamSpec(arch);
  const total = spec.reduce((n, [, s]) => n + shapeSize(s), 0);
  const all = new Float32Array(3 * total);
  let at = 0;
  for (const part of [state.params, state.adam.m, state.adam.v]) {
    for (const [name, shape] of spec) {
      const v = part[name];
      if (!v || v.length !== shapeSize(shape))
        throw new RangeError(`packState: ${name} has ${v?.length ?? 0} values, expected ${shapeSize(shape)}`);
      all.set(v, at);
      at += v.length;
    }
  }
  return all;
}

/** Returns the state packed by {@link packState}; throws RangeError when `all` is not of `arch`'s size. */
export function unpackState(all: Float32Array, arch: DecoderArch, step: number, adamStep: number): TrainState {
  const spec = decoderParamSpec(arch);
  const total = spec.reduce((n, [, s]) => n + shapeSize(s), 0);
  if (all.length !== 3 * total) throw new RangeError(`the saved state has ${all.length} values, expected ${3 * total}`);
  const parts: DecoderParams[] = [{}, {}, {}];
  let at = 0;
  for (const part of parts) {
    for (const [name, shape] of spec) {
      part[name] = all.slice(at, at + shapeSize(shape));
      at += shapeSize(shape);
    }
  }
  return { step, params: parts[0], adam: { step: adamStep, m: parts[1], v: parts[2] } };
}
