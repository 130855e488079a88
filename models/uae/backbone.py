"""A second way to see (issue 19): an image-image backbone trained without captions.

The CLIP-style scorer learnt what captions say about a scene, and its image-image cosine barely moves when one
object's shape changes (0.989) or two objects swap places (0.967): a reward built on it cannot pay for naming the
right shape or place. This backbone never sees a caption. It is a small CNN that keeps its 8x8 feature map, every
cell narrowed to a few features and the cells concatenated before the projection (so it knows what is where), and
it is trained image to image:
- positives: two views of one scene, each either the render under decoder-like degradations (blur, noise, a colour
  shift, a one-pixel shift) or the frozen decoder's reconstruction of the scene's full-detail (level-4) caption, so
  that what the decoder draws from a complete description counts as the same scene;
- negatives: the other scenes of the batch (InfoNCE), and the same scene changed in one detail (uae.hardneg: two
  objects swapped, one shape, colour or size changed, an object moved or removed), pushed below cosine `margin` by
  a hinge as well.

Training, the probe and the export: uae.train_backbone. The reward mix uses it through load_backbone (uae.rl).
"""
import torch.nn as nn
import torch.nn.functional as F


class ImageBackbone(nn.Module):
    """pixel_values [B,3,64,64] in [-1,1] -> image_embeds [B,E], unit norm."""

    def __init__(self, width=48, flat_dim=8, embed=128):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(3, w, 5, stride=2, padding=2), nn.GELU(),              # 32
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.GELU(),          # 16
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.GELU(),
            nn.Conv2d(2 * w, 3 * w, 3, stride=2, padding=1), nn.GELU(),      # 8
            nn.Conv2d(3 * w, 3 * w, 3, padding=1), nn.GELU(),
        )
        self.narrow = nn.Conv2d(3 * w, flat_dim, 1)
        self.proj = nn.Linear(64 * flat_dim, embed)

    def forward(self, pixel_values):
        h = self.narrow(self.net(pixel_values)).flatten(1)
        return F.normalize(self.proj(h), dim=-1)


BACKBONE_ID = "i2i"
BACKBONE_PATH = "backbone/i2i_vision_model.onnx"
BACKBONE_LABEL = "image-image CNN (no captions)"

# Architecture and training options (uae.train_backbone's flags): positives are a degraded render (blur, noise, a
# colour shift of up to colour_shift/255 per channel, a pixel's shift) or, with probability recon_p, the decoder's
# reconstruction of the level-4 caption; hard negatives are uae.hardneg's changes, a shape change with probability
# shape_p; InfoNCE at temperature tau, a hinge pushing hard negatives below cosine margin (x margin_weight) and one
# holding reconstructions above recon_floor (x floor_weight).
BACKBONE = {"width": 24, "flat_dim": 16, "embed": 128, "steps": 1200, "batch": 96, "lr": 2e-3, "tau": 0.1,
            "margin": 0.45, "margin_weight": 2.0, "recon_p": 0.5, "scenes": 8192, "shape_p": 0.5, "recon_floor": 0.92,
            "floor_weight": 1.0, "colour_shift": 16.0}


def load_backbone(hp=None):
    """The trained backbone (models/work/ckpt/backbone.pt, architecture `hp`, default BACKBONE), eval mode,
    gradients off."""
    from .checkpoints import Checkpoint
    hp = hp or BACKBONE
    model = ImageBackbone(hp["width"], hp["flat_dim"], hp["embed"])
    if Checkpoint("backbone").load(model, None) != hp["steps"]:
        raise RuntimeError("models/work/ckpt/backbone.pt is missing or unfinished: run python3 -m uae.train_backbone first")
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()
