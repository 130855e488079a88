/**
 * A bundle with encoder checkpoints for the tests: the tiny test bundle copied to a temporary folder, plus
 * the checkpoint graphs of tests/fixtures/checkpoints/uae-tiny (its caption decoder with the [EOS] logit
 * lowered: later steps write longer greedy captions), listed in the manifest like models/ lists them:
 * step 0 is the cold start (the encoder role's own graphs), later steps share the vision graph.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TINY_BUNDLE } from './infer-helpers.ts';

/** Steps of the fixture's checkpoints after the cold start (folders step-XXXX). */
export const LATER_STEPS = [8, 16];

const SOURCE = join(ROOT, 'tests', 'fixtures', 'checkpoints', 'uae-tiny');

interface ManifestJson {
  id: string;
  files: { path: string; bytes: number; sha256: string }[];
  io: Record<string, unknown>;
  roles: Record<string, unknown> & { encoder: { vision: string; decoder: string } };
}

/** Returns a fresh folder holding the tiny bundle with checkpoints at steps 0, ...LATER_STEPS (delete it when done). */
export function checkpointBundle(): string {
  const dir = mkdtempSync(join(tmpdir(), 'uae-ckpt-bundle-'));
  cpSync(TINY_BUNDLE, dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ManifestJson;
  m.id = 'uae-tiny-ckpt';
  const enc = m.roles.encoder;
  const checkpoints = [{ step: 0, label: 'cold start (step 0)', encoder: { vision: enc.vision, decoder: enc.decoder } }];
  for (const step of LATER_STEPS) {
    const name = `step-${String(step).padStart(4, '0')}`;
    const path = `checkpoints/${name}/decoder_model_merged.onnx`;
    mkdirSync(join(dir, 'checkpoints', name), { recursive: true });
    const bytes = readFileSync(join(SOURCE, name, 'decoder_model_merged.onnx'));
    writeFileSync(join(dir, path), bytes);
    m.files.push({ path, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    m.io[path] = m.io[enc.decoder];
    checkpoints.push({ step, label: `GRPO step ${step}`, encoder: { vision: enc.vision, decoder: path } });
  }
  m.roles.checkpoints = checkpoints;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
  return dir;
}
