import { useStore } from '../../store/store';
import { Pixels } from '../../components/Pixels';
import type { CheckpointEvalView, EvalImage, EvalRunning } from '../../store/trainingSlice';
import { ErrorText } from '../../components/ErrorText';

const PHASE_LABEL: Record<EvalRunning['phase'], string> = {
  queued: 'waiting for the engine',
  sessions: 'opening the checkpoint’s encoder',
  caption: 'captioning (greedy)',
  reconstruct: 'reconstructing from the caption',
  score: 'scoring the reconstruction',
};

function Metrics({ view }: { view: CheckpointEvalView }) {
  const f = view.fidelity;
  return (
    <p className="ck-metrics small">
      <strong data-testid="checkpoint-sim" data-sim={f.sim}>
        sim {f.sim.toFixed(3)}
      </strong>{' '}
      <span className="muted">
        · PSNR {f.psnr.toFixed(1)} dB · SSIM {f.ssim.toFixed(3)}
        {view.attr && ` · attributes P ${view.attr.precision.toFixed(2)} R ${view.attr.recall.toFixed(2)}`}
      </span>
    </p>
  );
}

function Caption({ text, tokens, truncated }: { text: string; tokens: number; truncated: boolean }) {
  return (
    <p className="ck-caption">
      <q data-testid="checkpoint-caption">{text || '(empty caption)'}</q>{' '}
      <span className="tag" data-testid="checkpoint-tokens" data-tokens={tokens}>
        {tokens} token{tokens === 1 ? '' : 's'}
        {truncated ? ' · hit the limit' : ''}
      </span>
    </p>
  );
}

/**
 * What the chosen checkpoint makes of the current image: its greedy caption (with token count), the
 * decoder's reconstruction from that caption and `sim` — or the progress of that evaluation.
 */
export function CheckpointEval(props: {
  step: number;
  label: string;
  evalKey: string | null;
  view: CheckpointEvalView | null;
  image: EvalImage | null;
}) {
  const { step, label, evalKey, view, image } = props;
  const running = useStore((s) => s.runs.training.evalRunning);
  const error = useStore((s) => s.runs.training.evalError);
  // Before the image is known (no key yet) the evaluation starting is the chosen checkpoint's.
  const mine = running && (evalKey ? running.key === evalKey : running.step === step) ? running : null;
  const failed = !view && !mine && error && error.key === evalKey ? error.error : null;
  const state = view ? 'done' : mine ? 'running' : failed ? 'error' : 'idle';
  const size = 128;
  return (
    <div
      className="ck-eval"
      data-testid="checkpoint-eval"
      data-state={state}
      data-step={view?.step ?? step}
      aria-live="polite"
      aria-busy={state === 'running'}
    >
      {image && (
        <p className="muted small" data-testid="checkpoint-image-note" data-fallback={image.fallback}>
          {image.fallback
            ? `No image in the Round trip tab: evaluating on ${image.input.label}. Pick or upload one there to evaluate on yours.`
            : `Evaluating on the Round trip’s image: ${image.input.label}.`}
        </p>
      )}
      <div className="ck-views">
        <figure>
          {image ? (
            <Pixels
              rgba={image.input.preview}
              width={image.input.preview.width}
              height={image.input.preview.height}
              size={size}
              label={`image: ${image.input.label}`}
              testId="checkpoint-original"
              smooth
            />
          ) : (
            <div className="ck-blank" style={{ width: size, height: size }} />
          )}
          <figcaption className="muted small ck-image-label" data-testid="checkpoint-image-label" title={image?.input.label}>
            {image ? (image.fallback ? image.input.label : `your image: ${image.input.label}`) : 'image'}
          </figcaption>
        </figure>
        <figure>
          {view ? (
            <Pixels
              rgb={view.image}
              width={view.width}
              height={view.height}
              size={size}
              label={`reconstruction from the caption of checkpoint step ${view.step}`}
              testId="checkpoint-reconstruction"
            />
          ) : (
            <div className="ck-blank" style={{ width: size, height: size }} />
          )}
          <figcaption className="muted small">reconstruction · step {step}</figcaption>
        </figure>
      </div>
      {view && (
        <>
          <Caption text={view.caption} tokens={view.tokens} truncated={view.truncated} />
          <Metrics view={view} />
        </>
      )}
      {mine && (
        <div className="ck-progress" data-testid="checkpoint-progress" data-phase={mine.phase}>
          <progress value={mine.index} max={mine.total} aria-label={`evaluating ${label}`} />{' '}
          <span className="small">
            {label}: {PHASE_LABEL[mine.phase]} ({mine.index}/{mine.total})
          </span>
          {mine.caption && <Caption text={mine.caption.caption} tokens={mine.caption.tokens} truncated={mine.caption.truncated} />}
        </div>
      )}
      {failed && (
        <p className="ck-error small" data-testid="checkpoint-error" data-code={failed.code}>
          <ErrorText error={failed} />
        </p>
      )}
    </div>
  );
}
