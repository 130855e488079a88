/**
 * Stage 2 of Unified-GRPO as models/uae/rl.py runs it, for Node and the browser worker alike. Each step: draw the
 * step's training scenes, sample G captions per image with the CURRENT policy, reconstruct and reward them through
 * the frozen decoder and scorer (the rollouts engine), take group advantages and the cold start's log-probs, then
 * `iterations` GRPO updates (update.ts) and one log row under TRL's names (grpo.ts's report). The policy has one
 * source of truth: the float32 weights of the jax-js updater; after each step they are written into the cold start's
 * decoder graph (float32 storage) and the ORT session the next group is sampled with is rebuilt from it.
 */
import type { InferenceSession } from 'onnxruntime-web';
import { createRng, mix32, sceneSeed } from '../../shapes/rng.ts';
import { EngineError } from '../errors.ts';
import { grpoReport, nanMean } from '../grpo.ts';
import type { EncoderRole } from '../manifest.ts';
import { bundlePixels, encodeImages, gatherRows, runEval, type InferContext, type SessionSource } from '../infer/index.ts';
import { resolveImage, runRollouts, type RolloutImage, type RolloutSettings } from '../rollouts/index.ts';
import { archFromWeights, graphWithParams, paramsFromGraph } from './bundle-weights.ts';
import { checkTrainConfig, type TrainConfig } from './config.ts';
import { readWeights } from './onnx-weights.ts';
import type { DecoderArch, DecoderParams } from './params.ts';
import { GrpoUpdater, RL_ADAMW, type AdamWState, type GrpoUpdateOptions, type RolloutBatch } from './update.ts';

/** The bundle path the policy's decoder session is served under (it is not a bundle file). */
export const POLICY_DECODER_PATH = 'train/policy/decoder_model_merged.onnx';

/** One step's log row: `step`, `learning_rate`, TRL's metric names (reward, kl, loss, completions/*, …), `s_per_step`. */
export type TrainLogRow = Record<string, number>;

/** One held-out evaluation (greedy captions, as `uae eval`). */
export interface TrainEvalRow {
  step: number;
  mean_tokens: number;
  sim: number;
  attr_precision: number;
  attr_recall: number;
  retrieval_top1: number;
  /** The first held-out scene's greedy caption (the PyTorch trainer's `eval/sample_caption`); absent in older saved runs. */
  sample_caption?: string;
}

/** What a checkpoint needs to resume: the steps done, the float32 weights and AdamW's state. */
export interface TrainState {
  step: number;
  params: DecoderParams;
  adam: AdamWState;
}

/**
 * The phases of a step, in order, and the evaluation. 'logprobs' builds the update's batch (the image states the
 * caption decoder attends to); the old log-probs themselves come from the first update (GrpoUpdater.update's fresh).
 */
export type TrainPhase = 'rollouts' | 'logprobs' | 'update' | 'policy' | 'eval';

/** Callbacks of a run; `cancelled` is checked between phases and between session runs. */
export interface TrainHooks {
  onPhase?(step: number, phase: TrainPhase): void;
  onStep?(row: TrainLogRow, outcome: { captions: string[] }): void;
  onEval?(row: TrainEvalRow): void;
  cancelled?(): boolean;
}

/** How a run ended: every step done, cancelled, or stopped by a non-finite loss (the last good state kept). */
export interface TrainResult {
  status: 'done' | 'cancelled' | 'diverged';
  message?: string;
  log: TrainLogRow[];
  eval: TrainEvalRow[];
}

/** What the trainer needs besides its settings. */
export interface TrainerDeps {
  /** The bundle's inference context (decoder, scorer and referenceEncoder roles). */
  ctx: InferContext;
  /** Bytes of the referenceEncoder's decoder graph: the cold start, and the graph trained weights are written into. */
  referenceGraph: Uint8Array;
  /** Creates an ORT session from a model's bytes (the policy's, after every step). */
  createSession: (model: Uint8Array) => Promise<InferenceSession>;
}

/** A non-finite loss or gradient norm. */
export class TrainDivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainDivergedError';
  }
}

