/**
 * Anti-aliased rasterizer from signed distances. Only + - * / Math.sqrt Math.min Math.max
 * Math.abs Math.floor Math.round are used (all exactly specified by IEEE 754 / ECMAScript),
 * so the bytes are identical in Node and in any browser.
 */
import { BACKGROUND_RGB, COLOUR_RGB, GRID, type Scene, type SceneObject, type Shape } from './scene.ts';

export const DEFAULT_RESOLUTION = 64;
/** Object extent as a fraction of a cell side, by size word. */
export const SIZE_FRACTION = { small: 0.45, large: 0.8 } as const;

const SQRT1_2 = Math.SQRT1_2;
const SQRT3 = Math.sqrt(3);

/** Distance to an axis-aligned box of half-sides hx, hy centred at the origin (negative inside). */
function sdBox(x: number, y: number, hx: number, hy: number): number {
  const qx = Math.abs(x) - hx;
  const qy = Math.abs(y) - hy;
  const ox = Math.max(qx, 0);
  const oy = Math.max(qy, 0);
  return Math.sqrt(ox * ox + oy * oy) + Math.min(Math.max(qx, qy), 0);
}

/** Distance to an upward equilateral triangle of side `a` whose bounding box is centred at 0. */
function sdTriangle(x: number, y: number, a: number): number {
  // Vertices: apex (0, -h/2), base (±a/2, h/2), h = a·√3/2. Image y grows downwards.
  const h = (a * SQRT3) / 2;
  const vx = [0, a / 2, -a / 2];
  const vy = [-h / 2, h / 2, h / 2];
  let d = (x - vx[0]) * (x - vx[0]) + (y - vy[0]) * (y - vy[0]);
  let sign = 1;
  for (let i = 0, j = 2; i < 3; j = i, i++) {
    const ex = vx[j] - vx[i];
    const ey = vy[j] - vy[i];
    const wx = x - vx[i];
    const wy = y - vy[i];
    const t = Math.min(Math.max((wx * ex + wy * ey) / (ex * ex + ey * ey), 0), 1);
    const bx = wx - ex * t;
    const by = wy - ey * t;
    d = Math.min(d, bx * bx + by * by);
    const c1 = y >= vy[i];
    const c2 = y < vy[j];
    const c3 = ex * wy > ey * wx;
    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) sign = -sign;
  }
  return sign * Math.sqrt(d);
}

/** Returns the signed distance (pixels, negative inside) from (x, y) to a shape of extent `s` at 0. */
export function shapeDistance(shape: Shape, x: number, y: number, s: number): number {
  switch (shape) {
    case 'circle':
      return Math.sqrt(x * x + y * y) - s / 2;
    case 'square':
      // Side 0.88·s gives the square about the circle's area, so neither looks "larger".
      return sdBox(x, y, 0.44 * s, 0.44 * s);
    case 'diamond': {
      const u = (x + y) * SQRT1_2;
      const v = (y - x) * SQRT1_2;
      const h = 0.55 * s * SQRT1_2;
      return sdBox(u, v, h, h);
    }
    case 'triangle':
      return sdTriangle(x, y, 1.1 * s);
    case 'cross':
      return Math.min(sdBox(x, y, 0.5 * s, 0.19 * s), sdBox(x, y, 0.19 * s, 0.5 * s));
  }
}

/** Blends one object into `out` (RGB uint8 rows of `res` pixels starting at `offset`). */
function drawObject(obj: SceneObject, out: Uint8Array, offset: number, res: number): void {
  const cell = res / GRID;
  const cx = (obj.col + 0.5) * cell;
  const cy = (obj.row + 0.5) * cell;
  const s = cell * SIZE_FRACTION[obj.size];
  const reach = 0.56 * s + 1;
  const x0 = Math.max(0, Math.floor(cx - reach));
  const x1 = Math.min(res - 1, Math.floor(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach));
  const y1 = Math.min(res - 1, Math.floor(cy + reach));
  const [r, g, b] = COLOUR_RGB[obj.colour];
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5 - cy;
    for (let x = x0; x <= x1; x++) {
      const d = shapeDistance(obj.shape, x + 0.5 - cx, py, s);
      const a = Math.min(Math.max(0.5 - d, 0), 1);
      if (a === 0) continue;
      const k = offset + (y * res + x) * 3;
      out[k] = Math.round(out[k] + (r - out[k]) * a);
      out[k + 1] = Math.round(out[k + 1] + (g - out[k + 1]) * a);
      out[k + 2] = Math.round(out[k + 2] + (b - out[k + 2]) * a);
    }
  }
}

/** Renders `scene` into `out` at `offset`: res×res×3 uint8 RGB, row-major, top row first. */
export function rasterizeInto(scene: Scene, out: Uint8Array, offset = 0, res = DEFAULT_RESOLUTION): void {
  const [br, bg, bb] = BACKGROUND_RGB[scene.background];
  const end = offset + res * res * 3;
  for (let k = offset; k < end; k += 3) {
    out[k] = br;
    out[k + 1] = bg;
    out[k + 2] = bb;
  }
  for (const obj of scene.objects) drawObject(obj, out, offset, res);
}

/** Returns `scene` rendered as a new Uint8Array of shape [res, res, 3] (RGB, row-major). */
export function rasterizeScene(scene: Scene, res = DEFAULT_RESOLUTION): Uint8Array {
  const out = new Uint8Array(res * res * 3);
  rasterizeInto(scene, out, 0, res);
  return out;
}
