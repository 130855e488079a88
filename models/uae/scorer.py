"""Scorer: CLIP-style dual encoder (image and caption embeddings of unit norm)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import TextTower, VisionEncoder


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


class Scorer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.image = ImageTower(cfg["dim"], cfg["heads"], cfg["vision_layers"], cfg["embed"],
                                pool=cfg.get("pool", "mean"), flat_dim=cfg.get("flat_dim", 16))
        self.text = TextEmbedTower(cfg["vocab"], cfg["dim"], cfg["heads"], cfg["text_layers"],
                                   cfg["max_len"], cfg["pad_id"], cfg["embed"])
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))
