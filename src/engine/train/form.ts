/**
 * The live trainer's settings as a form of text fields (the Training tab's "Train live", a link's `tl-*` keys): one
 * table of fields (name, label, `uae train` flag, default from LIVE_PRESET), and one parser to a TrainConfig whose
 * checks are checkTrainConfig's, so the page, the link and the CLI refuse the same values with a message naming the field
 * (the form names every invalid field at once).
 */
import { LOSS_TYPES, type LossType } from '../grpo.ts';
import { REWARD_NAMES } from '../rollouts/index.ts';
import { LIVE_PRESET, SHIPPED_RUN_PRESET, STAGE2_PRESET, trainConfigErrors, type TrainConfig } from './config.ts';
import { lengthPenaltyOf, lengthPenaltySpecOf, rewardSpecOf, rewardWeightsOf } from './specs.ts';

/** One field of the form. */
export interface TrainFormFieldSpec {
  /** The form's field name (also the `tl-<key>` URL key's field). */
  field: TrainFormField;
  /** The URL key. */
  key: string;
  label: string;
  /** What the field means (a tooltip). */
  help: string;
  /** The TrainConfig field it sets (checkpointEvery is the live run's own). */
  config: keyof TrainConfig | null;
}

/** The form's fields. */
export type TrainFormField =
  | 'steps'
  | 'group'
  | 'images'
  | 'lr'
  | 'beta'
  | 'loss'
  | 'reward'
  | 'lengthPenalty'
  | 'temperature'
  | 'flowSteps'
  | 'seed'
  | 'evalEvery'
  | 'evalScenes'
  | 'evalSeed'
  | 'checkpointEvery'
  | 'device';

/** The form as the page holds it: every field as typed. */
export type TrainForm = Record<TrainFormField, string>;

/** The fields in display order. */
export const TRAIN_FORM_FIELDS: readonly TrainFormFieldSpec[] = [
  { field: 'steps', key: 'tl-steps', label: 'steps', help: 'GRPO steps (generation batches)', config: 'steps' },
  { field: 'group', key: 'tl-group', label: 'group', help: 'captions sampled per image (G ≥ 2)', config: 'group' },
  { field: 'images', key: 'tl-images', label: 'images', help: 'training images per step', config: 'images' },
  { field: 'lr', key: 'tl-lr', label: 'lr', help: 'AdamW learning rate (> 0)', config: 'lr' },
  { field: 'beta', key: 'tl-beta', label: 'beta', help: 'k3 KL weight to the cold start (≥ 0)', config: 'beta' },
  { field: 'loss', key: 'tl-loss', label: 'loss type', help: `TRL's loss_type (${LOSS_TYPES.join(', ')})`, config: 'lossType' },
  {
    field: 'reward',
    key: 'tl-reward',
    label: 'reward',
    help: `NAME or a mix NAME=W,NAME=W (${REWARD_NAMES.join(', ')})`,
    config: 'rewards',
  },
  {
    field: 'lengthPenalty',
    key: 'tl-penalty',
    label: 'length penalty',
    help: 'none | overlong:MAX:CACHE[:W] | linear:COEF[:W]',
    config: 'lengthPenalty',
  },
  { field: 'temperature', key: 'tl-temp', label: 'temperature', help: 'sampling temperature (> 0)', config: 'temperature' },
  { field: 'flowSteps', key: 'tl-flow-steps', label: 'flow steps', help: "Euler steps of the reward's decoder", config: 'flowSteps' },
  { field: 'seed', key: 'tl-seed', label: 'seed', help: 'seed of the step images, caption sampling and decoder noise', config: 'seed' },
  { field: 'evalEvery', key: 'tl-eval-every', label: 'eval every', help: 'held-out evaluation every K steps', config: 'evalEvery' },
  { field: 'evalScenes', key: 'tl-eval-scenes', label: 'eval scenes', help: 'held-out Shapes scenes per evaluation', config: 'evalScenes' },
  { field: 'evalSeed', key: 'tl-eval-seed', label: 'eval seed', help: 'dataset seed of the held-out scenes', config: 'evalSeed' },
  {
    field: 'checkpointEvery',
    key: 'tl-ckpt-every',
    label: 'checkpoint every',
    help: 'a checkpoint (listed in the scrubber) every K steps and at the last step',
    config: null,
  },
  {
    field: 'device',
    key: 'tl-grad-device',
    label: 'gradient device',
    help: 'jax-js device of the updates: auto (WebGPU when the engine runs on a WebGPU adapter that is not a software fallback), wasm, webgpu',
    config: null,
  },
];

