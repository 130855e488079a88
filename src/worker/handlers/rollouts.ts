/**
 * The `rollouts` request handler: resolves the image sources, runs src/engine/rollouts' runRollouts on
 * the loaded bundle, and streams its progress and finished rollouts as partials. Every partial carries
 * copies of the arrays, because posting transfers (detaches) them and the run still needs its own.
 */
import { EngineError } from '../../engine/errors.ts';
import { resolveImage, runRollouts, type RolloutImage, type RolloutImageSource, type RolloutRecord } from '../../engine/rollouts/index.ts';
import type { RolloutsParams } from '../../protocol/rollouts.ts';
import { defineJob } from '../job.ts';

/** Returns a copy of a record whose typed arrays share no buffer with the original. */
export function copyRecord(r: RolloutRecord): RolloutRecord {
  return {
    ...r,
    ids: r.ids.slice(),
    completion: r.completion.slice(),
    logp: r.logp.slice(),
    refLogp: r.refLogp?.slice() ?? null,
    oldLogp: r.oldLogp?.slice() ?? null,
    entropy: r.entropy.slice(),
    scores: { ...r.scores },
    image: r.image.slice(),
  };
}

/** Returns a copy of an input image (own buffer). */
function copyImage(im: RolloutImage): RolloutImage {
  return { ...im, image: im.image.slice() };
}

/** Returns the sources of `raw` params, checked; throws EngineError('bad-request') naming the bad one. */
export function checkSources(raw: unknown): RolloutImageSource[] {
  const sources = (raw as Partial<RolloutsParams> | null)?.sources;
  if (!Array.isArray(sources) || sources.length === 0) throw new EngineError('bad-request', 'rollouts: sources must be a non-empty array');
  if (sources.length > 16) throw new EngineError('bad-request', `rollouts: at most 16 images per batch, got ${sources.length}`);
  sources.forEach((s: RolloutImageSource, i) => {
    if (s?.kind === 'scene') return;
    const ok =
      s?.kind === 'pixels' &&
      (s.data instanceof Uint8Array || s.data instanceof Uint8ClampedArray) &&
      (s.channels === 3 || s.channels === 4) &&
      Number.isInteger(s.width) &&
      Number.isInteger(s.height) &&
      s.width > 0 &&
      s.height > 0 &&
      s.data.length === s.width * s.height * s.channels;
    if (!ok)
      throw new EngineError(
        'bad-request',
        `rollouts: sources[${i}] must be {kind:'scene', seed} or pixels whose data is width·height·channels bytes`,
      );
  });
  return sources;
}

/** Registers the `rollouts` handler on a host: the input images, progress and finished rollouts as partials, then the summary. */
export const registerRollouts = defineJob('rollouts', {
  roles: ['encoder', 'decoder', 'scorer'],
  check(req, { manifest }) {
    if (typeof req.settings !== 'object' || req.settings === null) throw new EngineError('bad-request', 'rollouts: settings are missing');
    const { width, height } = manifest.preprocessing.image;
    return { images: checkSources(req).map((s) => resolveImage(s, width, height)), settings: req.settings };
  },
  async run({ params: { images, settings }, request, manifest, infer }) {
    request.partial({ kind: 'inputs', images: images.map(copyImage) });
    const { summary } = await runRollouts(infer(), images, settings, {
      onProgress: (phase, done, total) => request.partial({ kind: 'progress', phase, done, total }),
      onSampled: (info) => request.partial({ kind: 'sampled', ...info }),
      onRollouts: (records, scored, total) => request.partial({ kind: 'rollouts', rollouts: records.map(copyRecord), scored, total }),
    });
    return { ...summary, bundleId: manifest.id };
  },
});
