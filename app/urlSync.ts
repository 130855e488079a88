// The one URL sync (replaceState, other keys untouched) for every setting described in store/url.ts. At start
// the query is laid over the store (a shared link wins over stored settings); from then on a change of a
// group's part of the store rewrites that group's keys. A link with `rt-*` keys opens the round-trip tab
// with that scene, one with `ro-*` keys the rollouts tab. Without a scene in the link the gallery's first
// scene is preselected (and kept out of the URL).
import { setTab } from './actions';
import { chooseScene, isPreselected, preselectGalleryScene } from './panels/roundtrip/actions';
import { sanitizeRtSettings } from './panels/roundtrip/settings';
import { useStore, type Store } from './store/store';
import { parseQuery, sanitizeGroup, writeQuery, type UrlGroup, type UrlValues } from './store/url';

interface GroupBinding {
  /** The store parts the group's keys are written from: when one changes, they are rewritten. */
  watch(s: Store): readonly unknown[];
  /** The group's values now (fields as in the table). */
  values(s: Store): object;
  /** Lays the link's values over the store; `present`: the link has some key of the group. */
  apply(values: UrlValues, present: boolean): void;
  /** Whether the keys are written at start (else at the group's first change). */
  writeAtStart: boolean;
}

const BINDINGS: Record<UrlGroup, GroupBinding> = {
  config: {
    watch: (s) => [s.config],
    values: (s) => s.config,
    apply: (values) => useStore.setState((s) => ({ config: sanitizeGroup('config', values, s.config) })),
    writeAtStart: true,
  },
  rollouts: {
    watch: (s) => [s.runs.rollouts.form],
    values: (s) => s.runs.rollouts.form,
    apply: (values, present) => {
      useStore.setState((s) => ({
        runs: { ...s.runs, rollouts: { ...s.runs.rollouts, form: sanitizeGroup('rollouts', values, s.runs.rollouts.form) } },
      }));
      if (present) setTab('rollouts');
    },
    writeAtStart: true,
  },
  train: {
    watch: (s) => [s.runs.liveTrain.form],
    values: (s) => s.runs.liveTrain.form,
    apply: (values, present) => {
      useStore.setState((s) => ({
        runs: { ...s.runs, liveTrain: { ...s.runs.liveTrain, form: sanitizeGroup('train', values, s.runs.liveTrain.form) } },
      }));
      if (present) setTab('training');
    },
    writeAtStart: true,
  },
  bench: {
    watch: (s) => [s.runs.bench.form],
    values: (s) => s.runs.bench.form,
    apply: (values, present) => {
      useStore.setState((s) => ({
        runs: { ...s.runs, bench: { ...s.runs.bench, form: sanitizeGroup('bench', values, s.runs.bench.form) } },
      }));
      if (present) setTab('bench');
    },
    writeAtStart: true,
  },
  // Last, so a link with both wins for the round trip (the tab a first visit opens).
  roundtrip: {
    watch: (s) => [s.runs.roundtrip.settings, s.runs.roundtrip.input],
    // The preselected scene is what every first visit gets: it stays out of the URL until the user picks one.
    values: (s) => ({ ...s.runs.roundtrip.settings, scene: isPreselected() ? undefined : s.runs.roundtrip.input?.sceneSeed }),
    apply: (values, present) => {
      const settings = sanitizeRtSettings(values);
      useStore.setState((s) => ({ runs: { ...s.runs, roundtrip: { ...s.runs.roundtrip, settings } } }));
      if (present) setTab('roundtrip');
      if (typeof values.scene === 'number') void chooseScene(values.scene, 'link');
      else void preselectGalleryScene();
    },
    // The link's scene stays in the URL while it loads.
    writeAtStart: false,
  },
};

const GROUPS = Object.keys(BINDINGS) as UrlGroup[];

function write(group: UrlGroup, s: Store): void {
  const search = writeQuery(group, BINDINGS[group].values(s), location.search);
  if (search !== location.search) history.replaceState(history.state, '', `${location.pathname}${search}${location.hash}`);
}

let started = false;

/** Applies the URL's settings once, then mirrors every change of them back into the URL. Call once, at start. */
export function startUrlSync(): void {
  if (started) return;
  started = true;
  const parsed = parseQuery(location.search);
  for (const g of GROUPS) BINDINGS[g].apply(parsed.values[g], parsed.present[g]);
  for (const g of GROUPS) if (BINDINGS[g].writeAtStart) write(g, useStore.getState());
  useStore.subscribe((s, prev) => {
    for (const g of GROUPS) {
      const now = BINDINGS[g].watch(s);
      const before = BINDINGS[g].watch(prev);
      if (now.some((v, i) => v !== before[i])) write(g, s);
    }
  });
}
