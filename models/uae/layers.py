"""Building blocks shared by every network of the reference UAE: attention, transformer layers, the
caption text tower and the image stems.

Every module is written with plain tensor ops (no nn.MultiheadAttention) so that the ONNX export is
explicit and the same code runs on Debian's torch 1.13 and on current PyTorch.
"""
import math

import torch
import torch.nn as nn


def _reshape_keeping(x, target):
    """x.reshape(target) with each 0 of `target` replaced by that dimension of x."""
    return x.reshape([x.shape[i] if t == 0 else t for i, t in enumerate(target)])


class _Reshape0(torch.autograd.Function):
    """ONNX Reshape with 0 entries (copy that input dimension) and a constant target: no Shape op at run time.
    Used only while exporting (reshape0)."""

    @staticmethod
    def forward(ctx, x, target):
        return _reshape_keeping(x, target)

    @staticmethod
    def symbolic(g, x, target):
        return g.op("Reshape", x, g.op("Constant", value_t=torch.tensor(target, dtype=torch.int64)))


def reshape0(x, target):
    """x.reshape(target), where a 0 in `target` keeps that dimension of x (ONNX Reshape's convention; give one -1 with
    any 0, torch 1.13's exporter asks for it): exported as one Reshape with a constant target, where a reshape to
    sizes read from x.shape costs a Shape, Gather, Unsqueeze and Concat per dimension at run time (issue 21: ONNX
    Runtime's WebAssembly build pays far more per small op than its native build)."""
    if torch.onnx.is_in_onnx_export():
        return _Reshape0.apply(x, tuple(target))
    return _reshape_keeping(x, target)


def image_tokens(h):
    """Feature map [B,C,H,W] -> tokens [B,H*W,C]."""
    return reshape0(h, (0, 0, -1)).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head attention; keys/values may come from another sequence (cross-attention). With
    `keep_probs` set (training only), the attention probabilities [B,H,Q,K] of the last call are kept in
    `last_probs`; the exported graphs never set it."""

    keep_probs = False

    def __init__(self, dim, heads, kv_dim=None):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(kv_dim or dim, 2 * dim)
        self.o = nn.Linear(dim, dim)

    def split(self, x):
        return reshape0(x, (0, -1, self.heads, self.head_dim)).transpose(1, 2)

    def attend(self, q, k, v, bias=None):
        a = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        if bias is not None:
            a = a + bias
        p = a.softmax(-1)
        if self.keep_probs:
            self.last_probs = p
        out = torch.matmul(p, v).transpose(1, 2)
        return self.o(reshape0(out, (0, -1, self.heads * self.head_dim)))

    def project_kv(self, ctx):
        """Keys and values [B,H,N,Dh] of a context sequence."""
        k, v = self.kv(ctx).split(self.heads * self.head_dim, -1)
        return self.split(k), self.split(v)

    def forward(self, x, ctx=None, bias=None, kv=None):
        """`kv`: the context's keys and values from project_kv, when they are computed once for many calls."""
        if kv is not None:
            return self.attend(self.split(self.q(x)), kv[0], kv[1], bias)
        ctx = x if ctx is None else ctx
        k, v = self.kv(ctx).split(self.heads * self.head_dim, -1)
        return self.attend(self.split(self.q(x)), self.split(k), self.split(v), bias)


def mlp(dim, mult=4):
    return nn.Sequential(nn.Linear(dim, dim * mult), nn.GELU(), nn.Linear(dim * mult, dim))


class EncoderLayer(nn.Module):
    """Pre-norm bidirectional transformer layer."""

    def __init__(self, dim, heads):
        super().__init__()
        self.n1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.n2, self.mlp = nn.LayerNorm(dim), mlp(dim)

    def forward(self, x, bias=None):
        x = x + self.attn(self.n1(x), bias=bias)
        return x + self.mlp(self.n2(x))


def padding_bias(input_ids, pad_id):
    """Additive attention bias [B,1,1,L]: 0 on tokens, -1e4 on padding."""
    return (input_ids == pad_id).float()[:, None, None, :] * -1e4


class TextTower(nn.Module):
    """Caption ids [B,L] -> hidden states [B,L,D] (padding rows zeroed) and mean-pooled [B,D]."""

    def __init__(self, vocab, dim, heads, layers, max_len, pad_id):
        super().__init__()
        self.pad_id = pad_id
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)
        self.layers = nn.ModuleList([EncoderLayer(dim, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, input_ids):
        L = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos[:, :L]
        bias = padding_bias(input_ids, self.pad_id)
        for layer in self.layers:
            x = layer(x, bias)
        keep = (input_ids != self.pad_id).float().unsqueeze(-1)
        x = self.norm(x) * keep
        pooled = x.sum(1) / keep.sum(1).clamp(min=1.0)
        return x, pooled


class PatchStem(nn.Module):
    """Image [B,3,64,64] in [-1,1] -> tokens [B,(64/8)^2,D]: 8x8 patches, linear embedding, 2-D positions."""

    def __init__(self, dim, size=64, patch=8):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, stride=patch)
        self.pos = nn.Parameter(torch.randn(1, (size // patch) ** 2, dim) * 0.02)

    def forward(self, pixel_values):
        return image_tokens(self.proj(pixel_values)) + self.pos


class ConvStem(nn.Module):
    """Image [B,3,64,64] -> tokens [B,64,D]: three stride-2 convolutions (local shape evidence that a
    linear patch embedding misses when objects straddle patches), then 2-D positions."""

    def __init__(self, dim, size=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(64, dim, 4, stride=2, padding=1),
        )
        self.pos = nn.Parameter(torch.randn(1, (size // 8) ** 2, dim) * 0.02)

    def forward(self, pixel_values):
        return image_tokens(self.net(pixel_values)) + self.pos


class VisionEncoder(nn.Module):
    """pixel_values [B,3,64,64] -> last_hidden_state [B,64,D]."""

    def __init__(self, dim, heads, layers, size=64, stem="conv"):
        super().__init__()
        self.stem = ConvStem(dim, size) if stem == "conv" else PatchStem(dim, size)
        self.layers = nn.ModuleList([EncoderLayer(dim, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, pixel_values):
        x = self.stem(pixel_values)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)
