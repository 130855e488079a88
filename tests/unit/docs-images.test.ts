// Screenshots cannot go stale: every image the README and docs show is one that a script writes — an E2E
// spec's shot(…, docName) (run with --screenshots; `npm run screenshots` runs the tour of every tab in both
// backends) or scripts/make-gallery.ts — and each is there.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the E2E suite (no types)
import { TOUR_TABS, tourImage } from '../e2e/tour.spec.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const E2E = join(ROOT, 'tests', 'e2e');
const MODES = ['webgpu', 'wasm'];

/** docs/img names written by scripts: the tour's, literal docNames in the E2E specs, the gallery sheet. */
function writtenImages(): Set<string> {
  const names = new Set<string>(['shapes-contact-sheet.png']);
  for (const tab of TOUR_TABS as string[]) for (const mode of MODES) names.add((tourImage as (t: string, m: string) => string)(tab, mode));
  for (const file of readdirSync(E2E).filter((f) => f.endsWith('.mjs'))) {
    const text = readFileSync(join(E2E, file), 'utf8');
    for (const m of text.matchAll(/shot\([^;]*?[`'"]([\w${}.-]+\.png)[`'"]\s*\)/g)) {
      const name = m[1];
      if (name.includes('${mode.name}')) for (const mode of MODES) names.add(name.replace('${mode.name}', mode));
      else if (!name.includes('$')) names.add(name);
    }
  }
  return names;
}

/** Every docs/img/*.png the README and docs/*.md link to, with the file that links it. */
function shownImages(): { file: string; name: string }[] {
  const docs = [
    join(ROOT, 'README.md'),
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(ROOT, 'docs', f)),
  ];
  return docs.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/\]\((?:docs\/)?img\/([\w.-]+\.png)\)/g)].map((m) => ({
      file: file.slice(ROOT.length + 1),
      name: m[1],
    })),
  );
}

describe('docs images', () => {
  const written = writtenImages();
  const shown = shownImages();

  it('the README shows the tour of every tab', () => {
    const readme = shown.filter((s) => s.file === 'README.md').map((s) => s.name);
    for (const tab of TOUR_TABS as string[]) expect(readme.some((n) => n.startsWith(`tab-${tab}-`))).toBe(true);
  });

  it('every image shown is written by a script, and is there', () => {
    expect(shown.length).toBeGreaterThan(4);
    for (const { file, name } of shown) {
      expect(written.has(name), `${file} shows img/${name}, which no E2E spec or script writes`).toBe(true);
      expect(existsSync(join(ROOT, 'docs', 'img', name)), `${file} shows img/${name}, which is missing`).toBe(true);
    }
  });

  it('docs/img holds no image that nothing writes (a leftover would go stale)', () => {
    for (const name of readdirSync(join(ROOT, 'docs', 'img')).filter((f) => f.endsWith('.png'))) {
      expect(written.has(name), `docs/img/${name} is written by no E2E spec or script`).toBe(true);
    }
  });
});
