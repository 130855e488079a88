/**
 * The encoder (I2T): image → hidden states, then autoregressive captions with the KV cache of the
 * Optimum-layout merged decoder (kv-cache.ts: with graphs of the merged encoder-decoder layout the image's
 * cross-attention keys/values are computed on the first step and fed back after). A group of rows is
 * decoded together, one session run per step for the whole batch; a row that emits [EOS] leaves the batch
 * (its cache rows, image keys/values included, are dropped), or with
 * `compact: false` keeps feeding [PAD] with its outputs ignored. When every row of a batch captions the same image
 * (a group of G on one image) and the graph has the cross layout, the image's states and keys/values go in once,
 * as one row that the graph's attention broadcasts over the batch (docs/inference.md), instead of G copies:
 * the first step computes them once and no later step copies them. Log-probs are those of the policy's
 * TEMPERED distribution, log_softmax(logits / T)[token] with T = policyTemperature(policy) (greedy: its
 * optional temperature, default 1), as TRL v1.9.0 computes them (grpo_trainer.py 1517-1530); top-p only
 * restricts what is drawn. No [EOS] is forced: a row still open at the token limit keeps its last
 * sampled token and is `truncated` (TRL: last token not [EOS]/[PAD], lines 2237-2238); its completion,
 * log-probs, ids and text are exactly the sampled tokens. `completionLogProbs` scores given completions
 * teacher-forced, with the same temperature option.
 */
import { createRng, type Rng } from '../../shapes/rng.ts';
import type { EncoderRole } from '../manifest.ts';
import {
  encoderLabel,
  encoderRole,
  f32Output,
  gatherRows,
  runGraph,
  runGraphKeeping,
  runRowwise,
  type EncoderChoice,
  type F32,
  type I64,
  type InferContext,
} from './context.ts';
import { chooseToken, logSoftmax, policyTemperature, type DecodingPolicy } from './sampling.ts';
import { decoderLayout, emptyCache, gatherCache, imageKvNames, nextCache, stepFetches, type CacheFeeds } from './kv-cache.ts';
import { releaseDeviceFeeds, type Feed } from '../tensors.ts';
import type { KvLayout } from '../kv-layout.ts';

/** One generated caption. */
export interface Caption {
  /** Content ids: the completion without its final [EOS] (all of it when truncated); no [BOS]. */
  ids: number[];
  /**
   * Every generated token: what `logp` covers (a GRPO completion). Its length is GRPO's completion
   * length: the final [EOS] counted when the row terminated, only the sampled tokens when truncated.
   */
  completion: number[];
  /** [completion.length] per-token log-probs (nats): log_softmax(logits / T) of the policy. */
  logp: Float64Array;
  /** `ids` decoded by the tokenizer (special tokens skipped). */
  text: string;
  /** Number of content ids that are not special tokens (a display count, not GRPO's length). */
  tokens: number;
  /** True when the completion's last token is neither [EOS] nor [PAD]: it hit maxTokens still open. */
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
  /** Tokens including [BOS] and a final [EOS]: at most maxTokens − 1 are generated. Default role.maxTokens. */
  maxTokens?: number;
  /** false: recompute the whole prefix each step without the KV cache (for the benchmark/equality test). */
  cache?: boolean;
  role?: EncoderChoice;
  /** Drop finished rows from the batch (default true); false keeps feeding them [PAD] like the PyTorch loop. */
  compact?: boolean;
  /**
   * Feed one image's states and cross-attention keys/values once when every row of a batch shares that image
   * (default true; only with the KV cache and the cross layout). false feeds a copy per row (the equality test).
   */
  shareImage?: boolean;
  /** Called after each decoder run with the step's position (1…), the global rows of the logits, and logits [R,S,V]. */
  onLogits?: (pos: number, rows: number[], logits: F32) => void;
  /**
   * Called as each row's token is chosen, in order: the global row, the token id (the final [EOS] included) and its
   * position (1…). For streaming only: it sees the tokens, it changes nothing that is generated.
   */
  onToken?: (row: number, token: number, pos: number) => void;
}

