import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { RoundTripLoop } from '../../../src/protocol/roundtrip.ts';

interface Row {
  loop: number;
  simOrig: number;
  ssimOrig: number;
  psnrOrig: number;
  simPrev: number;
  tokens: number;
}

function rows(loops: readonly RoundTripLoop[]): Row[] {
  return loops.map((l) => ({
    loop: l.loop, simOrig: l.vsOriginal.sim, ssimOrig: l.vsOriginal.ssim, psnrOrig: l.vsOriginal.psnr, simPrev: l.vsPrevious.sim, tokens: l.tokens,
  }));
}

const fmt = (v: unknown): string => (typeof v === 'number' ? (Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3)) : String(v));

/** The x axis shared by both charts: loops 1…N fixed, so points land where they belong as they arrive. */
function loopAxis(total: number) {
  return <XAxis dataKey="loop" type="number" domain={[1, Math.max(1, total)]} ticks={Array.from({ length: total }, (_, i) => i + 1)} allowDecimals={false} label={{ value: 'loop', position: 'insideBottomRight', offset: -4 }} />;
}

/**
 * Fidelity per loop: scorer sim and SSIM against the original, sim against the previous image (left axis),
 * PSNR against the original in dB (right axis). A point appears as its loop finishes (no animation).
 */
export function FidelityChart({ loops, total, height = 240 }: { loops: readonly RoundTripLoop[]; total: number; height?: number }) {
  return (
    <figure className="rt-chart" data-testid="rt-chart-fidelity" data-points={loops.length}>
      <figcaption>Fidelity per loop</figcaption>
      <ResponsiveContainer width="100%" height={height}>
        <LineChart data={rows(loops)} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          {loopAxis(total)}
          <YAxis yAxisId="unit" domain={[(min: number) => Math.min(0, Math.floor(min * 10) / 10), 1]} tickFormatter={(v: number) => v.toFixed(1)} width={40} />
          <YAxis yAxisId="db" orientation="right" domain={[0, 'auto']} unit=" dB" width={56} />
          <Tooltip formatter={fmt} labelFormatter={(l) => `loop ${String(l)}`} />
          <Legend />
          <Line yAxisId="unit" className="series-sim" dataKey="simOrig" name="sim vs original" stroke="#2458c6" strokeWidth={2} isAnimationActive={false} />
          <Line yAxisId="unit" className="series-ssim" dataKey="ssimOrig" name="SSIM vs original" stroke="#1f7a4d" isAnimationActive={false} />
          <Line yAxisId="unit" className="series-sim-prev" dataKey="simPrev" name="sim vs previous" stroke="#8a63d2" strokeDasharray="4 3" isAnimationActive={false} />
          <Line yAxisId="db" className="series-psnr" dataKey="psnrOrig" name="PSNR vs original" stroke="#9a5b00" isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

/** Caption length (content tokens) per loop. */
export function LengthChart({ loops, total, height = 200 }: { loops: readonly RoundTripLoop[]; total: number; height?: number }) {
  return (
    <figure className="rt-chart" data-testid="rt-chart-length" data-points={loops.length}>
      <figcaption>Caption length per loop</figcaption>
      <ResponsiveContainer width="100%" height={height}>
        <LineChart data={rows(loops)} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          {loopAxis(total)}
          <YAxis domain={[0, (max: number) => Math.max(4, max + 1)]} allowDecimals={false} width={40} />
          <Tooltip labelFormatter={(l) => `loop ${String(l)}`} />
          <Line className="series-tokens" dataKey="tokens" name="tokens" stroke="#2458c6" strokeWidth={2} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
