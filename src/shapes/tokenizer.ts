/** Word-level tokenizer loaded from a Hugging Face tokenizer.json (WordLevel + WhitespaceSplit). */

/** A loaded word-level tokenizer. */
export interface WordTokenizer {
  /** Returns the ids of the whitespace-separated words of `text` (unknown words → unkId; no specials). */
  encode(text: string): number[];
  /** Returns the words of `ids` joined by single spaces, skipping special and out-of-range ids. */
  decode(ids: readonly number[]): string;
  /** Returns the word of one id, or undefined when out of range. */
  idToToken(id: number): string | undefined;
  readonly vocabSize: number;
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
}

interface LoadableJson {
  model?: { type?: unknown; vocab?: unknown; unk_token?: unknown };
  added_tokens?: unknown;
}

/** Returns a tokenizer from tokenizer.json content (a parsed object or its JSON text); throws if not WordLevel. */
export function loadTokenizer(json: unknown): WordTokenizer {
  const parsed = (typeof json === 'string' ? JSON.parse(json) : json) as LoadableJson;
  const model = parsed?.model;
  if (!model || model.type !== 'WordLevel' || typeof model.vocab !== 'object' || model.vocab === null) {
    throw new Error('loadTokenizer: expected a tokenizer.json with a WordLevel model');
  }
  const vocab = new Map<string, number>(Object.entries(model.vocab as Record<string, number>));
  const tokens: string[] = [];
  for (const [w, id] of vocab) tokens[id] = w;
  const special = new Set<number>();
  if (Array.isArray(parsed.added_tokens)) {
    for (const t of parsed.added_tokens as { id: number; special?: boolean }[]) if (t.special) special.add(t.id);
  }
  const idOf = (w: string): number => {
    const id = vocab.get(w);
    if (id === undefined) throw new Error(`loadTokenizer: missing special token ${w}`);
    return id;
  };
  const unkId = idOf(typeof model.unk_token === 'string' ? model.unk_token : '[UNK]');
  return {
    vocabSize: tokens.length,
    padId: idOf('[PAD]'),
    bosId: idOf('[BOS]'),
    eosId: idOf('[EOS]'),
    unkId,
    encode: (text) =>
      text
        .split(/\s+/)
        .filter((w) => w.length > 0)
        .map((w) => vocab.get(w) ?? unkId),
    decode: (ids) =>
      ids
        .filter((id) => Number.isInteger(id) && id >= 0 && id < tokens.length && !special.has(id))
        .map((id) => tokens[id])
        .join(' '),
    idToToken: (id) => (Number.isInteger(id) ? tokens[id] : undefined),
  };
}
