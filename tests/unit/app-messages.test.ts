// What a newcomer reads first: errors lead with a sentence and put the internal code after it, and the
// bundle card's counts come from the manifest (the catalog's hand-written descriptions state none that can
// fall behind, and their sizes are the manifests' totals).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { badgeWhy } from '../../app/components/BackendBadge.tsx';
import { ErrorText } from '../../app/components/ErrorText.tsx';
import { formatBytes, sentenceCase } from '../../app/format.ts';
import { bundleContents } from '../../app/panels/bundle/contents.ts';
import type { BundleManifest } from '../../src/engine/manifest.ts';
import { ROOT } from './infer-helpers.ts';

const MODELS = join(ROOT, 'public', 'models');
const manifestOf = (id: string): BundleManifest => JSON.parse(readFileSync(join(MODELS, id, 'manifest.json'), 'utf8')) as BundleManifest;

describe('error text', () => {
  it('capitalises a message that starts with a word, leaves file names and paths as they are', () => {
    expect(sentenceCase('choose an image first')).toBe('Choose an image first');
    expect(sentenceCase('bundle uae-shapes has no encoder role: it cannot score rollouts')).toBe(
      'Bundle uae-shapes has no encoder role: it cannot score rollouts',
    );
    expect(sentenceCase('notes.txt: not an image: it looks like text')).toBe('notes.txt: not an image: it looks like text');
    expect(sentenceCase('scorer/text.onnx (scorer.text): outputs are [text_embedz]')).toBe(
      'scorer/text.onnx (scorer.text): outputs are [text_embedz]',
    );
    expect(sentenceCase('Browser storage is full')).toBe('Browser storage is full');
    expect(sentenceCase('')).toBe('');
  });

  it('shows the sentence first in the text font and the code after it, small and muted', () => {
    const html = renderToStaticMarkup(createElement(ErrorText, { error: { code: 'bad-request', message: 'choose an image first' } }));
    expect(html).toBe(
      '<span class="error-message" data-testid="error-message">Choose an image first</span> <span class="error-code" data-testid="error-code">(bad-request)</span>',
    );
    expect(html).not.toMatch(/<code>/);
    const css = readFileSync(join(ROOT, 'app', 'styles.css'), 'utf8');
    expect(css).toMatch(/\.error-code \{[^}]*color: var\(--muted\)[^}]*font-size: 0\.8rem/);
  });
});

describe('bundle card counts', () => {
  it("counts the reference bundle's checkpoints and runs from its manifest, as the scrubber and the file table do", () => {
    const m = manifestOf('uae-shapes');
    const checkpoints = m.roles.checkpoints ?? [];
    const files = m.files.filter((f) => f.path.startsWith('checkpoints/')).length;
    const [sentence, backbones, runs] = bundleContents(m);
    // The scrubber's stops are every checkpoint; the file table lists the trained ones' files under checkpoints/.
    const trained = checkpoints.filter((c) => c.step > 0).map((c) => c.step);
    expect(sentence).toBe(
      `${checkpoints.length} encoder checkpoints: the cold start (step 0, the reference encoder’s weights) and ${files} from training ` +
        `(steps ${trained[0]}–${trained.at(-1)}).`,
    );
    expect(checkpoints.length).toBe(files + 1);
    expect(backbones).toBe('1 vision backbone besides the scorer: i2i, image-image CNN (no captions).');
    expect(runs).toBe(`${m.roles.runs?.length} recorded runs.`);
  });

  it('words other shapes: one checkpoint, no cold start, nothing at all', () => {
    const ck = (step: number) => ({ step, label: `s${step}`, encoder: { vision: 'v', decoder: `d${step}` } });
    expect(bundleContents({ roles: { checkpoints: [ck(20)], runs: [{ id: 'a', label: 'a', stage: '2', path: 'a' }] } })).toEqual([
      '1 encoder checkpoint: 1 from training (step 20).',
      '1 recorded run.',
    ]);
    expect(bundleContents({ roles: { checkpoints: [ck(0), ck(40), ck(20)] } })).toEqual([
      '3 encoder checkpoints: the cold start (step 0) and 2 from training (steps 20 and 40).',
    ]);
    expect(bundleContents({ roles: {} })).toEqual([]);
  });

  it("the catalog states no checkpoint or run count, and each size it states is the manifest's total as the card shows it", () => {
    const catalog = JSON.parse(readFileSync(join(MODELS, 'index.json'), 'utf8')) as { bundles: { id: string; description: string }[] };
    for (const b of catalog.bundles) {
      expect(b.description, b.id).not.toMatch(/\d+ (encoder )?(checkpoints?|runs?)\b/);
      const size = /(\d+) MB\b/.exec(b.description);
      if (!size) continue;
      const total = manifestOf(b.id).files.reduce((a, f) => a + f.bytes, 0);
      expect(Math.round(Number(formatBytes(total).replace(' MB', ''))), `${b.id}: the card shows ${formatBytes(total)}`).toBe(
        Number(size[1]),
      );
    }
  });
});

describe("the backend badge's tooltip", () => {
  const base = { adapter: '2 threads', wasmThreads: 2 } as const;
  it('names a software fallback adapter as the reason Auto chose WASM', () => {
    const reason =
      'the only WebGPU adapter here (google swiftshader) is a software fallback adapter, slower than WASM; choose WebGPU to use it anyway';
    expect(badgeWhy({ ...base, backend: 'wasm', requested: 'auto', reason })).toBe(`Auto chose WASM: ${reason}`);
  });
  it('says what was asked for when there was no fallback, and when a choice could not be honoured', () => {
    expect(badgeWhy({ ...base, backend: 'webgpu', adapter: 'nvidia', requested: 'auto' })).toBe('Auto chose WebGPU');
    expect(badgeWhy({ ...base, backend: 'wasm', requested: 'wasm' })).toBe('Requested WASM');
    expect(badgeWhy({ ...base, backend: 'wasm', requested: 'webgpu', reason: 'WebGPU device lost (destroyed)' })).toBe(
      'Asked for webgpu, running WASM: WebGPU device lost (destroyed)',
    );
  });
});
