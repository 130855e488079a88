import { useStore, type Store } from './store';

type Update = (s: Store) => Partial<Store>;

// Progress events can arrive hundreds of times a second; the UI needs them once per frame.
const pending = new Map<string, Update>();
let scheduled = 0;

function flush(): void {
  scheduled = 0;
  if (pending.size === 0) return;
  const updates = [...pending.values()];
  pending.clear();
  useStore.setState((s) => updates.reduce<Store>((acc, u) => ({ ...acc, ...u(acc) }), s));
}

/** Queues `update` under `key` (a later one with the same key replaces it) for the next animation frame. */
export function setOnNextFrame(key: string, update: Update): void {
  pending.set(key, update);
  if (!scheduled) scheduled = requestAnimationFrame(flush);
}

/** Applies queued updates now, so a final state is never overwritten by a stale buffered one. */
export function flushFrame(): void {
  if (scheduled) cancelAnimationFrame(scheduled);
  flush();
}

/** Drops queued updates for `key` (e.g. progress of a load that has just finished). */
export function dropPending(key: string): void {
  pending.delete(key);
}
