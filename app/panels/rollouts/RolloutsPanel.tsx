import { useMemo } from 'react';
import { rasterizeScene, sampleScene } from '../../../src/shapes/index.ts';
import { useStore } from '../../store/store';
import { Pixels } from '../../components/Pixels';
import { RolloutCharts } from './Charts';
import { Controls } from './Controls';
import { flowStepsSentence } from './derive';
import { Metrics } from './Metrics';
import { RolloutsTable } from './RolloutsTable';
import type { RolloutsRun } from '../../store/rolloutsSlice';
import './rollouts.css';

const PHASE: Record<string, string> = {
  sample: 'sampling captions, step',
  logprobs: 'teacher-forced log-probs',
  reconstruct: 'reconstructing and scoring',
};

/** The images of the form before a run: the first scenes (or the uploaded image) as the model sees them. */
function Preview() {
  const form = useStore((s) => s.runs.rollouts.form);
  const upload = useStore((s) => s.runs.rollouts.upload);
  const size = useStore((s) => s.engine.bundle?.manifest.preprocessing.image.width ?? 64);
  const scenes = useMemo(() => {
    if (form.source !== 'scene' || !Number.isInteger(form.sceneSeed) || form.sceneSeed < 0) return [];
    const n = Math.min(Math.max(1, Number.isInteger(form.batch) ? form.batch : 1), 16);
    return Array.from({ length: n }, (_, i) => ({
      label: `scene ${(form.sceneSeed + i) >>> 0}`,
      rgb: rasterizeScene(sampleScene((form.sceneSeed + i) >>> 0), size),
    }));
  }, [form.source, form.sceneSeed, form.batch, size]);
  const items = form.source === 'image' ? (upload ? [{ label: upload.label, rgb: upload.rgb }] : []) : scenes;
  return (
    <section className="card ro-preview" aria-label="Images">
      <h3>{items.length > 1 ? `${items.length} images` : 'Image'}</h3>
      {items.length === 0 && <p className="muted small">Choose an image file.</p>}
      <div className="ro-inputs">
        {items.map((it) => (
          <figure key={it.label}>
            <Pixels rgb={it.rgb} width={size} height={size} size={items.length > 1 ? 72 : 128} label={it.label} />
            <figcaption className="small">{it.label}</figcaption>
          </figure>
        ))}
      </div>
    </section>
  );
}

/** One line: status, what is running, sampling cost, timings. */
function Status({ run }: { run: RolloutsRun }) {
  const N = run.settings.groupSize * Math.max(1, run.inputs.length);
  const p = run.progress;
  const t = run.result?.timing;
  return (
    <div className="ro-status" data-testid="ro-status" data-status={run.status} aria-live="polite">
      <span className={`tag rt-status ${run.status}`}>{run.status}</span>
      <span data-testid="ro-count">
        {run.rows.length} / {N} rollouts scored
      </span>
      {p && run.status === 'running' && (
        <span className="muted">
          {PHASE[p.phase]} {p.phase === 'logprobs' ? '' : `${p.done}/${p.total}`}
        </span>
      )}
      {run.sampled && (
        <span className="muted" data-testid="ro-sampled">
          {run.sampled.captions} captions sampled together in {run.sampled.decoderRuns} decoder runs ({(run.sampled.ms / 1000).toFixed(2)}{' '}
          s)
        </span>
      )}
      <span className="muted" data-testid="ro-flow-steps" data-flow-steps={run.flowSteps}>
        {flowStepsSentence(run)}
      </span>
      {t && (
        <span className="muted">
          total {(t.total / 1000).toFixed(2)} s · reconstruct {(t.reconstruct / 1000).toFixed(2)} s · {run.backend} · {run.bundleId}
        </span>
      )}
    </div>
  );
}

/** Rollouts: a GRPO group of captions for an image, reconstructed and rewarded, with every GRPO number. */
export function RolloutsPanel() {
  const run = useStore((s) => s.runs.rollouts.run);
  const lossType = useStore((s) => s.runs.rollouts.run?.settings.lossType ?? s.runs.rollouts.form.lossType);
  return (
    <section className="ro-panel" data-testid="rollouts-panel">
      <h2>Rollouts: one GRPO step, scored</h2>
      <p className="muted">
        Unified-GRPO’s “generation for understanding”: the encoder is the policy. It samples a group of G captions for the same image (one
        decoder run per step for the whole group), the frozen decoder redraws the image from each caption, and the reward is reconstruction
        fidelity. Advantages are group-relative, KL is the k3 estimate against the reference encoder (teacher-forced on the same captions),
        and the loss is shown under every TRL aggregation.
      </p>
      <div className="ro-top">
        <Controls />
        <Preview />
      </div>
      {run ? (
        <div className="ro-run">
          <Status run={run} />
          {run.result && <Metrics result={run.result} lossType={lossType} />}
          <RolloutsTable run={run} />
          <RolloutCharts run={run} />
        </div>
      ) : (
        <p className="muted">
          Score a group to see its captions, reconstructions, rewards and advantages here, row by row as each finishes.
        </p>
      )}
    </section>
  );
}
