/** The `warmUp` request handler: warm-up rounds on the loaded bundle, pre-empted by any other request (queue.ts). */
import { EngineError } from '../../engine/errors.ts';
import { warmUp, WARMUP_DEFAULTS } from '../../engine/infer/warmup.ts';
import { defineJob } from '../job.ts';

function bounded(name: string, v: unknown, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)
    throw new EngineError('bad-request', `warmUp: ${name} must be an integer in [1, ${max}], got ${String(v)}`);
  return v;
}

function settleOf(v: unknown): number {
  if (v === undefined) return WARMUP_DEFAULTS.settle;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1))
    throw new EngineError('bad-request', `warmUp: settle must be a number in [0, 1], got ${String(v)}`);
  return v;
}

/** Registers the `warmUp` handler on a host. */
export const registerWarmUp = defineJob('warmUp', {
  roles: ['encoder', 'decoder', 'scorer'],
  check: (req) => ({
    budgetMs: bounded('budgetMs', req.budgetMs, WARMUP_DEFAULTS.budgetMs, 60_000),
    maxRounds: bounded('maxRounds', req.maxRounds, WARMUP_DEFAULTS.maxRounds, 100),
    settle: settleOf(req.settle),
  }),
  run: ({ params, infer }) => warmUp(infer(), { ...WARMUP_DEFAULTS, ...params, now: () => performance.now() }),
});
