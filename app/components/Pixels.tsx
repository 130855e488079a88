import { useEffect, useRef } from 'react';
import type { RgbaImage } from '../store/roundtripSlice';
import { rgbToRgba } from '../lib/images';

/** Draws pixels on a canvas: `rgb` (uint8 RGB [h,w,3]) or `rgba`; shown `size` px wide, nearest-neighbour. */
export function Pixels(props: {
  rgb?: Uint8Array;
  rgba?: RgbaImage;
  width: number;
  height: number;
  size: number;
  label: string;
  testId?: string;
  smooth?: boolean;
}) {
  const { rgb, rgba, width, height, size, label, testId, smooth } = props;
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    const img = rgba ?? (rgb ? rgbToRgba(rgb, width, height) : null);
    if (!ctx || !img) return;
    ctx.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  }, [rgb, rgba, width, height]);
  return (
    <canvas
      ref={ref}
      width={width}
      height={height}
      role="img"
      aria-label={label}
      data-testid={testId}
      className={smooth ? 'rt-pixels smooth' : 'rt-pixels'}
      style={{ width: size, height: (size * height) / width }}
    />
  );
}
