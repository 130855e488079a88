/**
 * Parity of every exported graph, run by onnxruntime-web (WASM, Node) through src/engine/infer, against
 * PyTorch reference outputs (models/uae/bundle.py). Runs for every tests/fixtures/parity/<name>.json
 * whose bundle is on disk. Tolerance: |ts − torch| ≤ 1e-4 absolute per value for single graphs;
 * 1e-3 for the 4-step Euler image (errors compound through the steps).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rasterizeScene, sampleScene } from '../../src/shapes/index.ts';
import {
  backboneEmbeds,
  captionInputIds,
  decoderTokens,
  encodeImages,
  eulerSample,
  generateCaptions,
  imageEmbeds,
  textEmbeds,
  textStates,
  toPixelValues,
  vaeDecode,
  type F32,
} from '../../src/engine/infer/index.ts';
import { runGraph, f32Output } from '../../src/engine/infer/context.ts';
import { emptyCacheOf } from '../../src/engine/infer/kv-cache.ts';
import { HOOK_TIMEOUT, maxAbsDiff, openContext, parityPairs, type Opened } from './infer-helpers.ts';

const TOL = 1e-4;
const EULER_TOL = 1e-3;
const pairs = parityPairs();

it('finds at least one parity fixture with its bundle', () => {
  expect(pairs.filter((p) => p.bundleDir).length).toBeGreaterThan(0);
});

for (const pair of pairs) {
  describe.skipIf(!pair.bundleDir)(`parity ${pair.name} (bundle ${pair.fixture.bundle})`, () => {
    const fx = pair.fixture;
    let o: Opened;
    let pixels: F32;
    beforeAll(async () => {
      o = await openContext(pair.bundleDir as string);
      const pre = o.ctx.manifest.preprocessing.image;
      pixels = toPixelValues(rasterizeScene(sampleScene(fx.scene_seed), pre.width), 1, pre);
    }, HOOK_TIMEOUT);
    afterAll(async () => {
      await o?.engine.sessions.release();
    }, HOOK_TIMEOUT);

    it('preprocessing: the rasterized scene gives the fixture pixel_values', () => {
      expect(o.ctx.manifest.id).toBe(fx.bundle);
      expect(maxAbsDiff(pixels.data, fx.pixel_values)).toBeLessThan(1e-6);
    });

    const captionRole = fx.caption_role ?? 'encoder';

    it(`${captionRole} vision graph: last_hidden_state`, async () => {
      const hidden = await encodeImages(o.ctx, pixels, captionRole);
      expect(hidden.dims).toEqual(fx.hidden_dims);
      expect(maxAbsDiff(hidden.data, fx.last_hidden_state)).toBeLessThan(TOL);
    });

    it(`${captionRole} merged decoder: greedy ids and per-step cached logits`, async () => {
      const hidden = await encodeImages(o.ctx, pixels, captionRole);
      const steps: Float32Array[] = [];
      const [cap] = await generateCaptions(o.ctx, hidden, {
        policy: { kind: 'greedy' },
        role: captionRole,
        onLogits: (_pos, _rows, logits) => steps.push(logits.data.slice(0, logits.dims[2])),
      });
      const { bosId, padId } = o.ctx.manifest.roles[captionRole]!;
      expect([bosId, ...cap.completion].filter((id) => id !== padId)).toEqual(fx.greedy_ids);
      expect(cap.text).toBe(fx.greedy_text);
      expect(steps.length).toBe(fx.step_logits.length);
      const worst = Math.max(...steps.map((s, i) => maxAbsDiff(s, fx.step_logits[i])));
      expect(worst).toBeLessThan(TOL);
    });

    it('decoder text encoder: last_hidden_state of the fixture ids', async () => {
      const ids = { dtype: 'int64' as const, data: BigInt64Array.from(fx.text_input_ids, BigInt), dims: [1, fx.text_input_ids.length] };
      const states = await textStates(o.ctx, ids);
      expect(maxAbsDiff(states.data, fx.text_states)).toBeLessThan(TOL);
    });

    it('decoder transformer (velocity) and VAE decoder', async () => {
      const role = o.ctx.manifest.roles.decoder!;
      const states: F32 = {
        dtype: 'float32',
        data: Float32Array.from(fx.text_states),
        dims: [1, fx.text_input_ids.length, fx.text_states.length / fx.text_input_ids.length],
      };
      const noise: F32 = { dtype: 'float32', data: Float32Array.from(fx.noise), dims: [1, ...role.latentShape] };
      const out = await runGraph(
        o.ctx,
        role.transformer,
        {
          sample: noise,
          timestep: { dtype: 'float32', data: Float32Array.of(fx.timestep), dims: [1] },
          encoder_hidden_states: states,
          // a transformer of the merged layout: first run, empty caption keys/values (it computes them)
          ...emptyCacheOf(await o.ctx.sessions.get(role.transformer), 1),
        },
        'transformer',
      );
      expect(maxAbsDiff(f32Output(out, 'out_sample', 't').data, fx.velocity)).toBeLessThan(TOL);
      expect(maxAbsDiff((await vaeDecode(o.ctx, noise)).data, fx.vae_image)).toBeLessThan(TOL);
    });

    it('Euler sampler: image from the fixture noise and caption', async () => {
      const role = o.ctx.manifest.roles.decoder!;
      const content = fx.text_input_ids.slice(1, fx.text_input_ids.indexOf(o.ctx.tokenizer.eosId));
      const ids = captionInputIds([content], decoderTokens(o.ctx));
      expect(Array.from(ids.data, Number)).toEqual(fx.text_input_ids);
      const noise: F32 = { dtype: 'float32', data: Float32Array.from(fx.noise), dims: [1, ...role.latentShape] };
      const latents = await eulerSample(o.ctx, await textStates(o.ctx, ids), noise, { steps: fx.euler_steps, guidance: 1 });
      expect(maxAbsDiff((await vaeDecode(o.ctx, latents)).data, fx.euler_image)).toBeLessThan(EULER_TOL);
    });

    it('scorer: image and text embeddings', async () => {
      expect(maxAbsDiff((await imageEmbeds(o.ctx, pixels)).data, fx.image_embeds)).toBeLessThan(TOL);
      const ids = { dtype: 'int64' as const, data: BigInt64Array.from(fx.text_input_ids, BigInt), dims: [1, fx.text_input_ids.length] };
      expect(maxAbsDiff((await textEmbeds(o.ctx, ids)).data, fx.text_embeds)).toBeLessThan(TOL);
    });

    for (const [id, want] of Object.entries(fx.backbones ?? {})) {
      it(`vision backbone ${id}: image_embeds`, async () => {
        expect(maxAbsDiff((await backboneEmbeds(o.ctx, id, pixels)).data, want)).toBeLessThan(TOL);
      });
    }

    it('disposes every ORT tensor', () => {
      expect(o.engine.tracker.created()).toBeGreaterThan(0);
      expect(o.engine.tracker.live()).toBe(0);
    });
  });
}