/** The bundle's sessions plus the policy's decoder session under POLICY_DECODER_PATH. */
class PolicySessions implements SessionSource {
  current: InferenceSession | null = null;
  constructor(private readonly base: SessionSource) {}
  async get(path: string): Promise<InferenceSession> {
    if (path !== POLICY_DECODER_PATH) return this.base.get(path);
    if (!this.current) throw new EngineError('bad-request', 'train: the policy has no session yet');
    return this.current;
  }
  async replace(next: InferenceSession): Promise<void> {
    const old = this.current;
    this.current = next;
    await old?.release().catch(() => undefined);
  }
}

/** Returns columns [0, cols) of a row-major [rows, width] array, as float64. */
function leadingCols(x: ArrayLike<number>, rows: number, width: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = x[r * width + c];
  return out;
}

/** The stage-2 loop over one bundle. */
export class Stage2Trainer {
  private updater: GrpoUpdater;
  private good: TrainState;
  private readonly t0Step: number;
  private stepSeconds = 0;
  private cancel: (() => boolean) | undefined;

  private constructor(
    readonly config: TrainConfig,
    readonly arch: DecoderArch,
    private readonly deps: TrainerDeps,
    private readonly sessions: PolicySessions,
    /** The inference context whose 'encoder' role is the policy. */
    readonly ctx: InferContext,
    readonly role: EncoderRole,
    state: TrainState,
  ) {
    this.good = state;
    this.t0Step = state.step;
    this.updater = new GrpoUpdater(arch, state.params, this.updateOptions(), { ...RL_ADAMW, lr: config.lr }, state.adam);
  }

  /** Returns a trainer at the cold start, or at `resume` (a state from {@link Stage2Trainer.state}). */
  static async create(deps: TrainerDeps, config: TrainConfig, resume?: TrainState | null): Promise<Stage2Trainer> {
    checkTrainConfig(config);
    const { manifest } = deps.ctx;
    const ref = manifest.roles.referenceEncoder;
    if (!ref) throw new EngineError('bad-request', `train: bundle ${manifest.id} has no referenceEncoder (the cold start)`);
    for (const r of ['decoder', 'scorer'] as const)
      if (!manifest.roles[r]) throw new EngineError('bad-request', `train: bundle ${manifest.id} has no ${r} role`);
    const arch = archFromWeights(readWeights(deps.referenceGraph), ref.numHeads);
    const params = resume?.params ?? paramsFromGraph(deps.referenceGraph, arch);
    const state: TrainState = resume ?? { step: 0, params, adam: { step: 0, m: {}, v: {} } };
    if (!resume) state.adam = { step: 0, m: zeros(params), v: zeros(params) };
    const sessions = new PolicySessions(deps.ctx.sessions);
    const role: EncoderRole = { ...ref, decoder: POLICY_DECODER_PATH };
    const trainer: Stage2Trainer = new Stage2Trainer(
      config,
      arch,
      deps,
      sessions,
      {
        ...deps.ctx,
        sessions,
        manifest: { ...manifest, roles: { ...manifest.roles, encoder: role } },
        checkCancelled: () => {
          deps.ctx.checkCancelled?.();
          if (trainer.cancel?.()) throw new EngineError('cancelled', 'train: cancelled');
        },
      },
      role,
      state,
    );
    await sessions.replace(await deps.createSession(trainer.policyGraph()));
    return trainer;
  }

  private updateOptions(): GrpoUpdateOptions {
    const c = this.config;
    return {
      lossType: c.lossType,
      epsilonLow: c.epsilonLow,
      epsilonHigh: c.epsilonHigh,
      beta: c.beta,
      maxCompletionLength: this.role.maxTokens - 1,
      maskTruncatedCompletions: false,
      temperature: c.temperature,
    };
  }

  /** Steps done (the last good state's). */
  get step(): number {
    return this.good.step;
  }

  /** Returns the last good state (weights and AdamW's state after the last finished step): a checkpoint. */
  state(): TrainState {
    return this.good;
  }

  /** Returns the cold start's decoder graph holding the current weights (float32 storage unless told otherwise). */
  policyGraph(storage: 'float32' | 'same' = 'float32'): Uint8Array {
    return graphWithParams(this.deps.referenceGraph, this.good.params, this.arch, storage);
  }

