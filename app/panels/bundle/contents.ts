// What a loaded bundle holds, in words, counted from its manifest (never from a description text, which
// is written by hand and can fall behind a re-export): the encoder checkpoints the training tab's scrubber
// steps through and the recorded runs. Plain values, unit-tested in Node.
import type { BundleManifest } from '../../../src/engine/manifest.ts';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Returns "step 10", "steps 10 and 20" or "steps 10–100" (ascending). */
function stepsText(steps: readonly number[]): string {
  const s = [...steps].sort((a, b) => a - b);
  if (s.length === 1) return `step ${s[0]}`;
  return s.length === 2 ? `steps ${s[0]} and ${s[1]}` : `steps ${s[0]}–${s.at(-1)}`;
}

/**
 * Returns the sentences saying what the bundle holds besides its roles, each number counted from the
 * manifest: "11 encoder checkpoints: the cold start (step 0, the reference encoder's weights) and 10 from
 * training (steps 10–100).", "1 vision backbone besides the scorer: i2i, image-image CNN (no captions)." and "2
 * recorded runs." (none when it has none of them).
 */
export function bundleContents(manifest: Pick<BundleManifest, 'roles'>): string[] {
  const { checkpoints = [], runs = [], backbones = [], referenceEncoder } = manifest.roles;
  const out: string[] = [];
  if (checkpoints.length > 0) {
    const cold = checkpoints.filter((c) => c.step === 0);
    const trained = checkpoints.filter((c) => c.step !== 0);
    const isReference =
      cold.length === 1 &&
      referenceEncoder !== undefined &&
      cold[0].encoder.vision === referenceEncoder.vision &&
      cold[0].encoder.decoder === referenceEncoder.decoder;
    const parts = [
      ...(cold.length > 0 ? [`the cold start (step 0${isReference ? ', the reference encoder’s weights' : ''})`] : []),
      ...(trained.length > 0 ? [`${trained.length} from training (${stepsText(trained.map((c) => c.step))})`] : []),
    ];
    out.push(`${plural(checkpoints.length, 'encoder checkpoint')}: ${parts.join(' and ')}.`);
  }
  if (backbones.length > 0)
    out.push(
      `${plural(backbones.length, 'vision backbone')} besides the scorer: ${backbones.map((b) => `${b.id}, ${b.label}`).join('; ')}.`,
    );
  if (runs.length > 0) out.push(`${plural(runs.length, 'recorded run')}.`);
  return out;
}
