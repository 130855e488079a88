"""PyTorch inference used by evaluation, parity fixtures and RL: cached captioning, flow sampling."""
import math

import torch

from . import config as C


@torch.no_grad()
def greedy_captions(model, pixels, bos_id, eos_id, pad_id, max_len=C.MAX_LEN):
    """Greedy decoding with the KV cache -> token ids [B, max_len]: [BOS] ... [EOS] [PAD]... for a caption that
    ends, or [BOS] followed by max_len - 1 tokens without [EOS] for one that reaches the limit (no [EOS] is
    forced, as in TRL and stage 2's sampling). Feed them to the decoder through `decoder_input_ids`."""
    enc = model.vision(pixels)
    B = pixels.shape[0]
    past = model.decoder.empty_past(B)
    ids = torch.full((B, 1), bos_id, dtype=torch.int64)
    out = torch.full((B, max_len), pad_id, dtype=torch.int64)
    out[:, 0] = bos_id
    done = torch.zeros(B, dtype=torch.bool)
    for pos in range(1, max_len):
        logits, past = model.decoder(ids, enc, past)
        nxt = logits[:, -1].argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
        out[:, pos] = nxt
        done = done | (nxt == eos_id)
        ids = nxt[:, None]
        if bool(done.all()):
            break
    return out


def decoder_input_ids(ids, bos_id, eos_id, pad_id, max_len=C.MAX_LEN):
    """Caption ids as the decoder's text tower reads them, the playground's `captionInputIds`
    (src/engine/infer/flow.ts): [BOS] content[:max_len-2] [EOS] [PAD]... -> int64 [B, max_len], where content
    is the tokens after [BOS] up to the first [EOS]/[PAD]. A caption that ended with [EOS] is returned
    unchanged; a truncated one (no [EOS]) keeps its first max_len - 2 tokens and gets the [EOS] the text tower
    was trained with."""
    out = torch.full((ids.shape[0], max_len), pad_id, dtype=torch.int64)
    for b, row in enumerate(ids.tolist()):
        content = []
        for v in row[1:]:
            if v in (eos_id, pad_id):
                break
            content.append(v)
        seq = [bos_id] + content[: max_len - 2] + [eos_id]
        out[b, : len(seq)] = torch.tensor(seq, dtype=torch.int64)
    return out


def empty_caption_ids(tok):
    """The empty caption as the text tower reads it, [BOS] [EOS] [PAD]... -> int64 [1, MAX_LEN]: the unconditional
    input of classifier-free guidance."""
    empty = torch.full((1, C.MAX_LEN), tok.pad_id, dtype=torch.int64)
    empty[0, 0], empty[0, 1] = tok.bos_id, tok.eos_id
    return empty


@torch.no_grad()
def captions_in_batches(encoder, px, tok, bs=125):
    """Greedy captions of pixels [N,3,64,64], `bs` images at a time -> decoder input ids [N, MAX_LEN]."""
    ids = torch.cat([greedy_captions(encoder, px[i:i + bs], tok.bos_id, tok.eos_id, tok.pad_id)
                     for i in range(0, len(px), bs)])
    return decoder_input_ids(ids, tok.bos_id, tok.eos_id, tok.pad_id)


@torch.no_grad()
def draw_in_batches(flow, vae, ids, steps, guidance, gen, empty, shape, bs=125):
    """Euler reconstructions of decoder input ids [N, MAX_LEN], `bs` at a time from one noise stream -> images."""
    return torch.cat([vae(euler_sample(flow.text, flow.flow, ids[i:i + bs], steps, guidance, gen, empty, shape))
                      for i in range(0, len(ids), bs)])


@torch.no_grad()
def euler_sample(text, flow, ids, steps, guidance, generator, empty_ids=None, shape=(8, 8, 8)):
    """Rectified-flow Euler sampling from t=1 (noise) to t=0 -> latents [B,*shape]; CFG when guidance != 1."""
    B = ids.shape[0]
    ctx, _ = text(ids)
    # the captions' cross-attention keys/values are the same at every step: computed once (flow.text_kv)
    kv = flow.text_kv(ctx)
    if guidance != 1.0:
        uctx, _ = text(empty_ids.expand(B, -1))
        ukv = flow.text_kv(uctx)
    x = torch.randn((B,) + tuple(shape), generator=generator)
    ts = torch.linspace(1.0, 0.0, steps + 1)
    for i in range(steps):
        t, t_next = float(ts[i]), float(ts[i + 1])
        tt = torch.full((B,), t)
        v = flow(x, tt, ctx, text_kv=kv)
        if guidance != 1.0:
            u = flow(x, tt, uctx, text_kv=ukv)
            v = u + guidance * (v - u)
        x = x + (t_next - t) * v
    return x


def sde_sigma(t, a):
    """Flow-GRPO noise scale sigma_t = a*sqrt(t/(1-t)) (t clipped away from 1)."""
    return a * math.sqrt(t / (1 - t)) if t < 1 else a * math.sqrt(0.999 / 0.001)