  /** Returns the images of step `step` (1…): `images` training scenes drawn with replacement from a seeded stream. */
  stepImages(step: number): RolloutImage[] {
    const c = this.config;
    const rng = createRng(mix32(mix32(c.seed, 0x7a11e5), step));
    const { width, height } = this.ctx.manifest.preprocessing.image;
    return Array.from({ length: c.images }, () =>
      resolveImage({ kind: 'scene', seed: sceneSeed(c.trainSeed, rng.int(c.trainScenes)) }, width, height),
    );
  }

  /** Returns the rollout settings of step `step`: rl.py's (current policy, per-rollout decoder noise). */
  private rolloutSettings(step: number): RolloutSettings {
    const c = this.config;
    return {
      groupSize: c.group,
      seed: mix32(c.seed, step),
      temperature: c.temperature,
      topP: 1,
      flowSteps: c.flowSteps,
      guidance: c.guidance,
      reconstructBatch: 16,
      noise: 'rollout',
      rewards: c.rewards,
      lengthPenalty: c.lengthPenalty,
      scaleRewards: c.scaleRewards,
      oldPolicy: { kind: 'current' },
      beta: c.beta,
      epsilonLow: c.epsilonLow,
      epsilonHigh: c.epsilonHigh,
      lossType: c.lossType,
      maskTruncated: false,
    };
  }

  /** Evaluates the current policy on the held-out scenes with greedy captions, as `uae eval` does. */
  async evaluate(): Promise<TrainEvalRow> {
    const c = this.config;
    const { metrics: m, rows } = await runEval(this.ctx, {
      scenes: c.evalScenes,
      seed: c.evalSeed,
      steps: c.evalFlowSteps ?? this.ctx.manifest.defaults.flowSteps,
      captions: { kind: 'encoder' },
      encoder: 'encoder',
    });
    const row = { step: this.step, mean_tokens: m.mean_tokens, sim: m.sim, attr_precision: m.attr_precision, attr_recall: m.attr_recall };
    return { ...row, retrieval_top1: m.retrieval_top1, sample_caption: rows[0]?.caption ?? '' };
  }

  private phase(hooks: TrainHooks, step: number, phase: TrainPhase): void {
    if (hooks.cancelled?.()) throw new EngineError('cancelled', 'train: cancelled');
    hooks.onPhase?.(step, phase);
  }

