// Round-trip panel logic that runs without a browser: URL settings, cover-crop statement, JSON export,
// and the IndexedDB store (fake-indexeddb, closed and reopened to stand in for a reload).
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { closeRunsDb, deleteRun, getRoundTrip, listRuns, saveRoundTrip } from '../../app/persist/runs-db';
import { summaryOf } from '../../app/panels/roundtrip/actions';
import { RUN_JSON_FORMAT, runToJson, wrapText } from '../../app/panels/roundtrip/export';
import { coverCrop, coverPolicyText, inputFromScene } from '../../app/lib/images';
import { decodingPolicy, rtFromQuery, rtToQuery, sanitizeRtSettings } from '../../app/panels/roundtrip/settings';
import { DEFAULT_RT_SETTINGS, type RtRun } from '../../app/store/roundtripSlice';
import { rasterizeScene, sampleScene } from '../../src/shapes/index.ts';

describe('round-trip settings in the URL', () => {
  it('defaults leave the query alone; changes are written and read back; other keys survive', () => {
    expect(rtToQuery(DEFAULT_RT_SETTINGS, undefined, '?seed=4&backend=wasm')).toBe('?seed=4&backend=wasm');
    const s = { loops: 7, decoding: 'sample' as const, temperature: 0.7, topP: 0.9, steps: 6 };
    const q = rtToQuery(s, 123, '?seed=4');
    expect(new URLSearchParams(q).get('seed')).toBe('4');
    expect(rtFromQuery(q)).toEqual({ settings: s, scene: 123, present: true });
    expect(rtFromQuery('?seed=4')).toEqual({ settings: DEFAULT_RT_SETTINGS, present: false });
  });

  it('sampling knobs are dropped from the URL under greedy decoding', () => {
    const q = rtToQuery({ ...DEFAULT_RT_SETTINGS, temperature: 0.5, topP: 0.8 }, undefined, '');
    expect(q).toBe('');
  });

  it('invalid values fall back to defaults, one field at a time', () => {
    expect(rtFromQuery('?rt-loops=21&rt-decode=beam&rt-temp=-1&rt-topp=2&rt-steps=0&rt-scene=x').settings).toEqual(DEFAULT_RT_SETTINGS);
    expect(rtFromQuery('?rt-loops=20&rt-topp=0.5').settings).toEqual({ ...DEFAULT_RT_SETTINGS, loops: 20, topP: 0.5 });
    expect(sanitizeRtSettings({ loops: 0, steps: null }).loops).toBe(3);
    expect(sanitizeRtSettings({ loops: 2.5 }).loops).toBe(3);
  });

  it('maps settings to a decoding policy', () => {
    expect(decodingPolicy(DEFAULT_RT_SETTINGS)).toEqual({ kind: 'greedy' });
    expect(decodingPolicy({ ...DEFAULT_RT_SETTINGS, decoding: 'sample', temperature: 0.8, topP: 0.9 })).toEqual({
      kind: 'sample',
      temperature: 0.8,
      topP: 0.9,
    });
  });
});

describe('cover crop, as stated to the user', () => {
  it('crops the long side around the centre', () => {
    expect(coverCrop(128, 64, 64, 64)).toEqual([0.25, 0, 0.5, 1]);
    expect(coverCrop(100, 400, 64, 64)).toEqual([0, 0.375, 1, 0.25]);
    expect(coverCrop(64, 64, 64, 64)).toEqual([0, 0, 1, 1]);
  });
  it('says whether the image was shrunk or enlarged and cropped', () => {
    expect(coverPolicyText(1024, 768, 64, 64)).toBe(
      'cover: 1024×768 shrunk ×0.0833 (area average) so the short side is 64 px, centre-cropped to 64×64; transparency over white',
    );
    expect(coverPolicyText(32, 32, 64, 64)).toBe(
      'cover: 32×32 enlarged ×2.00 (bilinear) so the short side is 64 px; transparency over white',
    );
  });
  it('a scene input is the scene rasterized at the model size', () => {
    const input = inputFromScene(82995292, 'gallery', 'g', 64, 64);
    expect(Buffer.from(input.modelView).equals(Buffer.from(rasterizeScene(sampleScene(82995292), 64)))).toBe(true);
    expect(input.scene).toEqual(sampleScene(82995292));
    expect(input.preview.data.length).toBe(256 * 256 * 4);
  });
});

