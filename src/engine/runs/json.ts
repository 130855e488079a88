/** JSON as Python writes it: `json.dumps` emits bare NaN / Infinity / -Infinity, which JSON.parse rejects. */

const TOKENS = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;

/** Returns the parsed value of `text`; non-finite Python literals outside strings read as null (a gap). */
export function parseJsonLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!/NaN|Infinity/.test(text)) throw e;
    // Strings are matched first and kept, so a caption containing "NaN" is left alone.
    return JSON.parse(text.replace(TOKENS, (m) => (m.startsWith('"') ? m : 'null')));
  }
}

/** Returns true for a plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Returns the message of a thrown JSON.parse error, or its string form. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
