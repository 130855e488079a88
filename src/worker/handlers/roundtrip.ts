/** The `roundtrip` request handler: the engine's round-trip job, its loops streamed as partials. */
import { checkRoundTripParams, runRoundTripJob } from '../../engine/roundtrip/index.ts';
import { defineJob } from '../job.ts';

/** Registers the `roundtrip` handler on a host: one partial per finished loop (streamed: progress partials in between), then a summary. */
export const registerRoundTrip = defineJob('roundtrip', {
  roles: ['encoder', 'decoder', 'scorer'],
  check: (req, { manifest }) => checkRoundTripParams(req, manifest.preprocessing.image),
  async run({ params, request, manifest, infer }) {
    const ctx = infer();
    const t0 = performance.now();
    let done = 0;
    request.progress({ phase: 'run', loaded: 0, total: params.loops });
    await runRoundTripJob(
      ctx,
      params,
      (loop) => {
        request.partial(loop);
        request.progress({ phase: 'run', loaded: ++done, total: params.loops });
      },
      request.checkCancelled,
      (p) => request.partial({ kind: 'progress', ...p }),
    );
    return { loops: done, ms: performance.now() - t0, bundleId: manifest.id };
  },
});
