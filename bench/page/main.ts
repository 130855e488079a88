/**
 * The bench page: reads the run's parameters from the URL (?params=<json>), starts the bench worker,
 * answers its JS-heap questions and leaves the outcome on `window.__bench` for the runner (bench/run.ts).
 */
import type { BrowserBenchParams, BrowserBenchReport, BrowserTrainParams, BrowserTrainReport } from '../../src/bench/browser.ts';
import type { BrowserTrainFixtureParams, BrowserTrainFixtureReport } from '../../src/bench/train-fixture-browser.ts';

type Report = BrowserBenchReport | BrowserTrainReport | BrowserTrainFixtureReport;

interface BenchState {
  log: string[];
  report?: Report;
  error?: string;
}

const state: BenchState = { log: [] };
(window as unknown as { __bench: BenchState }).__bench = state;
const pre = document.getElementById('log');
const log = (line: string): void => {
  state.log.push(line);
  if (pre) pre.textContent = state.log.join('\n');
};

type UaMemory = { bytes: number; breakdown: { bytes: number; types: string[]; attribution: { scope: string }[] }[] };
const measureUa = (performance as unknown as { measureUserAgentSpecificMemory?: () => Promise<UaMemory> }).measureUserAgentSpecificMemory;

/** Returns the bytes the browser attributes to the worker, or undefined when it cannot say. */
async function workerHeap(): Promise<number | undefined> {
  if (!measureUa) return undefined;
  const m = await measureUa.call(performance);
  const inWorker = m.breakdown.filter((b) => b.attribution.some((a) => a.scope === 'DedicatedWorkerGlobalScope'));
  return inWorker.reduce((a, b) => a + b.bytes, 0);
}

const params = JSON.parse(new URLSearchParams(location.search).get('params') ?? '{}') as
  BrowserBenchParams | BrowserTrainParams | BrowserTrainFixtureParams;
const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module' });
worker.addEventListener('error', (e) => {
  state.error = `worker error: ${e.message}`;
  log(state.error);
});
worker.addEventListener('message', (event: MessageEvent) => {
  const msg = event.data as { type: string; line?: string; report?: Report; message?: string };
  if (msg.type === 'ready') {
    worker.postMessage({ type: 'run', params, source: measureUa ? 'performance.measureUserAgentSpecificMemory (worker scope)' : 'none' });
  } else if (msg.type === 'log' && msg.line) {
    log(msg.line);
  } else if (msg.type === 'heap?') {
    void workerHeap().then(
      (bytes) => worker.postMessage({ type: 'heap', bytes }),
      () => worker.postMessage({ type: 'heap', bytes: undefined }),
    );
  } else if (msg.type === 'done') {
    state.report = msg.report;
    log('done');
  } else if (msg.type === 'error') {
    state.error = msg.message ?? 'unknown error';
    log(`error: ${state.error}`);
  }
});
