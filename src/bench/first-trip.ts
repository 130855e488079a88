/**
 * The benchmark's time to the first result in the app (issue 21): from opening the page to the bundle loaded and to
 * the first round trip finished (measured by bench/app-first-trip.ts, on Chromium WASM and WebGPU). Four kinds of
 * visit: a fresh profile's first visit or one with the bundle cached, Run pressed the moment it is enabled (the
 * warm-up after the load gives way to it) or once the warm-up is over; every visit then runs two more round trips,
 * the last of them the app's own steady round trip.
 */
import { median } from './timing.ts';

/** When a visit presses Run. */
export type FirstTripMode = 'at-once' | 'after-warm-up';

/** One visit's times, ms from the navigation (the page's performance.now()). */
export interface FirstTripVisit {
  /** Absent in results made before the warm-up existed: 'at-once'. */
  mode?: FirstTripMode;
  /** False: the first visit of a fresh browser profile (bundle downloaded, nothing compiled yet); absent: true. */
  cached?: boolean;
  loadedMs: number;
  /** after-warm-up: when the badge said the warm-up was over, and how it ended ('done', 'gave-way', 'failed'). */
  warmedMs?: number;
  warmUp?: string;
  /** The warm-up's rounds (ms), as the badge reports them (done only). */
  warmUpMs?: number;
  pressedMs: number;
  finishedMs: number;
  /** The third round trip of the visit (finished − pressed): the app's steady round trip. */
  steadyTripMs?: number;
}

/** A visit kind's median visit (by finishedMs), the median first round trip (finished − pressed) and the median steady trip. */
export type FirstTripMedian = FirstTripVisit & { tripMs: number; steadyMs?: number };

/** The section of results.json. */
export interface FirstTripSection {
  /** The app link every visit opens (one round trip and its flow steps). */
  link?: string;
  visits?: FirstTripVisit[];
  /** Bundle cached, Run pressed at once. */
  median?: FirstTripMedian;
  /** Bundle cached, Run pressed after the warm-up. */
  warmMedian?: FirstTripMedian;
  /** A fresh profile's first visit, Run pressed at once / after the warm-up. */
  coldMedian?: FirstTripMedian;
  coldWarmMedian?: FirstTripMedian;
  error?: string;
}

const ms = (x: number): string => x.toFixed(0);

/** Returns the median visit of `visits` (by finishedMs) with the median of their first round trips and of their steady ones. */
export function medianVisit(visits: readonly FirstTripVisit[]): FirstTripMedian | undefined {
  if (visits.length === 0) return undefined;
  const m = [...visits].sort((a, b) => a.finishedMs - b.finishedMs)[Math.floor(visits.length / 2)];
  const steady = visits.flatMap((v) => (v.steadyTripMs === undefined ? [] : [v.steadyTripMs]));
  return { ...m, tripMs: median(visits.map((v) => v.finishedMs - v.pressedMs)), ...(steady.length ? { steadyMs: median(steady) } : {}) };
}

/** Returns the visits of one kind (cached or a fresh profile's first; pressed at once or after the warm-up). */
export function visitsOf(visits: readonly FirstTripVisit[], cached: boolean, mode: FirstTripMode): FirstTripVisit[] {
  return visits.filter((v) => (v.cached ?? true) === cached && (v.mode ?? 'at-once') === mode);
}

/** Returns the Markdown lines of the section (none when it did not run). */
export function renderFirstTripMarkdown(
  f: FirstTripSection | undefined,
  steadyTripMs: number | undefined,
  backend: 'wasm' | 'webgpu' = 'wasm',
): string[] {
  if (!f) return [];
  const title = backend === 'wasm' ? 'Chromium WASM' : 'Chromium WebGPU on SwiftShader: shader compilation and overhead, not GPU speed';
  const lines = ['', `## Time to the first round trip in the app (${title})`, ''];
  if (f.error || !f.median || !f.visits) return [...lines, `FAILED: ${(f.error ?? 'no visit').split('\n')[0]}`];
  const kinds = [
    { label: 'first visit, at once', cached: false, mode: 'at-once', m: f.coldMedian },
    { label: 'first visit, after the warm-up', cached: false, mode: 'after-warm-up', m: f.coldWarmMedian },
    { label: 'bundle cached, at once', cached: true, mode: 'at-once', m: f.median },
    { label: 'bundle cached, after the warm-up', cached: true, mode: 'after-warm-up', m: f.warmMedian },
  ] as const;
  const shown = kinds.filter((k) => k.m !== undefined);
  lines.push(
    `The built app opened at \`${f.link ?? ''}\` in fresh browser profiles: their first visit downloads the bundle into ` +
      `the Cache API and compiles everything for the first time; later visits find the bundle cached. Run pressed the ` +
      `moment it is enabled (the warm-up after the load gives way to it), or once the warm-up is over; each visit then ` +
      `runs two more round trips, the last one the app's steady round trip. Times from the navigation, of the median ` +
      `visit of each kind (by round trip finished); round trip times are the medians over the visits of a kind (finished: ` +
      shown
        .map(
          (k) =>
            `${k.label}: ${visitsOf(f.visits!, k.cached, k.mode)
              .map((v) => ms(v.finishedMs))
              .join(', ')} ms`,
        )
        .join('; ') +
      ').',
    '',
    '| visit, Run pressed | bundle loaded ms | warm-up over ms | Run pressed ms | round trip finished ms | that round trip ms | steady round trip ms (app) | first ÷ steady (app) | steady round trip ms (chromium-wasm-2t stage) | first ÷ stage |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  const row = (label: string, m: FirstTripMedian): string => {
    const app = m.steadyMs ? `${(m.tripMs / m.steadyMs).toFixed(2)}×` : '–';
    const stage = steadyTripMs ? `${(m.tripMs / steadyTripMs).toFixed(2)}×` : '–';
    const warm = m.warmedMs === undefined ? '–' : `${ms(m.warmedMs)}${m.warmUp && m.warmUp !== 'done' ? ` (${m.warmUp})` : ''}`;
    return `| ${label} | ${ms(m.loadedMs)} | ${warm} | ${ms(m.pressedMs)} | ${ms(m.finishedMs)} | ${ms(m.tripMs)} | ${m.steadyMs?.toFixed(0) ?? '–'} | ${app} | ${steadyTripMs?.toFixed(0) ?? '–'} | ${stage} |`;
  };
  for (const k of shown) lines.push(row(k.label, k.m!));
  return lines;
}
