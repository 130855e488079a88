// The benchmark's machinery on the tiny bundle (random weights): timing summaries, every stage runs the
// engine and reports consistent checks, the transformers.js config files load our encoder and give the same
// greedy captions as ours, and the ratios/table are formed from the numbers given. No speed is asserted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writePeerConfig } from '../../bench/peer-config.ts';
import { runPeer } from '../../src/bench/peer.ts';
import { peerConfigFiles } from '../../src/bench/peer-config.ts';
import { computeRatios, renderGemmMarkdown, renderMarkdown, type BackendRun, type BenchResults } from '../../src/bench/report.ts';
import { runStages, settleAfterLoad, STAGE_IDS, type StageResult } from '../../src/bench/stages.ts';
import { measure, measureInterleaved, median, summarize } from '../../src/bench/timing.ts';
import { nodeOpener, nodeRuntime } from '../../src/cli/bench-node.ts';
import { parseManifestText } from '../../src/engine/manifest.ts';
import { ROOT, TINY_BUNDLE } from './infer-helpers.ts';

const SHAPES_BUNDLE = join(ROOT, 'public', 'models', 'uae-shapes');

/** Every stage on a loaded 2-core machine takes minutes; no speed is asserted, only completion. */
const HEAVY = 600_000;
const tmp = mkdtempSync(join(tmpdir(), 'uae-bench-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('timing', () => {
  it('summarises runs by median, min and max', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(summarize([2, 9, 4], 1)).toEqual({ warmup: 1, runs: [2, 9, 4], median: 4, min: 2, max: 9 });
  });

  it('calls warm-up plus repeats times and times only the repeats', async () => {
    let calls = 0;
    const { timing, value } = await measure(async () => ++calls, { warmup: 2, repeats: 3 });
    expect(calls).toBe(5);
    expect(value).toBe(5);
    expect(timing.runs).toHaveLength(3);
    expect(timing.min).toBeLessThanOrEqual(timing.median);
  });

  it('with warmupMs, warms up until that long has passed (at least `warmup` runs), then times the repeats', async () => {
    let calls = 0;
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    const t0 = performance.now();
    const { timing } = await measure(
      async () => {
        calls++;
        await sleep(10);
      },
      { warmup: 1, repeats: 2, warmupMs: 120 },
    );
    expect(performance.now() - t0).toBeGreaterThanOrEqual(120);
    expect(timing.warmup).toBeGreaterThanOrEqual(4);
    expect(timing.warmup).toBeLessThan(14);
    expect(calls).toBe(timing.warmup + 2);
    expect(timing.runs).toHaveLength(2);
  });

  it('interleaved: each function warms for its own count and time, then the timed rounds alternate', async () => {
    const order: string[] = [];
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    const f = (name: string) => async () => {
      order.push(name);
      await sleep(10);
      return name;
    };
    const [a, b] = await measureInterleaved(
      [f('a'), f('b')],
      [
        { warmup: 1, repeats: 2, warmupMs: 100 },
        { warmup: 1, repeats: 1 },
      ],
    );
    expect(b.timing.warmup).toBe(1);
    expect(a.timing.warmup).toBeGreaterThanOrEqual(4);
    expect(a.timing.runs).toHaveLength(2);
    expect(b.timing.runs).toHaveLength(1);
    // warm-up: a and b, then a alone; timed: a, b, then a
    expect(order.slice(0, 2)).toEqual(['a', 'b']);
    expect(order.slice(-3)).toEqual(['a', 'b', 'a']);
    expect(order.filter((x) => x === 'b')).toHaveLength(2);
  });
});