/** Returns last_hidden_state float32 [N,T,D] of the encoder's vision graph for pixel_values [N,3,H,W]. */
export async function encodeImages(ctx: InferContext, pixelValues: F32, role: EncoderChoice = 'encoder', batch = 32): Promise<F32> {
  return runRowwise(
    ctx,
    encoderRole(ctx, role).vision,
    'pixel_values',
    pixelValues,
    'last_hidden_state',
    `${encoderLabel(role)}.vision`,
    batch,
  );
}

function int64(values: number[], dims: number[]): I64 {
  return { dtype: 'int64', data: BigInt64Array.from(values, (v) => BigInt(v)), dims };
}

/**
 * Returns the rows of image states to feed for batch rows that caption images `index`: with `share` and one image
 * for them all, that image once (the decoder's attention broadcasts it over the batch), else one row per batch row.
 */
function imageRows(index: readonly number[], share: boolean): readonly number[] {
  return share && index.every((i) => i === index[0]) ? [index[0]] : index;
}

/** Per-row decoding state. */
interface RowState {
  completion: number[];
  logp: number[];
  done: boolean;
  rng: Rng | undefined;
}

/** Decodes one chunk of rows (hidden already gathered per row) and returns their states. */
async function decodeChunk(
  ctx: InferContext,
  label: string,
  role: EncoderRole,
  hidden: F32,
  rows: RowState[],
  firstRow: number,
  opts: GenerateOptions,
  maxTokens: number,
  layout: KvLayout,
): Promise<void> {
  const cache = opts.cache ?? true;
  const compact = opts.compact ?? true;
  const { bosId, eosId, padId } = role;
  const T = policyTemperature(opts.policy);
  // One row of image states for the whole batch (GenerateOptions.shareImage): it and its keys/values stay one row.
  const shared = hidden.dims[0] === 1 && rows.length > 1;
  // Rows fed to the decoder (indices into `rows`); with compaction finished rows leave the batch.
  let live = rows.map((_, i) => i);
  let liveHidden = hidden;
  let past: CacheFeeds = emptyCache(role, layout, rows.length);
  try {
    for (let pos = 1; pos < maxTokens; pos++) {
      const R = live.length;
      let ids: I64;
      if (cache) {
        ids = int64(
          live.map((i) => (rows[i].done ? padId : (rows[i].completion[rows[i].completion.length - 1] ?? bosId))),
          [R, 1],
        );
      } else {
        const flat: number[] = [];
        for (const i of live) for (let j = 0; j < pos; j++) flat.push(j === 0 ? bosId : (rows[i].completion[j - 1] ?? padId));
        ids = int64(flat, [R, pos]);
      }
      const feeds: Record<string, Feed> = {
        input_ids: ids,
        encoder_hidden_states: liveHidden,
        ...(cache ? past : emptyCache(role, layout, R)),
      };
      // Without the cache only the logits are read; with it, the cache outputs the next step needs (on WebGPU they
      // stay on the GPU from one step to the next: runGraphKeeping).
      const fetches = !cache ? ['logits'] : layout === 'cross' ? stepFetches(role, layout, past) : undefined;
      const out = cache
        ? await runGraphKeeping(ctx, role.decoder, feeds, label, fetches)
        : { data: await runGraph(ctx, role.decoder, feeds, label, fetches), device: {} };
      if (cache) {
        const next = nextCache(role, layout, out, past, label);
        releaseDeviceFeeds(ctx.tracker, past, next);
        past = next;
      }
      const logits = f32Output(out.data, 'logits', label);
      opts.onLogits?.(
        pos,
        live.map((i) => firstRow + i),
        logits,
      );
      const [, S, V] = logits.dims;
      live.forEach((i, k) => {
        const r = rows[i];
        if (r.done) return;
        const off = (k * S + S - 1) * V;
        const tok = chooseToken(logits.data, off, V, opts.policy, r.rng);
        r.completion.push(tok);
        r.logp.push(logSoftmax(logits.data, off, V, T)[tok]);
        if (tok === eosId) r.done = true;
        opts.onToken?.(firstRow + i, tok, pos);
      });
      const keep = live.flatMap((i, k) => (rows[i].done ? [] : [k]));
      if (keep.length === 0) break;
      if (compact && keep.length < R) {
        live = keep.map((k) => live[k]);
        if (!shared) liveHidden = gatherRows(liveHidden, keep);
        if (cache) {
          const next = await gatherCache(past, keep, shared ? imageKvNames(role, layout) : undefined);
          releaseDeviceFeeds(ctx.tracker, past, next);
          past = next;
        }
      }
    }
  } finally {
    // The cache tensors left on the GPU, however the loop ended (finished, cancelled or failed).
    releaseDeviceFeeds(ctx.tracker, past);
  }
}

