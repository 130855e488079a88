/**
 * The GRPO-update parity fixture on the browser's jax-js devices (issue 18: the WebGPU path proven correct on a
 * fixture): in the bench worker, update.{json,bin} fetched from `fixtureUrl`, each case run on jax-js WASM and then
 * on WebGPU (startTrainDevice with the user's explicit choice, so SwiftShader's fallback adapter is used too), each
 * result compared with PyTorch's values in the fixture, and WebGPU's loss with WASM's.
 */
import { startTrainDevice, type TrainDeviceName } from '../engine/train/device.ts';
import { disposeTrainPrograms } from '../engine/train/update.ts';
import { fixtureDiffs, runFixtureCase, TrainFixture, worstDiff, type FixtureDiffs } from './train-fixture.ts';

/** What the bench page runs (read from its URL). */
export interface BrowserTrainFixtureParams {
  kind: 'train-fixture';
  /** Folder URL holding update.json and update.bin. */
  fixtureUrl: string;
  /** Case names (loss types) to run; empty: every case of the fixture. */
  cases: string[];
  devices: TrainDeviceName[];
}

/** One case on one device. */
export interface FixtureRun {
  device: TrainDeviceName;
  case: string;
  loss: number;
  expectedLoss: number;
  /** Worst |a − b| / max(1, |b|) against PyTorch, per quantity. */
  diffs: FixtureDiffs;
  /** Seconds for the update and both reads after it, the first compile included. */
  seconds: number;
}

/** The report: every run, and WebGPU's loss against WASM's for each case run on both. */
export interface BrowserTrainFixtureReport {
  runs: FixtureRun[];
  gpuVsWasm: { case: string; diff: number }[];
  adapter?: string;
}

async function fetchFixture(url: string): Promise<TrainFixture> {
  const get = async (name: string): Promise<Response> => {
    const r = await fetch(new URL(name, new URL(url, globalThis.location.href)));
    if (!r.ok) throw new Error(`fixture: GET ${name}: HTTP ${r.status}`);
    return r;
  };
  const [json, bin] = await Promise.all([get('update.json').then((r) => r.text()), get('update.bin').then((r) => r.arrayBuffer())]);
  return TrainFixture.parse(json, new Uint8Array(bin));
}

/** Runs the fixture's cases on each device in turn; `say` gets one line per run. */
export async function runBrowserTrainFixture(
  p: BrowserTrainFixtureParams,
  deps: { say(line: string): void; adapter?: string },
): Promise<BrowserTrainFixtureReport> {
  const fx = await fetchFixture(p.fixtureUrl);
  const cases = p.cases.length > 0 ? p.cases : fx.index.cases.map((c) => c.name);
  const runs: FixtureRun[] = [];
  try {
    for (const device of p.devices) {
      const started = await startTrainDevice(device === 'webgpu' ? 'webgpu' : 'wasm', device);
      if (started.device !== device) throw new Error(`fixture: jax-js runs on ${started.device}, not ${device}`);
      for (const name of cases) {
        const c = fx.case(name);
        const t0 = performance.now();
        const r = await runFixtureCase(fx, c);
        const seconds = (performance.now() - t0) / 1000;
        const diffs = fixtureDiffs(fx, c, r);
        const worst = Math.max(...Object.values(diffs));
        deps.say(
          `${device} ${name}: loss ${r.loss} (PyTorch ${c.loss}), worst scaled difference ${worst.toExponential(2)}, ${seconds.toFixed(1)} s`,
        );
        runs.push({ device, case: name, loss: r.loss, expectedLoss: c.loss, diffs, seconds });
      }
    }
  } finally {
    disposeTrainPrograms();
  }
  const gpuVsWasm = cases.flatMap((name) => {
    const w = runs.find((r) => r.case === name && r.device === 'wasm');
    const g = runs.find((r) => r.case === name && r.device === 'webgpu');
    return w && g ? [{ case: name, diff: worstDiff(g.loss, w.loss).worst }] : [];
  });
  return deps.adapter ? { runs, gpuVsWasm, adapter: deps.adapter } : { runs, gpuVsWasm };
}
