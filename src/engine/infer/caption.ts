/**
 * The encoder (I2T): image → hidden states, then autoregressive captions with the KV cache of the
 * Optimum-layout merged decoder. A group of rows is decoded together, one session run per step for the
 * whole batch; a row that emits [EOS] leaves the batch (its cache rows are dropped), or with
 * `compact: false` keeps feeding [PAD] with its outputs ignored. Log-probs are those of the
 * UNTEMPERED distribution, log_softmax(raw logits)[token], whatever temperature/top-p drew the token;
 * the forced [EOS] at the last position gets the model's own log-prob of [EOS].
 */
import { createRng, type Rng } from '../../shapes/rng.ts';
import type { TensorData } from '../../protocol/messages.ts';
import type { EncoderRole } from '../manifest.ts';
import {
  encoderLabel, encoderRole, f32Output, gatherRows, runGraph, runRowwise, type EncoderChoice, type F32, type I64, type InferContext,
} from './context.ts';
import { chooseToken, logSoftmax, type DecodingPolicy } from './sampling.ts';

/** One generated caption. */
export interface Caption {
  /** Content ids: the generated tokens before [EOS] (no [BOS]/[EOS]). */
  ids: number[];
  /** Every generated token including the final [EOS]: what `logp` covers (a GRPO completion). */
  completion: number[];
  /** [completion.length] per-token log-probs (nats) under the untempered policy. */
  logp: Float64Array;
  /** `ids` decoded by the tokenizer (special tokens skipped). */
  text: string;
  /** Number of content ids that are not special tokens. */
  tokens: number;
  /** True when [EOS] was forced at the last position (the caption hit maxTokens). */
  truncated: boolean;
}

/** Options of caption generation. */
export interface GenerateOptions {
  policy: DecodingPolicy;
  /** Needed for sampling: one uint32 is drawn per row (in row order) to seed that row's own generator. */
  rng?: Rng;
  /** Captions per image (G); rows r·G … r·G+G−1 belong to image r. Default 1. */
  groupSize?: number;
  /** Rows decoded together per session run. Default: all rows at once. */
  batch?: number;
  /** Tokens including [BOS] and [EOS]; default role.maxTokens. */
  maxTokens?: number;
  /** false: recompute the whole prefix each step without the KV cache (for the benchmark/equality test). */
  cache?: boolean;
  role?: EncoderChoice;
  /** Drop finished rows from the batch (default true); false keeps feeding them [PAD] like the PyTorch loop. */
  compact?: boolean;
  /** Called after each decoder run with the step's position (1…), the global rows of the logits, and logits [R,S,V]. */
  onLogits?: (pos: number, rows: number[], logits: F32) => void;
}

/** Returns last_hidden_state float32 [N,T,D] of the encoder's vision graph for pixel_values [N,3,H,W]. */
export async function encodeImages(
  ctx: InferContext,
  pixelValues: F32,
  role: EncoderChoice = 'encoder',
  batch = 32,
): Promise<F32> {
  return runRowwise(ctx, encoderRole(ctx, role).vision, 'pixel_values', pixelValues, 'last_hidden_state', `${encoderLabel(role)}.vision`, batch);
}

function int64(values: number[], dims: number[]): I64 {
  return { dtype: 'int64', data: BigInt64Array.from(values, (v) => BigInt(v)), dims };
}

