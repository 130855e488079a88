/**
 * The `train` request handler: stage 2 of Unified-GRPO (src/engine/train's Stage2Trainer) on the loaded bundle, jax-js
 * on the gradient device asked for (Auto: WebGPU when the engine runs on a WebGPU adapter that is not a software
 * fallback, else WebAssembly). Each finished step is a partial carrying its log row, the group's
 * captions and a copy of the state after it (posting transfers the arrays; the trainer keeps its own), so the page can
 * keep every step and resume from any. Cancel is seen between phases and session runs; a non-finite loss ends the
 * run with status 'diverged', the last good state being the last step partial's.
 */
import { bundleFile } from '../../engine/bundle.ts';
import { EngineError } from '../../engine/errors.ts';
import { checkTrainConfig, TrainConfigError, type TrainConfig } from '../../engine/train/config.ts';
import { startTrainDevice } from '../../engine/train/device.ts';
import { isTrainDeviceChoice, TRAIN_DEVICE_CHOICES } from '../../engine/train/form.ts';
import type { DecoderParams } from '../../engine/train/params.ts';
import { Stage2Trainer, type TrainEvalRow, type TrainLogRow, type TrainState } from '../../engine/train/trainer.ts';
import type { TrainParams } from '../../protocol/train.ts';
import { gpuOf, probeWebGpu } from '../gpu.ts';
import { defineJob } from '../job.ts';

function bad(message: string): EngineError {
  return new EngineError('bad-request', `train: ${message}`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function isParams(v: unknown): v is DecoderParams {
  return isObj(v) && Object.values(v).every((a) => a instanceof Float32Array);
}

/** Returns a copy of a state whose arrays share no buffer with it. */
export function copyState(s: TrainState): TrainState {
  const copy = (p: DecoderParams): DecoderParams => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.slice()]));
  return { step: s.step, params: copy(s.params), adam: { step: s.adam.step, m: copy(s.adam.m), v: copy(s.adam.v) } };
}

/** Returns `raw` as checked TrainParams, or throws EngineError('bad-request') naming the bad field. */
export function checkTrainParams(raw: unknown): TrainParams {
  const p = (isObj(raw) ? raw : {}) as Partial<Record<keyof TrainParams, unknown>>;
  if (!isObj(p.config)) throw bad('config is missing');
  try {
    checkTrainConfig(p.config as unknown as TrainConfig);
  } catch (e) {
    if (e instanceof TrainConfigError) throw new EngineError('bad-request', e.message);
    throw bad(`config is not a training config (${e instanceof Error ? e.message : String(e)})`);
  }
  const config = p.config as unknown as TrainConfig;
  const k = p.checkpointEvery;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw bad('checkpointEvery must be an integer ≥ 1');
  const device = p.device ?? 'auto';
  if (!isTrainDeviceChoice(device)) throw bad(`device must be one of ${TRAIN_DEVICE_CHOICES.join(', ')}, got '${String(device)}'`);
  if (p.resume !== undefined && p.resume !== null) {
    const r = p.resume as Partial<Record<'state' | 'log' | 'eval', unknown>>;
    const s = (isObj(r.state) ? r.state : {}) as Partial<Record<keyof TrainState, unknown>>;
    if (typeof s.step !== 'number' || !Number.isInteger(s.step) || s.step < 0 || s.step > config.steps)
      throw bad(`resume.state.step must be an integer in [0, ${config.steps}] (the run's steps)`);
    const adam = (isObj(s.adam) ? s.adam : {}) as Record<string, unknown>;
    if (!isParams(s.params) || !isParams(adam.m) || !isParams(adam.v) || typeof adam.step !== 'number')
      throw bad('resume.state must hold params, adam.m and adam.v as float32 arrays by parameter name, and adam.step');
    if (!Array.isArray(r.log) || !Array.isArray(r.eval)) throw bad('resume.log and resume.eval must be arrays of rows');
  }
  return { config, checkpointEvery: k, device, resume: (p.resume as TrainParams['resume']) ?? null };
}

/** Registers the `train` handler on a host: start, phase, step and eval partials, then how the run ended. */
export const registerTrain = defineJob('train', {
  roles: ['decoder', 'scorer', 'referenceEncoder'],
  check: (req) => checkTrainParams(req),
  async run({ params: { config, checkpointEvery, device: choice = 'auto', resume }, request, bundle, sessions, manifest, infer }) {
    const refPath = manifest.roles.referenceEncoder?.decoder ?? '';
    const referenceGraph = refPath ? await bundleFile(bundle, refPath) : undefined;
    if (!referenceGraph) throw bad(`bundle ${manifest.id} has no ${refPath} (the cold start's decoder graph)`);
    const probe = () => probeWebGpu(gpuOf(typeof navigator === 'object' ? navigator : {}));
    const { device, note } = await startTrainDevice(sessions.backend, choice, probe);
    request.checkCancelled();
    const from = resume?.state.step ?? 0;
    const log: TrainLogRow[] = resume ? resume.log.filter((r) => r.step <= from) : [];
    const evals: TrainEvalRow[] = resume ? resume.eval.filter((r) => r.step <= from) : [];
    let trainer: Stage2Trainer;
    try {
      trainer = await Stage2Trainer.create(
        { ctx: infer(), referenceGraph, createSession: (model) => sessions.createSession(model) },
        config,
        resume?.state ?? null,
      );
    } catch (e) {
      if (e instanceof TrainConfigError) throw new EngineError('bad-request', e.message);
      if (e instanceof RangeError)
        throw bad(
          resume ? `the resume state does not fit this bundle's decoder (${e.message})` : `the cold start cannot be trained (${e.message})`,
        );
      throw e;
    }
    const t = trainer;
    try {
      request.partial({ kind: 'start', device, choice, step: t.step, ...(note ? { note } : {}) });
      const cancelled = (): boolean => {
        try {
          request.checkCancelled();
          return false;
        } catch {
          return true;
        }
      };
      const onEval = (row: TrainEvalRow): void => {
        evals.push(row);
        request.partial({ kind: 'eval', row: { ...row } });
      };
      // A run paused during an evaluation resumes with it.
      const due = from > 0 && (from % config.evalEvery === 0 || from === config.steps);
      if (due && !evals.some((e) => e.step === from)) {
        request.partial({ kind: 'phase', step: from, phase: 'eval' });
        onEval(await t.evaluate());
      }
      const res = await t.run({
        cancelled,
        onPhase: (step, phase) => request.partial({ kind: 'phase', step, phase }),
        onStep: (row, { captions }) => {
          log.push(row);
          const checkpoint = row.step % checkpointEvery === 0 || row.step === config.steps;
          request.partial({ kind: 'step', row: { ...row }, captions, state: copyState(t.state()), checkpoint });
        },
        onEval,
      });
      if (res.status === 'cancelled') throw new EngineError('cancelled', res.message ?? 'train: cancelled');
      return { status: res.status, ...(res.message ? { message: res.message } : {}), step: t.step, device, log, eval: evals };
    } finally {
      await t.dispose();
    }
  },
});
