/**
 * Renders the shapes gallery into public/gallery/ (PNG per scene + index.json for the UI's
 * "pick a scene") and the 64-scene contact sheet docs/img/shapes-contact-sheet.png (via Chromium).
 * Run: npx tsx scripts/make-gallery.ts [--no-sheet]
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { chromium } from 'playwright-core';
import { DEFAULT_RESOLUTION, rasterizeScene, sceneRecord, type SceneRecord } from '../src/shapes/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GALLERY_DIR = join(ROOT, 'public/gallery');
const SHEET_PATH = join(ROOT, 'docs/img/shapes-contact-sheet.png');
const GALLERY_SEED = 2025;
const GALLERY_COUNT = 24;
const SHEET_SEED = 64;
const SHEET_COUNT = 64;
const CHROMIUM = process.env.UAE_CHROMIUM ?? '/usr/bin/chromium';

/** Returns PNG bytes for RGB uint8 pixels [h, w, 3]. */
function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    png.data[j] = rgb[i];
    png.data[j + 1] = rgb[i + 1];
    png.data[j + 2] = rgb[i + 2];
    png.data[j + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** Returns the records of `count` scenes of the dataset with `seed`, one per count 1..4 in turn where possible. */
function pickRecords(seed: number, count: number): SceneRecord[] {
  const picked: SceneRecord[] = [];
  for (let i = 0; picked.length < count && i < count * 50; i++) {
    const r = sceneRecord(seed, i);
    // Cycle through 1, 2, 3, 4 objects so every count is shown equally.
    if (r.scene.objects.length === (picked.length % 4) + 1) picked.push(r);
  }
  return picked;
}

function writeGallery(res: number): void {
  mkdirSync(GALLERY_DIR, { recursive: true });
  for (const f of readdirSync(GALLERY_DIR)) if (/^scene-\d+\.png$/.test(f)) rmSync(join(GALLERY_DIR, f));
  const scenes = pickRecords(GALLERY_SEED, GALLERY_COUNT).map((r, i) => {
    const file = `scene-${String(i).padStart(2, '0')}.png`;
    writeFileSync(join(GALLERY_DIR, file), encodePng(rasterizeScene(r.scene, res), res, res));
    return {
      id: `${GALLERY_SEED}-${r.index}`,
      file,
      datasetSeed: GALLERY_SEED,
      index: r.index,
      seed: r.seed,
      scene: r.scene,
      captions: r.captions,
    };
  });
  const index = { format: 'uae-shapes-gallery/1', resolution: res, count: scenes.length, scenes };
  writeFileSync(join(GALLERY_DIR, 'index.json'), JSON.stringify(index, null, 2) + '\n');
  console.log(`wrote ${scenes.length} scenes to ${GALLERY_DIR}`);
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function sheetHtml(records: SceneRecord[], res: number): string {
  const tiles = records
    .map((r) => {
      const src = `data:image/png;base64,${encodePng(rasterizeScene(r.scene, res), res, res).toString('base64')}`;
      return `<figure><div class="imgs"><img class="x1" src="${src}"><img class="x2" src="${src}"></div>
<figcaption><b>L0</b> ${escapeHtml(r.captions[0])}<br><b>L4</b> ${escapeHtml(r.captions[4])}</figcaption></figure>`;
    })
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 12px; font: 11px/1.3 sans-serif; background: #eee; color: #111; width: ${8 * 236}px; }
h1 { font-size: 15px; margin: 0 0 8px; }
main { display: grid; grid-template-columns: repeat(8, 228px); gap: 8px; }
figure { margin: 0; background: #fff; padding: 6px; border-radius: 4px; }
.imgs { display: flex; gap: 6px; align-items: flex-end; }
img { image-rendering: pixelated; display: block; outline: 1px solid #999; }
.x1 { width: ${res}px; height: ${res}px; } .x2 { width: ${res * 2}px; height: ${res * 2}px; }
figcaption { margin-top: 4px; }
</style></head><body><h1>Shapes world: ${records.length} scenes (dataset seed ${SHEET_SEED}), each at ${res}×${res} (1×) and 2× nearest-neighbour; level-0 and level-4 captions</h1>
<main>${tiles}</main></body></html>`;
}

async function writeContactSheet(res: number): Promise<void> {
  const records = pickRecords(SHEET_SEED, SHEET_COUNT);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 8 * 236 + 24, height: 800 } });
    await page.setContent(sheetHtml(records, res), { waitUntil: 'load' });
    mkdirSync(dirname(SHEET_PATH), { recursive: true });
    await page.screenshot({ path: SHEET_PATH, fullPage: true });
  } finally {
    await browser.close();
  }
  console.log(`wrote ${SHEET_PATH}`);
}

writeGallery(DEFAULT_RESOLUTION);
if (!process.argv.includes('--no-sheet')) await writeContactSheet(DEFAULT_RESOLUTION);