/** The jax-js device choices of the updates (Auto: WebGPU when the engine runs on a real WebGPU adapter, else WASM). */
export const TRAIN_DEVICE_CHOICES = ['auto', 'wasm', 'webgpu'] as const;
export type TrainDeviceChoice = (typeof TRAIN_DEVICE_CHOICES)[number];

/** Returns true when `v` is a gradient device choice. */
export function isTrainDeviceChoice(v: unknown): v is TrainDeviceChoice {
  return (TRAIN_DEVICE_CHOICES as readonly unknown[]).includes(v);
}

/** Checkpoints every this many steps by default (the shipped run's spacing). */
export const DEFAULT_CHECKPOINT_EVERY = 10;

/** The form of a config (and checkpoint spacing). */
export function formOf(c: TrainConfig, checkpointEvery = DEFAULT_CHECKPOINT_EVERY, device: TrainDeviceChoice = 'auto'): TrainForm {
  return {
    steps: String(c.steps),
    group: String(c.group),
    images: String(c.images),
    lr: String(c.lr),
    beta: String(c.beta),
    loss: c.lossType,
    reward: rewardSpecOf(c.rewards),
    lengthPenalty: lengthPenaltySpecOf(c.lengthPenalty),
    temperature: String(c.temperature),
    flowSteps: String(c.flowSteps),
    seed: String(c.seed),
    evalEvery: String(c.evalEvery),
    evalScenes: String(c.evalScenes),
    evalSeed: String(c.evalSeed),
    checkpointEvery: String(checkpointEvery),
    device,
  };
}

/** The live trainer's default preset as a form. */
export const DEFAULT_TRAIN_FORM: Readonly<TrainForm> = formOf(LIVE_PRESET);

/** The PyTorch stage 2's settings (models/uae/config.py RL_ENCODER['full'], reward sim) as a form. */
export const PYTORCH_RUN_FORM: Readonly<TrainForm> = formOf(STAGE2_PRESET);

/** The shipped bundles' stage-2 run's settings as a form (to train live what the overlay shows). */
export const SHIPPED_RUN_FORM: Readonly<TrainForm> = formOf(SHIPPED_RUN_PRESET);

/** An invalid form field: `field` names it, the message starts with its label. */
export class TrainFormError extends RangeError {
  constructor(
    readonly field: TrainFormField,
    message: string,
  ) {
    super(message);
    this.name = 'TrainFormError';
  }
}

function spec(field: TrainFormField): TrainFormFieldSpec {
  return TRAIN_FORM_FIELDS.find((f) => f.field === field) as TrainFormFieldSpec;
}

/** A number typed in full (no empty string, no trailing text); NaN otherwise. */
function num(v: string): number {
  const t = v.trim();
  return t === '' ? NaN : Number(t);
}

/** A form read through: its settings when every field is valid, else every invalid field (one error each, in display order). */
export type TrainFormReading =
  { ok: true; config: TrainConfig; checkpointEvery: number; device: TrainDeviceChoice } | { ok: false; errors: TrainFormError[] };

/**
 * The one parser of the form: reads every field, checks the config with checkTrainConfig's checks (all of them, not
 * only the first failing one), and returns the settings or every invalid field with a message naming it.
 */
