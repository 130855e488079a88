/** The fidelity scorer and the bundle's other vision backbones: embeddings (unit norm from the graphs) and cosines. */
import { EngineError } from '../errors.ts';
import type { BackboneRole } from '../manifest.ts';
import { findBackbone } from '../roles.ts';
import { runRowwise, scorerRole, type F32, type I64, type InferContext } from './context.ts';

/** Returns image_embeds float32 [N,E] of the scorer's vision graph for pixel_values [N,3,H,W]. */
export async function imageEmbeds(ctx: InferContext, pixelValues: F32, batch = 32): Promise<F32> {
  return runRowwise(ctx, scorerRole(ctx).vision, 'pixel_values', pixelValues, 'image_embeds', 'scorer.vision', batch);
}

/** Returns the bundle's vision backbone `id` (manifest roles.backbones), or throws 'bad-request' naming the ones it has. */
export function backboneRole(ctx: InferContext, id: string): BackboneRole {
  const role = findBackbone(ctx.manifest, id);
  if (!role) {
    const list = ctx.manifest.roles.backbones ?? [];
    const has = list.length ? `its backbones are ${list.map((b) => b.id).join(', ')}` : 'it has none';
    throw new EngineError('bad-request', `bundle ${ctx.manifest.id} has no vision backbone '${id}' (${has})`);
  }
  return role;
}

/** Returns image_embeds float32 [N,E] of backbone `id`'s graph for pixel_values [N,3,H,W]. */
export async function backboneEmbeds(ctx: InferContext, id: string, pixelValues: F32, batch = 32): Promise<F32> {
  return runRowwise(ctx, backboneRole(ctx, id).vision, 'pixel_values', pixelValues, 'image_embeds', `backbones.${id}`, batch);
}

/** Returns text_embeds float32 [N,E] of the scorer's text graph for caption ids int64 [N,L]. */
export async function textEmbeds(ctx: InferContext, ids: I64, batch = 32): Promise<F32> {
  return runRowwise(ctx, scorerRole(ctx).text, 'input_ids', ids, 'text_embeds', 'scorer.text', batch);
}

/** Returns the cosine similarity (−1…1) of rows i of `a` and j of `b` (embeddings [N,E]). */
export function cosine(a: F32, i: number, b: F32, j: number): number {
  const E = a.dims[1];
  if (b.dims[1] !== E) throw new RangeError(`cosine: embedding sizes ${E} and ${b.dims[1]} differ`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < E; k++) {
    const x = a.data[i * E + k];
    const y = b.data[j * E + k];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** Returns [N] sim_i = cosine(a_i, b_i) of two embedding batches of equal size. */
export function pairedSim(a: F32, b: F32): number[] {
  return Array.from({ length: a.dims[0] }, (_, i) => cosine(a, i, b, i));
}

/** Returns the fraction (0…1) of queries i whose most similar key (cosine, first on ties) is key i. */
export function retrievalTop1(queries: F32, keys: F32): number {
  const N = queries.dims[0];
  let hits = 0;
  for (let i = 0; i < N; i++) {
    let best = -1;
    let bestSim = -Infinity;
    for (let j = 0; j < keys.dims[0]; j++) {
      const s = cosine(queries, i, keys, j);
      if (s > bestSim) {
        bestSim = s;
        best = j;
      }
    }
    if (best === i) hits++;
  }
  return N > 0 ? hits / N : 0;
}
