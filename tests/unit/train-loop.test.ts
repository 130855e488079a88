// The stage-2 loop (src/engine/train/trainer.ts) on the shipped bundle with tiny settings: rows are finite and under
// TRL's names, the weights change after a step and the next group is sampled from them (the policy session computes
// what a session built from the trainer's float32 weights computes), cancel stops between phases, and a non-finite loss
// stops the run keeping the last good state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBundleDir, type NodeEngine } from '../../src/cli/io.ts';
import { completionLogProbs, createInferContext, encodeImages, bundlePixels, type InferContext } from '../../src/engine/infer/index.ts';
import { STAGE2_PRESET, type TrainConfig } from '../../src/engine/train/config.ts';
import { initJaxNode } from '../../src/engine/train/node.ts';
import { removeOrtWorkerGlobal } from '../../src/engine/train/node-worker.ts';
import { Stage2Trainer, type TrainerDeps } from '../../src/engine/train/trainer.ts';

const TINY: TrainConfig = {
  ...STAGE2_PRESET,
  steps: 2,
  group: 2,
  images: 2,
  flowSteps: 1,
  lr: 1e-3,
  evalEvery: 2,
  evalScenes: 2,
  evalFlowSteps: 1,
};
let engine: NodeEngine;
let deps: TrainerDeps;

beforeAll(async () => {
  await initJaxNode();
  engine = await openBundleDir('public/models/uae-shapes');
  removeOrtWorkerGlobal();
  const ctx = createInferContext({ ort: engine.ort, tracker: engine.tracker, sessions: engine.sessions, bundle: engine.bundle });
  deps = {
    ctx,
    referenceGraph: engine.bundle.files.get(ctx.manifest.roles.referenceEncoder!.decoder)!,
    createSession: (m) => engine.ort.InferenceSession.create(m, { executionProviders: ['wasm'] }),
  };
});
afterAll(async () => {
  await engine.sessions.release();
});

/** Log-probs of a fixed completion on a trainer's first step image under the policy and under another role. */
async function logp(ctx: InferContext, role: 'encoder' | 'referenceEncoder', image: Uint8Array): Promise<number[]> {
  const hidden = await encodeImages(ctx, bundlePixels(ctx, image, 1), role);
  const [lp] = await completionLogProbs(ctx, hidden, [[5, 9, 12, 7, 2]], { role });
  return Array.from(lp);
}

describe('stage-2 trainer', () => {
  it('runs: finite TRL-named rows, evaluations at step 0 and the last step; the weights change and the next group uses them', async () => {
    const trainer = await Stage2Trainer.create(deps, TINY);
    try {
      const image = trainer.stepImages(1)[0].image;
      const cold = await logp(trainer.ctx, 'encoder', image);
      expect(cold).toEqual(await logp(trainer.ctx, 'referenceEncoder', image));
      const before = trainer.state().params['layers.0.mlp.0.weight'].slice();
      const phases: string[] = [];
      const res = await trainer.run({ onPhase: (_s, p) => phases.push(p) });
      expect(res.status).toBe('done');
      expect(res.log.map((r) => r.step)).toEqual([1, 2]);
      for (const row of res.log) {
        for (const k of [
          'learning_rate',
          'reward',
          'reward_std',
          'frac_reward_zero_std',
          'completions/mean_length',
          'kl',
          'entropy',
          'loss',
        ])
          expect(Number.isFinite(row[k]), `${k} = ${row[k]}`).toBe(true);
        expect(Object.keys(row)).toContain('clip_ratio/region_mean');
        expect(Object.keys(row)).toContain('rewards/sim/mean');
      }
      expect(res.eval.map((e) => e.step)).toEqual([0, 2]);
      expect(Object.keys(res.eval[0])).toEqual([
        'step',
        'mean_tokens',
        'sim',
        'attr_precision',
        'attr_recall',
        'retrieval_top1',
        'sample_caption',
      ]);
      expect(phases.slice(0, 5)).toEqual(['eval', 'rollouts', 'logprobs', 'update', 'policy']);
      const after = trainer.state().params['layers.0.mlp.0.weight'];
      expect(trainer.state().step).toBe(2);
      expect(Math.max(...after.map((v, i) => Math.abs(v - before[i])))).toBeGreaterThan(1e-5);
      // The policy session the next group is sampled with is the trainer's float32 weights.
      const now = await logp(trainer.ctx, 'encoder', image);
      expect(Math.max(...now.map((v, i) => Math.abs(v - cold[i])))).toBeGreaterThan(1e-4);
      const fresh = await deps.createSession(trainer.policyGraph());
      const direct = await Stage2Trainer.create({ ...deps, createSession: async () => fresh }, TINY, trainer.state());
      expect(await logp(direct.ctx, 'encoder', image)).toEqual(now);
      await direct.dispose();
    } finally {
      await trainer.dispose();
    }
  });

  it('a non-finite loss stops the run with a clear message and keeps the last good state; cancel stops between phases', async () => {
    const trainer = await Stage2Trainer.create(deps, { ...TINY, steps: 3 });
    try {
      const good = trainer.state();
      const u = (trainer as unknown as { updater: { update: () => Promise<unknown> } }).updater;
      u.update = async () => ({ loss: NaN, gradNorm: 1, logp: new Float32Array(0) });
      const res = await trainer.run();
      expect(res.status).toBe('diverged');
      expect(res.message).toMatch(/loss is NaN.*last good state \(step 0\)/);
      expect(trainer.state()).toBe(good);
      let calls = 0;
      const cancelled = await trainer.run({ cancelled: () => ++calls > 2 });
      expect(cancelled.status).toBe('cancelled');
      expect(trainer.state().step).toBe(0);
    } finally {
      await trainer.dispose();
    }
  });
});