  /** Runs one step (rollouts, log-probs, updates, the new policy session) -> its log row; throws TrainDivergedError. */
  async trainStep(hooks: TrainHooks = {}): Promise<TrainLogRow> {
    const c = this.config;
    const k = this.good.step + 1;
    const t0 = performance.now();
    this.cancel = hooks.cancelled;
    this.phase(hooks, k, 'rollouts');
    const images = this.stepImages(k);
    const out = await runRollouts(this.ctx, images, this.rolloutSettings(k));
    this.phase(hooks, k, 'logprobs');
    const B = images.length;
    const G = c.group;
    const N = B * G;
    const width = this.role.maxTokens;
    const T = width - 1;
    const { width: W, height: H } = this.ctx.manifest.preprocessing.image;
    const pixels = new Uint8Array(B * W * H * 3);
    images.forEach((im, i) => pixels.set(im.image, i * W * H * 3));
    const hidden = await encodeImages(this.ctx, bundlePixels(this.ctx, pixels, B), 'encoder');
    const enc = gatherRows(
      hidden,
      Array.from({ length: N }, (_, r) => Math.floor(r / G)),
    );
    const ids = new Int32Array(N * width).fill(this.role.padId);
    const refLogp = new Float32Array(N * T);
    out.records.forEach((rec, r) => {
      ids[r * width] = this.role.bosId;
      ids.set(rec.completion, r * width + 1);
      if (rec.refLogp) refLogp.set(rec.refLogp, r * T);
    });
    const base: RolloutBatch = {
      numSequences: N,
      ids,
      width,
      lengths: out.records.map((r) => r.completion.length),
      truncated: out.records.map((r) => (r.truncated ? 1 : 0)),
      advantages: out.summary.advantages,
      oldLogp: new Float32Array(N * T),
      refLogp: c.beta === 0 ? null : refLogp,
      enc: enc.data,
      encLength: hidden.dims[1],
    };
    this.phase(hooks, k, 'update');
    const Tc = out.input.maxLen;
    const appended: Record<string, number[]> = {};
    const append = (key: string, v: number): void => void (appended[key] ??= []).push(v);
    // rl.py: old log-probs teacher-forced under the policy that sampled, fixed for every iteration. Before the first
    // update the policy is that one, so the first update's own log-probs are them (no separate pass); later ones reuse them.
    let oldLogp: Float32Array | null = null;
    for (let i = 0; i < c.iterations; i++) {
      const batch: RolloutBatch = { ...base, oldLogp: oldLogp ?? base.oldLogp };
      const res = await this.updater.update(batch, { fresh: oldLogp === null });
      oldLogp ??= res.logp;
      if (!Number.isFinite(res.loss) || !Number.isFinite(res.gradNorm)) {
        this.restore();
        throw new TrainDivergedError(
          `train: step ${k}, iteration ${i + 1}: the loss is ${res.loss} and the gradient norm ${res.gradNorm}; ` +
            `the run stopped and keeps the last good state (step ${this.good.step})`,
        );
      }
      const rep = grpoReport({ ...out.input, logp: leadingCols(res.logp, N, T, Tc), oldLogp: leadingCols(oldLogp, N, T, Tc) });
      for (const [key, v] of Object.entries(rep.loss.metrics)) append(key, v);
      append('loss', res.loss);
      append('grad_norm', res.gradNorm);
    }
    this.phase(hooks, k, 'policy');
    const params = await this.updater.params();
    this.good = { step: k, params, adam: await this.updater.state() };
    await this.sessions.replace(await this.deps.createSession(this.policyGraph()));
    const seconds = (performance.now() - t0) / 1000;
    this.stepSeconds += seconds;
    const row: TrainLogRow = { step: k, learning_rate: c.lr, ...out.report.metrics };
    for (const [key, vs] of Object.entries(appended)) row[key] = nanMean(vs);
    row.s_per_step = Math.round((100 * this.stepSeconds) / (k - this.t0Step)) / 100;
    hooks.onStep?.(row, { captions: out.records.map((r) => r.caption) });
    return row;
  }

  /** Rebuilds the updater from the last good state (after a diverged update). */
  private restore(): void {
    this.updater.dispose();
    this.updater = new GrpoUpdater(this.arch, this.good.params, this.updateOptions(), { ...RL_ADAMW, lr: this.config.lr }, this.good.adam);
  }

  /** Runs the remaining steps with evaluations at step 0 (a fresh run), every evalEvery steps and the last step. */
  async run(hooks: TrainHooks = {}): Promise<TrainResult> {
    const c = this.config;
    const log: TrainLogRow[] = [];
    const evals: TrainEvalRow[] = [];
    this.cancel = hooks.cancelled;
    const evaluate = async (): Promise<void> => {
      this.phase(hooks, this.step, 'eval');
      const row = await this.evaluate();
      evals.push(row);
      hooks.onEval?.(row);
    };
    try {
      if (this.step === 0) await evaluate();
      while (this.step < c.steps) {
        log.push(await this.trainStep(hooks));
        if (this.step % c.evalEvery === 0 || this.step === c.steps) await evaluate();
      }
      return { status: 'done', log, eval: evals };
    } catch (e) {
      if (e instanceof TrainDivergedError) return { status: 'diverged', message: e.message, log, eval: evals };
      if (e instanceof EngineError && e.code === 'cancelled') return { status: 'cancelled', message: e.message, log, eval: evals };
      throw e;
    }
  }

  /** Frees the jax-js weights and the policy session (the bundle's sessions stay with their owner). */
  async dispose(): Promise<void> {
    this.updater.dispose();
    const s = this.sessions.current;
    this.sessions.current = null;
    await s?.release().catch(() => undefined);
  }
}

function zeros(params: DecoderParams): DecoderParams {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, new Float32Array(v.length)]));
}
