/**
 * The benchmark's results file and its Markdown table: per-backend stage timings, and the ratios the issue
 * asks for, each taken from this one run (browser WASM / native onnxruntime-node, batched vs sequential
 * group, KV cache vs recompute, ours vs transformers.js), plus the memory soak's growth.
 */
import type { MemoryReport } from './browser.ts';
import type { PeerResult } from './peer.ts';
import type { StageResult } from './stages.ts';
import type { Ratio } from './ratio.ts';
import { GEMM_SHAPES, type GemmShape } from './gemm.ts';
import { renderTrainMarkdown, type TrainSection } from './train-report.ts';
import { renderFirstTripMarkdown, type FirstTripSection } from './first-trip.ts';
import { firstResultsRatios, renderFirstResultsMarkdown, type FirstResults } from './first-results.ts';

/** One backend's run as stored in results.json. */
export interface BackendRun {
  /** Short key: node-native-1t, node-wasm-1t, chromium-wasm-1t, chromium-wasm-2t, chromium-webgpu. */
  key: string;
  runtime: string;
  /** Caveat printed beside the backend (e.g. SwiftShader: correctness and overhead only). */
  note?: string;
  stages: StageResult[];
  peer?: PeerResult;
  memory?: MemoryReport;
  /** First results in fresh runtimes, cold and after the app's warm-up (src/bench/first-results.ts). */
  firstResults?: FirstResults[];
  /** Why this backend has no numbers (it failed or was skipped). */
  error?: string;
}

/** The machine the run came from. */
export interface BenchMachine {
  cpu: string;
  cores: number;
  os: string;
  node: string;
  chromium?: string;
  onnxruntimeWeb: string;
  onnxruntimeNode?: string;
  transformers?: string;
  load?: string;
}

export type { Ratio } from './ratio.ts';

/** The whole results file. */
export interface BenchResults {
  generatedAt: string;
  command: string;
  machine: BenchMachine;
  settings: Record<string, string | number | boolean>;
  runs: BackendRun[];
  ratios: Ratio[];
  /** Seconds per stage-2 GRPO step: PyTorch against the TypeScript trainer (absent when the section was skipped). */
  train?: TrainSection;
  /** Time to the first round trip in the app (absent when the section was skipped). */
  firstTrip?: FirstTripSection;
  /** The same on WebGPU (SwiftShader here): fewer flow steps, 2 profiles. */
  firstTripWebgpu?: FirstTripSection;
  wallSeconds: number;
}

function stage(run: BackendRun | undefined, id: string): StageResult | undefined {
  return run?.stages.find((s) => s.id === id);
}

/** Returns the ratio num/den of two stage timings, or undefined when either is missing. */
function ratioOf(
  name: string,
  num: StageResult | undefined,
  den: StageResult | undefined,
  detail: string,
  goal?: string,
): Ratio | undefined {
  if (!num || !den) return undefined;
  return { name, median: num.timing.median / den.timing.median, min: num.timing.min / den.timing.min, detail, goal };
}

/**
 * Issue 21's goals for Chromium WASM over native at the same threads: ≤ 2 for caption, group, decode, score, round
 * trip and GRPO group, ≤ 3 for the load; the other stages (the sequential group, the 48-token probes) have none.
 */
const BROWSER_GOALS: Partial<Record<string, string>> = {
  load: '≤ 3',
  caption: '≤ 2',
  group: '≤ 2',
  decode: '≤ 2',
  score: '≤ 2',
  roundtrip: '≤ 2',
  grpo: '≤ 2',
};

/** Returns every ratio the runs allow, in table order. */
export function computeRatios(runs: readonly BackendRun[]): Ratio[] {
  const by = (key: string): BackendRun | undefined => runs.find((r) => r.key === key && !r.error);
  const out: (Ratio | undefined)[] = [];
  const pairs: [string, string, boolean][] = [
    ['chromium-wasm-1t', 'node-native-1t', true],
    ['chromium-wasm-2t', 'node-native-2t', true],
    ['node-wasm-1t', 'node-native-1t', false],
    ['chromium-webgpu', 'node-native-1t', false],
  ];
  for (const [a, b, goals] of pairs) {
    const ra = by(a);
    const rb = by(b);
    if (!ra || !rb) continue;
    for (const s of ra.stages) {
      const goal = goals ? BROWSER_GOALS[s.id] : undefined;
      out.push(ratioOf(`${a} / ${b}: ${s.id}`, s, stage(rb, s.id), `${s.label}: ${a} time over ${b} time`, goal));
    }
  }
  for (const r of runs) {
    if (r.error) continue;
    out.push(
      ratioOf(
        `${r.key}: sequential / batched group`,
        stage(r, 'group_sequential'),
        stage(r, 'group'),
        'G sampled captions one at a time over the batched group',
        '≥ 4',
      ),
    );
    out.push(
      ratioOf(
        `${r.key}: recompute / KV cache at 48 tokens`,
        stage(r, 'caption48_recompute'),
        stage(r, 'caption48_kv'),
        'full-prefix recompute over KV cache, 47 decoder runs each',
        '≥ 3',
      ),
    );
    out.push(
      ratioOf(
        `${r.key}: engine KV loop / raw ORT loop at 48 tokens`,
        stage(r, 'caption48_kv'),
        stage(r, 'caption48_raw'),
        "generateCaptions over the same loop on ORT tensors: the engine's own overhead",
      ),
    );
    out.push(
      ratioOf(
        `${r.key}: raw ORT loop, KV on CPU / KV in GPU buffers`,
        stage(r, 'caption48_raw'),
        stage(r, 'caption48_raw_gpukv'),
        'the gpu-buffer lever (preferredOutputLocation) on the 48-token loop',
      ),
    );
    if (r.peer) {
      out.push({
        name: `${r.key}: transformers.js / ours, greedy caption`,
        median: r.peer.timing.median / r.peer.oursTiming.median,
        min: r.peer.timing.min / r.peer.oursTiming.min,
        detail: `image-to-text pipeline over our captionImages on the same ORT module and files; same captions: ${r.peer.sameCaptions}`,
        goal: '≥ 1.5',
      });
    }
  }
  out.push(...firstResultsRatios(runs.filter((r) => !r.error)));
  return out.filter((r): r is Ratio => r !== undefined);
}