/** Returns true when a completion is truncated as TRL counts it: its last token is neither [EOS] nor [PAD] (false when empty). */
export function isTruncated(completion: readonly number[], eosId: number, padId: number): boolean {
  const last = completion[completion.length - 1];
  return last !== undefined && last !== eosId && last !== padId;
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
    completion: [],
    logp: [],
    done: false,
    rng: opts.policy.kind === 'sample' && opts.rng ? createRng(opts.rng.nextU32()) : undefined,
  }));
  const batch = Math.max(1, Math.floor(opts.batch ?? total));
  const layout = await decoderLayout(ctx, role);
  const share = (opts.shareImage ?? true) && (opts.cache ?? true) && layout === 'cross';
  for (let s = 0; s < total; s += batch) {
    const e = Math.min(total, s + batch);
    const index = Array.from({ length: e - s }, (_, i) => Math.floor((s + i) / G));
    await decodeChunk(ctx, label, role, gatherRows(hidden, imageRows(index, share)), states.slice(s, e), s, opts, maxTokens, layout);
  }
  const specials = specialIds(ctx);
  return states.map((r) => {
    const last = r.completion[r.completion.length - 1];
    const ids = last === role.eosId ? r.completion.slice(0, -1) : r.completion.slice();
    return {
      ids,
      completion: r.completion,
      logp: Float64Array.from(r.logp),
      text: ctx.tokenizer.decode(ids),
      tokens: ids.filter((id) => !specials.has(id)).length,
      truncated: isTruncated(r.completion, role.eosId, role.padId),
    };
  });
}

/**
 * Returns per-token log-probs (nats) log_softmax(logits / temperature) of given completions under an
 * encoder, teacher-forced: one decoder run on [BOS]+completion[:-1] (padded) with an empty cache. Row r
 * uses hidden row ⌊r/G⌋. Pass the sampling policy's temperature (default 1) to score as it sampled.
 */
export async function completionLogProbs(
  ctx: InferContext,
  hidden: F32,
  completions: readonly (readonly number[])[],
  opts: { groupSize?: number; batch?: number; role?: EncoderChoice; temperature?: number; shareImage?: boolean } = {},
): Promise<Float64Array[]> {
  const T = opts.temperature ?? 1;
  if (!(T > 0)) throw new RangeError(`completionLogProbs: temperature must be > 0, got ${T}`);
  const role = encoderRole(ctx, opts.role);
  const label = `${encoderLabel(opts.role ?? 'encoder')}.decoder`;
  const G = opts.groupSize ?? 1;
  const result: Float64Array[] = [];
  const batch = Math.max(1, Math.floor(opts.batch ?? completions.length));
  const layout = await decoderLayout(ctx, role);
  for (let s = 0; s < completions.length; s += batch) {
    const chunk = completions.slice(s, s + batch);
    const L = Math.max(1, ...chunk.map((c) => c.length));
    const flat: number[] = [];
    for (const c of chunk) for (let j = 0; j < L; j++) flat.push(j === 0 ? role.bosId : (c[j - 1] ?? role.padId));
    const index = chunk.map((_, i) => Math.floor((s + i) / G));
    const feeds = {
      input_ids: int64(flat, [chunk.length, L]),
      encoder_hidden_states: gatherRows(hidden, imageRows(index, layout === 'cross' && (opts.shareImage ?? true))),
      ...emptyCache(role, layout, chunk.length),
    };
    const logits = f32Output(await runGraph(ctx, role.decoder, feeds, label, ['logits']), 'logits', label);
    const V = logits.dims[2];
    chunk.forEach((c, i) => {
      const lp = new Float64Array(c.length);
      for (let j = 0; j < c.length; j++) lp[j] = logSoftmax(logits.data, (i * L + j) * V, V, T)[c[j]];
      result.push(lp);
    });
  }
  return result;
}
