// The manifest validator: the fixture passes; each class of problem is reported naming file and field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/errors.ts';
import { parseManifestText, validateManifest } from '../../src/engine/manifest.ts';
import { deferredAtLoad, presentRoles, resolveRole, roleGraphs } from '../../src/engine/roles.ts';
import { FIXTURE_DIR } from './engine-fixture.ts';

type Json = Record<string, unknown> & { files: Record<string, unknown>[]; roles: Record<string, unknown> };

const base = (): Json => JSON.parse(readFileSync(join(FIXTURE_DIR, 'manifest.json'), 'utf8')) as Json;
const hash = (c: string): string => c.repeat(64);

/** A manifest using every role, built on the fixture's files plus extra listed paths. */
function fullManifest(): Json {
  const m = base();
  for (const p of [
    'enc/vision.onnx',
    'enc/decoder.onnx',
    'dec/text.onnx',
    'dec/dit.onnx',
    'dec/vae.onnx',
    'ck/v.onnx',
    'ck/d.onnx',
    'bb/i2i.onnx',
    'runs/a.json',
  ]) {
    m.files.push({ path: p, bytes: 1, sha256: hash('a') });
  }
  const enc = {
    vision: 'enc/vision.onnx',
    decoder: 'enc/decoder.onnx',
    numLayers: 2,
    numHeads: 2,
    headDim: 8,
    maxTokens: 32,
    bosId: 1,
    eosId: 2,
    padId: 0,
  };
  m.roles = {
    ...m.roles,
    encoder: enc,
    referenceEncoder: enc,
    decoder: {
      textEncoder: 'dec/text.onnx',
      transformer: 'dec/dit.onnx',
      vaeDecoder: 'dec/vae.onnx',
      latentShape: [4, 8, 8],
      sigmaA: 0.7,
      patch: 2,
    },
    backbones: [{ id: 'i2i', label: 'image-image CNN', vision: 'bb/i2i.onnx', embedDim: 128 }],
    checkpoints: [{ step: 100, label: 'after GRPO', encoder: { vision: 'ck/v.onnx', decoder: 'ck/d.onnx' } }],
    runs: [{ id: 'g', label: 'stage 2', stage: 'generation-for-understanding', path: 'runs/a.json' }],
  };
  return m;
}

const errorsOf = (m: unknown): string[] => {
  const v = validateManifest(m);
  return v.ok ? [] : v.errors;
};

