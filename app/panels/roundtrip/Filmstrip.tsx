import { useEffect, useRef } from 'react';
import type { Fidelity } from '../../../src/engine/infer/index.ts';
import type { RtLive, RtRun } from '../../store/roundtripSlice';
import { useStore } from '../../store/store';
import { liveFor } from './live';
import { Pixels } from '../../components/Pixels';
import { scrollBehavior } from '../../lib/motion';

function Scores({ f, label }: { f: Fidelity; label: string }) {
  return (
    <div className="rt-scores">
      <span className="muted">{label}</span> sim {f.sim.toFixed(3)} · PSNR {f.psnr.toFixed(1)} dB · SSIM {f.ssim.toFixed(3)}
    </div>
  );
}

/** The running frame's status: "encoding the image…", "caption 7 tokens…", "flow step 12/20". */
function liveStatus(live: RtLive | null): string {
  if (!live) return 'encoding the image…';
  return live.phase === 'caption' ? `caption ${live.tokens} token${live.tokens === 1 ? '' : 's'}…` : `flow step ${live.step}/${live.steps}`;
}

/**
 * The running loop's frame: the caption as it grows, then the decoder's current estimate as it sharpens, flow
 * step by flow step (from the worker's streamed progress; the loop's own frame replaces it when it finishes).
 * When a run starts it is scrolled into view if it is below the fold (the least scrolling that shows it).
 */
function LiveFrame({ run, size }: { run: RtRun; size: number }) {
  const loop = run.loops.length + 1;
  const live = useStore((s) => liveFor(s.runs.roundtrip.live, run.id, run.loops.length));
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    ref.current?.scrollIntoView?.({ block: 'nearest', behavior: scrollBehavior() });
  }, [run.id]);
  const { width, height } = run.input;
  const phase = live?.phase ?? 'encoding';
  return (
    <li
      ref={ref}
      className="rt-frame live"
      style={{ width: Math.max(size, 160) + 16 }}
      data-testid="rt-live"
      data-loop={loop}
      data-phase={phase}
      data-tokens={live?.tokens ?? 0}
      data-step={live?.step ?? 0}
    >
      {live?.preview ? (
        <Pixels
          rgb={live.preview}
          width={width}
          height={height}
          size={size}
          label={`loop ${loop}: the decoder's estimate after flow step ${live.previewStep}`}
          testId="rt-live-preview"
        />
      ) : (
        <div className="rt-placeholder" style={{ width: size, height: (size * height) / width }} />
      )}
      <div className="rt-frame-title">
        loop {loop}{' '}
        <span className="muted" data-testid="rt-live-status">
          · {liveStatus(live)}
        </span>
      </div>
      {live?.phase === 'flow' && live.steps > 0 && (
        <progress className="rt-live-bar" value={live.step} max={live.steps} aria-label={`loop ${loop} flow steps`} />
      )}
      <p className="rt-caption" data-testid="rt-live-caption">
        {live && live.text ? `“${live.text}${live.phase === 'caption' ? '' : '”'}` : ''}
        {(!live || live.phase === 'caption') && <span className="rt-caret" aria-hidden="true" />}
      </p>
      {live?.preview && (
        <div className="muted small">
          estimate after step {live.previewStep}/{live.steps}
        </div>
      )}
    </li>
  );
}

/**
 * The loop's images left to right (wrapping onto more rows): the model view, then each reconstruction with its
 * caption and scores; while a run goes, its running loop shows live (larger) and later loops as placeholders.
 */
export function Filmstrip({ run, size = 128, liveSize = 192 }: { run: RtRun; size?: number; liveSize?: number }) {
  const { input } = run;
  const running = run.status === 'running' && run.loops.length < run.settings.loops;
  const pending = running ? run.settings.loops - run.loops.length - 1 : 0;
  return (
    <ol className="rt-filmstrip" data-testid="rt-filmstrip" aria-label="Loop images and captions">
      <li className="rt-frame" data-testid="rt-frame-0">
        <Pixels
          rgb={input.modelView}
          width={input.width}
          height={input.height}
          size={size}
          label="loop 0: the input as the model sees it"
        />
        <div className="rt-frame-title">input</div>
        <div className="muted small">{input.label}</div>
      </li>
      {run.loops.map((l) => (
        <li key={l.loop} className="rt-frame" data-testid={`rt-frame-${l.loop}`}>
          <Pixels
            rgb={l.image}
            width={input.width}
            height={input.height}
            size={size}
            label={`loop ${l.loop} reconstruction`}
            testId="rt-loop-image"
          />
          <div className="rt-frame-title">
            loop {l.loop}{' '}
            <span className="muted">
              · {l.tokens} tokens{l.truncated ? ' (hit the limit)' : ''}
            </span>
          </div>
          <p className="rt-caption" data-testid="rt-caption" data-tokens={l.tokens}>
            {l.caption ? `“${l.caption}”` : <span className="muted">(empty caption: only special tokens)</span>}
          </p>
          <Scores f={l.vsOriginal} label="vs original:" />
          {l.loop === 1 ? (
            <div className="rt-scores muted" data-testid="rt-vs-previous">
              vs previous: = original
            </div>
          ) : (
            <div data-testid="rt-vs-previous">
              <Scores f={l.vsPrevious} label="vs previous:" />
            </div>
          )}
          {l.attr && (
            <div className="rt-scores" data-testid="rt-attr">
              <span className="muted">attributes:</span> P {l.attr.precision.toFixed(2)} · R {l.attr.recall.toFixed(2)} · F1{' '}
              {l.attr.f1.toFixed(2)}
            </div>
          )}
        </li>
      ))}
      {running && <LiveFrame run={run} size={liveSize} />}
      {Array.from({ length: pending }, (_, i) => (
        <li key={`p${i}`} className="rt-frame pending" aria-hidden="true">
          <div className="rt-placeholder" style={{ width: size, height: size }} />
          <div className="rt-frame-title muted">loop {run.loops.length + i + 2}</div>
        </li>
      ))}
    </ol>
  );
}
