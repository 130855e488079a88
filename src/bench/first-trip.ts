/**
 * The benchmark's time to the first result in the app (issue 21): from opening the page, its bundle already cached,
 * to the bundle loaded and to the first round trip finished, on Chromium WASM (measured by bench/app-first-trip.ts).
 */

/** One visit's times, ms from the navigation (the page's performance.now()). */
export interface FirstTripVisit {
  loadedMs: number;
  pressedMs: number;
  finishedMs: number;
}

/** The section of results.json. */
export interface FirstTripSection {
  /** The app link every visit opens (one round trip and its flow steps). */
  link?: string;
  visits?: FirstTripVisit[];
  /** The median visit (by finishedMs), and its round trip's own time (finished − pressed). */
  median?: FirstTripVisit & { tripMs: number };
  error?: string;
}

const ms = (x: number): string => x.toFixed(0);

/** Returns the Markdown lines of the section (none when it did not run). */
export function renderFirstTripMarkdown(f: FirstTripSection | undefined, steadyTripMs: number | undefined): string[] {
  if (!f) return [];
  const lines = ['', '## Time to the first round trip in the app (Chromium WASM, bundle cached)', ''];
  if (f.error || !f.median || !f.visits) return [...lines, `FAILED: ${(f.error ?? 'no visit').split('\n')[0]}`];
  lines.push(
    `The built app opened at \`${f.link ?? ''}\` after a first visit stored the bundle in the Cache API; Run pressed the ` +
      `moment it is enabled. Times from the navigation; median of ${f.visits.length} visits (each: ` +
      `${f.visits.map((v) => ms(v.finishedMs)).join(', ')} ms).`,
    '',
    '| bundle loaded ms | Run pressed ms | round trip finished ms | that round trip ms | steady round trip ms (chromium-wasm-2t stage) | first ÷ steady |',
    '|---:|---:|---:|---:|---:|---:|',
  );
  const m = f.median;
  const ratio = steadyTripMs ? `${(m.tripMs / steadyTripMs).toFixed(2)}×` : '–';
  lines.push(
    `| ${ms(m.loadedMs)} | ${ms(m.pressedMs)} | ${ms(m.finishedMs)} | ${ms(m.tripMs)} | ${steadyTripMs?.toFixed(0) ?? '–'} | ${ratio} |`,
  );
  return lines;
}
