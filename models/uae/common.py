"""Shared helpers for the training stages: data, tokenization, work paths, logging, the RL command line.

The package runs as `python3 -m uae.<stage>` from models/, so models/shapes_data.py (the reader of what
the TypeScript Shapes world writes) is importable as a top-level module.
"""
import dataclasses
import json
import os
import time

import numpy as np
import torch

from shapes_data import load_dataset, load_tokenizer  # noqa: F401  (load_tokenizer: for the stages)

from . import config as C

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

TOKENIZER_PATH = os.path.join(REPO, "public", "tokenizers", "shapes", "tokenizer.json")


def setup(seed, threads=None):
    """Fixes every seed and the thread count."""
    torch.set_num_threads(threads or int(os.environ.get("UAE_THREADS", "2")))
    torch.manual_seed(seed)
    np.random.seed(seed)


def to_pixels(u8):
    """uint8 [B,H,W,3] numpy -> float tensor [B,3,H,W] in [-1,1] (the bundle's preprocessing)."""
    x = torch.from_numpy(np.ascontiguousarray(u8)).float()
    return (x.permute(0, 3, 1, 2) / 255.0 - 0.5) / 0.5


def psnr_db(a, b):
    """PSNR in dB per image of two float tensors [B,3,H,W] in [-1,1] (peak 1 on the [0,1] scale), as uae eval."""
    mse = ((a - b) * 0.5).pow(2).mean((1, 2, 3)).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def from_pixels(x):
    """float tensor [B,3,H,W] in [-1,1] -> uint8 numpy [B,H,W,3]."""
    y = ((x.clamp(-1, 1) * 0.5 + 0.5) * 255.0).round().byte()
    return y.permute(0, 2, 3, 1).numpy()


class Captions:
    """Token ids of every record's caption at every level: int64 [N, LEVELS, MAX_LEN], padded."""

    def __init__(self, records, tok):
        self.tok = tok
        n = len(records)
        self.ids = np.full((n, C.LEVELS, C.MAX_LEN), tok.pad_id, dtype=np.int64)
        self.lengths = np.zeros((n, C.LEVELS), dtype=np.int64)
        for i, rec in enumerate(records):
            for lv, text in enumerate(rec["captions"]):
                seq = [tok.bos_id] + tok.encode(text)[: C.MAX_LEN - 2] + [tok.eos_id]
                self.ids[i, lv, : len(seq)] = seq
                self.lengths[i, lv] = len(seq)

    def sample(self, idx, mix, rng):
        """Picks a level per index from `mix` -> ids [B, MAX_LEN] (torch int64), levels [B]."""
        levels = rng.choice(len(mix), size=len(idx), p=mix)
        return torch.from_numpy(self.ids[idx, levels]), levels


def encode_texts(tok, texts):
    """Captions -> int64 tensor [B, MAX_LEN] with [BOS] ... [EOS] [PAD]..."""
    out = np.full((len(texts), C.MAX_LEN), tok.pad_id, dtype=np.int64)
    for i, t in enumerate(texts):
        seq = [tok.bos_id] + tok.encode(t)[: C.MAX_LEN - 2] + [tok.eos_id]
        out[i, : len(seq)] = seq
    return torch.from_numpy(out)


def work_dir(*parts):
    """Path under models/work (git-ignored), created on demand."""
    p = os.path.join(os.environ.get("UAE_WORK", os.path.join(REPO, "models", "work")), *parts)
    os.makedirs(os.path.dirname(p) if os.path.splitext(p)[1] else p, exist_ok=True)
    return p


def scene_set(split, seed, count):
    """The first `count` Shapes scenes of dataset seed `seed` (as `uae eval --seed` draws them), exported once to
    models/work/data/<split>-<seed>-<count> with the TypeScript CLI -> (uint8 images [N,64,64,3], records)."""
    import subprocess
    d = work_dir("data", f"{split}-{seed}-{count}")
    if not os.path.exists(os.path.join(d, "dataset.json")):
        subprocess.run(["node", os.path.join(REPO, "bin", "uae.mjs"), "scenes", "--count", str(count),
                        "--seed", str(seed), "--out", d], check=True)
    return load_dataset(d)


def ensure_data(cfg):
    """Exports the Shapes training and held-out sets with the TypeScript CLI if missing; returns both."""
    return {split: scene_set(split, seed, count)
            for split, seed, count in (("train", cfg["train_seed"], cfg["train_count"]),
                                       ("heldout", cfg["heldout_seed"], cfg["heldout_count"]))}


RECORDED_TIMES = os.path.join(REPO, "models", "stage_times.json")


def recorded_times():
    """models/stage_times.json: the training times measured when the shipped weights were made (for weights
    recovered from a bundle, whose logs are not in models/work) -> {seconds: {stage: s}, pretrain_wall}."""
    return json.load(open(RECORDED_TIMES)) if os.path.exists(RECORDED_TIMES) else {"seconds": {}}


class Log:
    """Appends one JSON line per logging step to models/work/logs/<stage>.jsonl and echoes it."""

    def __init__(self, stage):
        self.path = work_dir("logs", f"{stage}.jsonl")
        self.t0 = time.time()

    def __call__(self, **row):
        row["elapsed_s"] = round(time.time() - self.t0, 1)
        line = json.dumps(row)
        print(line, flush=True)
        with open(self.path, "a") as f:
            f.write(line + "\n")


def cosine_lr(opt, base, step, total, warmup=100):
    """Sets a warm-up + cosine learning rate on `opt`; returns it."""
    import math
    if step < warmup:
        lr = base * (step + 1) / warmup
    else:
        lr = base * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))
    for g in opt.param_groups:
        g["lr"] = lr
    return lr


def preset_cli(doc, presets, run):
    """Command line of an RL stage: --config picks a preset of `presets` (name -> config dataclass), every
    field of the dataclass is a flag that overrides it; seeds and threads are set, then
    run(config_name, options) is called with the resulting dataclass."""
    import argparse
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="full", choices=list(presets))
    for f in dataclasses.fields(presets["full"]):
        ap.add_argument("--" + f.name.replace("_", "-"), type=type(getattr(presets["full"], f.name)), default=None)
    a = ap.parse_args()
    preset = presets[a.config]
    opts = dataclasses.replace(preset, **{f.name: getattr(a, f.name) for f in dataclasses.fields(preset)
                                          if getattr(a, f.name) is not None})
    setup(5)
    run(a.config, opts)
