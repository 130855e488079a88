import { useEffect } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useStore } from '../../store/store';
import { chooseCheckpoint } from './actions';
import { CheckpointEval } from './CheckpointEval';
import { checkpointSummary, type ScrubberCheckpoint } from './checkpoints';
import { cancelEvaluation, chosenList, keyFor, scheduleEvaluation } from './evaluation';

/**
 * The checkpoint scrubber: a slider (and a list) over the bundle's encoder checkpoints (manifest
 * roles.checkpoints), marked on the charts. The chosen checkpoint is evaluated live on the current image —
 * greedy caption, reconstruction, sim — so captions can be watched lengthening as you scrub; results are
 * kept per checkpoint and image, so going back is instant. When the shown runs are not the ones the
 * checkpoints come from (`belongsTo`: their labels), nothing is evaluated and the panel says whose they are.
 */
export function Scrubber({
  checkpoints,
  index,
  belongsTo,
}: {
  checkpoints: ScrubberCheckpoint[];
  index: number;
  belongsTo: string | null;
}) {
  const at = Math.min(index, checkpoints.length - 1);
  const liveCount = checkpoints.filter((c) => c.live).length;
  const chosen = checkpoints[at];
  const { rtInput, seed, backend, evalImage } = useStore(
    useShallow((s) => ({
      rtInput: s.runs.roundtrip.input,
      seed: s.config.seed,
      backend: s.engine.backend?.backend,
      evalImage: s.runs.training.evalImage,
    })),
  );
  // Keys (and so cached results) of every checkpoint on the current image.
  const keys = useStore(useShallow((s) => checkpoints.map((c) => keyFor(s, c))));
  const views = useStore(useShallow((s) => keys.map((k) => (k ? (s.runs.training.evals[k] ?? null) : null))));
  const canEvaluate = useStore((s) => chosenList(s).length > 0);
  // A checkpoint of the run trained live is evaluated whichever runs are shown.
  const active = canEvaluate && (belongsTo === null || !!chosen?.live);
  // The points are rebuilt on every change of the store: the chosen one is followed by what names it.
  const chosenId = chosen ? `${chosen.live?.runId ?? 'bundle'}:${chosen.step}` : null;
  useEffect(() => {
    if (active && chosenId !== null) scheduleEvaluation();
    else if (belongsTo !== null) cancelEvaluation();
  }, [active, belongsTo, chosenId, rtInput, seed, backend]);
  useEffect(() => () => cancelEvaluation(), []);
  return (
    <section className="card scrubber" data-testid="checkpoint-scrubber" aria-labelledby="scrubber-heading">
      <h3 id="scrubber-heading">Checkpoints</h3>
      {checkpoints.length === 0 ? (
        <p className="muted">
          The loaded bundle has no encoder checkpoints (manifest <code>roles.checkpoints</code>).
        </p>
      ) : (
        <>
          <p className="muted small" data-testid="checkpoint-count" data-count={checkpoints.length - liveCount} data-live={liveCount}>
            {checkpointSummary(checkpoints.filter((c) => !c.live))}, from the bundle’s manifest
            {liveCount > 0 && ` + ${liveCount} of the run trained live`}.
          </p>
          <div className="row">
            <input
              type="range"
              min={0}
              max={checkpoints.length - 1}
              step={1}
              value={at}
              onChange={(e) => chooseCheckpoint(Number(e.target.value))}
              aria-label="Checkpoint"
              aria-valuetext={`${chosen.label} (step ${chosen.step})`}
              list="checkpoint-ticks"
              data-testid="checkpoint-slider"
            />
            <datalist id="checkpoint-ticks">
              {checkpoints.map((c, i) => (
                <option key={`${c.live ? 'live-' : ''}${c.step}`} value={i} label={String(c.step)} />
              ))}
            </datalist>
            <span className="mono" data-testid="checkpoint-chosen">
              step {chosen.step} · {chosen.label}
            </span>
          </div>
          <div className="ck-list" role="group" aria-label="Checkpoints (evaluated ones show tokens and sim)">
            {checkpoints.map((c, i) => {
              const v = views[i];
              return (
                <button
                  key={`${c.live ? 'live-' : ''}${c.step}`}
                  type="button"
                  aria-pressed={i === at}
                  onClick={() => chooseCheckpoint(i)}
                  data-testid={`checkpoint-item-${c.live ? 'live-' : ''}${c.step}`}
                  data-live={!!c.live}
                  data-evaluated={v !== null}
                  title={v ? `“${v.caption}”` : `${c.label}: not evaluated on this image yet`}
                >
                  <span className="mono">{c.step}</span>
                  <span className="small muted">{v ? `${v.tokens} tok · ${v.fidelity.sim.toFixed(2)}` : '—'}</span>
                </button>
              );
            })}
          </div>
          {belongsTo !== null && !chosen.live ? (
            <p className="muted small ck-owner" data-testid="checkpoint-owner-note">
              These checkpoints belong to the bundle’s run {belongsTo}, not to the shown run(s): show it to evaluate them.
            </p>
          ) : canEvaluate ? (
            <CheckpointEval step={chosen.step} label={chosen.label} evalKey={keys[at]} view={views[at]} image={evalImage} />
          ) : (
            <p className="muted small">This bundle lacks the encoder, decoder or scorer role needed to evaluate a checkpoint.</p>
          )}
        </>
      )}
    </section>
  );
}
