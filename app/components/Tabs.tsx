import { useRef, type KeyboardEvent } from 'react';
import { useStore } from '../store/store';
import { setTab } from '../actions';
import type { Tab } from '../store/types';

/** The tabs in order: the round trip (what the app opens on) first, the model bundle's files last. */
export const TABS: { id: Tab; label: string }[] = [
  { id: 'roundtrip', label: 'Round trip' },
  { id: 'rollouts', label: 'Rollouts' },
  { id: 'training', label: 'Training' },
  { id: 'bench', label: 'Bench' },
  { id: 'bundle', label: 'Model bundle' },
];

/** WAI-ARIA tablist: arrow keys / Home / End move between tabs, the active tab alone is in the tab order. */
export function Tabs() {
  const tab = useStore((s) => s.ui.tab);
  // A panel's error shows on its own tab only; elsewhere its tab carries a mark, so it is not lost.
  const errorTab = useStore((s) => s.engine.error?.tab);
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const onKey = (e: KeyboardEvent, index: number) => {
    const last = TABS.length - 1;
    const next = { ArrowRight: index === last ? 0 : index + 1, ArrowLeft: index === 0 ? last : index - 1, Home: 0, End: last }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    setTab(TABS[next].id);
    refs.current[next]?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label="Panels">
      {TABS.map((t, i) => (
        <button
          key={t.id}
          ref={(el) => {
            refs.current[i] = el;
          }}
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          data-testid={`tab-${t.id}`}
          aria-selected={tab === t.id}
          aria-controls={`panel-${t.id}`}
          tabIndex={tab === t.id ? 0 : -1}
          onClick={() => setTab(t.id)}
          onKeyDown={(e) => onKey(e, i)}
        >
          {t.label}
          {errorTab === t.id && tab !== t.id ? (
            <span className="tab-alert" data-testid={`tab-alert-${t.id}`} title="An error on this tab: open it to read it">
              <span aria-hidden="true">!</span>
              <span className="sr-only"> (an error)</span>
            </span>
          ) : null}
        </button>
      ))}
    </div>
  );
}
