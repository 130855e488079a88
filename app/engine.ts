// The one engine worker of the page and its client. Components never import this: actions do.
import { EngineClient } from '../src/engine/client.ts';

let client: EngineClient | null = null;

/** Returns the page's EngineClient, creating the worker on first use (and only then). */
export function engine(): EngineClient {
  if (client) return client;
  const worker = new Worker(new URL('../src/worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'uae-engine' });
  const c = new EngineClient(worker, 'ui');
  worker.addEventListener('error', (e) => {
    c.failAll({ code: 'worker-crashed', message: e.message || 'the engine worker stopped' });
  });
  client = c;
  return c;
}
