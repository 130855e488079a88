// Exports of one run: a JSON document (settings, input, per-loop captions, metrics, images as PNG data
// URLs) and a PNG contact sheet (original, model view and every loop's image with its caption and scores).
import type { RoundTripLoop } from '../../../src/protocol/roundtrip.ts';
import type { RtRun } from '../../store/roundtripSlice';
import { rgbaToPng, rgbToRgba } from '../../lib/images';
import { policyLabel } from './settings';

/** Format tag of exported runs. */
export const RUN_JSON_FORMAT = 'uae-roundtrip-run/1';

const r6 = (x: number): number => Number(x.toFixed(6));

/** Returns the exported JSON document of `run`; `png` turns RGB bytes [h,w,3] into a data: URL. */
export async function runToJson(
  run: RtRun,
  png: (rgb: Uint8Array, w: number, h: number) => Promise<string>,
): Promise<Record<string, unknown>> {
  const { input } = run;
  const loops = [];
  for (const l of run.loops) {
    loops.push({
      loop: l.loop,
      caption: l.caption,
      tokens: l.tokens,
      ids: l.ids,
      truncated: l.truncated,
      sim: r6(l.vsOriginal.sim),
      psnr: r6(l.vsOriginal.psnr),
      ssim: r6(l.vsOriginal.ssim),
      previous: { sim: r6(l.vsPrevious.sim), psnr: r6(l.vsPrevious.psnr), ssim: r6(l.vsPrevious.ssim) },
      attr: l.attr && { precision: r6(l.attr.precision), recall: r6(l.attr.recall), f1: r6(l.attr.f1) },
      ms: Math.round(l.ms),
      image: await png(l.image, input.width, input.height),
    });
  }
  return {
    format: RUN_JSON_FORMAT,
    id: run.id,
    status: run.status,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
    bundle: run.bundle,
    backend: run.backend,
    settings: run.settings,
    input: {
      kind: input.kind,
      label: input.label,
      sceneSeed: input.sceneSeed ?? null,
      scene: input.scene ?? null,
      sourceWidth: input.sourceWidth,
      sourceHeight: input.sourceHeight,
      width: input.width,
      height: input.height,
      resize: input.resize,
      image: await png(input.modelView, input.width, input.height),
    },
    loops,
  };
}

/** Returns `text` broken into lines of at most `width` px as measured by `measure`. */
export function wrapText(text: string, width: number, measure: (s: string) => number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (line && measure(next) > width) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  return lines;
}

const CELL = 160;
const IMG = 128;
const TEXT_H = 118;
const PER_ROW = 6;
const HEAD = 54;

/** Returns the caption and score lines drawn under loop `l`. */
function loopLines(l: RoundTripLoop): string[] {
  const f = l.vsOriginal;
  const lines = [
    `loop ${l.loop} · ${l.tokens} tokens`,
    `sim ${f.sim.toFixed(3)} · SSIM ${f.ssim.toFixed(3)}`,
    `PSNR ${f.psnr.toFixed(2)} dB`,
  ];
  if (l.attr) lines.push(`attr F1 ${l.attr.f1.toFixed(2)}`);
  return lines;
}

/** Returns a PNG contact sheet of `run`: a title, then original + model view + one cell per loop. */
export async function contactSheet(run: RtRun): Promise<Blob> {
  const cells = run.loops.length + 2;
  const cols = Math.min(PER_ROW, cells);
  const rows = Math.ceil(cells / PER_ROW);
  const canvas = new OffscreenCanvas(cols * CELL + 16, HEAD + rows * (IMG + TEXT_H + 12) + 8);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas available');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#1d2330';
  ctx.font = '600 15px system-ui, sans-serif';
  ctx.fillText(`Round trip · ${run.input.label}`, 8, 20);
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#5b6475';
  const s = run.settings;
  ctx.fillText(
    `${run.bundle.name} v${run.bundle.version} · ${run.backend} · ${s.loops} loops · ${policyLabel(s.policy)} · ${s.steps} flow steps · seed ${s.seed} · ${new Date(run.startedAt).toISOString()}`,
    8,
    40,
  );
  const { width: W, height: H } = run.input;
  const draw = async (i: number, rgba: ImageData | null, bitmapSource: Blob | null, lines: string[]) => {
    const x = 8 + (i % PER_ROW) * CELL;
    const y = HEAD + Math.floor(i / PER_ROW) * (IMG + TEXT_H + 12);
    ctx.imageSmoothingEnabled = false;
    if (bitmapSource) {
      const bmp = await createImageBitmap(bitmapSource);
      ctx.imageSmoothingEnabled = true;
      const k = Math.min(IMG / bmp.width, IMG / bmp.height);
      ctx.drawImage(bmp, x, y, bmp.width * k, bmp.height * k);
      bmp.close();
    } else if (rgba) {
      const bmp = await createImageBitmap(rgba);
      ctx.drawImage(bmp, x, y, IMG, IMG);
      bmp.close();
    }
    ctx.fillStyle = '#1d2330';
    lines.slice(0, 8).forEach((line, k) => ctx.fillText(line, x, y + IMG + 14 + k * 14));
  };
  const rgbData = (rgb: Uint8Array) => {
    const img = rgbToRgba(rgb, W, H);
    return new ImageData(new Uint8ClampedArray(img.data), W, H);
  };
  await draw(0, null, await rgbaToPng(run.input.preview), ['original', `${run.input.sourceWidth}×${run.input.sourceHeight}`]);
  await draw(1, rgbData(run.input.modelView), null, ['model view', `${W}×${H}`]);
  for (const [i, l] of run.loops.entries()) {
    const caption = wrapText(`“${l.caption || '(empty caption)'}”`, CELL - 10, (t) => ctx.measureText(t).width).slice(0, 4);
    await draw(i + 2, rgbData(l.image), null, [...loopLines(l), ...caption]);
  }
  return canvas.convertToBlob({ type: 'image/png' });
}
