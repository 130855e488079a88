"""Encoder (I2T): image backbone + autoregressive caption decoder with cross-attention and KV cache."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import Attention, VisionEncoder, mlp


class CaptionLayer(nn.Module):
    """Causal self-attention (cached) + cross-attention to the image + MLP."""

    def __init__(self, dim, heads):
        super().__init__()
        self.n1, self.self_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.n2, self.cross = nn.LayerNorm(dim), Attention(dim, heads)
        self.n3, self.mlp = nn.LayerNorm(dim), mlp(dim)

    def cross_kv(self, enc):
        """Cross-attention keys and values [B,H,N,Dh] of the image states: fixed for a whole caption."""
        return self.cross.project_kv(enc)

    def forward(self, x, enc, past_k, past_v, bias, enc_kv=None):
        a = self.self_attn
        y = self.n1(x)
        k, v = a.kv(y).split(a.heads * a.head_dim, -1)
        k = torch.cat([past_k, a.split(k)], 2)
        v = torch.cat([past_v, a.split(v)], 2)
        x = x + a.attend(a.split(a.q(y)), k, v, bias)
        x = x + self.cross(self.n2(x), enc, kv=enc_kv)
        return x + self.mlp(self.n3(x)), k, v


class CaptionDecoder(nn.Module):
    """(input_ids [B,S], encoder_hidden_states [B,N,D], past k/v per layer [B,H,P,Dh])
    -> logits [B,S,V], present k/v per layer [B,H,P+S,Dh]. With `enc_kv` (each layer's cross_kv of the
    image states, computed once per caption) the image states themselves are not read."""

    def __init__(self, vocab, dim, heads, layers, max_len):
        super().__init__()
        self.heads, self.head_dim, self.max_len = heads, dim // heads, max_len
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(max_len, dim)
        nn.init.normal_(self.tok.weight, std=0.02)
        nn.init.normal_(self.pos.weight, std=0.02)
        self.layers = nn.ModuleList([CaptionLayer(dim, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)

    def empty_past(self, batch):
        z = torch.zeros(batch, self.heads, 0, self.head_dim)
        return [(z, z) for _ in self.layers]

    def forward(self, input_ids, enc, past, enc_kv=None):
        S = input_ids.shape[1]
        P = past[0][0].shape[2]
        q_pos = torch.arange(S, device=input_ids.device) + P
        k_pos = torch.arange(P + S, device=input_ids.device)
        bias = (k_pos[None, :] > q_pos[:, None]).float() * -1e4
        x = self.tok(input_ids) + self.pos(q_pos)[None]
        present = []
        for i, (layer, (pk, pv)) in enumerate(zip(self.layers, past)):
            x, k, v = layer(x, enc, pk, pv, bias, None if enc_kv is None else enc_kv[i])
            present.append((k, v))
        logits = F.linear(self.norm(x), self.tok.weight)
        return logits, present


class CaptionModel(nn.Module):
    """The I2T encoder of the auto-encoder: vision encoder + caption decoder."""

    def __init__(self, cfg):
        super().__init__()
        self.vision = VisionEncoder(cfg["dim"], cfg["heads"], cfg["vision_layers"])
        self.decoder = CaptionDecoder(cfg["vocab"], cfg["dim"], cfg["heads"], cfg["layers"], cfg["max_len"])

    def forward(self, pixel_values, input_ids):
        enc = self.vision(pixel_values)
        logits, _ = self.decoder(input_ids, enc, self.decoder.empty_past(input_ids.shape[0]))
        return logits
