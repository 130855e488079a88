// Small PNG inputs for the round-trip E2E, made with pngjs so their model views are known exactly.
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

/** Returns a w×h PNG object filled with one RGB colour. */
export function solidPng(w, h, rgb) {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) png.data.set([...rgb, 255], i * 4);
  return png;
}

/** Returns the encoded bytes of a PNG object. */
export function pngBytes(png) {
  return PNG.sync.write(png);
}

/**
 * 128×64, left half red, right half blue. The cover policy to 64×64 keeps scale 1 and crops columns 32…95,
 * so the model view is exactly: columns 0…31 red, 32…63 blue (SPLIT.expected, RGB bytes).
 */
export const SPLIT = {
  width: 128,
  height: 64,
  expected: Uint8Array.from({ length: 64 * 64 * 3 }, (_, i) => {
    const x = Math.floor(i / 3) % 64;
    return (x < 32 ? [255, 0, 0] : [0, 0, 255])[i % 3];
  }),
};

/** Writes the split image to `file`. */
export function splitPng(file) {
  const png = new PNG({ width: SPLIT.width, height: SPLIT.height });
  for (let i = 0; i < SPLIT.width * SPLIT.height; i++) png.data.set([...(i % SPLIT.width < 64 ? [255, 0, 0] : [0, 0, 255]), 255], i * 4);
  writeFileSync(file, PNG.sync.write(png));
}
