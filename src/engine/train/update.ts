// One GRPO update of the caption decoder, as one iteration of models/uae/rl.py's grpo_iterations: teacher-forced
// tempered log-probs, TRL's clipped surrogate + β·k3 KL aggregated under the loss type, backward, torch's
// clip_grad_norm_ and torch.optim.AdamW's step, all in one jitted jax-js program. The aggregation is grpo.ts's:
// every token's weight comes from its lossTokenWeights (completion mask, loss-type normaliser), so each loss type has
// one definition; grpo.ts's Float64 grpoLoss stays the source of the logged metrics.
import { jit, lax, numpy as np, tree, valueAndGrad, type Array as JaxArray } from '@jax-js/jax';
import { lossTokenWeights, type GrpoLossOptions } from '../grpo.ts';
import { decoderLogits, shiftIds, tokenLogp } from './model.ts';
import {
  decoderParamSpec,
  paramsFromJax,
  paramsToJax,
  zerosLikeParams,
  type DecoderArch,
  type DecoderParams,
  type JaxParams,
} from './params.ts';

/** A jax-js array or a number. */
type JaxArrayLike = JaxArray | number;

/** TRL's loss options of one update (token-level importance sampling) and the log-prob temperature. */
export interface GrpoUpdateOptions extends Pick<
  GrpoLossOptions,
  'lossType' | 'epsilonLow' | 'epsilonHigh' | 'beta' | 'delta' | 'maxCompletionLength' | 'numItemsInBatch' | 'numItemsMode'
> {
  maskTruncatedCompletions?: boolean;
  /** Log-probs are log_softmax(logits / temperature), the sampling temperature (TRL). */
  temperature: number;
}

/** torch.optim.AdamW's options and clip_grad_norm_'s max_norm (uae.rl: weight_decay 0, max_norm 1). */
export interface AdamWOptions {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
}

