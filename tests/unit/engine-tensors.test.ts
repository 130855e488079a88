// Session outputs handed over without a second copy, and only when that is safe.
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { fromOrtTensor, runSession, TensorTracker } from '../../src/engine/tensors.ts';
import { FIXTURE_DIR } from './engine-fixture.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('fromOrtTensor', () => {
  it('adopts a typed array that spans its own buffer, copies otherwise', () => {
    const own = new Float32Array([1, 2, 3, 4]);
    const t = new ort.Tensor('float32', own, [2, 2]);
    expect(fromOrtTensor(t, 'x', true).data).toBe(own);
    const copied = fromOrtTensor(t, 'x', false).data;
    expect(copied).not.toBe(own);
    expect([...copied]).toEqual([1, 2, 3, 4]);
    const heap = new Float32Array(16);
    const view = heap.subarray(4, 8);
    view.set([5, 6, 7, 8]);
    const fromView = fromOrtTensor(new ort.Tensor('float32', view, [4]), 'v', true).data;
    expect(fromView).not.toBe(view);
    expect(fromView.buffer.byteLength).toBe(16);
    heap.fill(0);
    expect([...fromView]).toEqual([5, 6, 7, 8]);
  });

  it('session outputs survive disposal of the ORT tensors and are transferable', async () => {
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(readFileSync(join(FIXTURE_DIR, 'scorer', 'vision.onnx')));
    const tracker = new TensorTracker();
    const pixels = new Float32Array(1 * 3 * 64 * 64).map((_, i) => ((i % 97) / 97) * 2 - 1);
    const a = await runSession(ort, tracker, session, { pixel_values: { dtype: 'float32', data: pixels, dims: [1, 3, 64, 64] } });
    const b = await runSession(ort, tracker, session, { pixel_values: { dtype: 'float32', data: pixels, dims: [1, 3, 64, 64] } });
    const [ea, eb] = [a['image_embeds']!.data as Float32Array, b['image_embeds']!.data as Float32Array];
    expect(ea).not.toBe(eb);
    expect([...ea]).toEqual([...eb]);
    expect(tracker.live()).toBe(0);
    const { port1, port2 } = new MessageChannel();
    const got = new Promise<Float32Array>((resolve) => {
      port2.onmessage = (m: MessageEvent<Float32Array>) => resolve(m.data);
    });
    port1.postMessage(ea, [ea.buffer]);
    expect([...(await got)]).toEqual([...eb]);
    port1.close();
    port2.close();
    await session.release();
  });
});