describe('stages on the tiny bundle (node-wasm)', () => {
  it(
    'runs every stage with the engine, leaves no tensor open and reports consistent checks',
    async () => {
      const rt = await nodeRuntime('node-wasm', 1);
      const seen: string[] = [];
      const { results, engine } = await runStages(nodeOpener(TINY_BUNDLE, rt), {
        repeats: { warmup: 0, repeats: 1 },
        flowSteps: 1,
        groupSize: 2,
        createSession: (bytes) => rt.create(bytes, 'wasm'),
        onStage: (r) => seen.push(r.id),
      });
      try {
        // The GPU-buffer probe needs a WebGPU session, which Node has not.
        const expected = STAGE_IDS.filter((id) => id !== 'caption48_raw_gpukv');
        expect(results.map((r) => r.id)).toEqual(expected);
        expect(seen).toEqual(expected);
        const by = (id: string): StageResult => results.find((r) => r.id === id) as StageResult;
        for (const r of results) expect(r.timing.runs.every((t) => t >= 0)).toBe(true);
        expect(by('group_sequential').detail.sameAsBatched).toBe(true);
        // 48 tokens: [BOS] plus 47 decoder runs, each way, and both decode the same tokens.
        expect(by('caption48_kv').detail.decoderRuns).toBe(47);
        expect(by('caption48_recompute').detail.decoderRuns).toBe(47);
        expect(by('caption48_recompute').detail.sameAsKv).toBe(true);
        expect(by('caption48_kv').detail.tokens).toBe(47);
        expect(by('caption48_raw').detail.sameAsKv).toBe(true);
        expect(by('decode').detail.steps).toBe(1);
        for (const id of ['gemm', 'gemm_large']) {
          expect(by(id).detail.maxAbsError).toBeLessThan(1e-4);
          expect(by(id).detail.gflops).toBeGreaterThan(0);
        }
        expect(engine.ctx.tracker.live()).toBe(0);
      } finally {
        await engine.release();
      }
    },
    HEAVY,
  );
});

describe('transformers.js peer config', () => {
  const manifest = parseManifestText(readFileSync(join(TINY_BUNDLE, 'manifest.json'), 'utf8'));
  const tokenizer = readFileSync(join(TINY_BUNDLE, 'tokenizer.json'), 'utf8');

  it('takes every number from the manifest and tokenizer', () => {
    const files = peerConfigFiles(manifest, tokenizer);
    const config = JSON.parse(files['config.json']) as { decoder: Record<string, number>; decoder_start_token_id: number };
    const role = manifest.roles.encoder;
    expect(config.decoder.n_layer).toBe(role?.numLayers);
    expect(config.decoder.n_head).toBe(role?.numHeads);
    expect(config.decoder.n_embd).toBe((role?.numHeads ?? 0) * (role?.headDim ?? 0));
    expect(config.decoder_start_token_id).toBe(role?.bosId);
    const vocab = (JSON.parse(tokenizer) as { model: { vocab: Record<string, number> } }).model.vocab;
    expect(config.decoder.vocab_size).toBe(Object.keys(vocab).length);
    const pre = JSON.parse(files['preprocessor_config.json']) as { image_mean: number[]; rescale_factor: number };
    expect(pre.image_mean).toEqual(manifest.preprocessing.image.mean);
    expect(pre.rescale_factor).toBe(manifest.preprocessing.image.scale);
  });

  // The tiny bundle's random weights caption everything as '' (only special tokens), so the trained one is used.
  it(
    'lets the image-to-text pipeline load our encoder and decode the same greedy captions',
    async () => {
      const rt = await nodeRuntime('node-wasm', 1);
      writePeerConfig(SHAPES_BUNDLE, join(tmp, 'uae-shapes-encoder'));
      const engine = await nodeOpener(SHAPES_BUNDLE, rt)();
      try {
        const peer = await runPeer(rt.ort, engine.ctx, {
          repeats: { warmup: 0, repeats: 1 },
          sceneSeeds: [3174139410, 7],
          modelRoot: tmp,
          sessionOptions: rt.peerSessionOptions,
        });
        expect(peer.captions).toHaveLength(2);
        for (const c of peer.captions) expect(c.peer).toBe(c.ours);
        expect(peer.captions[0].ours.length).toBeGreaterThan(0);
        expect(peer.sameCaptions).toBe(true);
      } finally {
        await engine.release();
      }
    },
    HEAVY,
  );
});

