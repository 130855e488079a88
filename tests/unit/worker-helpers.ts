// Worker-side setup shared by the host tests: onnxruntime-web's WASM backend on one thread, and an EngineHost
// joined to an EngineClient by a real MessageChannel (structured clone + transfer, as with a Worker).
import * as ort from 'onnxruntime-web';
import { afterEach } from 'vitest';
import { EngineClient } from '../../src/engine/client.ts';
import type { BackendInfo } from '../../src/protocol/messages.ts';
import { EngineHost, type HostDeps, type WebGpuProbe } from '../../src/worker/host.ts';
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
export function connectHost(deps: Partial<HostDeps> = {}, probe: WebGpuProbe = { ok: false, reason: 'no navigator.gpu in Node' }): Connected {
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
export async function connectBundle(dir: string, register: (host: EngineHost) => void): Promise<Connected> {
  const { fetch, base } = folderFetch(dir);
  const connected = connectHost({ fetch });
  register(connected.host);
  await connected.client.loadBundle({ kind: 'url', baseUrl: base }).done;
  return connected;
}
