"""Network definitions for the reference Unified Auto-Encoder on the Shapes domain.

Every module is written with plain tensor ops (no nn.MultiheadAttention) so that the ONNX export is
explicit and the same code runs on Debian's torch 1.13 and on current PyTorch.
"""
import math
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


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
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.head_dim).transpose(1, 2)

    def attend(self, q, k, v, bias=None):
        a = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        if bias is not None:
            a = a + bias
        p = a.softmax(-1)
        if self.keep_probs:
            self.last_probs = p
        out = torch.matmul(p, v)
        b, h, n, d = out.shape
        return self.o(out.transpose(1, 2).reshape(b, n, h * d))

    def forward(self, x, ctx=None, bias=None):
        ctx = x if ctx is None else ctx
        k, v = self.kv(ctx).chunk(2, -1)
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
        return self.proj(pixel_values).flatten(2).transpose(1, 2) + self.pos


# ----------------------------------------------------------------------------------------------
# Encoder (I2T): image backbone + autoregressive caption decoder with cross-attention and KV cache
# ----------------------------------------------------------------------------------------------

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
        return self.net(pixel_values).flatten(2).transpose(1, 2) + self.pos


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


class CaptionLayer(nn.Module):
    """Causal self-attention (cached) + cross-attention to the image + MLP."""

    def __init__(self, dim, heads):
        super().__init__()
        self.n1, self.self_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.n2, self.cross = nn.LayerNorm(dim), Attention(dim, heads)
        self.n3, self.mlp = nn.LayerNorm(dim), mlp(dim)

    def forward(self, x, enc, past_k, past_v, bias):
        a = self.self_attn
        y = self.n1(x)
        k, v = a.kv(y).chunk(2, -1)
        k = torch.cat([past_k, a.split(k)], 2)
        v = torch.cat([past_v, a.split(v)], 2)
        x = x + a.attend(a.split(a.q(y)), k, v, bias)
        x = x + self.cross(self.n2(x), enc)
        return x + self.mlp(self.n3(x)), k, v


class CaptionDecoder(nn.Module):
    """(input_ids [B,S], encoder_hidden_states [B,N,D], past k/v per layer [B,H,P,Dh])
    -> logits [B,S,V], present k/v per layer [B,H,P+S,Dh]."""

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

    def forward(self, input_ids, enc, past):
        S = input_ids.shape[1]
        P = past[0][0].shape[2]
        q_pos = torch.arange(S, device=input_ids.device) + P
        k_pos = torch.arange(P + S, device=input_ids.device)
        bias = (k_pos[None, :] > q_pos[:, None]).float() * -1e4
        x = self.tok(input_ids) + self.pos(q_pos)[None]
        present = []
        for layer, (pk, pv) in zip(self.layers, past):
            x, k, v = layer(x, enc, pk, pv, bias)
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


# ----------------------------------------------------------------------------------------------
# Decoder (T2I): latent auto-encoder + text encoder + rectified-flow transformer
# ----------------------------------------------------------------------------------------------

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
        self.n1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.n2 = nn.LayerNorm(dim)
        self.cross = Attention(dim, heads)
        self.n3 = nn.LayerNorm(dim)
        self.mlp = mlp(dim)
        self.ada = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, x, ctx, cond, ctx_bias):
        sh1, sc1, g1, sh2, sc2, g2 = self.ada(cond).unsqueeze(1).chunk(6, -1)
        x = x + g1 * self.attn(self.n1(x) * (1 + sc1) + sh1)
        x = x + self.cross(self.n2(x), ctx, bias=ctx_bias)
        return x + g2 * self.mlp(self.n3(x) * (1 + sc2) + sh2)


