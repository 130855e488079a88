/** The `warmUp` request handler: warm-up rounds on the loaded bundle, pre-empted by any other request (queue.ts). */
import { EngineError } from '../../engine/errors.ts';
import { warmUp, WARMUP_DEFAULTS } from '../../engine/infer/warmup.ts';
import { defineJob } from '../job.ts';

function bounded(name: string, v: unknown, fallback: number, max: number, min = 1): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new EngineError('bad-request', `warmUp: ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
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
    minMs: bounded('minMs', req.minMs, WARMUP_DEFAULTS.minMs, 60_000, 0),
    maxRounds: bounded('maxRounds', req.maxRounds, WARMUP_DEFAULTS.maxRounds, 1000),
    window: bounded('window', req.window, WARMUP_DEFAULTS.window, 20),
    settle: settleOf(req.settle),
  }),
  run: ({ params, infer }) => warmUp(infer(), { ...WARMUP_DEFAULTS, ...params, now: () => performance.now() }),
});
