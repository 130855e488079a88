"""Scene labels and the training-only attribute probe (not exported): dense supervision for the vision
towers."""
import numpy as np
import torch.nn as nn
import torch.nn.functional as F

from .vocab import BACKGROUNDS, COLOURS, GRID, SHAPES, SIZES


def scene_targets(records):
    """Scenes -> int64 [N, 3*9+1]: per grid cell (row-major) shape (0 = empty, 1..5), colour and size
    (-100 where the cell is empty), then the background."""
    out = np.full((len(records), 3 * GRID * GRID + 1), -100, dtype=np.int64)
    for i, rec in enumerate(records):
        scene = rec["scene"]
        out[i, : GRID * GRID] = 0
        for o in scene["objects"]:
            c = o["row"] * GRID + o["col"]
            out[i, c] = 1 + SHAPES.index(o["shape"])
            out[i, GRID * GRID + c] = COLOURS.index(o["colour"])
            out[i, 2 * GRID * GRID + c] = SIZES.index(o["size"])
        out[i, -1] = BACKGROUNDS.index(scene["background"])
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
                                  nn.Linear(dim, len(SHAPES) + 1 + len(COLOURS) + len(SIZES)))
        self.bg = nn.Linear(dim, len(BACKGROUNDS))

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
        n, ns, nc = GRID * GRID, len(SHAPES) + 1, len(COLOURS)
        shape_t, colour_t, size_t, bg_t = targets[:, :n], targets[:, n:2 * n], targets[:, 2 * n:3 * n], targets[:, -1]

        def ce(logits, t):
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1), ignore_index=-100)

        loss = (ce(cells[..., :ns], shape_t) + ce(cells[..., ns:ns + nc], colour_t)
                + ce(cells[..., ns + nc:], size_t) + ce(bg, bg_t)) / 4
        acc = (cells[..., :ns].argmax(-1) == shape_t).float().mean()
        return loss, acc
