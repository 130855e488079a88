import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { describe, expect, it } from 'vitest';
import { rasterizeScene, sampleScene, sceneCaptions, type Scene } from '../../src/shapes/index.ts';

const CHROMIUM = process.env.UAE_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Cases rendered on both sides: [seed, resolution]. */
const CASES: [number, number][] = [
  [1, 64],
  [42, 64],
  [123456789, 64],
  [4294967295, 64],
  [7, 37],
  [8, 96],
  [2024, 128],
];

/** Returns the shapes module bundled as an IIFE that defines globalThis.Shapes. */
async function bundleShapes(): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: true,
      lib: { entry: resolve(import.meta.dirname, '../../src/shapes/index.ts'), formats: ['iife'], name: 'Shapes' },
    },
  });
  const outputs = Array.isArray(result) ? result : [result];
  for (const o of outputs) {
    if ('output' in o) for (const chunk of o.output) if (chunk.type === 'chunk') return chunk.code;
  }
  throw new Error('vite build produced no chunk');
}

interface PageShapes {
  sampleScene(seed: number): Scene;
  rasterizeScene(scene: Scene, res: number): Uint8Array;
  sceneCaptions(scene: Scene, seed: number): string[];
}

describe('rasterizer in Chromium', () => {
  it('gives the same bytes and captions as Node', async () => {
    expect(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`).toBe(true);
    const code = await bundleShapes();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    try {
      const page = await browser.newPage();
      await page.setContent('<!doctype html><html><body></body></html>');
      await page.addScriptTag({ content: code });
      const fromPage = await page.evaluate((cases) => {
        const S = (globalThis as unknown as { Shapes: PageShapes }).Shapes;
        return cases.map(([seed, res]) => {
          const scene = S.sampleScene(seed);
          const bytes = S.rasterizeScene(scene, res);
          let bin = '';
          for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
          return { scene, captions: S.sceneCaptions(scene, seed), base64: btoa(bin) };
        });
      }, CASES);
      const userAgent = await page.evaluate(() => navigator.userAgent);
      expect(userAgent).toMatch(/Chrome/);
      CASES.forEach(([seed, res], i) => {
        const scene = sampleScene(seed);
        const node = rasterizeScene(scene, res);
        const browserBytes = Buffer.from(fromPage[i].base64, 'base64');
        expect(browserBytes.length).toBe(res * res * 3);
        expect(fromPage[i].scene).toEqual(scene);
        expect(fromPage[i].captions).toEqual(sceneCaptions(scene, seed));
        expect(createHash('sha256').update(browserBytes).digest('hex')).toBe(createHash('sha256').update(node).digest('hex'));
      });
    } finally {
      await browser.close();
    }
  });
});