/** torch's AdamW defaults except weight decay, and uae.rl's clip: set lr. */
export const RL_ADAMW: Omit<AdamWOptions, 'lr'> = { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

/** One generation batch on the host: N rollouts of caption ids and what the loss needs. */
export interface RolloutBatch {
  numSequences: number;
  /** [N·width] row-major, [BOS] completion [PAD]…; the loss is on targets ids[:, 1:], T = width − 1 positions. */
  ids: ArrayLike<number>;
  width: number;
  /** [N] completion tokens (grpo.ts's TokenLayout: EOS included when terminated, no EOS forced when truncated). */
  lengths: ArrayLike<number>;
  truncated?: ArrayLike<number> | null;
  advantages: ArrayLike<number>;
  /** [N·T] log-probs of the policy that sampled (or of the previous iteration). */
  oldLogp: ArrayLike<number>;
  /** [N·T] the reference policy's log-probs; required when beta ≠ 0. */
  refLogp?: ArrayLike<number> | null;
  /** [N·S·dim] the image states row n attends to (the frozen vision encoder's output, repeated per rollout). */
  enc: ArrayLike<number>;
  encLength: number;
}

/** What an update reports. */
export interface UpdateResult {
  loss: number;
  /** The global gradient norm before clipping (clip_grad_norm_'s return value). */
  gradNorm: number;
  /** [N·T] per-token log-probs before the update (for grpo.ts's grpoReport). */
  logp: Float32Array;
}

/** AdamW's state on the host, for a checkpoint: steps taken and both moments by parameter name. */
export interface AdamWState {
  step: number;
  m: DecoderParams;
  v: DecoderParams;
}

/** The differentiable loss's non-differentiated inputs: [N, T] each except adv [N]. */
export interface ObjectiveInputs {
  old: JaxArray;
  /** Reference log-probs; null only with beta = 0 (a number): no KL term. */
  ref: JaxArray | null;
  adv: JaxArray;
  /** grpo.ts's lossTokenWeights: the mask and the loss type's normaliser in one. */
  weights: JaxArray;
}

/** The loss's scalars, numbers or jax-js scalars (each read once): clip range [clipLow, clipHigh] = [1−ε_low, 1+ε_high]. */
export interface ObjectiveScalars {
  clipLow: JaxArrayLike;
  clipHigh: JaxArrayLike;
  beta: JaxArrayLike;
  /** Upper bound on the unclipped ratio (grpo.ts's delta); null = none. */
  delta?: JaxArrayLike | null;
}

/** Returns Σ_tokens w·(−min(ρA, clip(ρ, clipLow, clipHigh)A) + β·k3) with ρ = e^(logp−old) (capped at delta): TRL's loss. */
export function grpoObjective(logp: JaxArray, x: ObjectiveInputs, o: ObjectiveScalars): JaxArray {
  const n = logp.shape[0];
  const coef1 = np.exp(logp.ref.sub(x.old));
  const coef2 = np.clip(coef1.ref, o.clipLow, o.clipHigh);
  const capped = o.delta == null ? coef1 : np.minimum(coef1, o.delta);
  const a = x.adv.reshape([n, 1]);
  let perToken = np.minimum(capped.mul(a.ref), coef2.mul(a)).neg();
  if (x.ref) {
    // off the mask (weight 0) the difference is zeroed before exp: no inf·0 from a far-off PAD log-prob
    const d = x.ref.sub(logp).mul(np.notEqual(x.weights.ref, 0).astype(x.weights.dtype));
    perToken = perToken.add(np.exp(d.ref).sub(d).sub(1).mul(o.beta));
  } else {
    if (o.beta !== 0) throw new RangeError('beta ≠ 0 needs reference log-probs');
    logp.dispose();
  }
  return perToken.mul(x.weights).sum();
}

type DeviceBatch = Record<string, JaxArray>;
type StepOutput = [JaxParams, JaxParams, JaxParams, JaxArray, JaxArray, JaxArray];

/** The per-step scalars of the compiled update, in this order (one float32 vector). */
const HYPER = [
  'stepSize',
  'sqrtBc2',
  'decay',
  'beta1',
  'oneMinusBeta1',
  'beta2',
  'oneMinusBeta2',
  'eps',
  'maxGradNorm',
  'clipLow',
  'clipHigh',
  'beta',
  'temperature',
  'delta',
  'fresh',
  'selfRef',
] as const;
type Hyper = Record<(typeof HYPER)[number], JaxArray>;

/** The traced update: loss + grad, global-norm clip, AdamW; consumes every argument. */
function traceStep(
  arch: DecoderArch,
  withDelta: boolean,
  P: JaxParams,
  m: JaxParams,
  v: JaxParams,
  hp: JaxArray,
  b: DeviceBatch,
): StepOutput {
  const names = decoderParamSpec(arch).map(([n]) => n);
  const h = Object.fromEntries(np.split(hp, HYPER.length).map((x, i) => [HYPER[i], x])) as Hyper;
  const lossFn = (Q: JaxParams, c: DeviceBatch): [JaxArray, JaxArray] => {
    const logp = tokenLogp(Q, { inp: c.inp, enc: c.enc }, c.tgt, arch, h.temperature.ref);
    // fresh = 1 (old passed as zeros): the old log-probs are these, before the update (rl.py's old pass, same weights)
    const old = c.old.add(lax.stopGradient(logp.ref).sub(c.old.ref).mul(h.fresh.ref));
    // selfRef = 1 (beta = 0 without reference log-probs; ref passed as zeros): the old ones stand in, KL term 0
    const ref = c.ref.add(old.ref.sub(c.ref.ref).mul(h.selfRef.ref));
    const x = { old, ref, adv: c.adv, weights: c.weights };
    const o = { clipLow: h.clipLow.ref, clipHigh: h.clipHigh.ref, beta: h.beta.ref, delta: withDelta ? h.delta.ref : null };
    return [grpoObjective(logp.ref, x, o), logp];
  };
  const [[loss, logp], g] = valueAndGrad(lossFn, { hasAux: true })(tree.ref(P), b);
  const gnorm = np.sqrt(names.map((n) => np.square(g[n].ref).sum()).reduce((s, x) => s.add(x)));
  // torch.nn.utils.clip_grad_norm_: g · min(max_norm / (‖g‖ + 1e-6), 1)
  const scale = np.minimum(h.maxGradNorm.ref.div(gnorm.ref.add(1e-6)), 1);
  const nP: JaxParams = {};
  const nM: JaxParams = {};
  const nV: JaxParams = {};
  for (const n of names) {
    // torch.optim.AdamW (torch 1.13 _single_tensor_adamw): decay, moments, bias-corrected step
    const gi = g[n].mul(scale.ref);
    const mi = m[n].mul(h.beta1.ref).add(gi.ref.mul(h.oneMinusBeta1.ref));
    const vi = v[n].mul(h.beta2.ref).add(np.square(gi).mul(h.oneMinusBeta2.ref));
    const denom = np.sqrt(vi.ref).div(h.sqrtBc2.ref).add(h.eps.ref);
    nP[n] = P[n].mul(h.decay.ref).sub(mi.ref.div(denom).mul(h.stepSize.ref));
    nM[n] = mi;
    nV[n] = vi;
  }
  scale.dispose();
  tree.dispose(h);
  return [nP, nM, nV, loss, gnorm, logp];
}

/** The compiled programs of one architecture (jax-js caches each per input shape): update, log-probs, logits. */
function compile(arch: DecoderArch, withDelta: boolean) {
  return {
    step: jit((P: JaxParams, m: JaxParams, v: JaxParams, hp: JaxArray, b: DeviceBatch) => traceStep(arch, withDelta, P, m, v, hp, b)),
    logp: jit((P: JaxParams, t: JaxArray, b: DeviceBatch) => tokenLogp(P, { inp: b.inp, enc: b.enc }, b.tgt, arch, t)),
    logits: jit((P: JaxParams, b: DeviceBatch) => decoderLogits(P, { inp: b.inp, enc: b.enc }, arch)),
  };
}
type Programs = ReturnType<typeof compile>;
const PROGRAMS = new Map<string, Programs>();

/** Returns the shared programs of an architecture: hyperparameters are inputs, so a new updater does not recompile. */
function programs(arch: DecoderArch, withDelta: boolean): Programs {
  const key = JSON.stringify([arch.vocab, arch.dim, arch.heads, arch.layers, arch.maxLen, withDelta]);
  let p = PROGRAMS.get(key);
  if (!p) PROGRAMS.set(key, (p = compile(arch, withDelta)));
  return p;
}

/** Frees every compiled program (they are shared by all updaters and otherwise live as long as the module). */
export function disposeTrainPrograms(): void {
  for (const p of PROGRAMS.values()) for (const f of Object.values(p)) f.dispose();
  PROGRAMS.clear();
}

/** The default {@link GrpoUpdater.columnStep}. */
export const DEFAULT_COLUMN_STEP = 8;

/** Returns [N·T] from [N·cols] row-major: each row's first min(cols, T) values, then zeros (positions not run). */
function widen(a: ArrayLike<number>, n: number, cols: number, t: number): Float32Array {
  const out = new Float32Array(n * t);
  const m = Math.min(cols, t);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * t + j] = a[i * cols + j];
  return out;
}

