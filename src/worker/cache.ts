/** The Cache API behind BundleCache: one cache per bundle version (`uae-bundle-v1:<id>@<version>`). */
import type { BundleCache } from '../engine/bundle.ts';

const PREFIX = 'uae-bundle-v1:';

/** Returns a BundleCache on the Cache API, or undefined where `caches` does not exist (Node, insecure origins). */
export function cacheApiStore(origin: string): BundleCache | undefined {
  if (typeof caches === 'undefined') return undefined;
  // Cache keys must be http(s) URLs; they name the bundle file, not where it was fetched from.
  const key = (path: string): string => new URL(`/uae-bundle-cache/${path}`, origin).href;
  return {
    async get(cacheName, path) {
      const hit = await (await caches.open(cacheName)).match(key(path));
      return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
    },
    async put(cacheName, path, data) {
      const body = new Response(data as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } });
      await (await caches.open(cacheName)).put(key(path), body);
    },
    async prune(keepCacheName, bundleId) {
      const stale = (await caches.keys()).filter((k) => k.startsWith(`${PREFIX}${bundleId}@`) && k !== keepCacheName);
      await Promise.all(stale.map((k) => caches.delete(k)));
    },
  };
}
