import { useState, type DragEvent, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { answerOriginPrompt, cancelLoad, loadBundleById, loadBundleFromFiles, loadBundleFromUrl } from '../../actions';
import { useStore } from '../../store/store';
import { filesFromDrop, filesFromInput } from '../../lib/folder';
import { LoadProgressView } from './LoadProgressView';
import { LoadedBundle } from './LoadedBundle';

function Catalog({ busy }: { busy: boolean }) {
  const catalog = useStore((s) => s.ui.catalog);
  const loadedId = useStore((s) => s.engine.bundle?.id);
  if (!catalog) return <p className="muted">Reading the bundle list…</p>;
  return (
    <ul className="catalog" data-testid="catalog">
      {catalog.bundles.map((b) => (
        <li key={b.id}>
          <div>
            <strong>{b.name}</strong> <code className="muted">{b.id}</code>
            {b.id === catalog.defaultId && <span className="tag">default</span>}
            {b.description && <div className="desc">{b.description}</div>}
          </div>
          <button type="button" disabled={busy} onClick={() => void loadBundleById(b.id)} data-testid={`load-${b.id}`}>
            {loadedId === b.id ? 'Reload' : 'Load'}
          </button>
        </li>
      ))}
    </ul>
  );
}

function UrlForm({ busy }: { busy: boolean }) {
  const [url, setUrl] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (url.trim()) void loadBundleFromUrl(url);
  };
  return (
    <form className="row" onSubmit={submit}>
      <label htmlFor="bundle-url" className="sr-only">
        Bundle URL
      </label>
      <input
        id="bundle-url"
        type="url"
        placeholder="https://…/my-bundle/ (folder holding manifest.json)"
        value={url}
        onChange={(e) => setUrl(e.target.value)}
        data-testid="bundle-url"
      />
      <button type="submit" disabled={busy || !url.trim()} data-testid="load-url">
        Load URL
      </button>
    </form>
  );
}

function FolderLoader({ busy }: { busy: boolean }) {
  const [active, setActive] = useState(false);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setActive(false);
    if (busy) return;
    const label = e.dataTransfer.items[0]?.webkitGetAsEntry()?.name ?? 'dropped files';
    void filesFromDrop(e.dataTransfer).then((files) => loadBundleFromFiles(files, `local: ${label}`));
  };
  return (
    <div
      className="dropzone"
      data-active={active}
      data-testid="dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        setActive(true);
      }}
      onDragLeave={() => setActive(false)}
      onDrop={onDrop}
    >
      <p>Drop a bundle folder here, or</p>
      <label className="file-button" data-disabled={busy}>
        Choose a folder…
        <input
          type="file"
          multiple
          className="sr-only"
          disabled={busy}
          data-testid="folder-input"
          // webkitdirectory is not in React's typings; it makes the picker choose folders.
          {...{ webkitdirectory: '' }}
          onChange={(e) => {
            const list = e.currentTarget.files;
            if (!list || list.length === 0) return;
            const files = filesFromInput(list);
            const top = files[0].path.split('/')[0];
            void loadBundleFromFiles(files, `local: ${top}`);
            e.currentTarget.value = '';
          }}
        />
      </label>
      <p className="muted">Files never leave this machine; they are checked against the manifest’s sha256.</p>
    </div>
  );
}

/**
 * Asks before a bundle URL on another origin is fetched; nothing is requested from there until "Load". Shown by the
 * app shell above every tab: a shared link naming such a bundle opens on the round trip, and must ask there.
 */
export function OriginPrompt() {
  const prompt = useStore((s) => s.engine.originPrompt);
  if (!prompt) return null;
  return (
    <div
      className="card notice"
      role="alertdialog"
      aria-labelledby="origin-prompt-title"
      aria-describedby="origin-prompt-text"
      data-testid="origin-prompt"
      data-origin={prompt.origin}
    >
      <h3 id="origin-prompt-title">Load a bundle from another site?</h3>
      <p id="origin-prompt-text">
        <code>{prompt.baseUrl}</code> is on <strong>{prompt.origin}</strong>, not on this app’s own site. Loading it downloads the manifest
        and model files from there (that site sees the requests, not your images); every file is checked against the manifest’s size and
        sha256. Nothing has been requested yet.
      </p>
      <div className="row">
        <button type="button" className="primary" onClick={() => void answerOriginPrompt(true)} data-testid="origin-accept">
          Load from {prompt.origin}
        </button>
        <button type="button" onClick={() => void answerOriginPrompt(false)} data-testid="origin-decline">
          Don’t load
        </button>
      </div>
    </div>
  );
}

/** Choose and load a model bundle: catalog, URL, or local folder; shows progress and what is loaded. */
export function BundlePanel() {
  const loading = useStore(useShallow((s) => (s.engine.loading ? { source: s.engine.loading.source } : null)));
  const starting = useStore((s) => s.engine.status === 'starting');
  const busy = loading !== null || starting;
  return (
    <section aria-labelledby="bundle-heading">
      <h2 id="bundle-heading">Model bundle</h2>
      <p className="muted">
        A bundle is a folder with <code>manifest.json</code>: the encoder (image → caption), decoder (caption → image), fidelity scorer,
        tokenizer, checkpoints and recorded runs, each file with its size and sha256.
      </p>
      <div className="grid">
        <div className="card">
          <h3>Shipped bundles</h3>
          <Catalog busy={busy} />
          <h3>From a URL</h3>
          <UrlForm busy={busy} />
        </div>
        <div className="card">
          <h3>From this computer</h3>
          <FolderLoader busy={busy} />
        </div>
      </div>
      {loading && (
        <div className="card" style={{ marginTop: '1rem' }} aria-live="polite" data-testid="load-progress">
          <div className="row" style={{ justifyContent: 'space-between' }}>
            <span>
              Loading <code>{loading.source}</code>
            </span>
            <button type="button" onClick={cancelLoad} data-testid="cancel-load">
              Cancel
            </button>
          </div>
          <LoadProgressView />
        </div>
      )}
      <LoadedBundle />
    </section>
  );
}