/** The caption decoder under GRPO: jax-js weights and AdamW moments, updated in place by {@link GrpoUpdater.update}. */
export class GrpoUpdater {
  private P: JaxParams;
  private m: JaxParams;
  private v: JaxParams;
  private steps: number;
  private readonly programs: Programs;
  /** {@link GrpoUpdater.columns}' rounding: the programs run on a multiple of this many positions. */
  readonly columnStep: number;

  constructor(
    readonly arch: DecoderArch,
    params: DecoderParams,
    readonly options: GrpoUpdateOptions,
    readonly adam: AdamWOptions,
    state?: AdamWState | null,
    columnStep = DEFAULT_COLUMN_STEP,
  ) {
    if (!(Number.isInteger(columnStep) && columnStep >= 1)) throw new RangeError(`columnStep must be an integer >= 1, got ${columnStep}`);
    this.columnStep = columnStep;
    if (!(options.temperature > 0)) throw new RangeError(`temperature must be > 0, got ${options.temperature}`);
    if (!(adam.lr > 0)) throw new RangeError(`lr must be > 0, got ${adam.lr}`);
    if (!(options.beta >= 0)) throw new RangeError(`beta must be >= 0, got ${options.beta}`);
    this.P = paramsToJax(params, arch);
    this.m = state ? paramsToJax(state.m, arch) : zerosLikeParams(arch);
    this.v = state ? paramsToJax(state.v, arch) : zerosLikeParams(arch);
    this.steps = state?.step ?? 0;
    this.programs = programs(arch, options.delta != null);
  }

