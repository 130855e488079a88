import { useStore } from '../store/store';
import type { WarmUpState } from '../store/engineSlice';
import type { BackendInfo } from '../store/types';

/** Header text for the backend in use: "WebGPU · swiftshader", "WASM · 2 threads". */
export function backendLabel(info: BackendInfo): string {
  const name = info.backend === 'webgpu' ? 'WebGPU' : 'WASM';
  return info.adapter ? `${name} · ${info.adapter}` : name;
}

/** The badge's tooltip: why this backend ("Auto chose WASM: the only WebGPU adapter here (…) is a software fallback adapter …"). */
export function badgeWhy(info: BackendInfo): string {
  if (!info.reason) return `${info.requested === 'auto' ? 'Auto chose' : 'Requested'} ${info.backend === 'webgpu' ? 'WebGPU' : 'WASM'}`;
  return `${info.requested === 'auto' ? 'Auto chose' : `Asked for ${info.requested}, running`} WASM: ${info.reason}`;
}

/** Milliseconds the warm-up's rounds took, rounded (undefined unless it is done). */
function warmUpMs(w: WarmUpState | null): number | undefined {
  return w?.status === 'done' ? Math.round(w.roundsMs.reduce((a, b) => a + b, 0)) : undefined;
}

/** The badge's tooltip line about the warm-up after the last load. */
export function warmUpLine(w: WarmUpState | null): string {
  if (!w) return '';
  if (w.status === 'running') return ' · warming up';
  if (w.status === 'done') {
    const n = w.roundsMs.length;
    const [first, last] = [w.roundsMs[0] ?? 0, w.roundsMs[n - 1] ?? 0].map(Math.round);
    return ` · warmed up in ${warmUpMs(w)} ms (${n} round${n === 1 ? '' : 's'}${n > 1 ? `, ${first} → ${last} ms each` : ''})`;
  }
  return w.status === 'gave-way' ? ' · warm-up gave way to the first request' : ` · warm-up failed: ${w.message}`;
}

/**
 * Shows the backend actually in use (not the one asked for) and why it fell back, if it did.
 * data-activity is the worker's own word on what it runs ('idle' once a cancelled request has stopped);
 * data-warmup the warm-up after the last load (none, running, done, gave-way, failed).
 */
export function BackendBadge() {
  const backend = useStore((s) => s.engine.backend);
  const status = useStore((s) => s.engine.status);
  const running = useStore((s) => s.engine.activity.running);
  const activity = running ?? 'idle';
  const warm = useStore((s) => s.engine.warmUp);
  if (!backend) {
    return (
      <span className="badge" data-testid="backend-badge" data-backend="none" data-activity={activity} aria-live="polite">
        <span className="dot" aria-hidden="true" />
        {status === 'failed' ? 'engine failed' : 'starting engine…'}
      </span>
    );
  }
  return (
    <span
      className="badge"
      data-testid="backend-badge"
      data-backend={backend.backend}
      data-activity={activity}
      data-warmup={warm?.status ?? 'none'}
      data-warmup-ms={warmUpMs(warm)}
      title={`${badgeWhy(backend)}${running ? ` · running ${running}` : ''}${warmUpLine(warm)}`}
      aria-live="polite"
    >
      <span className={running ? 'dot busy' : 'dot'} aria-hidden="true" />
      {backendLabel(backend)}
    </span>
  );
}

/**
 * One-line notices about the engine: not on WebGPU although it may have wanted to be (and why), recovered
 * from a lost WebGPU device, restarted after its worker died.
 */
export function FallbackNotice() {
  const reason = useStore((s) => s.engine.backend?.reason);
  const recovered = useStore((s) => s.engine.backend?.recovered);
  const restart = useStore((s) => s.engine.restart);
  return (
    <>
      {reason && (
        <p className="notice" data-testid="backend-reason">
          Running on WASM (CPU): {reason}.
        </p>
      )}
      {recovered && (
        <p className="notice" data-testid="engine-recovered">
          Engine recovered: {recovered}. Run again to retry.
        </p>
      )}
      {restart && (
        <p className="notice" data-testid="engine-restarted" data-restarts={restart.restarts} data-restarted={restart.restarted}>
          {restart.restarted
            ? `The engine worker stopped (${restart.reason}) and was restarted at ${new Date(restart.at).toLocaleTimeString()}${restart.restarts > 1 ? ` (${restart.restarts} restarts)` : ''}; the bundle is reloaded. Runs that were in progress failed: run them again.`
            : `The engine worker stopped (${restart.reason}) too often and was not restarted: reload the page.`}
        </p>
      )}
    </>
  );
}
