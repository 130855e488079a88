import { formatBytes } from '../../format';
import { useStore } from '../../store/store';
import { bundleContents } from './contents';

/**
 * The bundle in use: identity, roles, its checkpoints and runs (counted from the manifest), and every file with its size and whether it
 * came from the cache, the network, or is left for its first use (checkpoints, the reference encoder, …: roles.ts deferredAtLoad).
 */
export function LoadedBundle() {
  const bundle = useStore((s) => s.engine.bundle);
  const origin = useStore((s) => s.engine.bundleOrigin);
  const fresh = origin?.kind === 'files' ? 'local' : 'network';
  if (!bundle) return <p className="muted">No bundle loaded yet.</p>;
  const total = bundle.files.reduce((a, f) => a + f.bytes, 0);
  const deferred = bundle.files.filter((f) => f.deferred).length;
  const contents = bundleContents(bundle.manifest);
  return (
    <div className="card" style={{ marginTop: '1rem' }} data-testid="loaded-bundle" data-bundle-id={bundle.id}>
      <h3 style={{ marginTop: 0 }}>
        Loaded: {bundle.name} <span className="muted">v{bundle.version}</span> <code className="muted">{bundle.id}</code>
      </h3>
      {bundle.manifest.description && <p>{bundle.manifest.description}</p>}
      {contents.length > 0 && <p data-testid="bundle-contents">{contents.join(' ')}</p>}
      <p>
        Roles: {bundle.roles.length === 0 && <span className="muted">none</span>}
        {bundle.roles.map((r) => (
          <span key={r} className="tag role">
            {r}
          </span>
        ))}
        {' · '}from <code>{origin?.label}</code>
      </p>
      <table className="files">
        <thead>
          <tr>
            <th>File</th>
            <th className="num">Size</th>
            <th>Source</th>
          </tr>
        </thead>
        <tbody>
          {bundle.files.map((f) => (
            <tr key={f.path}>
              <td className="mono">{f.path}</td>
              <td className="num">{formatBytes(f.bytes)}</td>
              <td>
                {f.deferred ? (
                  <span className="tag muted" title="Not needed to start: fetched, sha256-verified and cached the first time it is used">
                    on first use
                  </span>
                ) : f.fromCache ? (
                  <span className="tag ok">cache</span>
                ) : (
                  <span className="tag">{fresh}</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <td>
              {bundle.files.length} files, sha256 verified
              {deferred > 0 && ` (${deferred} when first used)`}
            </td>
            <td className="num">{formatBytes(total)}</td>
            <td />
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
