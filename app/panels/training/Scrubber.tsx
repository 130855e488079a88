import type { CheckpointEntry } from '../../../src/engine/manifest.ts';
import { chooseCheckpoint } from './actions';

/**
 * The checkpoint scrubber: a slider over the bundle's encoder checkpoints (manifest roles.checkpoints),
 * marked on the charts. Evaluating the chosen checkpoint live on the current image is not wired yet.
 */
export function Scrubber({ checkpoints, index }: { checkpoints: CheckpointEntry[]; index: number }) {
  const chosen = checkpoints[Math.min(index, checkpoints.length - 1)];
  return (
    <section className="card scrubber" data-testid="checkpoint-scrubber" aria-labelledby="scrubber-heading">
      <h3 id="scrubber-heading">Checkpoints</h3>
      {checkpoints.length === 0 ? (
        <p className="muted">The loaded bundle has no encoder checkpoints (manifest <code>roles.checkpoints</code>).</p>
      ) : (
        <>
          <div className="row">
            <input
              type="range"
              min={0}
              max={checkpoints.length - 1}
              step={1}
              value={Math.min(index, checkpoints.length - 1)}
              onChange={(e) => chooseCheckpoint(Number(e.target.value))}
              aria-label="Checkpoint"
              aria-valuetext={`${chosen.label} (step ${chosen.step})`}
              list="checkpoint-ticks"
              data-testid="checkpoint-slider"
            />
            <datalist id="checkpoint-ticks">
              {checkpoints.map((c, i) => (
                <option key={c.step} value={i} label={String(c.step)} />
              ))}
            </datalist>
            <span className="mono" data-testid="checkpoint-chosen">
              step {chosen.step} · {chosen.label}
            </span>
          </div>
          <p className="muted small">
            {checkpoints.length} checkpoints, steps {checkpoints.map((c) => c.step).join(', ')}; the chosen one is marked on the charts.
          </p>
        </>
      )}
      {/* SLOT: live evaluation of the chosen checkpoint (caption, reconstruction, sim on the current image).
          Wire it to the inference engine's checkpoint captioning; nothing here computes anything yet. */}
      <div className="eval-slot" data-testid="checkpoint-eval-slot" data-wired="false">
        <strong>Evaluation arrives with the inference engine.</strong> Choosing a checkpoint will caption the current
        image with it, reconstruct the image from that caption and show <code>sim</code> — so captions can be watched
        lengthening as you scrub. Not wired yet: nothing is evaluated here.
      </div>
    </section>
  );
}
