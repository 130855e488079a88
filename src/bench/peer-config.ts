/**
 * The small config files transformers.js needs to load our encoder (an Optimum vision-encoder-decoder export:
 * encoder_model.onnx + decoder_model_merged.onnx) as an `image-to-text` pipeline. Every number comes from the
 * bundle's manifest and tokenizer. A decoder of the merged encoder-decoder layout (past_key_values.{i}.decoder
 * and .encoder keys/values, use_cache_branch) is declared as TrOCR's decoder, whose cache has the same names;
 * one of the legacy layout (past_key_values.{i}.key/value) as GPT-2 (n_layer/n_head/n_embd).
 */
import type { BundleManifest } from '../engine/manifest.ts';
import { kvLayoutOf } from '../engine/kv-layout.ts';

/** File name → JSON text of each config file. */
export type PeerConfigFiles = Record<
  'config.json' | 'generation_config.json' | 'preprocessor_config.json' | 'tokenizer_config.json',
  string
>;

/** Returns the config files for the bundle's encoder role (vocab size read from tokenizer.json's WordLevel vocab). */
export function peerConfigFiles(manifest: BundleManifest, tokenizerJson: string): PeerConfigFiles {
  const role = manifest.roles.encoder;
  if (!role) throw new Error(`bundle ${manifest.id} has no encoder role`);
  const tok = JSON.parse(tokenizerJson) as { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number; content: string }[] };
  const vocab = tok.model?.vocab ?? {};
  const vocabSize = Math.max(...Object.values(vocab), ...(tok.added_tokens ?? []).map((t) => t.id)) + 1;
  const name = (id: number): string =>
    Object.entries(vocab).find(([, v]) => v === id)?.[0] ?? tok.added_tokens?.find((t) => t.id === id)?.content ?? `[${id}]`;
  const pre = manifest.preprocessing.image;
  const hidden = role.numHeads * role.headDim;
  const ids = { bos_token_id: role.bosId, eos_token_id: role.eosId, pad_token_id: role.padId, decoder_start_token_id: role.bosId };
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  const layout = kvLayoutOf((manifest.io[role.decoder]?.inputs ?? []).map((t) => t.name));
  // transformers.js names the cache from the decoder's config: an encoder-decoder type (TrOCR's) gives
  // past_key_values.{i}.decoder/.encoder.*, GPT-2's gives past_key_values.{i}.key/value.
  const decoderShape =
    layout === 'cross'
      ? {
          model_type: 'trocr',
          decoder_layers: role.numLayers,
          decoder_attention_heads: role.numHeads,
          d_model: hidden,
          max_position_embeddings: role.maxTokens,
        }
      : { model_type: 'gpt2', n_layer: role.numLayers, n_head: role.numHeads, n_embd: hidden, n_positions: role.maxTokens };
  return {
    'config.json': json({
      architectures: ['VisionEncoderDecoderModel'],
      model_type: 'vision-encoder-decoder',
      is_encoder_decoder: true,
      tie_word_embeddings: false,
      ...ids,
      max_length: role.maxTokens,
      encoder: { model_type: 'vit', image_size: pre.height, num_channels: pre.channels },
      decoder: {
        ...decoderShape,
        is_decoder: true,
        add_cross_attention: true,
        vocab_size: vocabSize,
        ...ids,
      },
      'transformers.js_config': { dtype: 'fp32' },
    }),
    'generation_config.json': json({ ...ids, max_length: role.maxTokens, do_sample: false, num_beams: 1 }),
    'preprocessor_config.json': json({
      image_processor_type: 'ViTImageProcessor',
      do_resize: true,
      size: { height: pre.height, width: pre.width },
      resample: 2,
      do_rescale: true,
      rescale_factor: pre.scale,
      do_normalize: true,
      image_mean: pre.mean,
      image_std: pre.std,
    }),
    'tokenizer_config.json': json({
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: name(role.bosId),
      eos_token: name(role.eosId),
      pad_token: name(role.padId),
      unk_token: '[UNK]',
      model_max_length: role.maxTokens,
      clean_up_tokenization_spaces: false,
    }),
  };
}
