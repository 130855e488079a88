// Graphs that do not fit their role: every bad-model variant made from the fixture (truncated/empty ONNX,
// renamed, retyped and reshaped inputs/outputs, manifests lying about roles, io or sizes) fails the load
// with its code and a message naming file, role and tensor, while the previous bundle stays loaded and
// usable. The contract itself is checked on the real bundles (no false alarms) and on edge cases.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkGraphIo, roleContracts, type SessionIo } from '../../src/engine/contract.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { parseManifestText } from '../../src/engine/manifest.ts';
import { roleGraphs } from '../../src/engine/roles.ts';
import type { BundleFileData } from '../../src/protocol/messages.ts';
import { BAD_MODEL_VARIANTS, badModelFiles } from '../fixtures/bad-models.mjs';
import { checkpointBundle } from './checkpoint-fixture.ts';
import { engineFailure, FIXTURE_DIR, readFolder, reference, referencePixels } from './engine-fixture.ts';
import { HOOK_TIMEOUT, TINY_BUNDLE } from './infer-helpers.ts';
import { connectHost } from './worker-helpers.ts';

const asFiles = (files: Map<string, Buffer>): BundleFileData[] =>
  [...files].map(([path, b]) => ({ path, data: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer }));

const toBuffer = (x: string | Uint8Array): ArrayBuffer => {
  const b = typeof x === 'string' ? new TextEncoder().encode(x) : x;
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

const pixelFeeds = () => {
  const dims = reference().pixel_values.dims;
  return { pixel_values: { dtype: 'float32' as const, data: referencePixels(dims), dims } };
};

describe('bad models: a clear error, the previous bundle kept', () => {
  it.each(Object.keys(BAD_MODEL_VARIANTS))(
    '%s',
    async (name) => {
      const variant = BAD_MODEL_VARIANTS[name];
      const { client, host } = connectHost();
      await client.loadBundle({ kind: 'files', files: readFolder(FIXTURE_DIR) }).done;
      const err = await engineFailure(client.loadBundle({ kind: 'files', files: asFiles(badModelFiles(name)) }).done);
      expect([name, err.code]).toEqual([name, variant.code]);
      expect(err.message).toMatch(variant.message);
      // The fixture is still the loaded bundle, its sessions still answer, and nothing leaked.
      expect(host.stats().bundleId).toBe('fixture-tiny');
      expect(host.stats().sessions).toEqual(['scorer/vision.onnx', 'scorer/text.onnx']);
      const out = await client.request({ type: 'runGraph', target: { role: 'scorer.vision' }, feeds: pixelFeeds() }).done;
      expect(out.outputs.image_embeds.dims).toEqual(reference().image_embeds.dims);
      expect(host.tracker.live()).toBe(0);
    },
    HOOK_TIMEOUT,
  );

  it('the unbroken fixture, written the same way, loads (the variants fail for their change alone)', async () => {
    const { client } = connectHost();
    const files = badModelFiles('io-lies-about-names');
    const manifest = JSON.parse(files.get('manifest.json')?.toString() ?? '{}') as { io: Record<string, { outputs: { name: string }[] }> };
    manifest.io['scorer/text.onnx'].outputs[0].name = 'text_embeds';
    files.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
    const summary = await client.loadBundle({ kind: 'files', files: asFiles(files) }).done;
    expect(summary.sessions).toEqual(['scorer/vision.onnx', 'scorer/text.onnx']);
  });
});

describe('role contracts', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it(
    'cover every role graph, and the real graphs of the tiny bundle (with checkpoints) fit them',
    async () => {
      const dir = checkpointBundle();
      dirs.push(dir);
      const manifest = parseManifestText(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      const contracts = roleContracts(manifest);
      const { eager, lazy } = roleGraphs(manifest);
      for (const g of [...eager, ...lazy])
        expect(
          contracts.get(g.path)?.map((c) => c.role),
          g.role,
        ).toContain(g.role);
      // Loading opens the eager graphs with the check; a checkpoint graph is checked on first use.
      const { client, host } = connectHost();
      await client.loadBundle({ kind: 'files', files: readFolder(dir) }).done;
      const checkpoint = lazy[lazy.length - 1].path;
      await host.loaded().sessions.get(checkpoint);
      expect(host.stats().sessions).toContain(checkpoint);
    },
    HOOK_TIMEOUT,
  );

  it(
    'a role graph that disagrees with the manifest fails at load, naming every role it serves',
    async () => {
      const dir = checkpointBundle();
      dirs.push(dir);
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { roles: { encoder: { numHeads: number } } };
      manifest.roles.encoder.numHeads = 4; // the graphs have 2
      const files = readFolder(dir).map((f) =>
        f.path === 'manifest.json' ? { path: f.path, data: toBuffer(JSON.stringify(manifest)) } : f,
      );
      const { client, host } = connectHost();
      const err = await engineFailure(client.loadBundle({ kind: 'files', files }).done);
      expect(err.code).toBe('io-mismatch');
      expect(
        err.message.startsWith(
          'encoder/decoder_model_merged.onnx (encoder.decoder, referenceEncoder.decoder, checkpoints.0.encoder.decoder): ',
        ),
      ).toBe(true);
      expect(err.message).toContain(
        "input 'past_key_values.0.key' has shape [batch, 2, past_sequence, 16], role encoder.decoder needs [?, 4, ?, 16]",
      );
      expect(err.message).toContain(
        "output 'present.0.value' has shape [batch, 2, total_sequence, 16], role encoder.decoder needs [?, 4, ?, 16]",
      );
      expect(host.stats().bundleId).toBeUndefined();
    },
    HOOK_TIMEOUT,
  );

  it(
    'a checkpoint graph that does not fit fails on first use; the bundle stays loaded',
    async () => {
      const dir = checkpointBundle();
      dirs.push(dir);
      const path = 'checkpoints/step-0016/decoder_model_merged.onnx';
      const wrong = readFileSync(join(dir, 'decoder', 'text_encoder', 'model.onnx'));
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
        files: { path: string; bytes: number; sha256: string }[];
        io: Record<string, unknown>;
      };
      const entry = manifest.files.find((f) => f.path === path);
      if (!entry) throw new Error(`${path} not in the checkpoint bundle`);
      Object.assign(entry, { bytes: wrong.length, sha256: createHash('sha256').update(wrong).digest('hex') });
      delete manifest.io[path];
      const files = readFolder(dir).map((f) => {
        if (f.path === 'manifest.json') return { path: f.path, data: toBuffer(JSON.stringify(manifest)) };
        if (f.path === path) return { path, data: toBuffer(wrong) };
        return f;
      });
      const { client, host } = connectHost();
      await client.loadBundle({ kind: 'files', files }).done;
      const err = await engineFailure(host.loaded().sessions.get(path));
      expect(err.code).toBe('io-mismatch');
      expect(err.message).toMatch(
        /^checkpoints\/step-0016\/decoder_model_merged\.onnx \(checkpoints\.2\.encoder\.decoder\): inputs are \[input_ids\], role checkpoints\.2\.encoder\.decoder feeds \[input_ids, encoder_hidden_states, past_key_values\.0\.key, past_key_values\.0\.value\]; outputs are \[last_hidden_state\], /,
      );
      expect(host.stats().sessions).not.toContain(path);
      expect(host.stats().bundleId).toBe('uae-tiny-ckpt');
    },
    HOOK_TIMEOUT,
  );

  it('names missing, extra, retyped and reshaped tensors; symbolic and undeclared dims pass', () => {
    const manifest = parseManifestText(readFileSync(join(FIXTURE_DIR, 'manifest.json'), 'utf8'));
    delete (manifest.io as Record<string, unknown>)['scorer/vision.onnx'];
    const t = (name: string, type: string, shape: (number | string)[]) => ({
      name,
      isTensor: true as const,
      type: type as 'float32',
      shape,
    });
    const io = (inputs: SessionIo['inputMetadata'], outputs: SessionIo['outputMetadata']): SessionIo => ({
      inputMetadata: inputs,
      outputMetadata: outputs,
    });
    const check = (s: SessionIo): string => {
      try {
        checkGraphIo(manifest, 'scorer/vision.onnx', s);
        return 'ok';
      } catch (e) {
        expect(e).toBeInstanceOf(EngineError);
        expect((e as EngineError).code).toBe('io-mismatch');
        return (e as EngineError).message.replace(/^scorer\/vision\.onnx \(scorer\.vision\): /, '');
      }
    };
    const good = t('pixel_values', 'float32', ['n', 3, 64, 64]);
    const embeds = t('image_embeds', 'float32', ['n', 16]);
    expect(check(io([good], [embeds]))).toBe('ok');
    expect(check(io([t('pixel_values', 'float32', [])], [embeds, t('extra_out', 'float32', [1])]))).toBe('ok');
    expect(check(io([good, t('mask', 'bool', ['n'])], [embeds]))).toBe(
      'inputs are [pixel_values, mask], role scorer.vision feeds [pixel_values]',
    );
    expect(check(io([good], [t('embeds', 'float32', ['n', 16])]))).toBe('outputs are [embeds], role scorer.vision reads [image_embeds]');
    expect(check(io([t('pixel_values', 'float16', ['n', 3, 64, 64])], [embeds]))).toBe(
      "input 'pixel_values' is float16, role scorer.vision needs float32",
    );
    expect(check(io([t('pixel_values', 'float32', ['n', 3, 64])], [embeds]))).toBe(
      "input 'pixel_values' has shape [n, 3, 64], role scorer.vision needs [?, 3, 64, 64]",
    );
    expect(check(io([good], [t('image_embeds', 'float32', [1, 2, 16])]))).toBe(
      "output 'image_embeds' has shape [1, 2, 16], role scorer.vision needs [?, 16]",
    );
    expect(check(io([{ name: 'pixel_values', isTensor: false }], [embeds]))).toBe(
      "input 'pixel_values' is not a tensor, role scorer.vision needs float32",
    );
  });

  it('checks a graph the manifest lists in io but no role uses against io alone', () => {
    const manifest = parseManifestText(readFileSync(join(TINY_BUNDLE, 'manifest.json'), 'utf8'));
    manifest.io['extra.onnx'] = {
      inputs: [{ name: 'x', dtype: 'float32', shape: ['n', 2] }],
      outputs: [{ name: 'y', dtype: 'int64', shape: ['n'] }],
    };
    const session = (shape: (number | string)[]): SessionIo => ({
      inputMetadata: [{ name: 'x', isTensor: true, type: 'float32', shape }],
      outputMetadata: [{ name: 'y', isTensor: true, type: 'int64', shape: ['n'] }],
    });
    expect(() => checkGraphIo(manifest, 'extra.onnx', session(['batch', 2]))).not.toThrow();
    expect(() => checkGraphIo(manifest, 'extra.onnx', session(['batch', 3]))).toThrow(
      /^extra\.onnx: input 'x' has shape \[batch, 3\], manifest io says \[n, 2\]$/,
    );
  });
});