  /** AdamW steps taken so far. */
  get step(): number {
    return this.steps;
  }

  /**
   * The batch on the device, cut to its first `cols` positions (a causal decoder's log-probs there do not depend on
   * the rest, whose loss weights are 0): inp/tgt int32 [N,cols], enc [N,S,dim], old/ref [N,cols], adv [N], weights
   * [N,cols]. The weights are grpo.ts's on all T positions (every loss type's normaliser as it is), then cut.
   * `fresh`: no old log-probs are read (the update's own stand in); old is zeros.
   */
  private deviceBatch(batch: RolloutBatch, withLoss: boolean, cols: number, fresh = false): DeviceBatch {
    const { numSequences: n, width, encLength: s } = batch;
    const t = width - 1;
    const dim = this.arch.dim;
    const need = (name: string, a: ArrayLike<number> | null | undefined, size: number): ArrayLike<number> => {
      if (!a || a.length !== size) throw new RangeError(`${name} has ${a?.length ?? 0} entries, expected ${size}`);
      return a;
    };
    const f32 = (a: ArrayLike<number>, shape: number[]): JaxArray => np.array(Float32Array.from(a), { shape });
    /** The leading `cols` of each row of an [N, T] array, as a jax-js [N, cols] array. */
    const cut = (a: ArrayLike<number>, dtype?: typeof np.int32): JaxArray => {
      const c = dtype ? new Int32Array(n * cols) : new Float32Array(n * cols);
      const m = Math.min(cols, t); // positions past T (a round shape): token 0, weight 0, after every real one
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) c[i * cols + j] = a[i * t + j];
      return np.array(c, dtype ? { dtype, shape: [n, cols] } : { shape: [n, cols] });
    };
    const { inp, tgt } = shiftIds(batch.ids, n, width);
    const out: DeviceBatch = {
      inp: cut(inp, np.int32),
      tgt: cut(tgt, np.int32),
      enc: f32(need('enc', batch.enc, n * s * dim), [n, s, dim]),
    };
    if (!withLoss) return out;
    const layout = { numSequences: n, maxLen: t, lengths: batch.lengths };
    out.weights = cut(lossTokenWeights(layout, batch.truncated, this.options).weights);
    out.old = fresh ? np.zeros([n, cols]) : cut(need('oldLogp', batch.oldLogp, n * t));
    out.adv = f32(need('advantages', batch.advantages, n), [n]);
    // beta = 0 without reference log-probs: the old ones stand in (selfRef), the KL term is 0·finite = 0 (one
    // program for every beta)
    out.ref = this.selfRef(batch) ? np.zeros([n, cols]) : cut(need('refLogp', batch.refLogp, n * t));
    return out;
  }

  /** Whether the KL's reference is the old log-probs themselves: beta = 0 and no reference log-probs given. */
  private selfRef(batch: RolloutBatch): boolean {
    return this.options.beta === 0 && !batch.refLogp;
  }

  /**
   * Positions the programs run on: the longest completion rounded up to a multiple of `columnStep`, while that fits the
   * decoder's positions (else T). jax-js compiles a program per shape, so each multiple compiles once; the positions
   * after the longest completion carry no loss and cannot change the ones before (causal), so the numbers are those
   * of all T positions. Measured at the shipped size (G=8 × 8 images): an update on 8 positions takes a sixth of one
   * on 47, and one on 48 about half of one on 47 (docs/live-training.md).
   */
  columns(batch: RolloutBatch): number {
    const t = batch.width - 1;
    let longest = 0;
    for (let i = 0; i < batch.numSequences; i++) longest = Math.max(longest, batch.lengths[i]);
    const step = this.columnStep;
    const round = Math.max(step, Math.ceil(longest / step) * step);
    // up to the decoder's positions: T rounds up past T when the architecture has room (47 -> 48 runs faster)
    return round <= this.arch.maxLen ? round : t;
  }

  /**
   * Runs one update on `batch` -> the loss, the gradient norm before clipping and the log-probs before the update.
   * `fresh`: the old log-probs are the policy's own before this update (rl.py's first iteration after its old pass,
   * which these same weights make), computed in the update, and batch.oldLogp is not read.
   */
  async update(batch: RolloutBatch, { fresh = false }: { fresh?: boolean } = {}): Promise<UpdateResult> {
    const cols = this.columns(batch);
    const b = this.deviceBatch(batch, true, cols, fresh);
    const t = ++this.steps;
    const { lr, betas, eps, weightDecay, maxGradNorm } = this.adam;
    const o = this.options;
    // host float64, as torch's Python-side scalars, then float32
    const hyper: Record<(typeof HYPER)[number], number> = {
      stepSize: lr / (1 - betas[0] ** t),
      sqrtBc2: Math.sqrt(1 - betas[1] ** t),
      decay: 1 - lr * weightDecay,
      beta1: betas[0],
      oneMinusBeta1: 1 - betas[0],
      beta2: betas[1],
      oneMinusBeta2: 1 - betas[1],
      eps,
      maxGradNorm,
      clipLow: 1 - o.epsilonLow,
      clipHigh: 1 + o.epsilonHigh,
      beta: o.beta,
      temperature: o.temperature,
      delta: o.delta ?? 0,
      fresh: fresh ? 1 : 0,
      selfRef: this.selfRef(batch) ? 1 : 0,
    };
    const hp = np.array(Float32Array.from(HYPER, (k) => hyper[k]));
    const [P, m, v, loss, gnorm, logp] = this.programs.step(this.P, this.m, this.v, hp, b);
    this.P = P;
    this.m = m;
    this.v = v;
    return {
      loss: (await loss.data())[0],
      gradNorm: (await gnorm.data())[0],
      logp: widen((await logp.data()) as ArrayLike<number>, batch.numSequences, cols, batch.width - 1),
    };
  }

  /** Returns the current policy's per-token log-probs [N·T] on a batch (its ids and enc; the loss inputs are not read). */
  async tokenLogp(batch: RolloutBatch): Promise<Float32Array> {
    const temperature = np.array(Float32Array.from([this.options.temperature]));
    const cols = this.columns(batch);
    const out = this.programs.logp(tree.ref(this.P), temperature, this.deviceBatch(batch, false, cols));
    return widen((await out.data()) as ArrayLike<number>, batch.numSequences, cols, batch.width - 1);
  }

  /** Returns the current policy's logits [N·T·vocab] on a batch. */
  async logits(batch: RolloutBatch): Promise<Float32Array> {
    const t = batch.width - 1;
    const out = this.programs.logits(tree.ref(this.P), this.deviceBatch(batch, false, t));
    return Float32Array.from((await out.data()) as ArrayLike<number>);
  }

  /** Copies the current weights to the host. */
  params(): Promise<DecoderParams> {
    return paramsFromJax(this.P, this.arch);
  }

  /** Copies AdamW's state to the host (with the weights, what a resumable checkpoint needs). */
  async state(): Promise<AdamWState> {
    return { step: this.steps, m: await paramsFromJax(this.m, this.arch), v: await paramsFromJax(this.v, this.arch) };
  }

  /** Frees the weights and the moments (the compiled programs are shared: see disposeTrainPrograms). */
  dispose(): void {
    tree.dispose(this.P);
    tree.dispose(this.m);
    tree.dispose(this.v);
  }
}