describe('report', () => {
  const t = (m: number, min = m): StageResult['timing'] => ({ warmup: 0, runs: [m], median: m, min, max: m });
  const s = (id: string, m: number, min?: number): StageResult => ({ id, label: id, timing: t(m, min), detail: {} });
  const runs: BackendRun[] = [
    { key: 'node-native-1t', runtime: 'native', stages: [s('caption', 10, 8), s('group', 20), s('group_sequential', 90)] },
    { key: 'chromium-wasm-1t', runtime: 'wasm', stages: [s('caption', 35, 16), s('group', 50), s('group_sequential', 100)] },
    { key: 'chromium-webgpu', runtime: 'webgpu', stages: [], error: 'no adapter' },
  ];

  it('forms browser/native and sequential/batched ratios from the given timings', () => {
    const ratios = computeRatios(runs);
    const r = (name: string) => ratios.find((x) => x.name === name);
    expect(r('chromium-wasm-1t / node-native-1t: caption')?.median).toBeCloseTo(3.5);
    expect(r('chromium-wasm-1t / node-native-1t: caption')?.min).toBeCloseTo(2);
    expect(r('node-native-1t: sequential / batched group')?.median).toBeCloseTo(4.5);
    expect(r('chromium-wasm-1t: sequential / batched group')?.median).toBeCloseTo(2);
    expect(ratios.some((x) => x.name.includes('webgpu'))).toBe(false);
    // the goals: ≤ 2 for the stages it names, none for the sequential group (its goal is the ≥ 4 ratio)
    expect(r('chromium-wasm-1t / node-native-1t: group')?.goal).toBe('≤ 2');
    expect(r('chromium-wasm-1t / node-native-1t: group_sequential')?.goal).toBeUndefined();
    const load = computeRatios([
      { key: 'node-native-1t', runtime: 'native', stages: [s('load', 200)] },
      { key: 'chromium-wasm-1t', runtime: 'wasm', stages: [s('load', 500)] },
    ]);
    expect(load.map((x) => [x.name, x.goal])).toEqual([['chromium-wasm-1t / node-native-1t: load', '≤ 3']]);
  });

  it('tables every backend and names a failed one', () => {
    const res: BenchResults = {
      generatedAt: 'now',
      command: 'npm run bench',
      wallSeconds: 1,
      settings: { repeats: 1 },
      runs,
      ratios: computeRatios(runs),
      machine: { cpu: 'Test CPU', cores: 2, os: 'Linux', node: 'v20', onnxruntimeWeb: '1.30.0' },
    };
    const md = renderMarkdown(res);
    expect(md).toContain('Test CPU, 2 cores');
    expect(md).toContain('| caption | 10.0 [8.0–10.0] | 35.0 [16.0–35.0] |');
    expect(md).toContain('chromium-webgpu**: webgpu — FAILED: no adapter');
    expect(md).toContain('| chromium-wasm-1t / node-native-1t: caption | 3.50× | 2.00× | ≤ 2 |');
    expect(md).not.toContain('the compute bound');
  });

  it('tables the MatMul probes per backend with the bare kernel ratio', () => {
    const g = (id: string, m: number, gflops: number): StageResult => ({ ...s(id, m), detail: { gflops } });
    const probed: BackendRun[] = [
      { key: 'node-native-1t', runtime: 'native', stages: [g('gemm', 10, 40), g('gemm_large', 10, 100)] },
      { key: 'chromium-wasm-1t', runtime: 'wasm', stages: [g('gemm', 25, 16), g('gemm_large', 40, 25)] },
    ];
    const ratios = computeRatios(probed);
    const md = renderGemmMarkdown(probed, ratios).join('\n');
    expect(md).toContain('| backend | [32×128]·[128×512] GFLOP/s | [512×512]·[512×512] GFLOP/s |');
    expect(md).toContain('| node-native-1t | 40.0 | 100.0 |');
    expect(md).toContain('| chromium-wasm-1t | 16.0 | 25.0 |');
    expect(md).toContain("2.50× at the flow transformer's shape, 4.00× large");
    expect(ratios.find((r) => r.name === 'chromium-wasm-1t / node-native-1t: gemm')?.goal).toBeUndefined();
  });
});

describe('settleAfterLoad', () => {
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  it('keeps running until the runs stop getting faster, and reports the first and the steady time', async () => {
    let calls = 0;
    const s = await settleAfterLoad(async () => {
      calls++;
      await sleep(calls <= 5 ? 60 : 2);
    });
    expect(s.firstRunMs).toBeGreaterThanOrEqual(50);
    expect(s.settledMs).toBeLessThan(30);
    expect(s.settleRuns).toBeGreaterThanOrEqual(12);
    expect(s.settleRuns).toBe(calls);
  });
  it('stops after ten runs when the time is flat', async () => {
    const s = await settleAfterLoad(() => sleep(40));
    expect(s.settleRuns).toBe(10);
  });
  it('runs for at least minMs even when the time is flat', async () => {
    const s = await settleAfterLoad(() => sleep(10), 400);
    expect(s.settleTotalMs).toBeGreaterThanOrEqual(400);
    expect(s.settleRuns).toBeGreaterThan(10);
  });
});
