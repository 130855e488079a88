"""Stage 3 against the pre-RL decoder, paired (issue 19 point 3): the same captions, the same noise.

For each dataset seed (held-out scenes, exported by `uae scenes` as `uae eval --seed` draws them) the last stage-2
encoder captions every scene greedily once; both decoders then redraw each caption from the same noise, for every
noise seed (Euler at the bundle's steps, guidance as in the playground). Per scene and decoder: sim (scorer cosine to
the original), PSNR, retrieval top-1 among the seed's scenes. The difference Flow-GRPO − pre-RL is averaged over the
noise seeds per scene; its mean over scenes has a 95 % interval of ±1.96 standard errors.

Usage (from models/): /usr/bin/python3 -m uae.stage3_paired [--seeds 3,4] [--scenes 250] [--noise 0,1,2] [--stage NAME]
Writes models/work/eval/stage3-paired.json (the model card's "Stage 3, paired" table); with --stage NAME (an ablation's
checkpoint, `uae.rl_flow --log-name NAME`), stage3-paired-NAME.json.
"""
import argparse
import json
import math
import os

import numpy as np
import torch

from . import config as C
from .checkpoints import final_stage2_encoder, load_models
from .common import TOKENIZER_PATH, load_tokenizer, psnr_db, scene_set, setup, to_pixels, work_dir
from .export import _VaeDecode, round_to_fp16
from .infer import captions_in_batches, draw_in_batches, empty_caption_ids

STEPS = 12   # the bundle's default Euler steps (manifest defaults.flowSteps)


def interval(x):
    """Mean and 95 % half-width (1.96 standard errors) of per-scene values."""
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()), float(1.96 * x.std(ddof=1) / math.sqrt(len(x)))


@torch.no_grad()
def measure(m, flows, tok, images, noise_seeds, shape, guidance, bs=125):
    """Per decoder: per-scene sim, PSNR and retrieval hit, each averaged over the noise seeds -> {name: {metric: [N]}}."""
    px = to_pixels(images)
    n = len(px)
    ids = captions_in_batches(m["encoder"], px, tok, bs)
    empty = empty_caption_ids(tok)
    vae = _VaeDecode(m["ae"], m["scale"], m["shift"]).eval()
    orig = m["scorer"].image(px)
    out = {}
    for name, flow in flows.items():
        acc = {"sim": np.zeros(n), "psnr": np.zeros(n), "retrieval": np.zeros(n)}
        for ns in noise_seeds:
            gen = torch.Generator().manual_seed(ns)   # the same noise for both decoders: a paired comparison
            rec = draw_in_batches(flow, vae, ids, STEPS, guidance, gen, empty, shape, bs)
            emb = m["scorer"].image(rec)
            acc["sim"] += (emb * orig).sum(-1).numpy()
            acc["psnr"] += psnr_db(rec, px).numpy()
            acc["retrieval"] += ((emb @ orig.t()).argmax(1) == torch.arange(n)).numpy().astype(np.float64)
        out[name] = {k: v / len(noise_seeds) for k, v in acc.items()}
    return out


def load_pair(config, stage):
    """The pre-RL models (their encoder stage 2's last, fp16-rounded as exported) and the stage-3 ones of `stage`
    -> (cfg, tok, pre, rl, encoder step, latent shape, guidance)."""
    setup(0)
    cfg = C.get(config)
    tok = load_tokenizer(TOKENIZER_PATH)
    pre = load_models(cfg, tok, "flow")
    rl = load_models(cfg, tok, stage)
    enc_step = final_stage2_encoder(pre["encoder"])
    round_to_fp16(pre["encoder"])   # as exported
    shape = (cfg["flow"]["latent_channels"], cfg["flow"]["latent_size"], cfg["flow"]["latent_size"])
    return cfg, tok, pre, rl, enc_step, shape, cfg["flow"].get("guidance", 2.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="3,4", help="held-out dataset seeds (comma-separated)")
    ap.add_argument("--scenes", type=int, default=250, help="scenes per dataset seed")
    ap.add_argument("--noise", default="0,1,2", help="noise seeds (comma-separated)")
    ap.add_argument("--config", default="full", choices=["full", "tiny"])
    ap.add_argument("--stage", default="rl_flow", help="the refined decoder's checkpoint (an ablation's --log-name)")
    a = ap.parse_args()
    cfg, tok, pre, rl, enc_step, shape, guidance = load_pair(a.config, a.stage)
    noise = [int(s) for s in a.noise.split(",")]
    seeds = [int(s) for s in a.seeds.split(",")]
    per, pooled = [], {"pre": {}, "rl": {}}
    for seed in seeds:
        images, _ = scene_set("heldout", seed, a.scenes)
        r = measure(pre, {"pre": pre["flow"], "rl": rl["flow"]}, tok, images[: a.scenes], noise, shape, guidance)
        row = {"seed": seed, "scenes": a.scenes}
        for k in ("sim", "psnr", "retrieval"):
            row[k] = {"pre": float(r["pre"][k].mean()), "rl": float(r["rl"][k].mean())}
            row[k]["diff"], row[k]["ci95"] = interval(r["rl"][k] - r["pre"][k])
            for name in ("pre", "rl"):
                pooled[name].setdefault(k, []).append(r[name][k])
        per.append(row)
        print(json.dumps(row), flush=True)
    total = {"seed": "+".join(map(str, seeds)), "scenes": a.scenes * len(seeds)}
    for k in ("sim", "psnr", "retrieval"):
        p, q = np.concatenate(pooled["pre"][k]), np.concatenate(pooled["rl"][k])
        total[k] = {"pre": float(p.mean()), "rl": float(q.mean())}
        total[k]["diff"], total[k]["ci95"] = interval(q - p)
    print(json.dumps(total), flush=True)
    extra = f" --stage {a.stage}" if a.stage != "rl_flow" else ""
    doc = {"command": "python3 -m uae.stage3_paired " + f"--seeds {a.seeds} --scenes {a.scenes} --noise {a.noise}{extra}",
           "stage": a.stage,
           "encoder_step": enc_step, "euler_steps": STEPS, "guidance": guidance, "noise_seeds": noise,
           "rows": per + [total]}
    path = work_dir("eval", "stage3-paired.json" if a.stage == "rl_flow" else f"stage3-paired-{a.stage}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(path + ".tmp", path)
    print(path)


if __name__ == "__main__":
    main()