class FlowTransformer(nn.Module):
    """(sample [B,C,8,8], timestep [B] in [0,1], encoder_hidden_states [B,L,D]) -> velocity [B,C,8,8].

    Convention (SD3 / Flow-GRPO): x_t = (1-t)*x0 + t*noise, velocity = noise - x0.
    """

    def __init__(self, cfg):
        super().__init__()
        c, p, d = cfg["latent_channels"], cfg["patch"], cfg["dim"]
        self.c, self.p, self.g = c, p, cfg["latent_size"] // p
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

    def forward(self, sample, timestep, encoder_hidden_states):
        B = sample.shape[0]
        c, p, g = self.c, self.p, self.g
        x = sample.reshape(B, c, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(B, g * g, c * p * p)
        x = self.inp(x) + self.pos
        # padding rows of the caption states are exactly zero (TextTower): pool over and attend to the rest
        mask = (encoder_hidden_states.abs().sum(-1, keepdim=True) > 0).float()
        pooled = (encoder_hidden_states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        ctx_bias = (1.0 - mask.transpose(1, 2)).unsqueeze(1) * -1e4
        cond = self.t_mlp(timestep_embedding(timestep, x.shape[-1])) + self.pool_in(pooled)
        ctx = self.ctx_in(encoder_hidden_states)
        for blk in self.blocks:
            x = blk(x, ctx, cond, ctx_bias)
        sh, sc = self.ada_out(cond).unsqueeze(1).chunk(2, -1)
        x = self.out(self.n_out(x) * (1 + sc) + sh)
        x = x.reshape(B, g, g, c, p, p).permute(0, 3, 1, 4, 2, 5).reshape(B, c, g * p, g * p)
        return x


class FlowDecoder(torch.nn.Module):
    """Text encoder + flow transformer, trained together."""

    def __init__(self, hp, vocab, pad_id, max_len=48):
        super().__init__()
        self.text = TextTower(vocab, hp["text_dim"], hp["text_heads"], hp["text_layers"], max_len, pad_id)
        self.flow = FlowTransformer(hp)


# ----------------------------------------------------------------------------------------------
# Scorer: CLIP-style dual encoder
# ----------------------------------------------------------------------------------------------

class ImageTower(nn.Module):
    """pixel_values [B,3,64,64] -> image_embeds [B,E], unit norm.

    pool="mean" averages the vision tokens (CLIP-like); pool="flatten" keeps every token in its own slot
    (each token narrowed to `flat_dim` features, then all 64 concatenated and projected), so the embedding
    knows which object is where: averaging makes two scenes that differ only by which object sits in
    which cell almost the same vector (cosine 0.986 measured), which a reward built on it cannot see."""

    def __init__(self, dim, heads, layers, embed, pool="mean", flat_dim=16, tokens=64):
        super().__init__()
        self.pool = pool
        self.vision = VisionEncoder(dim, heads, layers)
        if pool == "flatten":
            self.narrow = nn.Linear(dim, flat_dim)
            self.proj = nn.Linear(tokens * flat_dim, embed)
        else:
            self.proj = nn.Linear(dim, embed)

    def forward(self, pixel_values):
        h = self.vision(pixel_values)
        if self.pool == "flatten":
            h = self.narrow(h).flatten(1)
        else:
            h = h.mean(1)
        return F.normalize(self.proj(h), dim=-1)


class TextEmbedTower(nn.Module):
    """input_ids [B,L] -> text_embeds [B,E], unit norm."""

    def __init__(self, vocab, dim, heads, layers, max_len, pad_id, embed):
        super().__init__()
        self.text = TextTower(vocab, dim, heads, layers, max_len, pad_id)
        self.proj = nn.Linear(dim, embed)

    def forward(self, input_ids):
        _, pooled = self.text(input_ids)
        return F.normalize(self.proj(pooled), dim=-1)


# ----------------------------------------------------------------------------------------------
# Training-only attribute probe (not exported): dense supervision for the vision towers
# ----------------------------------------------------------------------------------------------

SCENE_SHAPES = ["circle", "square", "triangle", "diamond", "cross"]        # src/shapes/scene.ts
SCENE_COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]
SCENE_SIZES = ["small", "large"]
SCENE_BACKGROUNDS = ["black", "white", "gray", "navy"]
GRID = 3


def scene_targets(records):
    """Scenes -> int64 [N, 3*9+1]: per grid cell (row-major) shape (0 = empty, 1..5), colour and size
    (-100 where the cell is empty), then the background."""
    out = np.full((len(records), 3 * GRID * GRID + 1), -100, dtype=np.int64)
    for i, rec in enumerate(records):
        scene = rec["scene"]
        out[i, : GRID * GRID] = 0
        for o in scene["objects"]:
            c = o["row"] * GRID + o["col"]
            out[i, c] = 1 + SCENE_SHAPES.index(o["shape"])
            out[i, GRID * GRID + c] = SCENE_COLOURS.index(o["colour"])
            out[i, 2 * GRID * GRID + c] = SCENE_SIZES.index(o["size"])
        out[i, -1] = SCENE_BACKGROUNDS.index(scene["background"])
    return out


class AttributeHead(nn.Module):
    """Predicts every grid cell's object (shape or empty, colour, size) and the background, either from
    vision tokens [B,64,D] (pooled to the 3x3 grid) or from one embedding [B,E]. Used only as an
    auxiliary loss while pre-training, so that the vision features tell shapes and colours apart (the
    role a pre-trained backbone plays in the paper); the exported graphs do not contain it."""

    def __init__(self, dim, from_tokens=True):
        super().__init__()
        self.from_tokens, self.dim = from_tokens, dim
        cells = GRID * GRID
        self.expand = None if from_tokens else nn.Linear(dim, cells * dim)
        self.cell = nn.Sequential(nn.Linear(dim, dim), nn.GELU(),
                                  nn.Linear(dim, len(SCENE_SHAPES) + 1 + len(SCENE_COLOURS) + len(SCENE_SIZES)))
        self.bg = nn.Linear(dim, len(SCENE_BACKGROUNDS))

    def forward(self, h):
        b = h.shape[0]
        if self.from_tokens:
            side = int(round(h.shape[1] ** 0.5))
            grid = h.transpose(1, 2).reshape(b, self.dim, side, side)
            cells = F.adaptive_avg_pool2d(grid, GRID).flatten(2).transpose(1, 2)
            pooled = h.mean(1)
        else:
            cells = F.gelu(self.expand(h)).reshape(b, GRID * GRID, self.dim)
            pooled = h
        return self.cell(cells), self.bg(pooled)

    def loss(self, h, targets):
        """-> (mean cross-entropy over shape/colour/size/background, accuracy of the shape-or-empty slot)."""
        cells, bg = self.forward(h)
        n, ns, nc = GRID * GRID, len(SCENE_SHAPES) + 1, len(SCENE_COLOURS)
        shape_t, colour_t, size_t, bg_t = targets[:, :n], targets[:, n:2 * n], targets[:, 2 * n:3 * n], targets[:, -1]
        ce = lambda logits, t: F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1), ignore_index=-100)
        loss = (ce(cells[..., :ns], shape_t) + ce(cells[..., ns:ns + nc], colour_t)
                + ce(cells[..., ns + nc:], size_t) + ce(bg, bg_t)) / 4
        acc = (cells[..., :ns].argmax(-1) == shape_t).float().mean()
        return loss, acc


def without_probe(state):
    """A checkpoint's model state without the training-only attribute probe's weights."""
    return {k: v for k, v in state.items() if not k.startswith("attr_head.")}


class Scorer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.image = ImageTower(cfg["dim"], cfg["heads"], cfg["vision_layers"], cfg["embed"],
                                pool=cfg.get("pool", "mean"), flat_dim=cfg.get("flat_dim", 16))
        self.text = TextEmbedTower(cfg["vocab"], cfg["dim"], cfg["heads"], cfg["text_layers"],
                                   cfg["max_len"], cfg["pad_id"], cfg["embed"])
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))
