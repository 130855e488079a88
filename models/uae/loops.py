"""Round trips loop after loop in PyTorch, paired: the pre-RL decoder against a stage-3 decoder (issue 19 point 4).

Each held-out scene goes caption -> image -> caption ... `--loops` times per decoder (greedy captions from the last
stage-2 encoder, Euler at the bundle's steps and guidance, each loop's drawing rounded to 8-bit pixels as the
playground passes it on); both decoders get the same noise at every loop. Reported per decoder and loop: the median
over scenes of sim (scorer cosine to the original), of sim at loop k / sim at loop 1 (`uae roundtrip --scenes`'s
ratio) and the mean caption tokens. Meant for choosing stage-3 settings on a seed the model card does not report
(the card's loop figures come from `uae roundtrip --scenes 100 --loops 10` on seeds 3 and 4).

Usage (from models/): /usr/bin/python3 -m uae.loops [--seed 2] [--scenes 60] [--loops 6] [--stage NAME]
Prints one JSON line per decoder and loop, then a summary; writes models/work/eval/loops-NAME-SEED.json.
"""
import argparse
import json

import numpy as np
import torch

from .common import from_pixels, scene_set, to_pixels, work_dir
from .export import _VaeDecode
from .infer import captions_in_batches, draw_in_batches, empty_caption_ids
from .stage3_paired import STEPS, load_pair


@torch.no_grad()
def loops(m, flow, tok, px, n_loops, shape, guidance, noise_seed=0, bs=100):
    """Originals px [N,3,64,64] -> (sim [loops, N] against the originals, tokens [loops, N])."""
    empty = empty_caption_ids(tok)
    vae = _VaeDecode(m["ae"], m["scale"], m["shift"]).eval()
    orig = m["scorer"].image(px)
    gen = torch.Generator().manual_seed(noise_seed)
    cur, sims, tokens = px, [], []
    for _ in range(n_loops):
        ids = captions_in_batches(m["encoder"], cur, tok, bs)
        tokens.append(((ids != tok.pad_id) & (ids != tok.bos_id) & (ids != tok.eos_id)).sum(1).numpy())
        rec = draw_in_batches(flow, vae, ids, STEPS, guidance, gen, empty, shape, bs)
        cur = to_pixels(from_pixels(rec))   # 8-bit, as the next loop reads it
        sims.append((m["scorer"].image(cur) * orig).sum(-1).numpy())
    return np.stack(sims), np.stack(tokens)


def summary(sims, tokens):
    """Per loop: median sim, median ratio to loop 1, mean tokens."""
    ratio = sims / np.maximum(sims[:1], 1e-6)
    return [{"loop": k + 1, "sim_median": float(np.median(sims[k])), "ratio_median": float(np.median(ratio[k])),
             "tokens_mean": float(tokens[k].mean())} for k in range(len(sims))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=2, help="held-out dataset seed")
    ap.add_argument("--scenes", type=int, default=60)
    ap.add_argument("--loops", type=int, default=6)
    ap.add_argument("--config", default="full", choices=["full", "tiny"])
    ap.add_argument("--stage", default="rl_flow", help="the stage-3 checkpoint (an ablation's --log-name)")
    a = ap.parse_args()
    _, tok, pre, rl, _, shape, guidance = load_pair(a.config, a.stage)
    images, _ = scene_set("heldout", a.seed, a.scenes)
    px = to_pixels(images[: a.scenes])
    doc = {"command": f"python3 -m uae.loops --seed {a.seed} --scenes {a.scenes} --loops {a.loops} --stage {a.stage}"}
    for name, flow in (("pre", pre["flow"]), (a.stage, rl["flow"])):
        rows = summary(*loops(pre, flow, tok, px, a.loops, shape, guidance))
        doc[name] = rows
        for r in rows:
            print(json.dumps({"decoder": name, **r}), flush=True)
    print(json.dumps({"last_ratio": {k: doc[k][-1]["ratio_median"] for k in ("pre", a.stage)}}))
    path = work_dir("eval", f"loops-{a.stage}-{a.seed}.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
