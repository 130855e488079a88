import { useEffect, useState } from 'react';
import { replayFinished, replayPosition, type ReplayState } from '../../../src/engine/runs/index.ts';
import { pauseReplay } from './actions';

/**
 * Returns the replay's position, whole steps, re-rendering once per animation frame while playing but
 * only when the step changes (logged steps are integers, so nothing between them would be drawn).
 * Pauses the replay when it reaches the end.
 */
export function useReplayStep(replay: ReplayState | null): number | null {
  const at = (r: ReplayState, t: number) => (replayFinished(r, t) ? r.end : Math.floor(replayPosition(r, t)));
  const [step, setStep] = useState<number | null>(() => (replay ? at(replay, performance.now()) : null));
  useEffect(() => {
    if (!replay) return;
    let frame = 0;
    const tick = () => {
      const t = performance.now();
      setStep(at(replay, t));
      if (!replay.playing) return;
      if (replayFinished(replay, t)) pauseReplay();
      else frame = requestAnimationFrame(tick);
    };
    // the first reading too on the next frame: state is never set synchronously inside the effect
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [replay]);
  return replay ? step : null;
}
