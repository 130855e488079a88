import type { ReplayState } from '../../../src/engine/runs/index.ts';
import { pauseReplay, playReplay, restartReplay, seekReplay, setReplaySpeed } from './actions';
import { SPEEDS } from '../../store/trainingSlice';

/** Play / pause, restart, speed (0.5×–8×) and a seek slider over the shown runs' steps. */
export function ReplayControls({ replay, step, speed }: { replay: ReplayState | null; step: number | null; speed: number }) {
  const disabled = replay === null;
  return (
    <div className="replay row" data-testid="replay-controls">
      <button
        type="button"
        className="primary"
        disabled={disabled}
        onClick={replay?.playing ? pauseReplay : playReplay}
        data-testid="replay-play"
        data-playing={replay?.playing ? 'true' : 'false'}
      >
        {replay?.playing ? 'Pause' : 'Play'}
      </button>
      <button type="button" disabled={disabled} onClick={restartReplay} data-testid="replay-restart">
        Restart
      </button>
      <label className="row">
        <span className="muted">Speed</span>
        <select value={speed} disabled={disabled} onChange={(e) => setReplaySpeed(Number(e.target.value))} data-testid="replay-speed">
          {SPEEDS.map((s) => (
            <option key={s} value={s}>
              {s}×
            </option>
          ))}
        </select>
      </label>
      <input
        type="range"
        className="seek"
        aria-label="Replay position (training step)"
        min={replay?.start ?? 0}
        max={replay?.end ?? 0}
        step={1}
        value={step ?? 0}
        disabled={disabled}
        onChange={(e) => seekReplay(Number(e.target.value))}
        data-testid="replay-seek"
      />
      <span className="mono replay-step" data-testid="replay-step">
        {replay ? `step ${step} / ${replay.end}` : 'no run shown'}
      </span>
    </div>
  );
}
