// Chart export in the browser: the recharts <svg> serialised onto a canvas → PNG; data → CSV file.
import { downloadBlob } from '../lib/download';

/** Starts a download of `text` as a CSV file. */
export function downloadCsv(text: string, fileName: string): void {
  downloadBlob(new Blob([text], { type: 'text/csv;charset=utf-8' }), fileName);
}

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the chart SVG could not be drawn as an image'));
    img.src = src;
  });
}

/** What is drawn around the chart: a title above, a legend of coloured labels below. */
export interface PngDecoration {
  title: string;
  legend: { label: string; color: string; dash?: string }[];
}

/**
 * Returns a PNG of `svg` (a rendered recharts surface) at 2× scale on white, with the title and legend
 * drawn around it (recharts' own legend is HTML, so it would not be in the SVG).
 */
export async function svgToPng(svg: SVGSVGElement, deco: PngDecoration, scale = 2): Promise<Blob> {
  const box = svg.getBoundingClientRect();
  const width = Math.max(1, Math.round(Number(svg.getAttribute('width')) || box.width));
  const height = Math.max(1, Math.round(Number(svg.getAttribute('height')) || box.height));
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  // Fonts come from page CSS, which does not travel with the SVG: pin them on the root.
  const font = getComputedStyle(svg).fontFamily || 'sans-serif';
  clone.setAttribute('font-family', font);
  clone.setAttribute('font-size', '12');
  const xml = new XMLSerializer().serializeToString(clone);
  const img = await loadImage(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(xml)}`);

  const titleH = 28;
  const legendH = deco.legend.length ? 20 * Math.ceil(deco.legend.length / 2) + 8 : 0;
  const canvas = document.createElement('canvas');
  canvas.width = width * scale;
  canvas.height = (height + titleH + legendH) * scale;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context for the PNG export');
  ctx.scale(scale, scale);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height + titleH + legendH);
  ctx.fillStyle = '#1d2330';
  ctx.font = `600 14px ${font}`;
  ctx.textBaseline = 'middle';
  ctx.fillText(deco.title, 8, titleH / 2);
  ctx.drawImage(img, 0, titleH, width, height);
  ctx.font = `12px ${font}`;
  deco.legend.forEach((item, i) => {
    const x = 12 + (i % 2) * (width / 2);
    const y = titleH + height + 14 + Math.floor(i / 2) * 20;
    ctx.strokeStyle = item.color;
    ctx.lineWidth = 2;
    ctx.setLineDash(item.dash ? item.dash.split(/\s+/).map(Number) : []);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 22, y);
    ctx.stroke();
    ctx.fillStyle = '#1d2330';
    ctx.fillText(item.label, x + 28, y, width / 2 - 44);
  });
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas gave no PNG'))), 'image/png'),
  );
}
