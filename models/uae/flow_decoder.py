"""Decoder (T2I): latent auto-encoder + text encoder + rectified-flow transformer."""
import math

import torch
import torch.nn as nn

from .layers import Attention, TextTower, mlp, reshape0


class LatentAutoEncoder(nn.Module):
    """Image [B,3,64,64] in [-1,1] <-> latent [B,C,8,8]: 8x8 patches, convolutions at 8x8, pixel-shuffle out."""

    def __init__(self, channels):
        super().__init__()
        w = 192
        self.enc = nn.Sequential(
            nn.Conv2d(3, w, 8, stride=8), nn.GELU(),
            nn.Conv2d(w, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, channels, 1),
        )
        self.dec = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, 3 * 64, 1), nn.PixelShuffle(8),
        )
        # residual refinement at full resolution: sharpens the edges the 8x8 pixel-shuffle blurs
        self.refine = nn.Sequential(nn.Conv2d(3, 24, 3, padding=1), nn.GELU(), nn.Conv2d(24, 3, 3, padding=1))
        nn.init.zeros_(self.refine[2].weight)
        nn.init.zeros_(self.refine[2].bias)

    def encode(self, x):
        return self.enc(x)

    def decode(self, z):
        y = self.dec(z)
        return y + self.refine(y)


def timestep_embedding(t, dim):
    """Sinusoidal embedding of t in [0,1] (scaled by 1000 as diffusers does) -> [B,dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], -1)


class FlowBlock(nn.Module):
    """DiT block: adaLN-zero modulated self-attention, cross-attention to caption states, MLP."""

    def __init__(self, dim, heads):
        super().__init__()
        self.dim = dim
        self.n1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.n2 = nn.LayerNorm(dim)
        self.cross = Attention(dim, heads)
        self.n3 = nn.LayerNorm(dim)
        self.mlp = mlp(dim)
        self.ada = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, x, ctx, cond, ctx_bias, text_kv=None):
        sh1, sc1, g1, sh2, sc2, g2 = self.ada(cond).unsqueeze(1).split(self.dim, -1)
        x = x + g1 * self.attn(self.n1(x) * (1 + sc1) + sh1)
        x = x + self.cross(self.n2(x), ctx, bias=ctx_bias, kv=text_kv)
        return x + g2 * self.mlp(self.n3(x) * (1 + sc2) + sh2)


class FlowTransformer(nn.Module):
    """(sample [B,C,8,8], timestep [B] in [0,1], encoder_hidden_states [B,L,D]) -> velocity [B,C,8,8].

    Convention (SD3 / Flow-GRPO): x_t = (1-t)*x0 + t*noise, velocity = noise - x0.
    """

    def __init__(self, cfg):
        super().__init__()
        c, p, d = cfg["latent_channels"], cfg["patch"], cfg["dim"]
        self.c, self.p, self.g, self.dim = c, p, cfg["latent_size"] // p, d
        self.inp = nn.Linear(c * p * p, d)
        self.pos = nn.Parameter(torch.randn(1, self.g * self.g, d) * 0.02)
        self.t_mlp = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
        self.ctx_in = nn.Linear(cfg["text_dim"], d)
        self.pool_in = nn.Linear(cfg["text_dim"], d)
        self.blocks = nn.ModuleList([FlowBlock(d, cfg["heads"]) for _ in range(cfg["depth"])])
        self.n_out = nn.LayerNorm(d)
        self.ada_out = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, c * p * p)
        for m in (self.ada_out, self.out):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def text_kv(self, encoder_hidden_states):
        """Each block's cross-attention keys and values [B,H,L,Dh] of the caption states: fixed while sampling."""
        ctx = self.ctx_in(encoder_hidden_states)
        return [blk.cross.project_kv(ctx) for blk in self.blocks]

    def forward(self, sample, timestep, encoder_hidden_states, text_kv=None):
        """With `text_kv` (from text_kv() of the same states) the caption states are only pooled and masked."""
        c, p, g = self.c, self.p, self.g
        x = reshape0(reshape0(sample, (0, -1, g, p, g, p)).permute(0, 2, 4, 1, 3, 5), (0, -1, c * p * p))
        x = self.inp(x) + self.pos
        # padding rows of the caption states are exactly zero (TextTower): pool over and attend to the rest
        mask = (encoder_hidden_states.abs().sum(-1, keepdim=True) > 0).float()
        pooled = (encoder_hidden_states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        ctx_bias = (1.0 - mask.transpose(1, 2)).unsqueeze(1) * -1e4
        cond = self.t_mlp(timestep_embedding(timestep, self.dim)) + self.pool_in(pooled)
        ctx = self.ctx_in(encoder_hidden_states) if text_kv is None else None
        for i, blk in enumerate(self.blocks):
            x = blk(x, ctx, cond, ctx_bias, None if text_kv is None else text_kv[i])
        sh, sc = self.ada_out(cond).unsqueeze(1).split(self.dim, -1)
        x = self.out(self.n_out(x) * (1 + sc) + sh)
        x = reshape0(reshape0(x, (0, g, g, c, p, -1)).permute(0, 3, 1, 4, 2, 5), (0, -1, g * p, g * p))
        return x


class FlowDecoder(torch.nn.Module):
    """Text encoder + flow transformer, trained together."""

    def __init__(self, hp, vocab, pad_id, max_len=48):
        super().__init__()
        self.text = TextTower(vocab, hp["text_dim"], hp["text_heads"], hp["text_layers"], max_len, pad_id)
        self.flow = FlowTransformer(hp)
