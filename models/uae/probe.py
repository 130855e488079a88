"""Reward probe: what does reward = sim(image, decoder(caption)) pay for? Feeds the frozen decoder grammar
captions of held-out scenes and controlled corruptions of them (a wrong shape, an extra object that is not
in the scene, the salient object repeated) and reports mean sim, without and with classifier-free
guidance. Writes models/work/eval/reward-probe.json (read by uae.card).

Usage (from models/): /usr/bin/python3 -m uae.probe [--n 128] [--steps 8]
"""
import argparse
import json

import numpy as np
import torch

from . import config as C
from .bundle import load_models
from .common import TOKENIZER_PATH, encode_texts, ensure_data, load_tokenizer, setup, to_pixels, work_dir
from .rl import Rewarder

SHAPES = ["circle", "square", "triangle", "diamond", "cross"]   # src/shapes/scene.ts


def wrong_shape(caption, rng):
    """The caption with one shape word replaced by another shape."""
    words = caption.split(" ")
    idx = [i for i, w in enumerate(words) if w in SHAPES]
    i = idx[rng.integers(len(idx))]
    words[i] = str(rng.choice([s for s in SHAPES if s != words[i]]))
    return " ".join(words)


def variants(records, rng):
    """Named caption lists, one caption per record."""
    n = len(records)
    caps = [r["captions"] for r in records]
    out = {f"level {lv}": [c[lv] for c in caps] for lv in range(C.LEVELS)}
    out["level 2, shape wrong"] = [wrong_shape(c[2], rng) for c in caps]
    out["level 3, one shape wrong"] = [wrong_shape(c[3], rng) for c in caps]
    out["level 3 + an object not in the scene"] = [c[3] + " and " + caps[(i + 7) % n][2][2:] for i, c in enumerate(caps)]
    out["level 2, object repeated 3×"] = [" and ".join([c[2]] + [c[2][2:]] * 2) for c in caps]
    return out


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--steps", type=int, default=8)
    a = ap.parse_args()
    setup(0)
    cfg = C.get("full")
    tok = load_tokenizer(TOKENIZER_PATH)
    m = load_models(cfg, tok)
    images, records = ensure_data(cfg["data"])["heldout"]
    orig = m["scorer"].image(to_pixels(images[: a.n]))
    rows = []
    for guidance in (1.0, cfg["flow"].get("guidance", 2.0)):
        rw = Rewarder(m, tok, a.steps, cfg["flow"]["latent_channels"], guidance)
        for name, caps in variants(records[: a.n], np.random.default_rng(0)).items():
            recon = rw.reconstruct(encode_texts(tok, caps), torch.Generator().manual_seed(0))
            rows.append({"captions": name, "guidance": guidance, "sim": round(float(rw.sim(orig, recon).mean()), 4)})
            print(json.dumps(rows[-1]))
    out = {"scenes": a.n, "seed": cfg["data"]["heldout_seed"], "euler_steps": a.steps, "rows": rows}
    json.dump(out, open(work_dir("eval", "reward-probe.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
