"""Shared helpers for the training stages: data, tokenization, checkpoints, logging."""
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models"))

from shapes_data import load_dataset, load_tokenizer  # noqa: E402  (written by the Shapes module)

from . import config as C  # noqa: E402

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


def ensure_data(cfg):
    """Exports the Shapes training and held-out sets with the TypeScript CLI if missing; returns both."""
    import subprocess
    out = {}
    for split, seed, count in (("train", cfg["train_seed"], cfg["train_count"]),
                               ("heldout", cfg["heldout_seed"], cfg["heldout_count"])):
        d = work_dir("data", f"{split}-{seed}-{count}")
        if not os.path.exists(os.path.join(d, "dataset.json")):
            subprocess.run(["node", os.path.join(REPO, "bin", "uae.mjs"), "scenes", "--count", str(count),
                            "--seed", str(seed), "--out", d], check=True)
        out[split] = load_dataset(d)
    return out


RECORDED_TIMES = os.path.join(REPO, "models", "stage_times.json")


def recorded_times():
    """models/stage_times.json: the training times measured when the shipped weights were made (for weights
    recovered from a bundle, whose logs are not in models/work) -> {seconds: {stage: s}, pretrain_wall}."""
    return json.load(open(RECORDED_TIMES)) if os.path.exists(RECORDED_TIMES) else {"seconds": {}}


class Checkpoint:
    """Saves/resumes a stage's model, optimiser and step under models/work/ckpt/<stage>.pt."""

    def __init__(self, stage):
        self.path = work_dir("ckpt", f"{stage}.pt")

    def load(self, model, opt):
        if not os.path.exists(self.path):
            return 0
        state = torch.load(self.path)
        # weights recovered from a bundle (uae.from_bundle) lack the training-only attribute probe
        res = model.load_state_dict(state["model"], strict=False)
        if res.unexpected_keys or any(not k.startswith("attr_head.") for k in res.missing_keys):
            raise RuntimeError(f"{self.path}: does not fit the model: missing {res.missing_keys}, "
                               f"unexpected {res.unexpected_keys}")
        if opt is not None and state.get("opt"):
            opt.load_state_dict(state["opt"])
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["np_rng"])
        return state["step"]

    def save(self, model, opt, step, extra=None):
        state = {"model": model.state_dict(), "opt": opt.state_dict() if opt else None, "step": step,
                 "torch_rng": torch.get_rng_state(), "np_rng": np.random.get_state()}
        state.update(extra or {})
        tmp = self.path + ".tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.path)


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
    """Command line of an RL stage: --config picks a preset of `presets`, every preset key is a flag;
    seeds and threads are set, then run(config_name, options) is called."""
    import argparse
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="full", choices=list(presets))
    for k, v in presets["full"].items():
        ap.add_argument("--" + k.replace("_", "-"), type=type(v), default=None)
    a = ap.parse_args()
    opts = dict(presets[a.config])
    for k in opts:
        if getattr(a, k) is not None:
            opts[k] = getattr(a, k)
    setup(5)
    run(a.config, opts)
