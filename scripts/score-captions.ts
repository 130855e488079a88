/**
 * Bridge for the Python pipeline: scores captions against scene graphs with the TypeScript parser (the
 * single source of truth). Reads a JSON array of {caption, scene} on stdin, writes a JSON array of
 * {precision, recall, f1, contradicted, errors} on stdout (errors: the contradicted attributes by kind).
 */
import { captionErrors, parseCaption, scoreCaption, type Scene } from '../src/shapes/index.ts';

interface Item {
  caption: string;
  scene: Scene;
}

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const items = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Item[];
const out = items.map(({ caption, scene }) => {
  const a = parseCaption(caption);
  const s = scoreCaption(a, scene);
  return {
    precision: s.precision,
    recall: s.recall,
    f1: s.f1,
    contradicted: s.contradicted,
    asserted: s.asserted,
    errors: captionErrors(a, scene),
  };
});
process.stdout.write(JSON.stringify(out));