const ms = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const x2 = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
const mb = (b: number | undefined): string => (b === undefined ? '–' : `${(b / 1048576).toFixed(1)} MB`);
const pct = (p: number | undefined): string => (p === undefined ? '–' : `${p >= 0 ? '+' : ''}${p.toFixed(2)} %`);

/**
 * The MatMul probes' section: each backend's GFLOP/s at the flow transformer's shape and at a large one, and the
 * browser-over-native ratio of the bare kernel, which bounds the stages made of such products.
 */
export function renderGemmMarkdown(runs: readonly BackendRun[], ratios: readonly Ratio[]): string[] {
  const withProbe = runs.filter((r) => stage(r, 'gemm') || stage(r, 'gemm_large'));
  if (withProbe.length === 0) return [];
  const shape = ({ M, K, N }: GemmShape): string => `[${M}×${K}]·[${K}×${N}]`;
  const lines = ['', '## Matrix products: the compute bound', ''];
  lines.push(`| backend | ${shape(GEMM_SHAPES.gemm)} GFLOP/s | ${shape(GEMM_SHAPES.gemm_large)} GFLOP/s |`, '|---|---:|---:|');
  const gf = (r: BackendRun, id: string): string => {
    const v = stage(r, id)?.detail.gflops;
    return typeof v === 'number' ? v.toFixed(1) : '–';
  };
  for (const r of withProbe) lines.push(`| ${r.key} | ${gf(r, 'gemm')} | ${gf(r, 'gemm_large')} |`);
  const ratio = (name: string): string => x2(ratios.find((q) => q.name === name)?.median ?? NaN);
  lines.push(
    '',
    `The bare kernel, chromium-wasm-1t / node-native-1t: ${ratio('chromium-wasm-1t / node-native-1t: gemm')} at the flow ` +
      `transformer's shape, ${ratio('chromium-wasm-1t / node-native-1t: gemm_large')} large. A stage whose time is mostly ` +
      'such products (decode, GRPO group, the scorer) comes no closer to native than its products do; its other kernels ' +
      '(convolutions, normalisations, element-wise ops) are further apart still (bench/README.md, "Compute-bound stages").',
  );
  return lines;
}

