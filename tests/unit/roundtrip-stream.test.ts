// Streaming inside a round-trip loop on the shipped bundle (real captions, CFG): the caption arrives token by
// token, the flow step by step with previews of the x0 estimate, and streaming changes no caption or image.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captionImages,
  captionInputIds,
  decoderRole,
  decoderTokens,
  defaultPreviewEvery,
  eulerSample,
  latentNoise,
  previewAt,
  roundTrip,
  textStates,
  toUint8Images,
  vaeDecode,
  type F32,
  type LoopProgress,
  type RoundTripSettings,
} from '../../src/engine/infer/index.ts';
import { createRng, rasterizeScene, sampleScene } from '../../src/shapes/index.ts';
import { HOOK_TIMEOUT, openContext, ROOT, type Opened } from './infer-helpers.ts';

const SHIPPED = join(ROOT, 'public', 'models', 'uae-shapes');
const SCENE = 82995292; // public/gallery scene-00

let o: Opened;
beforeAll(async () => {
  o = await openContext(SHIPPED);
}, HOOK_TIMEOUT);
afterAll(async () => {
  await o?.engine.sessions.release();
}, HOOK_TIMEOUT);

const scene = sampleScene(SCENE);
const image = rasterizeScene(scene, 64);

describe('round trip streaming', () => {
  const cases: [string, RoundTripSettings][] = [
    ['greedy, 5 flow steps', { policy: { kind: 'greedy' }, steps: 5, scene }],
    ['sampled (T 1.5), 4 flow steps', { policy: { kind: 'sample', temperature: 1.5, topP: 0.95 }, steps: 4, scene }],
  ];
  it.each(cases)('%s: tokens in order make the caption, steps 1…N with previews, same loops as unstreamed', async (_name, settings) => {
    const plain = await roundTrip(o.ctx, image, 2, settings, createRng(7));
    const events: LoopProgress[] = [];
    const order: string[] = [];
    const streamed = await roundTrip(o.ctx, image, 2, settings, createRng(7), (r) => order.push(`loop ${r.loop}`), undefined, {
      onProgress: (p) => {
        events.push(p);
        order.push(`${p.phase} ${p.loop}`);
      },
    });
    // Streaming changes nothing: same captions (ids, log-probs), same image bytes, same metrics.
    expect(streamed.map((l) => l.caption)).toEqual(plain.map((l) => l.caption));
    expect(streamed.map((l) => Buffer.from(l.image).equals(Buffer.from(plain[l.loop - 1].image)))).toEqual([true, true]);
    expect(streamed.map((l) => [l.vsOriginal, l.vsPrevious, l.attr])).toEqual(plain.map((l) => [l.vsOriginal, l.vsPrevious, l.attr]));

    const every = defaultPreviewEvery(settings.steps);
    for (const l of streamed) {
      const caption = events.filter((e) => e.loop === l.loop && e.phase === 'caption');
      const flow = events.filter((e) => e.loop === l.loop && e.phase === 'flow');
      // Every generated token, in order (the final [EOS] included), and the text so far ends as the caption.
      expect(caption.map((e) => e.phase === 'caption' && e.token)).toEqual(l.caption.completion);
      expect(
        caption
          .map((e) => (e.phase === 'caption' ? e.word : ''))
          .filter(Boolean)
          .join(' '),
      ).toBe(l.caption.text);
      const last = caption[caption.length - 1];
      expect(last.phase === 'caption' && [last.text, last.tokens]).toEqual([l.caption.text, l.caption.tokens]);
      expect(l.caption.text.length).toBeGreaterThan(0);
      // The text grows one word at a time.
      const texts = caption.map((e) => (e.phase === 'caption' ? e.text : ''));
      texts.forEach((t, i) => i > 0 && expect(t.startsWith(texts[i - 1])).toBe(true));
      const steps = Array.from({ length: settings.steps }, (_, i) => [i + 1, settings.steps]);
      expect(flow.map((e) => e.phase === 'flow' && [e.step, e.steps])).toEqual(steps);
      const withPreview = flow.flatMap((e) => (e.phase === 'flow' && e.preview ? [e.step] : []));
      expect(withPreview).toEqual(flow.flatMap((e) => (e.phase === 'flow' && previewAt(e.step, e.steps, every) ? [e.step] : [])));
      expect(withPreview.length).toBeGreaterThan(0);
      for (const e of flow) if (e.phase === 'flow' && e.preview) expect(e.preview).toHaveLength(64 * 64 * 3);
    }
    // Per loop: the caption first, then the flow, then the loop's own result.
    const squeezed = order.filter((s, i) => s !== order[i - 1]);
    expect(squeezed).toEqual(['caption 1', 'flow 1', 'loop 1', 'caption 2', 'flow 2', 'loop 2']);
    expect(o.engine.tracker.live()).toBe(0);
  });

  it('previews every step on request and none with previewEvery 0; the last estimate is the result', async () => {
    const settings: RoundTripSettings = { policy: { kind: 'greedy' }, steps: 4, scene };
    const previews = async (previewEvery: number) => {
      const steps: number[] = [];
      await roundTrip(o.ctx, image, 1, settings, createRng(3), undefined, undefined, {
        previewEvery,
        onProgress: (p) => p.phase === 'flow' && p.preview && steps.push(p.step),
      });
      return steps;
    };
    expect(await previews(1)).toEqual([1, 2, 3]);
    expect(await previews(2)).toEqual([2]);
    expect(await previews(0)).toEqual([]);
    expect(defaultPreviewEvery(12)).toBe(4);
    const at = (k: number) => Array.from({ length: k }, (_, i) => i + 1).filter((s) => previewAt(s, k, defaultPreviewEvery(k)));
    expect([1, 2, 3, 12, 20].map(at)).toEqual([[], [1], [1, 2], [4, 8], [7, 14]]);

    // eulerSample's per-step estimate is x_t − t·v: at the last step it is exactly the returned latents, and
    // the estimates decode to images that approach the final one.
    const [caption] = await captionImages(o.ctx, image, 1, { policy: { kind: 'greedy' } });
    const states = await textStates(o.ctx, captionInputIds([caption.ids], decoderTokens(o.ctx)));
    const noise = latentNoise(decoderRole(o.ctx), [createRng(11)]);
    const estimates: F32[] = [];
    const plain = await eulerSample(o.ctx, states, noise, { steps: 4 });
    const latents = await eulerSample(o.ctx, states, noise, { steps: 4, onStep: async (_s, _n, e) => void estimates.push(await e()) });
    expect(Array.from(latents.data)).toEqual(Array.from(plain.data));
    expect(estimates).toHaveLength(4);
    expect(Array.from(estimates[3].data)).toEqual(Array.from(latents.data));
    const final = toUint8Images(await vaeDecode(o.ctx, latents, 1));
    const distance = async (e: F32) => {
      const img = toUint8Images(await vaeDecode(o.ctx, e, 1));
      return img.reduce((s, v, i) => s + Math.abs(v - final[i]), 0);
    };
    expect(await distance(estimates[2])).toBeLessThan(await distance(estimates[0]));
  });

  it('captionImages reports every row of a sampled group token by token (global rows)', async () => {
    const rows = new Map<number, number[]>();
    const opts = { policy: { kind: 'sample' as const, temperature: 1.2, topP: 1 }, groupSize: 3, batch: 2 };
    const captions = await captionImages(o.ctx, image, 1, {
      ...opts,
      rng: createRng(5),
      onToken: (row, token) => rows.set(row, [...(rows.get(row) ?? []), token]),
    });
    expect(captions.map((_, r) => rows.get(r))).toEqual(captions.map((c) => c.completion));
    const again = await captionImages(o.ctx, image, 1, { ...opts, rng: createRng(5) });
    expect(again).toEqual(captions);
  });
});
