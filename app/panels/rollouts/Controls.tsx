import type { ReactNode } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { LOSS_TYPES, REWARD_SCALINGS, type LossType, type RewardScaling } from '../../../src/engine/grpo.ts';
import { findBackbone } from '../../../src/engine/roles.ts';
import { GROUP_SIZE_RANGE, I2I_BACKBONE, REWARD_NAMES, type RewardName } from '../../../src/engine/rollouts/index.ts';
import { setSeed } from '../../actions';
import { useStore } from '../../store/store';
import { cancelRollouts, chooseRolloutsImage, scoreRollouts, setRolloutsForm } from './actions';
import type { RolloutsForm } from '../../store/rolloutsSlice';

const num = (v: string): number => (v.trim() === '' ? NaN : Number(v));

/** A labelled number field bound to one form key. */
function NumberField(props: {
  label: ReactNode;
  field: keyof RolloutsForm;
  value: number;
  min?: number;
  max?: number;
  step?: number;
  disabled: boolean;
  title?: string;
}) {
  const { label, field, value, min, max, step, disabled, title } = props;
  return (
    <label title={title}>
      {label}
      <input
        type="number"
        value={Number.isFinite(value) ? value : ''}
        min={min}
        max={max}
        step={step ?? 'any'}
        disabled={disabled}
        data-testid={`ro-${field}`}
        onChange={(e) => setRolloutsForm({ [field]: num(e.target.value) } as Partial<RolloutsForm>)}
      />
    </label>
  );
}

/** Where the images come from: Shapes scenes (B of them in batch mode) or an image file. */
function Source({ form, disabled }: { form: RolloutsForm; disabled: boolean }) {
  const upload = useStore((s) => s.runs.rollouts.upload);
  return (
    <div className="ro-fields">
      <label>
        Image
        <select
          value={form.source}
          disabled={disabled}
          data-testid="ro-source"
          onChange={(e) => setRolloutsForm({ source: e.target.value as 'scene' | 'image' })}
        >
          <option value="scene">Shapes scene(s)</option>
          <option value="image">an image file</option>
        </select>
      </label>
      {form.source === 'scene' ? (
        <>
          <NumberField label="Scene seed" field="sceneSeed" value={form.sceneSeed} min={0} step={1} disabled={disabled} />
          <NumberField
            label="Images B (batch mode)"
            field="batch"
            value={form.batch}
            min={1}
            max={16}
            step={1}
            disabled={disabled}
            title="B scenes: seed, seed+1, …"
          />
        </>
      ) : (
        <div className="ro-file-field">
          <span id="ro-file-caption">Image file</span>
          <div className="ro-file-row">
            <label className="file-button" data-disabled={disabled}>
              Choose image…
              <input
                type="file"
                accept="image/*"
                className="sr-only"
                disabled={disabled}
                data-testid="ro-file"
                aria-describedby="ro-file-caption"
                onChange={(e) => {
                  const file = e.target.files?.[0];
                  // The name shown is the accepted image's (below), never the input's: a refused file leaves nothing chosen.
                  e.target.value = '';
                  if (file) void chooseRolloutsImage(file);
                }}
              />
            </label>
            <span className="ro-file-name" data-testid="ro-file-name" data-chosen={upload !== null}>
              {upload ? upload.label : 'no image chosen'}
            </span>
          </div>
        </div>
      )}
    </div>
  );
}