/** Returns zero-length past key/value feeds [R,H,0,Dh] for every decoder layer. */
function emptyPast(role: EncoderRole, rows: number): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (let i = 0; i < role.numLayers; i++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kv}`] = { dtype: 'float32', data: new Float32Array(0), dims: [rows, role.numHeads, 0, role.headDim] };
    }
  }
  return feeds;
}

/** Returns the present.* outputs renamed as the next step's past_key_values.* feeds. */
function presentAsPast(role: EncoderRole, out: Record<string, TensorData>, label: string): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (let i = 0; i < role.numLayers; i++) {
    for (const kv of ['key', 'value']) feeds[`past_key_values.${i}.${kv}`] = f32Output(out, `present.${i}.${kv}`, label);
  }
  return feeds;
}

/** Per-row decoding state. */
interface RowState {
  completion: number[];
  logp: number[];
  done: boolean;
  truncated: boolean;
  rng: Rng | undefined;
}

/** Decodes one chunk of rows (hidden already gathered per row) and returns their states. */
async function decodeChunk(
  ctx: InferContext, label: string, role: EncoderRole, hidden: F32, rows: RowState[], firstRow: number,
  opts: GenerateOptions, maxTokens: number,
): Promise<void> {
  const cache = opts.cache ?? true;
  const compact = opts.compact ?? true;
  const { bosId, eosId, padId } = role;
  // Rows fed to the decoder (indices into `rows`); with compaction finished rows leave the batch.
  let live = rows.map((_, i) => i);
  let liveHidden = hidden;
  let past = emptyPast(role, rows.length);
  for (let pos = 1; pos < maxTokens; pos++) {
    const R = live.length;
    let ids: I64;
    if (cache) {
      ids = int64(live.map((i) => (rows[i].done ? padId : (rows[i].completion[rows[i].completion.length - 1] ?? bosId))), [R, 1]);
    } else {
      const flat: number[] = [];
      for (const i of live) for (let j = 0; j < pos; j++) flat.push(j === 0 ? bosId : (rows[i].completion[j - 1] ?? padId));
      ids = int64(flat, [R, pos]);
    }
    const feeds: Record<string, TensorData> = { input_ids: ids, encoder_hidden_states: liveHidden, ...(cache ? past : emptyPast(role, R)) };
    const out = await runGraph(ctx, role.decoder, feeds, label);
    const logits = f32Output(out, 'logits', label);
    opts.onLogits?.(pos, live.map((i) => firstRow + i), logits);
    const [, S, V] = logits.dims;
    live.forEach((i, k) => {
      const r = rows[i];
      if (r.done) return;
      const off = (k * S + S - 1) * V;
      const forced = pos === maxTokens - 1;
      const tok = forced ? eosId : chooseToken(logits.data, off, V, opts.policy, r.rng);
      r.completion.push(tok);
      r.logp.push(logSoftmax(logits.data, off, V)[tok]);
      if (tok === eosId) {
        r.done = true;
        r.truncated = forced;
      }
    });
    if (cache) past = presentAsPast(role, out, label);
    const keep = live.flatMap((i, k) => (rows[i].done ? [] : [k]));
    if (keep.length === 0) break;
    if (compact && keep.length < R) {
      live = keep.map((k) => live[k]);
      liveHidden = gatherRows(liveHidden, keep);
      if (cache) for (const name of Object.keys(past)) past[name] = gatherRows(past[name] as F32, keep);
    }
  }
}

/** Returns the special-token ids of the context's tokenizer. */
function specialIds(ctx: InferContext): Set<number> {
  const t = ctx.tokenizer;
  return new Set([t.padId, t.bosId, t.eosId, t.unkId]);
}

/**
 * Returns N·G captions for encoder hidden states [N,T,D] (row r is image ⌊r/G⌋), decoded in batches
 * of `batch` rows, one decoder run per step per batch (KV cache unless `cache: false`).
 */
export async function generateCaptions(ctx: InferContext, hidden: F32, opts: GenerateOptions): Promise<Caption[]> {
  const role = encoderRole(ctx, opts.role);
  const label = `${encoderLabel(opts.role ?? 'encoder')}.decoder`;
  const G = opts.groupSize ?? 1;
  const total = hidden.dims[0] * G;
  const maxTokens = Math.min(opts.maxTokens ?? role.maxTokens, role.maxTokens);
  if (opts.policy.kind === 'sample' && !opts.rng) throw new Error('generateCaptions: sampling needs a seeded rng');
  // One seed per row, drawn in row order, so results do not depend on how rows are batched.
  const states: RowState[] = Array.from({ length: total }, () => ({
    completion: [], logp: [], done: false, truncated: false,
    rng: opts.policy.kind === 'sample' && opts.rng ? createRng(opts.rng.nextU32()) : undefined,
  }));
  const batch = Math.max(1, Math.floor(opts.batch ?? total));
  for (let s = 0; s < total; s += batch) {
    const e = Math.min(total, s + batch);
    const index = Array.from({ length: e - s }, (_, i) => Math.floor((s + i) / G));
    await decodeChunk(ctx, label, role, gatherRows(hidden, index), states.slice(s, e), s, opts, maxTokens);
  }
  const specials = specialIds(ctx);
  return states.map((r) => {
    const ids = r.completion[r.completion.length - 1] === role.eosId ? r.completion.slice(0, -1) : r.completion.slice();
    return {
      ids, completion: r.completion, logp: Float64Array.from(r.logp), text: ctx.tokenizer.decode(ids),
      tokens: ids.filter((id) => !specials.has(id)).length, truncated: r.truncated,
    };
  });
}

/**
 * Returns per-token log-probs (nats, untempered) of given completions under an encoder, teacher-forced:
 * one decoder run on [BOS]+completion[:-1] (padded) with an empty cache. Row r uses hidden row ⌊r/G⌋.
 */
export async function completionLogProbs(
  ctx: InferContext,
  hidden: F32,
  completions: readonly (readonly number[])[],
  opts: { groupSize?: number; batch?: number; role?: EncoderChoice } = {},
): Promise<Float64Array[]> {
  const role = encoderRole(ctx, opts.role);
  const label = `${encoderLabel(opts.role ?? 'encoder')}.decoder`;
  const G = opts.groupSize ?? 1;
  const result: Float64Array[] = [];
  const batch = Math.max(1, Math.floor(opts.batch ?? completions.length));
  for (let s = 0; s < completions.length; s += batch) {
    const chunk = completions.slice(s, s + batch);
    const L = Math.max(1, ...chunk.map((c) => c.length));
    const flat: number[] = [];
    for (const c of chunk) for (let j = 0; j < L; j++) flat.push(j === 0 ? role.bosId : (c[j - 1] ?? role.padId));
    const index = chunk.map((_, i) => Math.floor((s + i) / G));
    const feeds = { input_ids: int64(flat, [chunk.length, L]), encoder_hidden_states: gatherRows(hidden, index), ...emptyPast(role, chunk.length) };
    const logits = f32Output(await runGraph(ctx, role.decoder, feeds, label, ['logits']), 'logits', label);
    const V = logits.dims[2];
    chunk.forEach((c, i) => {
      const lp = new Float64Array(c.length);
      for (let j = 0; j < c.length; j++) lp[j] = logSoftmax(logits.data, (i * L + j) * V, V)[c[j]];
      result.push(lp);
    });
  }
  return result;
}
