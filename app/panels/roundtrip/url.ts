// Keeps round-trip settings and a scene input in the URL (replaceState, other keys untouched): a link
// with `rt-*` keys opens the round-trip tab with those settings and that scene, so it reproduces a run.
// Without a scene in the link, the gallery's first scene is preselected (and kept out of the URL).
import { setTab } from '../../actions';
import { useStore } from '../../store/store';
import { chooseScene, isPreselected, preselectGalleryScene } from './actions';
import { rtFromQuery, rtToQuery } from './settings';

let started = false;

/** Applies the URL's round-trip settings once, then mirrors every change back into the URL. */
export function syncRoundTripUrl(): void {
  if (started) return;
  started = true;
  const { settings, scene, present } = rtFromQuery(location.search);
  useStore.setState((s) => ({ runs: { ...s.runs, roundtrip: { ...s.runs.roundtrip, settings } } }));
  if (present) setTab('roundtrip');
  if (scene !== undefined) void chooseScene(scene, 'link');
  else void preselectGalleryScene();
  useStore.subscribe((s, prev) => {
    const rt = s.runs.roundtrip;
    const old = prev.runs.roundtrip;
    if (rt.settings === old.settings && rt.input === old.input) return;
    // The preselected scene is what every first visit gets: it stays out of the URL until the user picks one.
    const search = rtToQuery(rt.settings, isPreselected() ? undefined : rt.input?.sceneSeed, location.search);
    if (search !== location.search) history.replaceState(history.state, '', `${location.pathname}${search}${location.hash}`);
  });
}