export function readTrainForm(form: Readonly<TrainForm>, base: Readonly<TrainConfig> = LIVE_PRESET): TrainFormReading {
  const errors: TrainFormError[] = [];
  const fail = (field: TrainFormField, message: string): void => {
    if (!errors.some((e) => e.field === field)) errors.push(new TrainFormError(field, message));
  };
  // A spec that does not parse is named, and the base value stands in so that the other fields are still checked.
  const parsed = <T>(field: TrainFormField, f: (v: string) => T, fallback: T): T => {
    try {
      return f(form[field] ?? '');
    } catch (e) {
      fail(field, `${spec(field).label} ${e instanceof Error ? e.message : String(e)}`);
      return fallback;
    }
  };
  const loss = (form.loss ?? '').trim();
  if (!(LOSS_TYPES as readonly string[]).includes(loss))
    fail('loss', `loss type must be one of ${LOSS_TYPES.join(', ')}, got '${form.loss ?? ''}'`);
  const config: TrainConfig = {
    ...base,
    steps: num(form.steps),
    group: num(form.group),
    images: num(form.images),
    lr: num(form.lr),
    beta: num(form.beta),
    lossType: (LOSS_TYPES as readonly string[]).includes(loss) ? (loss as LossType) : base.lossType,
    rewards: parsed('reward', rewardWeightsOf, base.rewards),
    lengthPenalty: parsed('lengthPenalty', lengthPenaltyOf, base.lengthPenalty),
    temperature: num(form.temperature),
    flowSteps: num(form.flowSteps),
    seed: num(form.seed),
    evalEvery: num(form.evalEvery),
    evalScenes: num(form.evalScenes),
    evalSeed: num(form.evalSeed),
  };
  for (const e of trainConfigErrors(config)) {
    const f = TRAIN_FORM_FIELDS.find((x) => x.config === e.field || (e.field === 'reward' && x.field === 'reward'));
    if (!f) throw e;
    // The message quotes what was typed, not the number it became (an empty field is not "NaN").
    const why = e.message.replace(/^train: \S+ /, '').replace(/, got [^,]*$/, `, got '${form[f.field] ?? ''}'`);
    fail(f.field, `${f.label} ${why}`);
  }
  const checkpointEvery = num(form.checkpointEvery);
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 1)
    fail('checkpointEvery', `checkpoint every must be an integer ≥ 1, got '${form.checkpointEvery ?? ''}'`);
  const device = (form.device ?? '').trim();
  if (!isTrainDeviceChoice(device))
    fail('device', `gradient device must be one of ${TRAIN_DEVICE_CHOICES.join(', ')}, got '${form.device ?? ''}'`);
  if (errors.length > 0 || !isTrainDeviceChoice(device)) {
    const order = (e: TrainFormError): number => TRAIN_FORM_FIELDS.findIndex((f) => f.field === e.field);
    return { ok: false, errors: errors.sort((a, b) => order(a) - order(b)) };
  }
  return { ok: true, config, checkpointEvery, device };
}

/** Every invalid field of a form (empty when it is valid), each with a message naming it, in display order. */
export function trainFormErrors(form: Readonly<TrainForm>, base: Readonly<TrainConfig> = LIVE_PRESET): TrainFormError[] {
  const r = readTrainForm(form, base);
  return r.ok ? [] : r.errors;
}

/** Returns the config, checkpoint spacing and gradient device of a form; throws TrainFormError naming the first invalid field. */
export function parseTrainForm(
  form: Readonly<TrainForm>,
  base: Readonly<TrainConfig> = LIVE_PRESET,
): {
  config: TrainConfig;
  checkpointEvery: number;
  device: TrainDeviceChoice;
} {
  const r = readTrainForm(form, base);
  if (!r.ok) throw r.errors[0];
  return { config: r.config, checkpointEvery: r.checkpointEvery, device: r.device };
}
