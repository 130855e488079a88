/** Writes public/tokenizers/shapes/tokenizer.json from the shapes vocabulary (run: npx tsx scripts/make-tokenizer.ts). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tokenizerJsonText, VOCAB } from '../src/shapes/index.ts';

const target = resolve(dirname(fileURLToPath(import.meta.url)), '../public/tokenizers/shapes/tokenizer.json');
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, tokenizerJsonText());
console.log(`wrote ${target} (${VOCAB.length} tokens)`);
