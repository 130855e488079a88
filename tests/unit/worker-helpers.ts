// Worker-side setup shared by the host tests: onnxruntime-web's WASM backend on one thread, and an EngineHost
// joined to an EngineClient by a real MessageChannel (structured clone + transfer, as with a Worker).
import type { InferenceSession } from 'onnxruntime-web';
import * as ort from 'onnxruntime-web';
import { afterEach } from 'vitest';
import { EngineClient } from '../../src/client/client.ts';
import { ortSessionCreator, type SessionCreator } from '../../src/engine/sessions.ts';
import type { BackendInfo } from '../../src/protocol/messages.ts';
import type { WebGpuProbe } from '../../src/worker/backend.ts';
import { EngineHost, type HostDeps } from '../../src/worker/host.ts';
import { folderFetch } from './engine-fixture.ts';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

// Registered in the importing test file (imports run while it is collected): no channel outlives its test.
const open: MessageChannel[] = [];
afterEach(() => {
  for (const ch of open.splice(0)) {
    ch.port1.close();
    ch.port2.close();
  }
});

/** A host and its client; `backends` lists every backend the client was told of, in order. */
export interface Connected {
  host: EngineHost;
  client: EngineClient;
  backends: BackendInfo[];
}

/** Returns a host (ORT WASM, 1 thread, `probe` as the WebGPU probe, `deps` on top) and a client joined by a real MessageChannel. */
export function connectHost(
  deps: Partial<HostDeps> = {},
  probe: WebGpuProbe = { ok: false, reason: 'no navigator.gpu in Node' },
): Connected {
  const ch = new MessageChannel();
  open.push(ch);
  const host = new EngineHost({
    ort,
    post: (event, transfer) => ch.port2.postMessage(event, transfer),
    probeWebGpu: async () => probe,
    maxWasmThreads: 1,
    ...deps,
  });
  ch.port2.addEventListener('message', (e: MessageEvent) => host.handle(e.data));
  ch.port2.start();
  ch.port1.start();
  const client = new EngineClient(ch.port1);
  const backends: BackendInfo[] = [];
  client.onBackend((b) => backends.push(b));
  return { host, client, backends };
}

/** Returns a connected host with `register`'s handlers whose client has loaded the bundle folder `dir` by URL. */
export async function connectBundle(dir: string, register: (host: EngineHost) => void, deps: Partial<HostDeps> = {}): Promise<Connected> {
  const { fetch, base } = folderFetch(dir);
  const connected = connectHost({ fetch, ...deps });
  register(connected.host);
  await connected.client.loadBundle({ kind: 'url', baseUrl: base }).done;
  return connected;
}

/** Session runs and tracked tensors, counted from the host's start. */
export interface Work {
  runs: number;
  tensors: number;
}

/**
 * What the worker did, seen from inside it: every `session.run` of every session the host created, and the
 * tensors its tracker created. `atCancel` is that count at the moment the first `cancel` message reached the
 * host (before the host handled it), so `sinceCancel()` is the work the worker still did after being told
 * to stop; a handler that ignores cancel keeps running session after session there.
 */
export interface WorkMeter {
  now(): Work;
  atCancel: Work | undefined;
  /** Work done since the cancel arrived (throws when no cancel arrived). */
  sinceCancel(): Work;
}

/** Returns `create` whose sessions count their runs into `count`. */
function countingCreator(create: SessionCreator, count: { runs: number }): SessionCreator {
  return async (bytes, backend) => {
    const session = await create(bytes, backend);
    const run = session.run.bind(session) as (...args: unknown[]) => ReturnType<InferenceSession['run']>;
    Object.assign(session, {
      run: (...args: unknown[]) => {
        count.runs++;
        return run(...args);
      },
    });
    return session;
  };
}

/** Like connectBundle, with a WorkMeter on the host (its sessions' runs, its tensors, the cancel's arrival). */
export async function connectMetered(dir: string, register: (host: EngineHost) => void): Promise<Connected & { meter: WorkMeter }> {
  const count = { runs: 0 };
  const connected = await connectBundle(dir, register, { createSession: countingCreator(ortSessionCreator(ort), count) });
  const { host } = connected;
  const now = (): Work => ({ runs: count.runs, tensors: host.tracker.created() });
  const meter: WorkMeter = {
    now,
    atCancel: undefined,
    sinceCancel: () => {
      if (!meter.atCancel) throw new Error('no cancel message reached the host');
      const n = now();
      return { runs: n.runs - meter.atCancel.runs, tensors: n.tensors - meter.atCancel.tensors };
    },
  };
  // The port's listener calls host.handle at each message: an own property in front of it sees the cancel first.
  const handle = host.handle.bind(host);
  host.handle = (message: unknown) => {
    if ((message as { type?: unknown } | null)?.type === 'cancel') meter.atCancel ??= now();
    handle(message);
  };
  return { ...connected, meter };
}