describe('validateManifest', () => {
  it('accepts the generated fixture and a manifest using every role', () => {
    const v = validateManifest(base());
    expect(v.ok && v.manifest.roles.scorer).toEqual({ vision: 'scorer/vision.onnx', text: 'scorer/text.onnx', embedDim: 16 });
    const full = validateManifest(fullManifest());
    expect(full.ok, full.ok ? '' : full.errors.join('\n')).toBe(true);
    if (!full.ok) return;
    expect(full.manifest.roles.decoder?.sigmaA).toBe(0.7);
    expect(presentRoles(full.manifest)).toEqual(['encoder', 'referenceEncoder', 'decoder', 'scorer', 'backbones', 'checkpoints', 'runs']);
    expect(full.manifest.roles.backbones).toEqual([{ id: 'i2i', label: 'image-image CNN', vision: 'bb/i2i.onnx', embedDim: 128 }]);
    const graphs = roleGraphs(full.manifest);
    expect(graphs.eager.map((g) => g.role)).toContain('decoder.vaeDecoder');
    expect(graphs.eager.map((g) => g.role)).not.toContain('referenceEncoder.decoder');
    // The reference encoder, backbones and checkpoints get their sessions on first use.
    expect(graphs.lazy.map((g) => g.path)).toEqual(['enc/vision.onnx', 'enc/decoder.onnx', 'bb/i2i.onnx', 'ck/v.onnx', 'ck/d.onnx']);
    // A URL load fetches what the eager sessions and the tokenizer need; the rest on first use.
    const deferred = full.manifest.files.map((f) => f.path).filter((p) => deferredAtLoad(p, full.manifest));
    expect(deferred.sort()).toEqual(['bb/i2i.onnx', 'ck/d.onnx', 'ck/v.onnx', 'runs/a.json']);
    expect(resolveRole(full.manifest, 'backbones.0.vision')).toBe('bb/i2i.onnx');
    expect(resolveRole(full.manifest, 'checkpoints.0.encoder.decoder')).toBe('ck/d.onnx');
    expect(() => resolveRole(full.manifest, 'decoder.latentShape')).toThrow(/does not name a file/);
  });

  it('names the field of a bad vision backbone: its id (form, taken), file and size', () => {
    const m = fullManifest();
    const list = m.roles.backbones as Record<string, unknown>[];
    list.push({ id: 'i2i', label: 'again', vision: 'bb/i2i.onnx', embedDim: 8 });
    list.push({ id: 'Bad-Id', label: 'x', vision: 'bb/none.onnx', embedDim: 0 });
    list.push({ id: 'scorer', label: 'x', vision: 'bb/i2i.onnx', embedDim: 8 });
    expect(errorsOf(m)).toEqual(
      expect.arrayContaining([
        "manifest.json: roles.backbones[1].id 'i2i' is already taken",
        "manifest.json: roles.backbones[2].id must be lower-case letters, digits and _ (got 'Bad-Id')",
        "manifest.json: roles.backbones[2].vision 'bb/none.onnx' is not listed in files",
        'manifest.json: roles.backbones[2].embedDim must be >= 1',
        "manifest.json: roles.backbones[3].id 'scorer' is already taken",
      ]),
    );
  });

  it('names file and field for file entries', () => {
    const m = base();
    m.files[2].sha256 = 'xyz';
    m.files[0].bytes = -1;
    m.files[1].path = '../escape.onnx';
    expect(errorsOf(m)).toEqual(
      expect.arrayContaining([
        'manifest.json: files[2].sha256 must be 64 hex chars',
        'manifest.json: files[0].bytes must be >= 0',
        "manifest.json: files[1].path must be a relative path inside the bundle (got '../escape.onnx')",
      ]),
    );
    const dup = base();
    dup.files.push({ ...dup.files[0] });
    expect(errorsOf(dup)).toContain("manifest.json: files[3].path 'scorer/vision.onnx' is listed twice");
  });

  it('requires every role, io and tokenizer path to be listed in files', () => {
    const m = base();
    (m.roles.scorer as Record<string, unknown>).vision = 'nope.onnx';
    m.tokenizer = 'tok.json';
    (m.io as Record<string, unknown>)['ghost.onnx'] = { inputs: [], outputs: [] };
    expect(errorsOf(m)).toEqual(
      expect.arrayContaining([
        "manifest.json: roles.scorer.vision 'nope.onnx' is not listed in files",
        "manifest.json: tokenizer 'tok.json' is not listed in files",
        `manifest.json: io["ghost.onnx"] 'ghost.onnx' is not listed in files`,
      ]),
    );
    const f = fullManifest();
    (f.roles.checkpoints as Record<string, Record<string, unknown>>[])[0].encoder.vision = 'missing.onnx';
    expect(errorsOf(f)).toContain("manifest.json: roles.checkpoints[0].encoder.vision 'missing.onnx' is not listed in files");
  });

  it('checks io specs, preprocessing, defaults and role parameters by field', () => {
    const m = fullManifest();
    const io = m.io as Record<string, { inputs: Record<string, unknown>[] }>;
    io['scorer/vision.onnx'].inputs[0].dtype = 'float64';
    io['scorer/vision.onnx'].inputs[0].shape = ['batch', -3];
    const pre = (m.preprocessing as Record<string, Record<string, unknown>>).image;
    pre.mean = [0.5, 0.5];
    pre.resize = 'crop';
    (m.defaults as Record<string, unknown>).topP = 1.5;
    (m.roles.encoder as Record<string, unknown>).numHeads = 2.5;
    (m.roles.decoder as Record<string, unknown>).sigmaA = 'big';
    m.roles.critic = {};
    m.schema = 'uae-bundle/2';
    expect(errorsOf(m)).toEqual(
      expect.arrayContaining([
        "manifest.json: schema must be 'uae-bundle/1'",
        `manifest.json: io["scorer/vision.onnx"].inputs[0].dtype must be one of 'float32', 'float16', 'int32', 'int64', 'uint8', 'bool'`,
        `manifest.json: io["scorer/vision.onnx"].inputs[0].shape[1] must be a non-negative integer or a symbolic name`,
        'manifest.json: preprocessing.image.mean must have exactly 3 numbers',
        "manifest.json: preprocessing.image.resize must be one of 'cover', 'contain', 'stretch'",
        'manifest.json: defaults.topP must be <= 1',
        'manifest.json: roles.encoder.numHeads must be an integer',
        'manifest.json: roles.decoder.sigmaA must be a finite number',
        expect.stringMatching(/^manifest\.json: roles\.critic is not a known role/),
      ]),
    );
  });

  it('reports missing top-level sections and non-objects', () => {
    expect(errorsOf([])).toEqual(['manifest.json: must be a JSON object']);
    const m = base();
    delete m.defaults;
    delete m.preprocessing;
    expect(errorsOf(m)).toEqual(['manifest.json: preprocessing must be an object', 'manifest.json: defaults must be an object']);
  });

  it('parseManifestText separates JSON errors from schema errors', () => {
    const parse = (t: string): EngineError => {
      try {
        parseManifestText(t, 'bundle/manifest.json');
      } catch (e) {
        if (e instanceof EngineError) return e;
      }
      throw new Error('expected an EngineError');
    };
    const json = parse('{"schema": ');
    expect(json.code).toBe('manifest-json');
    expect(json.message).toMatch(/^bundle\/manifest\.json: is not valid JSON/);
    const schema = parse('{"schema": "uae-bundle/1"}');
    expect(schema.code).toBe('manifest-schema');
    expect(schema.message).toMatch(/^bundle\/manifest\.json: id must be a non-empty string/);
  });
});
