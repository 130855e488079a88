"""Reward probe: what does reward = sim(image, decoder(caption)) pay for? Feeds the frozen decoder grammar
captions of held-out scenes and controlled corruptions of them (a wrong shape, an extra object that is not
in the scene, the salient object repeated) and reports mean sim, without and with classifier-free
guidance. Also measures the scorer alone: sim between each held-out image and the same scene rendered
(by the TypeScript rasteriser) with one attribute of one object changed, which bounds what any reward
built on this scorer can pay for. Writes models/work/eval/reward-probe.json (read by uae.card).

`--ceiling SEED ...` instead measures, on 200 held-out scenes of each dataset seed, the caption errors of the cold
start and of stage 2's last encoder, each also given the true level-4 opening (count and background): how exact the
vision tower, which stage 2 keeps frozen, lets any caption be (issue 19 point 2's attr_precision). Writes
models/work/eval/precision-ceiling.json.

Usage (from models/): /usr/bin/python3 -m uae.probe [--n 128] [--steps 8] | --ceiling 3 4
"""
import argparse
import json

import numpy as np
import torch

from . import config as C
from . import hardneg
from .checkpoints import final_stage2_encoder, load_models
from .common import TOKENIZER_PATH, encode_texts, ensure_data, load_tokenizer, setup, to_pixels, work_dir
from .infer import greedy_captions
from .rl import Rewarder, score_captions

PROBE_KINDS = ["swap", "shape", "colour", "size", "position", "drop"]


def scorer_sensitivity(scorer, images, records, rng):
    """Rows {change, sim}: mean sim(original, re-rendered scene with one change), scorer only."""
    orig = scorer.image(to_pixels(images))
    rows = []
    for kind in PROBE_KINDS:
        keep = [i for i, r in enumerate(records) if hardneg.applicable(r["scene"], kind)]
        alt, _ = hardneg.render([hardneg.perturbed(records[i]["scene"], kind, rng) for i in keep])
        sim = (scorer.image(to_pixels(alt)) * orig[keep]).sum(-1)
        rows.append({"change": hardneg.KINDS[kind], "sim": round(float(sim.mean()), 4), "scenes": len(keep)})
        print(json.dumps(rows[-1]))
    others = orig @ orig.t()
    others.fill_diagonal_(-1.0)
    rows.append({"change": "nearest other held-out scene", "sim": round(float(others.max(1).values.mean()), 4),
                 "scenes": len(records)})
    return rows


def wrong_shape(caption, rng):
    """The caption with one shape word replaced by another shape."""
    words = caption.split(" ")
    idx = [i for i, w in enumerate(words) if w in hardneg.SHAPES]
    i = idx[rng.integers(len(idx))]
    words[i] = str(rng.choice([s for s in hardneg.SHAPES if s != words[i]]))
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
    swapped = [hardneg.perturbed(r["scene"], "swap", rng) if hardneg.applicable(r["scene"], "swap") else r["scene"]
               for r in records]
    _, swapped_caps = hardneg.render(swapped, [r["seed"] for r in records])
    out["level 4, two objects' positions swapped"] = [c[C.LEVELS - 1] for c in swapped_caps]
    return out


ERROR_KINDS = ["position", "count", "extraObject", "shape", "colour", "size", "background"]


@torch.no_grad()
def prefixed_captions(encoder, tok, images, openings):
    """Greedy continuations of given caption openings (one per image, teacher-forced, then the KV cache) -> texts."""
    enc = encoder.vision(to_pixels(images))
    texts = []
    for b, opening in enumerate(openings):
        ids = [tok.bos_id] + tok.encode(opening)
        logits, past = encoder.decoder(torch.tensor([ids]), enc[b:b + 1], encoder.decoder.empty_past(1))
        while len(ids) < C.MAX_LEN - 1:
            nxt = int(logits[0, -1].argmax())
            if nxt == tok.eos_id:
                break
            ids.append(nxt)
            logits, past = encoder.decoder(torch.tensor([[nxt]]), enc[b:b + 1], past)
        texts.append(tok.decode(ids[1:]))
    return texts