function fakeRun(id: string, startedAt: number, loops = 2): RtRun {
  const input = inputFromScene(7, 'random', `scene ${id}`, 64, 64);
  return {
    id,
    startedAt,
    finishedAt: startedAt + 1000,
    status: 'finished',
    settings: { loops, policy: { kind: 'greedy' }, steps: 2, seed: 3 },
    bundle: { id: 'uae-tiny', name: 'UAE tiny (test)', version: '1.0.0' },
    backend: 'WASM · 1 thread',
    input,
    error: null,
    loops: Array.from({ length: loops }, (_, i) => ({
      loop: i + 1,
      caption: `a red circle ${i}`,
      ids: [10, 11, 12],
      tokens: 3,
      truncated: false,
      image: new Uint8Array(64 * 64 * 3).fill(i + 1),
      vsOriginal: { sim: 0.5 + i / 10, psnr: 12.3456789, ssim: 0.41234567 },
      vsPrevious: { sim: 0.9, psnr: 30, ssim: 0.8 },
      attr: { precision: 1, recall: 0.5, f1: 2 / 3 },
      ms: 123.4,
    })),
  };
}

describe('JSON export', () => {
  it('carries settings, input and every loop with rounded metrics and encoded images', async () => {
    const run = fakeRun('a', Date.UTC(2025, 0, 2));
    const seen: number[] = [];
    const doc = await runToJson(run, async (rgb, w, h) => {
      seen.push(rgb[0]);
      return `png:${w}x${h}:${rgb[0]}`;
    });
    expect(doc.format).toBe(RUN_JSON_FORMAT);
    expect(doc.startedAt).toBe('2025-01-02T00:00:00.000Z');
    expect(doc.settings).toEqual(run.settings);
    const loops = doc.loops as Record<string, unknown>[];
    expect(loops.map((l) => l.image)).toEqual(['png:64x64:1', 'png:64x64:2']);
    expect(loops[0]).toMatchObject({
      loop: 1,
      caption: 'a red circle 0',
      tokens: 3,
      sim: 0.5,
      psnr: 12.345679,
      ssim: 0.412346,
      attr: { precision: 1, recall: 0.5, f1: 0.666667 },
    });
    expect((doc.input as { sceneSeed: number }).sceneSeed).toBe(7);
    expect(seen).toHaveLength(3);
  });

  it('wraps captions to a width', () => {
    expect(wrapText('a b c d e', 3, (s) => s.length)).toEqual(['a b', 'c d', 'e']);
    expect(wrapText('averyveryverylongword x', 5, (s) => s.length)).toEqual(['averyveryverylongword', 'x']);
  });
});

describe('stored runs (IndexedDB)', () => {
  it('keeps runs with their images across a reopen, lists newest first, deletes', async () => {
    const older = fakeRun('older', 1000, 3);
    const newer = fakeRun('newer', 2000);
    await saveRoundTrip(older, summaryOf(older));
    await saveRoundTrip(newer, summaryOf(newer));
    await closeRunsDb();
    const list = await listRuns();
    expect(list.map((r) => r.id)).toEqual(['newer', 'older']);
    expect(list[1].detail).toBe('3 loops · sim 0.700 · greedy · uae-tiny · WASM · 1 thread');
    const back = await getRoundTrip('older');
    expect(back?.loops).toHaveLength(3);
    expect(back?.loops[2].image).toBeInstanceOf(Uint8Array);
    expect(back?.loops[2].image[0]).toBe(3);
    expect(back?.input.modelView).toEqual(older.input.modelView);
    expect(back?.input.preview.data).toBeInstanceOf(Uint8ClampedArray);
    await deleteRun('older');
    expect((await listRuns()).map((r) => r.id)).toEqual(['newer']);
    expect(await getRoundTrip('older')).toBeNull();
    expect(await getRoundTrip('nope')).toBeNull();
  });
});

describe('round-trip charts', () => {
  it('the caption-length axis has nice integer ticks above the longest caption', async () => {
    const { integerTicks } = await import('../../app/panels/roundtrip/Charts');
    expect(integerTicks(0)).toEqual([0, 1, 2, 3, 4]);
    expect(integerTicks(4)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(integerTicks(9)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(integerTicks(30)).toEqual([0, 10, 20, 30, 40]);
  });

  it('an empty chart says when its points come, a chart with points does not', async () => {
    const { createElement } = await import('react');
    const { renderToStaticMarkup } = await import('react-dom/server');
    const { FidelityChart, LengthChart } = await import('../../app/panels/roundtrip/Charts');
    for (const chart of [FidelityChart, LengthChart]) {
      expect(renderToStaticMarkup(createElement(chart, { loops: [], total: 3 }))).toContain('A point appears here as each loop finishes.');
    }
    const loop = {
      loop: 1,
      caption: 'a red circle',
      ids: [1, 2, 3],
      tokens: 3,
      truncated: false,
      image: new Uint8Array(0),
      ms: 1,
      attr: null,
      vsOriginal: { sim: 0.9, psnr: 20, ssim: 0.8 },
      vsPrevious: { sim: 0.9, psnr: 20, ssim: 0.8 },
    };
    expect(renderToStaticMarkup(createElement(LengthChart, { loops: [loop], total: 3 }))).not.toContain('A point appears here');
  });
});
