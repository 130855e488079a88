import { FallbackNotice } from './components/BackendBadge';
import { ErrorBanner } from './components/ErrorBanner';
import { Header } from './components/Header';
import { Tabs } from './components/Tabs';
import { BenchPanel } from './panels/bench/BenchPanel';
import { BundlePanel, OriginPrompt } from './panels/bundle/BundlePanel';
import { RolloutsPanel } from './panels/rollouts/RolloutsPanel';
import { RoundTripPanel } from './panels/roundtrip/RoundTripPanel';
import { TrainingPanel } from './panels/training/TrainingPanel';
import { useStore } from './store/store';

/** The page: header, error banner, tabs, and the active panel. */
export function App() {
  const tab = useStore((s) => s.ui.tab);
  return (
    <div className="app">
      <Header />
      <FallbackNotice />
      <ErrorBanner />
      <OriginPrompt />
      <Tabs />
      <main className="panel" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} tabIndex={0}>
        {tab === 'bundle' ? (
          <BundlePanel />
        ) : tab === 'roundtrip' ? (
          <RoundTripPanel />
        ) : tab === 'rollouts' ? (
          <RolloutsPanel />
        ) : tab === 'bench' ? (
          <BenchPanel />
        ) : (
          <TrainingPanel />
        )}
      </main>
    </div>
  );
}