/** The rollouts form: image, group and sampling, reward, GRPO settings, and Score / Cancel. */
export function Controls() {
  const form = useStore((s) => s.runs.rollouts.form);
  const seed = useStore((s) => s.config.seed);
  const engine = useStore(useShallow((s) => ({ ready: s.engine.status === 'ready' && !s.engine.loading, bundle: s.engine.bundle })));
  const hasI2i = engine.bundle ? findBackbone(engine.bundle.manifest, I2I_BACKBONE) !== undefined : false;
  const running = useStore((s) => s.runs.rollouts.run?.status === 'running');
  const hasImage = useStore((s) => s.runs.rollouts.form.source === 'scene' || s.runs.rollouts.upload !== null);
  const roles = engine.bundle?.roles ?? [];
  const missing = ['encoder', 'decoder', 'scorer'].filter((r) => !roles.includes(r));
  const checkpoints = engine.bundle?.manifest.roles.checkpoints ?? [];
  const hasRef = roles.includes('referenceEncoder');
  const d = running;
  return (
    <section className="card ro-controls" aria-labelledby="ro-controls-title">
      <h3 id="ro-controls-title">Group</h3>
      <Source form={form} disabled={d} />
      <div className="ro-fields">
        <NumberField
          label={`Group size G (${GROUP_SIZE_RANGE.min}–${GROUP_SIZE_RANGE.max})`}
          field="groupSize"
          value={form.groupSize}
          min={GROUP_SIZE_RANGE.min}
          max={GROUP_SIZE_RANGE.max}
          step={1}
          disabled={d}
        />
        <label>
          Seed
          <input
            type="number"
            min={0}
            step={1}
            value={seed}
            disabled={d}
            data-testid="ro-seed"
            onChange={(e) => setSeed(num(e.target.value))}
          />
        </label>
        <NumberField
          label="Temperature"
          field="temperature"
          value={form.temperature}
          min={0.05}
          step={0.05}
          disabled={d}
          title="Sampling temperature T: tokens are drawn from softmax(logits / T), and every log-prob, ratio, KL and entropy is taken at the same T (TRL)"
        />
        <NumberField label="Top-p" field="topP" value={form.topP} min={0.05} max={1} step={0.05} disabled={d} />
        <NumberField
          label="Reconstruct k at a time"
          field="reconstructBatch"
          value={form.reconstructBatch}
          min={1}
          max={32}
          step={1}
          disabled={d}
          title="Decoder batch; rows appear batch by batch"
        />
        <label title="Euler steps of each reconstruction; empty: the bundle's default">
          Flow steps
          <input
            type="number"
            min={1}
            max={200}
            step={1}
            value={form.flowSteps ?? ''}
            disabled={d}
            data-testid="ro-flowSteps"
            placeholder={engine.bundle ? `${engine.bundle.manifest.defaults.flowSteps} (bundle)` : 'bundle default'}
            onChange={(e) => setRolloutsForm({ flowSteps: e.target.value.trim() === '' ? null : num(e.target.value) })}
          />
        </label>
      </div>
      <h4>Reward</h4>
      <div className="ro-fields">
        <label>
          Reward
          <select
            value={form.reward}
            disabled={d}
            data-testid="ro-reward"
            onChange={(e) => setRolloutsForm({ reward: e.target.value as RewardName | 'mix' })}
          >
            {REWARD_NAMES.map((n) => (
              <option key={n} value={n} disabled={n === I2I_BACKBONE && !hasI2i}>
                {n === I2I_BACKBONE ? `i2i (image-image backbone${hasI2i ? '' : ': not in this bundle'})` : n}
              </option>
            ))}
            <option value="mix">weighted mix</option>
          </select>
        </label>
        {form.reward === 'mix' &&
          REWARD_NAMES.map((n) => (
            <label key={n}>
              w · {n}
              <input
                type="number"
                step="any"
                value={form.weights[n]}
                disabled={d}
                data-testid={`ro-w-${n}`}
                onChange={(e) => setRolloutsForm({ weights: { ...form.weights, [n]: num(e.target.value) } })}
              />
            </label>
          ))}
        <label>
          Length penalty
          <select
            value={form.penalty}
            disabled={d}
            data-testid="ro-penalty"
            onChange={(e) => setRolloutsForm({ penalty: e.target.value as RolloutsForm['penalty'] })}
          >
            <option value="none">none</option>
            <option value="overlong">soft overlong (DAPO)</option>
            <option value="linear">linear −c·length</option>
          </select>
        </label>
        {form.penalty === 'overlong' && (
          <>
            <NumberField label="Max length" field="overlongMax" value={form.overlongMax} min={1} step={1} disabled={d} />
            <NumberField label="Soft cache" field="overlongCache" value={form.overlongCache} min={1} step={1} disabled={d} />
          </>
        )}
        {form.penalty === 'linear' && <NumberField label="c per token" field="linearCoef" value={form.linearCoef} min={0} disabled={d} />}
        {form.penalty !== 'none' && <NumberField label="Penalty weight" field="penaltyWeight" value={form.penaltyWeight} disabled={d} />}
      </div>
      <h4>GRPO</h4>
      <div className="ro-fields">
        <label>
          Advantage scaling
          <select
            value={form.scale}
            disabled={d}
            data-testid="ro-scale"
            onChange={(e) => setRolloutsForm({ scale: e.target.value as RewardScaling })}
          >
            {REWARD_SCALINGS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label title="The ratio's denominator: the current policy (ratio 1) or an earlier checkpoint">
          Old policy
          <select
            value={String(form.old)}
            disabled={d}
            data-testid="ro-old"
            onChange={(e) => setRolloutsForm({ old: e.target.value === 'current' ? 'current' : Number(e.target.value) })}
          >
            <option value="current">current (ratio 1)</option>
            {checkpoints.map((c) => (
              <option key={c.step} value={c.step}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <NumberField
          label="β (KL)"
          field="beta"
          value={form.beta}
          min={0}
          step={0.01}
          disabled={d || !hasRef}
          title={hasRef ? 'k3 KL to the reference encoder' : 'this bundle has no reference encoder'}
        />
        <NumberField label="ε low" field="epsLow" value={form.epsLow} min={0} step={0.01} disabled={d} />
        <NumberField label="ε high" field="epsHigh" value={form.epsHigh} min={0} step={0.01} disabled={d} />
        <label>
          Loss shown as “loss”
          <select
            value={form.lossType}
            disabled={d}
            data-testid="ro-loss-type"
            onChange={(e) => setRolloutsForm({ lossType: e.target.value as LossType })}
          >
            {LOSS_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="row">
        <button
          type="button"
          className="primary"
          disabled={d || !engine.ready || missing.length > 0 || !hasImage}
          data-testid="ro-run"
          onClick={() => void scoreRollouts()}
        >
          Score {form.source === 'scene' && form.batch > 1 ? `${form.batch} groups` : 'group'}
        </button>
        <button type="button" disabled={!d} data-testid="ro-cancel" onClick={cancelRollouts}>
          Cancel
        </button>
        {missing.length > 0 && engine.bundle && (
          <span className="muted small">
            Bundle {engine.bundle.id} has no {missing.join(', ')}: load a UAE bundle.
          </span>
        )}
      </div>
    </section>
  );
}
