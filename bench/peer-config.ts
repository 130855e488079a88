/**
 * Writes the transformers.js config files for a bundle's encoder (src/bench/peer-config.ts) beside its ONNX
 * files, so `pipeline('image-to-text', '<bundle>/encoder', { subfolder: '' })` loads them from local files.
 *   node --import tsx bench/peer-config.ts [--bundle public/models/uae-shapes] [--out DIR]
 * Default --out is the bundle's encoder folder (public/models/uae-shapes/encoder/). With another --out, the
 * two ONNX files and tokenizer.json are copied there too (the bench writes its own copy under bench/out/).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseManifestText } from '../src/engine/manifest.ts';
import { peerConfigFiles } from '../src/bench/peer-config.ts';

/** Returns the paths written: config files, tokenizer.json, and the ONNX files when `out` is not their folder. */
export function writePeerConfig(bundleDir: string, out: string): string[] {
  const manifest = parseManifestText(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
  const role = manifest.roles.encoder;
  if (!role) throw new Error(`${bundleDir}: no encoder role`);
  const tokenizer = readFileSync(join(bundleDir, manifest.tokenizer ?? 'tokenizer.json'), 'utf8');
  mkdirSync(out, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of Object.entries(peerConfigFiles(manifest, tokenizer))) {
    writeFileSync(join(out, name), text);
    written.push(join(out, name));
  }
  writeFileSync(join(out, 'tokenizer.json'), tokenizer);
  written.push(join(out, 'tokenizer.json'));
  for (const [path, file] of [
    [role.vision, 'encoder_model.onnx'],
    [role.decoder, 'decoder_model_merged.onnx'],
  ]) {
    const src = resolve(bundleDir, path);
    const dst = resolve(out, file);
    if (src === dst) continue;
    copyFileSync(src, dst);
    written.push(dst);
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { bundle: { type: 'string', default: join('public', 'models', 'uae-shapes') }, out: { type: 'string' } },
  });
  const bundle = values.bundle ?? join('public', 'models', 'uae-shapes');
  for (const p of writePeerConfig(bundle, values.out ?? join(bundle, 'encoder'))) console.log(p);
}
