// The one engine worker of the page and its client. Components never import this: actions do.
// The worker runs under a WorkerSupervisor: when it dies (uncaught error, or no heartbeat reply) a new one
// is started, every pending request fails with 'worker-crashed', and restart listeners (actions) restore
// the backend and the bundle.
import type { EngineClient } from '../src/client/client.ts';
import { supervisedClient, type RestartInfo } from '../src/client/supervisor.ts';

let client: EngineClient | null = null;

/**
 * How long a silent worker is given before it is restarted: the supervisor's 60 s, unless
 * `globalThis.__uaeSilentWorkerMs` (1–60 s) was set before the first engine use — a seam for the resilience E2E,
 * which would otherwise wait a minute for its silent-worker fault.
 */
function silentWorkerMs(): number | undefined {
  const v = (globalThis as { __uaeSilentWorkerMs?: unknown }).__uaeSilentWorkerMs;
  return typeof v === 'number' && v >= 1000 && v <= 60_000 ? v : undefined;
}
const restartListeners = new Set<(info: RestartInfo) => void>();

/** Returns the page's EngineClient, creating the worker on first use (and only then). */
export function engine(): EngineClient {
  if (client) return client;
  const made = supervisedClient(
    () => new Worker(new URL('../src/worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'uae-engine' }),
    'ui',
    silentWorkerMs() ? { timeoutMs: silentWorkerMs() } : {},
  );
  made.supervisor.onRestart((info) => {
    for (const l of restartListeners) l(info);
  });
  client = made.client;
  return client;
}

/** Subscribes to engine worker restarts; returns the unsubscribe function. */
export function onEngineRestart(listener: (info: RestartInfo) => void): () => void {
  restartListeners.add(listener);
  return () => restartListeners.delete(listener);
}

/**
 * Installs the diagnostics handle `globalThis.__uaeEngine` (devtools, and the endurance E2E that drives the
 * engine directly): a function returning the page's client. Called once by main.tsx.
 */
export function exposeEngine(): void {
  Object.defineProperty(globalThis, '__uaeEngine', { value: engine, configurable: true });
}