/** Returns the Markdown report of a results file: machine, stage table, ratios, peer, memory, notes. */
export function renderMarkdown(res: BenchResults): string {
  const runs = res.runs.filter((r) => !r.error);
  const m = res.machine;
  const warmupMs = Number(res.settings.warmupMs ?? 0);
  const lines: string[] = [];
  lines.push('# Benchmark results', '');
  lines.push(`Generated ${res.generatedAt} by \`${res.command}\` in ${res.wallSeconds.toFixed(0)} s.`, '');
  lines.push('## Machine', '');
  lines.push(`- CPU: ${m.cpu}, ${m.cores} cores`, `- OS: ${m.os}`, `- Node ${m.node}; Chromium ${m.chromium ?? '–'}`);
  lines.push(
    `- onnxruntime-web ${m.onnxruntimeWeb}; onnxruntime-node ${m.onnxruntimeNode ?? '–'}; ${m.transformers ?? 'transformers.js –'}`,
  );
  if (m.load) lines.push(`- Load average at start: ${m.load}`);
  lines.push(
    `- Settings: ${Object.entries(res.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
    '',
  );
  if (res.runs.length === 0)
    return `${[...lines, ...renderFirstTripMarkdown(res.firstTrip, undefined), ...renderFirstTripMarkdown(res.firstTripWebgpu, undefined, 'webgpu'), ...renderTrainMarkdown(res.train)].join('\n')}\n`;
  lines.push('## Stage times (median ms, [min–max])', '');
  lines.push(`| stage | ${runs.map((r) => r.key).join(' | ')} |`);
  lines.push(`|---|${runs.map(() => '---:').join('|')}|`);
  const ids = [...new Set(runs.flatMap((r) => r.stages.map((s) => s.id)))];
  for (const id of ids) {
    const label = runs.flatMap((r) => r.stages).find((s) => s.id === id)?.label ?? id;
    const cells = runs.map((r) => {
      const s = stage(r, id);
      return s ? `${ms(s.timing.median)} [${ms(s.timing.min)}–${ms(s.timing.max)}]` : '–';
    });
    lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push('Backends:', '');
  for (const r of res.runs)
    lines.push(`- **${r.key}**: ${r.runtime}${r.note ? ` (${r.note})` : ''}${r.error ? ` — FAILED: ${r.error.split('\n')[0]}` : ''}`);
  lines.push('', '## Ratios (this run)', '');
  lines.push('| ratio | median | min | goal |', '|---|---:|---:|---|');
  for (const r of res.ratios) lines.push(`| ${r.name} | ${x2(r.median)} | ${x2(r.min)} | ${r.goal ?? ''} |`);
  lines.push(...renderGemmMarkdown(runs, res.ratios));
  const peers = runs.filter((r) => r.peer);
  if (peers.length > 0) {
    lines.push('', '## Peer: transformers.js image-to-text on the same files', '');
    lines.push('| backend | transformers.js ms | ours ms | same greedy captions |', '|---|---:|---:|---|');
    for (const r of peers) {
      const p = r.peer as PeerResult;
      lines.push(
        `| ${r.key} | ${ms(p.timing.median)} | ${ms(p.oursTiming.median)} | ${p.captions.filter((c) => c.same).length}/${p.captions.length} |`,
      );
    }
    const p = peers[0].peer as PeerResult;
    lines.push(
      '',
      `Captions (${peers[0].key}): ${p.captions.map((c) => `scene ${c.scene}: "${c.ours}"${c.same ? '' : ` vs "${c.peer}"`}`).join('; ')}.`,
    );
  }
  const mem = runs.filter((r) => r.memory);
  if (mem.length > 0) {
    lines.push('', '## Memory over one-loop round trips in one page', '');
    lines.push(
      '| backend | round trips | JS heap before → after | growth | WASM memory before → after | growth | live tensors after |',
      '|---|---:|---|---:|---|---:|---:|',
    );
    for (const r of mem) {
      const q = r.memory as MemoryReport;
      lines.push(
        `| ${r.key} | ${q.roundTrips} | ${mb(q.before.jsHeap)} → ${mb(q.after.jsHeap)} | ${pct(q.jsHeapGrowthPct)} | ${mb(q.before.wasm)} → ${mb(q.after.wasm)} | ${pct(q.wasmGrowthPct)} | ${q.after.liveTensors} |`,
      );
    }
    lines.push('', `JS heap: ${(mem[0].memory as MemoryReport).jsHeapSource}.`);
  }
  lines.push('', '## Checks', '');
  for (const r of runs) {
    const c = stage(r, 'caption');
    const g = stage(r, 'group_sequential');
    const k = stage(r, 'caption48_recompute');
    const rt = stage(r, 'roundtrip');
    lines.push(
      `- ${r.key}: greedy caption "${c?.detail.caption ?? '–'}"; batched = sequential group: ${g?.detail.sameAsBatched ?? '–'}; ` +
        `KV = recompute: ${k?.detail.sameAsKv ?? '–'}; round-trip sim ${typeof rt?.detail.sim === 'number' ? rt.detail.sim.toFixed(4) : '–'}`,
    );
  }
  lines.push(
    '',
    '## Warm-up after load',
    '',
    `Stages are timed after greedy captions stop getting faster (median of the last 5 runs within 15 % of the 5 before${
      warmupMs > 0 ? `, after at least ${warmupMs} ms of them` : ''
    }).${warmupMs > 0 ? ` Every stage warms up for at least ${warmupMs} ms too, the load (opened and released) included: a fresh runtime's first load is in the first-results table below (bench/README.md, "Warm-up in the timings").` : ''}`,
    '',
    '| backend | first caption after load ms | steady caption ms | runs to settle | time to settle ms | caption: vision encoder ms | caption: decoding loop ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of runs) {
    const l = stage(r, 'load')?.detail;
    const c = stage(r, 'caption')?.detail;
    if (!l || l.firstRunMs === undefined) continue;
    lines.push(
      `| ${r.key} | ${l.firstRunMs} | ${l.settledMs} | ${l.settleRuns} | ${l.settleTotalMs} | ${c?.encodeMedianMs ?? '–'} | ${c?.generateMedianMs ?? '–'} |`,
    );
  }
  lines.push(...renderFirstResultsMarkdown(runs));
  const steadyTrip = stage(
    runs.find((r) => r.key === 'chromium-wasm-2t'),
    'roundtrip',
  )?.timing.median;
  lines.push(...renderFirstTripMarkdown(res.firstTrip, steadyTrip));
  lines.push(...renderFirstTripMarkdown(res.firstTripWebgpu, undefined, 'webgpu'));
  lines.push(...renderTrainMarkdown(res.train));
  return `${lines.join('\n')}\n`;
}
