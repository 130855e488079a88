"""Times stage-2 GRPO steps (uae.rl's own step) for `npm run bench`'s trainer section.

From the cold start of the weights in models/work/ckpt (for the shipped bundle: `python3 -m uae.from_bundle`
first), with the shipped preset (config.RL_ENCODER['full']) unless a flag overrides a field: 1 warm-up step, then
K timed steps, each drawing its images, sampling G captions per image, reconstructing them with the preset's flow
steps, rewarding (sim), and the preset's updates. No evaluation. The training images are the first `--scenes`
scenes of the training set's seed (a step draws with replacement, as uae.rl does from all 60,000).

Usage (from models/): /usr/bin/python3 -m uae.bench_step [--threads N] [--steps K] [--warmup W] [--group G]
  [--images B] [--flow-steps F] [--scenes N]
Prints one JSON line: {seconds_per_step, steps, warmup, threads, step_seconds, warmup_seconds, mean_length (the
last step's mean completion tokens), torch, settings}.
"""
import argparse
import dataclasses
import json
import time

import numpy as np
import torch

from . import config as C
from .common import TOKENIZER_PATH, ensure_data, load_tokenizer, setup
from .rl import stage2_opts, stage2_setup, stage2_step


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--steps", type=int, default=3, help="timed steps")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--group", type=int, default=None)
    ap.add_argument("--images", type=int, default=None)
    ap.add_argument("--flow-steps", type=int, default=None)
    ap.add_argument("--scenes", type=int, default=256, help="training scenes to draw the step images from")
    a = ap.parse_args()
    if a.threads < 1 or a.steps < 1 or a.warmup < 0 or a.scenes < 1:
        raise SystemExit("uae.bench_step: --threads, --steps and --scenes must be >= 1, --warmup >= 0")
    over = {"group": a.group, "images": a.images, "flow_steps": a.flow_steps}
    rl = dataclasses.replace(C.RL_ENCODER["full"], **{k: v for k, v in over.items() if v is not None})
    setup(5, a.threads)
    cfg = C.get("full")
    tok = load_tokenizer(TOKENIZER_PATH)
    m, policy, ref, params, opt, rewarder = stage2_setup(cfg, tok, rl)
    data = ensure_data(dict(cfg["data"], train_count=a.scenes, heldout_count=1))
    train_images, _ = data["train"]
    opts = stage2_opts(rl)
    gen = torch.Generator().manual_seed(7)
    rng = np.random.default_rng(11)
    times, warm, row = [], [], {}
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        row = stage2_step(policy, ref, m, rewarder, tok, opt, params, train_images, rng, gen, rl, opts)
        (times if i >= a.warmup else warm).append(time.perf_counter() - t0)
    settings = {k: getattr(rl, k) for k in ("group", "images", "flow_steps", "iterations", "loss_type", "beta", "lr")}
    print(json.dumps({"seconds_per_step": sum(times) / len(times), "steps": a.steps, "warmup": a.warmup,
                      "threads": torch.get_num_threads(), "step_seconds": times, "warmup_seconds": warm,
                      "mean_length": row.get("completions/mean_length"), "torch": torch.__version__,
                      "settings": settings}), flush=True)


if __name__ == "__main__":
    main()
