/**
 * The caption vocabulary in its fixed order (token ids), and the Hugging Face tokenizer.json
 * built from it: WordLevel model, WhitespaceSplit pre-tokenizer, [PAD]=0 [BOS]=1 [EOS]=2 [UNK]=3.
 */
import { COUNT_WORDS } from './caption.ts';
import { BACKGROUNDS, COLOURS, SHAPES, SIZES } from './scene.ts';

export const SPECIAL_TOKENS = ['[PAD]', '[BOS]', '[EOS]', '[UNK]'] as const;
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const UNK_ID = 3;
/** Longest caption in tokens including [BOS] and [EOS]; L4 with four objects fits. */
export const MAX_CAPTION_TOKENS = 48;

const FUNCTION_WORDS = ['a', 'an', 'the', 'at', 'in', 'on', 'and', ',', ':', 'with', 'background', 'object', 'objects'];
const POSITION_TOKENS = ['top', 'bottom', 'left', 'right', 'center'];

/** Every token in id order: specials first, then the words of the grammar. */
export const VOCAB: readonly string[] = [
  ...SPECIAL_TOKENS,
  ...FUNCTION_WORDS,
  ...COUNT_WORDS,
  ...SIZES,
  ...COLOURS,
  ...BACKGROUNDS,
  ...SHAPES,
  ...POSITION_TOKENS,
];

/** JSON shape of the tokenizer.json subset this project writes and reads. */
export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: {
    id: number;
    content: string;
    single_word: boolean;
    lstrip: boolean;
    rstrip: boolean;
    normalized: boolean;
    special: boolean;
  }[];
  normalizer: null;
  pre_tokenizer: { type: 'WhitespaceSplit' };
  post_processor: null;
  decoder: null;
  model: { type: 'WordLevel'; vocab: Record<string, number>; unk_token: string };
}

/** Returns the tokenizer.json object for VOCAB (serialise with JSON.stringify(x, null, 2)). */
export function buildTokenizerJson(): TokenizerJson {
  const vocab: Record<string, number> = {};
  VOCAB.forEach((w, i) => (vocab[w] = i));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '[UNK]' },
  };
}

/** Returns the exact text of public/tokenizers/shapes/tokenizer.json (2-space JSON, trailing newline). */
export function tokenizerJsonText(): string {
  return JSON.stringify(buildTokenizerJson(), null, 2) + '\n';
}
