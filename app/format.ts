import { formatFixed, zeroNoise } from '../src/engine/rollouts/format.ts';

/** Human-readable byte count: "812 B", "14.2 KB", "3.40 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(2)} MB`;
}

/**
 * A computed number as the panels show it: "0" when it is 0 up to float noise (zeroNoise: |x| ≤ 1e-12 ·
 * max(1, |scale|), so 6.245e-17 and −3e-13 are "0"), 5 decimals from 1e-3 up ("0.12345"), 4 significant
 * digits below that ("1.500e-5"); NaN and ±Infinity as they are. The raw value stays in the store.
 */
export function formatMetric(x: number, scale = 1): string {
  if (!Number.isFinite(x)) return String(x);
  const v = zeroNoise(x, scale);
  if (v === 0) return '0';
  return Math.abs(v) >= 1e-3 ? v.toFixed(5) : v.toExponential(3);
}

/** `x.toFixed(digits)` after zeroNoise: "0.000", never "-0.000" (the CLI's text output uses the same). */
export { formatFixed };

/**
 * An error message as the opening of a sentence: its first letter capitalised when it starts with a plain
 * lower-case word ("choose an image first" → "Choose an image first"); a message that starts with a file
 * name, path or identifier ("notes.txt: …", "scorer/text.onnx (scorer.text): …") is left as it is.
 */
export function sentenceCase(message: string): string {
  const m = /^([a-z][a-z']*)(?=$|[\s,;:!?)])/.exec(message);
  return m ? message[0].toUpperCase() + message.slice(1) : message;
}
