import type { Fidelity } from '../../../src/engine/infer/index.ts';
import type { RtRun } from '../../store/roundtrip';
import { Pixels } from './Pixels';

function Scores({ f, label }: { f: Fidelity; label: string }) {
  return (
    <div className="rt-scores">
      <span className="muted">{label}</span> sim {f.sim.toFixed(3)} · PSNR {f.psnr.toFixed(1)} dB · SSIM {f.ssim.toFixed(3)}
    </div>
  );
}

/** The loop's images left to right: the model view, then each reconstruction with its caption and scores. */
export function Filmstrip({ run, size = 128 }: { run: RtRun; size?: number }) {
  const { input } = run;
  const pending = run.status === 'running' ? run.settings.loops - run.loops.length : 0;
  return (
    <ol className="rt-filmstrip" data-testid="rt-filmstrip" aria-label="Loop images and captions">
      <li className="rt-frame" data-testid="rt-frame-0">
        <Pixels rgb={input.modelView} width={input.width} height={input.height} size={size} label="loop 0: the input as the model sees it" />
        <div className="rt-frame-title">input</div>
        <div className="muted small">{input.label}</div>
      </li>
      {run.loops.map((l) => (
        <li key={l.loop} className="rt-frame" data-testid={`rt-frame-${l.loop}`}>
          <Pixels rgb={l.image} width={input.width} height={input.height} size={size} label={`loop ${l.loop} reconstruction`} testId="rt-loop-image" />
          <div className="rt-frame-title">
            loop {l.loop} <span className="muted">· {l.tokens} tokens{l.truncated ? ' (hit the limit)' : ''}</span>
          </div>
          <p className="rt-caption" data-testid="rt-caption" data-tokens={l.tokens}>
            {l.caption ? `“${l.caption}”` : <span className="muted">(empty caption: only special tokens)</span>}
          </p>
          <Scores f={l.vsOriginal} label="vs original:" />
          <Scores f={l.vsPrevious} label="vs previous:" />
          {l.attr && (
            <div className="rt-scores" data-testid="rt-attr">
              <span className="muted">attributes:</span> P {l.attr.precision.toFixed(2)} · R {l.attr.recall.toFixed(2)} · F1 {l.attr.f1.toFixed(2)}
            </div>
          )}
        </li>
      ))}
      {Array.from({ length: pending }, (_, i) => (
        <li key={`p${i}`} className="rt-frame pending" aria-hidden="true">
          <div className="rt-placeholder" style={{ width: size, height: size }} />
          <div className="rt-frame-title muted">loop {run.loops.length + i + 1}{i === 0 ? ' · running…' : ''}</div>
        </li>
      ))}
    </ol>
  );
}