@torch.no_grad()
def caption_errors(encoder, tok, images, records, openings=None):
    """Greedy captions of `encoder` -> {asserted, wrong by kind, precision} over the scenes (TypeScript parser).
    With `openings`, each caption is the greedy continuation of its given opening instead."""
    if openings is None:
        ids = greedy_captions(encoder, to_pixels(images), tok.bos_id, tok.eos_id, tok.pad_id)
        texts = [tok.decode([int(v) for v in row]) for row in ids]
    else:
        texts = prefixed_captions(encoder, tok, images, openings)
    scores = score_captions(texts, [r["scene"] for r in records])
    wrong = {k: int(sum(s["errors"][k] for s in scores)) for k in ERROR_KINDS}
    return {"asserted": int(sum(s["asserted"] for s in scores)), "wrong": wrong,
            "attr_precision": round(float(np.mean([s["precision"] for s in scores])), 4)}


def true_openings(records):
    """Each scene's level-4 caption up to its ':' (object count and background, true of the scene)."""
    return [r["captions"][C.LEVELS - 1].split(":")[0] + ":" for r in records]


@torch.no_grad()
def precision_ceiling(cfg, tok, seeds, n=200):
    """Per dataset seed: the cold start's and stage 2's last encoder's caption errors on n held-out scenes, free and
    given the true level-4 opening -> {seed: {row: caption_errors}}."""
    out = {}
    for seed in seeds:
        images, records = ensure_data(dict(cfg["data"], heldout_seed=seed, heldout_count=n))["heldout"]
        images, records = images[:n], records[:n]
        encoder = load_models(cfg, tok)["encoder"]
        openings = true_openings(records)
        rows = {"cold start": caption_errors(encoder, tok, images, records),
                "cold start, given the true level-4 opening": caption_errors(encoder, tok, images, records, openings)}
        step = final_stage2_encoder(encoder)
        if step:
            rows[f"stage 2, step {step}"] = caption_errors(encoder, tok, images, records)
            given = caption_errors(encoder, tok, images, records, openings)
            rows[f"stage 2, step {step}, given the true level-4 opening"] = given
        out[str(seed)] = rows
        for name, r in rows.items():
            print(f"| {seed} | {name} | {r['asserted']} | {r['wrong']['position']} | {r['attr_precision']:.4f} |", flush=True)
    return out


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--ceiling", type=int, nargs="+", metavar="SEED",
                    help="only the precision ceiling on 200 held-out scenes of each of these dataset seeds")
    a = ap.parse_args()
    setup(0)
    cfg = C.get("full")
    tok = load_tokenizer(TOKENIZER_PATH)
    if a.ceiling:
        print("| seed | encoder | attributes asserted | wrong positions | attr_precision |\n|---|---|---|---|---|")
        out = precision_ceiling(cfg, tok, a.ceiling)
        json.dump({"scenes": 200, "seeds": out}, open(work_dir("eval", "precision-ceiling.json"), "w"), indent=1)
        return
    m = load_models(cfg, tok)
    images, records = ensure_data(cfg["data"])["heldout"]
    sensitivity = scorer_sensitivity(m["scorer"], images[: a.n], records[: a.n], np.random.default_rng(1))
    orig = m["scorer"].image(to_pixels(images[: a.n]))
    rows = []
    for guidance in (1.0, cfg["flow"].get("guidance", 2.0)):
        rw = Rewarder(m, tok, a.steps, cfg["flow"]["latent_channels"], guidance)
        for name, caps in variants(records[: a.n], np.random.default_rng(0)).items():
            recon = rw.reconstruct(encode_texts(tok, caps), torch.Generator().manual_seed(0))
            rows.append({"captions": name, "guidance": guidance, "sim": round(float(rw.sim(orig, recon).mean()), 4)})
            print(json.dumps(rows[-1]))
    # the level-4 caption's opening up to ':' (object count and background, true of the scene), then greedy:
    # how exact the encoder is when it does describe every object -- a ceiling for stage 2's precision
    openings = true_openings(records[:200])
    given = caption_errors(m["encoder"], tok, images[:200], records[:200], openings)
    errors = {"scenes": 200, "cold start": caption_errors(m["encoder"], tok, images[:200], records[:200]),
              "cold start, given the true level-4 opening": given}
    step = final_stage2_encoder(m["encoder"])
    if step:
        errors[f"stage 2, step {step}"] = caption_errors(m["encoder"], tok, images[:200], records[:200])
    print(json.dumps(errors))
    out = {"scenes": a.n, "seed": cfg["data"]["heldout_seed"], "euler_steps": a.steps, "rows": rows,
           "scorer_sensitivity": sensitivity, "caption_errors": errors}
    json.dump(out, open(work_dir("eval", "reward-probe.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
