import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BundleManifest } from '../../src/engine/manifest.ts';
import { bundleBaseUrl, bundleRunId, fetchBundleRuns } from '../../app/panels/training/bundleRuns.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'runs');
const jsonl = readFileSync(join(DIR, 'run.jsonl'));
const csv = readFileSync(join(DIR, 'run.csv'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function manifest(files: Record<string, Buffer>, runs: { id: string; path: string }[]): BundleManifest {
  return {
    id: 'b',
    roles: { runs: runs.map((r) => ({ ...r, label: `label ${r.id}`, stage: '2' })) },
    files: Object.entries(files).map(([path, b]) => ({ path, bytes: b.length, sha256: sha(b) })),
  } as unknown as BundleManifest;
}

/** A fetch over a map of URL → bytes; everything else is a 404. Records the URLs asked for. */
function fakeFetch(served: Record<string, Buffer>, asked: string[]): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = String(input);
    asked.push(url);
    const body = served[url];
    return body ? new Response(new Uint8Array(body)) : new Response('no', { status: 404 });
  }) as typeof fetch;
}

describe('bundle runs', () => {
  it('finds the folder URL of catalog and URL bundles, none for local files', () => {
    expect(bundleBaseUrl({ kind: 'url', label: 'uae-shapes' }, 'http://h/app/')).toBe('http://h/app/models/uae-shapes/');
    expect(bundleBaseUrl({ kind: 'url', label: 'http://x/b/' }, 'http://h/')).toBe('http://x/b/');
    expect(bundleBaseUrl({ kind: 'url', label: 'http://x/b' }, 'http://h/')).toBe('http://x/b/');
    expect(bundleBaseUrl({ kind: 'files', label: 'local: b' }, 'http://h/')).toBeNull();
    expect(bundleBaseUrl(null, 'http://h/')).toBeNull();
  });

  it('fetches each run under the base URL, verifies it and parses it with the manifest label', async () => {
    const asked: string[] = [];
    const m = manifest({ 'runs/a b.jsonl': jsonl, 'runs/c.csv': csv }, [
      { id: 'a', path: 'runs/a b.jsonl' },
      { id: 'c', path: 'runs/c.csv' },
    ]);
    const out = await fetchBundleRuns(
      m,
      'http://h/models/b/',
      fakeFetch({ 'http://h/models/b/runs/a%20b.jsonl': jsonl, 'http://h/models/b/runs/c.csv': csv }, asked),
    );
    expect(out.errors).toEqual([]);
    expect(asked).toEqual(['http://h/models/b/runs/a%20b.jsonl', 'http://h/models/b/runs/c.csv']);
    expect(out.runs.map((r) => [r.id, r.label, r.source])).toEqual([
      [bundleRunId('a'), 'label a', { kind: 'bundle', bundle: 'b', stage: '2', format: 'jsonl', file: 'runs/a b.jsonl' }],
      [bundleRunId('c'), 'label c', { kind: 'bundle', bundle: 'b', stage: '2', format: 'csv', file: 'runs/c.csv' }],
    ]);
    expect(out.runs[0].series.reward).toHaveLength(20);
  });

  it('reports a missing file, a changed file and a bad log per run, keeping the good ones', async () => {
    const bad = Buffer.from('not a log\n');
    const m = manifest({ 'runs/gone.jsonl': jsonl, 'runs/changed.jsonl': jsonl, 'runs/bad.txt': bad, 'runs/ok.csv': csv }, [
      { id: 'gone', path: 'runs/gone.jsonl' },
      { id: 'changed', path: 'runs/changed.jsonl' },
      { id: 'bad', path: 'runs/bad.txt' },
      { id: 'ok', path: 'runs/ok.csv' },
    ]);
    const tampered = Buffer.from(jsonl);
    tampered[10] ^= 1;
    const out = await fetchBundleRuns(
      m,
      'http://h/b/',
      fakeFetch({ 'http://h/b/runs/changed.jsonl': tampered, 'http://h/b/runs/bad.txt': bad, 'http://h/b/runs/ok.csv': csv }, []),
    );
    expect(out.runs.map((r) => r.id)).toEqual([bundleRunId('ok')]);
    expect(out.errors.map((e) => e.code)).toEqual(['missing-file', 'sha256-mismatch', 'run-unrecognized']);
    expect(out.errors[0].message).toBe('runs/gone.jsonl: not found at http://h/b/runs/gone.jsonl (HTTP 404)');
    expect(out.errors[1].message).toMatch(/^runs\/changed\.jsonl: sha256 mismatch/);
    expect(out.errors[2].message).toMatch(/^runs\/bad\.txt: not JSONL, CSV or trainer_state\.json/);
  });
});
