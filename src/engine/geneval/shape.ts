/**
 * Shape classification by template fitting: an object's soft coverage (alpha) around its centroid is compared with the
 * world's five shapes drawn from their signed distances (src/shapes/raster.ts), each scaled to the object's mass and
 * centred on its centroid, then blurred at a few widths; the shape with the smallest squared error wins.
 */
import { shapeDistance } from '../../shapes/raster.ts';
import { SHAPES, type Shape } from '../../shapes/scene.ts';
import { blurPlanes } from './degrade.ts';

/** Template blur widths tried (pixels at 64×64, scaled with the resolution). */
const BLURS = [0, 0.5, 0.8, 1.1, 1.4, 1.8, 2.3, 3];
/** Extent multipliers tried around the mass-derived size. */
const SCALES = [0.88, 0.94, 1, 1.06, 1.12];

interface ShapeGeometry {
  /** Area of the shape at extent 1. */
  area: number;
  /** Centroid offset (x, y) from the drawing centre at extent 1. */
  cx: number;
  cy: number;
}

/** Area and centroid offset of every shape at extent 1 (measured on a fine grid). */
const GEOMETRY: Readonly<Record<Shape, ShapeGeometry>> = (() => {
  const n = 200;
  const out = {} as Record<Shape, ShapeGeometry>;
  for (const shape of SHAPES) {
    let a = 0;
    let sx = 0;
    let sy = 0;
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const px = (x + 0.5) / n - 0.5;
        const py = (y + 0.5) / n - 0.5;
        if (shapeDistance(shape, px * 1.4, py * 1.4, 1) <= 0) {
          a++;
          sx += px * 1.4;
          sy += py * 1.4;
        }
      }
    out[shape] = { area: (a * 1.96) / (n * n), cx: sx / a, cy: sy / a };
  }
  return out;
})();

/** Returns the area of `shape` at extent `s` (pixels²). */
export function shapeArea(shape: Shape, s: number): number {
  return GEOMETRY[shape].area * s * s;
}

/** An object's soft coverage in a square window: `alpha[(y−y0)·size + (x−x0)]`, with its mass and centroid. */
export interface AlphaPatch {
  alpha: Float32Array;
  x0: number;
  y0: number;
  size: number;
  mass: number;
  cx: number;
  cy: number;
}

/** Draws `shape` of extent s centred at (ox, oy) (image coordinates) into a patch-sized buffer, anti-aliased. */
function drawTemplate(shape: Shape, s: number, ox: number, oy: number, p: AlphaPatch, out: Float32Array): void {
  for (let j = 0; j < p.size; j++)
    for (let i = 0; i < p.size; i++) {
      const d = shapeDistance(shape, p.x0 + i + 0.5 - ox, p.y0 + j + 0.5 - oy, s);
      out[j * p.size + i] = Math.min(Math.max(0.5 - d, 0), 1);
    }
}

/** The fit of each shape: the smallest squared error over blur widths and scales, normalised by the mass. */
export type ShapeFit = Record<Shape, number>;

/** Returns the best-fitting shape of a patch and every shape's error (`res` scales the blur widths). */
export function classifyShape(p: AlphaPatch, res: number): { shape: Shape; fit: ShapeFit } {
  const fit = {} as ShapeFit;
  const buf = new Float32Array(p.size * p.size);
  let best: Shape = SHAPES[0];
  for (const shape of SHAPES) {
    const g = GEOMETRY[shape];
    const s0 = Math.sqrt(Math.max(p.mass, 1) / g.area);
    let err = Infinity;
    const tryFit = (k: number, blur: number): number => {
      const s = s0 * k;
      drawTemplate(shape, s, p.cx - g.cx * s, p.cy - g.cy * s, p, buf);
      blurPlanes(buf, p.size, p.size, 1, (blur * res) / 64);
      let e = 0;
      for (let i = 0; i < buf.length; i++) e += (buf[i] - p.alpha[i]) * (buf[i] - p.alpha[i]);
      return e / Math.max(p.mass, 1);
    };
    // Coarse to fine: the blur width at the mass-derived extent, then the extent at that width.
    let blurBest = 0;
    for (const blur of BLURS) {
      const e = tryFit(1, blur);
      if (e < err) [err, blurBest] = [e, blur];
    }
    for (const k of SCALES) if (k !== 1) err = Math.min(err, tryFit(k, blurBest));
    fit[shape] = err;
    if (err < fit[best]) best = shape;
  }
  return { shape: best, fit };
}
