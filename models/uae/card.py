"""Writes public/models/uae-shapes/MODEL_CARD.md from measured artefacts only: the manifest (files,
bytes), the checkpoints (parameter counts), the stage logs (wall times; models/stage_times.json for stages
recovered from a bundle, whose logs are elsewhere) and the JSON
printed by `uae eval --json` runs saved under models/work/eval/ (see EVALS below for the commands).

Usage (from models/): /usr/bin/python3 -m uae.card
"""
import json
import os

import torch

from . import config as C
from .card_rl import EVAL_KEYS, RL_EVALS, fmt, loop_section, read_log, rl_section, stage_wall_time
from .checkpoints import Checkpoint, without_probe
from .common import REPO, recorded_times, work_dir
from .export import refresh_entry

BUNDLE = os.path.join(REPO, "public", "models", "uae-shapes")

# name -> (command that produced models/work/eval/<name>.json, description)
EVALS = {
    "encoder": ("npx uae eval --scenes 200 --seed 2 --json", "encoder greedy captions -> decoder -> scorer"),
    "reference": ("npx uae eval --scenes 200 --seed 2 --encoder referenceEncoder --json", "cold-start encoder"),
    **{f"level{lv}": (f"npx uae eval --scenes 200 --seed 2 --captions level:{lv} --json",
                      f"grammar captions at level {lv} -> decoder") for lv in range(5)},
}


def params(stage, key="model"):
    path = Checkpoint(stage).path
    if not os.path.exists(path):
        return None
    return sum(v.numel() for v in without_probe(torch.load(path)[key]).values())   # exported weights only


def pretrain_wall():
    """{seconds, command} of the whole pre-training command (written by models/retrain.sh), from this work
    directory's logs, else as recorded in models/stage_times.json for recovered weights; None if unknown."""
    path = work_dir("logs", "pretrain_wall.json")
    if os.path.exists(path):
        return json.load(open(path))
    if not os.path.exists(work_dir("logs", "flow.jsonl")):
        return recorded_times().get("pretrain_wall")
    return None


def main():
    m = json.load(open(os.path.join(BUNDLE, "manifest.json")))
    times = {s: stage_wall_time(s) for s in ("ae", "flow", "encoder", "scorer", "ae_decoder", "rl_encoder", "rl_flow")}
    times = {k: v for k, v in times.items() if v}
    ev = {}
    for name in EVALS:
        p = work_dir("eval", f"{name}.json")
        if os.path.exists(p):
            ev[name] = json.load(open(p))
    for name in RL_EVALS:
        p = work_dir("eval", f"{name}.json")
        if os.path.exists(p):
            ev[name] = json.load(open(p))
    extra = {}
    p = work_dir("eval", "scorer.json")
    if os.path.exists(p):
        extra = json.load(open(p))
    cfg = C.get("full")
    L = []
    L.append(f"# Model card: {m['name']} (`{m['id']}` {m['version']})\n")
    L.append(m["description"] + "\n")
    L.append("Trained on this repository's procedural Shapes domain only (`src/shapes`, exported by "
             f"`uae scenes`): {cfg['data']['train_count']:,} training scenes (seed {cfg['data']['train_seed']}), "
             f"evaluation on held-out scenes of seed {cfg['data']['heldout_seed']} (`uae eval --seed 2`).\n")
    L.append("## Models\n")
    L.append("| model | role | parameters | training steps × batch | caption-level mix (L0..L4) |")
    L.append("|---|---|---|---|---|")
    rows = [("latent auto-encoder (decoder part exported)", "decoder.vaeDecoder", params("ae"),
             f"{cfg['ae']['steps']} × {cfg['ae']['batch']}", "—"),
            ("text encoder + flow transformer (EMA weights)", "decoder.textEncoder/transformer",
             params("flow", "ema"), f"{torch.load(Checkpoint('flow').path)['step']} × {cfg['flow']['batch']}",
             str(C.DECODER_LEVEL_MIX)),
            ("caption encoder", "encoder, referenceEncoder", params("encoder"),
             f"{cfg['encoder']['steps']}"
             + (f" + {cfg['encoder']['bind_steps']} (binding phase)" if cfg["encoder"].get("bind_steps") else "")
             + f" × {cfg['encoder']['batch']}", str(C.ENCODER_LEVEL_MIX)),
            ("scorer (CLIP-style)", "scorer", params("scorer"), f"{cfg['scorer']['steps']} × {cfg['scorer']['batch']}"
             + (f" + {cfg['scorer']['hard_negatives']} hard negatives" if cfg["scorer"].get("hard_negatives") else ""),
             str(C.SCORER_LEVEL_MIX))]
    for r in rows:
        L.append("| " + " | ".join(fmt(x) if x is not None else "—" for x in r) + " |")
    L.append("")
    L.append("## Files\n")
    L.append("| file | bytes |")
    L.append("|---|---|")
    total = 0
    for f in m["files"]:
        if f["path"] != "MODEL_CARD.md":
            total += f["bytes"]
            L.append(f"| `{f['path']}` | {f['bytes']:,} |")
    L.append(f"| **total** (without this card) | **{total:,}** ({total / 1e6:.1f} MB) |\n")
    L.append("Weights are stored as float16 in the ONNX files (a Cast to float32 at load; inference runs in "
             "float32) and the PyTorch parity fixtures use the same rounded weights.\n")
    L.append("## Training time (this 2-core machine, measured)\n")
    L.append("| stage | wall time |")
    L.append("|---|---|")
    for k, v in times.items():
        L.append(f"| {k} | {v / 60:.1f} min |")
    L.append(f"| **all** | **{sum(times.values()) / 60:.1f} min** |\n")
    recovered = [k for k in times if not os.path.exists(work_dir("logs", f"{k}.jsonl"))]
    L.append("Measured on this machine: pre-training stages by `uae.train`'s own timer (`models/work/logs/stage_times.json`), "
             "RL stages from their logs (`models/work/logs/<stage>.jsonl`, segments summed across resumes). "
             + (f"The weights of {', '.join(recovered)} were recovered from the previous bundle's ONNX files "
                "(`python3 -m uae.from_bundle`, checked by re-export) rather than retrained; their times are the ones "
                "measured when they were trained (`models/stage_times.json`). " if recovered else "")
             + "A pre-training stage's time includes the data caches it builds (latents, hard-negative renders). "
             "PyTorch runs 2 threads and "
             "OpenBLAS 1 (`models/uae/__init__.py`: a 2-thread OpenBLAS under 2 PyTorch threads oversubscribes the "
             "2 cores and made the flow stage 2.7× slower per step).\n")
    enc_log = read_log("encoder")
    if enc_log and enc_log[0]["step"] > 0 and "encoder" in recorded_times()["seconds"]:
        L.append(f"The caption encoder resumed at step {enc_log[0]['step']} from weights recovered from the previous "
                 "bundle (`uae.from_bundle`) and ran its remaining steps here; its time is the recorded time of the "
                 "steps before plus the measured time of the steps run here.\n")
    w = pretrain_wall()
    if w:
        if w.get("detail"):
            L.append(f"Pre-training took **{w['seconds'] / 60:.1f} min** of wall time on this machine: {w['detail']} "
                     "(Shapes data export included).\n")
        else:
            L.append(f"The whole pre-training command, `{w['command']}` from an empty `models/work` (Shapes data "
                     f"export included), took **{w['seconds'] / 60:.1f} min** of wall time on this machine.\n")
    L.append("## Evaluation (held-out scenes, Node onnxruntime-web WASM)\n")
    keys = EVAL_KEYS
    L.append("| captions | " + " | ".join(keys) + " |")
    L.append("|---|" + "---|" * len(keys))
    for name, (cmd, desc) in EVALS.items():
        if name in ev:
            L.append(f"| {desc} | " + " | ".join(fmt(ev[name].get(k)) for k in keys) + " |")
    L.append("")
    L.append("Commands:\n")
    for name, (cmd, desc) in EVALS.items():
        if name in ev:
            L.append(f"- {desc}: `{cmd}`")
    if extra:
        L.append("\n## Scorer\n")
        L.append("Caption → image retrieval top-1 among held-out scenes, by caption level "
                 f"(`{extra.get('command', '')}`):\n")
        L.append("| level | top-1 |")
        L.append("|---|---|")
        for lv, v in enumerate(extra["text_to_image_top1"]):
            L.append(f"| {lv} | {v:.3f} |")
    L.append("\n## Against the targets\n")
    L.append("| target | measured | met |")
    L.append("|---|---|---|")
    checks = []
    cold = ev.get("reference") or ev.get("encoder")
    if cold:
        checks.append(("cold-start encoder attr_precision ≥ 0.95", cold["attr_precision"], cold["attr_precision"] >= 0.95))
    if "level4" in ev:
        checks.append(("decoder retrieval_top1 ≥ 0.9 with level-4 captions", ev["level4"]["retrieval_top1"],
                       ev["level4"]["retrieval_top1"] >= 0.9))
    lv = [ev.get(f"level{level}") for level in range(5)]
    if all(lv):
        rising = all(lv[i + 1]["sim"] > lv[i]["sim"] for i in range(4))
        checks.append(("decoder sim rises with every caption level", " < ".join(f"{x['sim']:.3f}" for x in lv), rising))
    if extra:
        checks.append(("scorer caption→image top-1 ≥ 0.9 (level 4)", extra["text_to_image_top1"][-1],
                       extra["text_to_image_top1"][-1] >= 0.9))
    checks.append(("bundle ≤ 25 MB", f"{total / 1e6:.1f} MB", total <= 25e6))
    pre = sum(v for k, v in times.items() if not k.startswith("rl_"))
    wall = pretrain_wall()   # the whole command, data export included
    if wall:
        pre = max(pre, wall["seconds"])
    checks.append(("all pre-training (three models) ≤ 90 min", f"{pre / 60:.1f} min", pre <= 90 * 60))
    rl_lines, rl_checks = rl_section(ev)
    checks += rl_checks
    loop_lines, loop_checks = loop_section()
    rl_lines += loop_lines
    checks += loop_checks
    for name, val, ok in checks:
        L.append(f"| {name} | {fmt(val)} | {'yes' if ok else '**no**'} |")
    L.append("")
    L += rl_lines
    has_rl = "checkpoints" in m["roles"]
    probe_note = ("the caption encoder was pre-trained with a training-only attribute probe on its vision tokens "
                  "(per grid cell: shape or empty, colour, size; and the background; `AttributeHead` in "
                  "`models/uae/labels.py`, weight `attr_weight`), which gives its vision tower dense supervision "
                  "while the captions it learns stay short-biased; the probe is not exported. "
                  if cfg["encoder"].get("attr_weight") else "")
    enc = cfg["encoder"]
    if enc.get("bind_steps"):
        mass = [r["bind_mass"] for r in read_log("encoder") if "bind_mass" in r]
        probe_note += (f"The encoder then had a binding phase of {enc['bind_steps']} steps (same caption mix, "
                       f"learning rate {enc['bind_lr']}): besides next-token cross-entropy, a loss of weight "
                       f"{enc['bind_weight']} on -log of the cross-attention mass (mean over layers and heads) that "
                       "each query predicting a position word puts on the vision tokens of the named object's grid "
                       "cell (`binding_loss` in `models/uae/train.py`). Before it, the encoder had learnt which cells "
                       "are occupied but not which object sits where: given the true level-4 opening, the 4800-step "
                       "encoder wrote 268 wrong positions among 2408 asserted attributes (precision 0.892, the previous "
                       "build's `uae.probe`), against the row above after the binding phase"
                       + (f"; that mass went from {mass[0]:.2f} (about what a uniform map gives) to {mass[-1]:.2f}"
                          if len(mass) > 1 else "") + ". ")
    if cfg["scorer"].get("hard_negatives"):
        sc = cfg["scorer"]
        probe_note += (f"The scorer was trained with hard negatives (`models/uae/hardneg.py`, as NegCLIP): in each batch of "
                       f"{sc['batch']} scenes, {sc['hard_negatives']} come with a copy of the scene changed in one detail "
                       "(two objects' positions swapped, a shape, colour or size changed, an object moved or a small one "
                       "removed; rendered and captioned by the TypeScript shapes world) and both are captioned at the top "
                       "level, and a hinge pushes the changed scene's image embedding below cosine "
                       f"{sc['hard_margin']} to its original's"
                       + (f"; its image tower keeps every vision token in its own slot (narrowed to {sc['flat_dim']} "
                          "features, concatenated, projected) instead of averaging them, to keep where each object is "
                          "(the scorer-alone table shows how much of it the embedding sees)" if sc.get("pool") == "flatten"
                          else "") + ". ")
    L.append("Notes on this build: " + probe_note + "The refined latent-decoder stage (`--stage ae_decoder`) "
             "was not run. "
             + ("The `encoder` role is stage 2's last checkpoint and `referenceEncoder` the cold start; the "
                "`encoder` evaluation row above is therefore the RL-trained encoder. "
                if has_rl else "`encoder` and `referenceEncoder` are the same cold-start graphs. ")
             + "Sampling defaults: 12 Euler steps, classifier-free guidance 2.0.")
    i2i_probe = work_dir("eval", "backbone-probe-seed3.json")   # python3 -m uae.train_backbone --probe-only --probe-seed 3
    if os.path.exists(i2i_probe):
        from .train_backbone import card_section
        L.append("\n" + card_section(json.load(open(i2i_probe))))
    L.append("\n## Retraining\n")
    L.append("`models/retrain.sh` (Debian `python3-torch`, `python3-onnx`): exports the Shapes data with "
             "`uae scenes`, trains every stage with fixed seeds (resumable from `models/work/ckpt/`), exports "
             "this bundle and the parity fixture `tests/fixtures/parity/uae-shapes.json`. `models/card.sh` reruns every "
             "measurement this card reads and rewrites it.")
    open(os.path.join(BUNDLE, "MODEL_CARD.md"), "w").write("\n".join(L) + "\n")
    refresh_entry(BUNDLE, "MODEL_CARD.md")   # the card is one of the bundle's hashed files
    print(os.path.join(BUNDLE, "MODEL_CARD.md"))


if __name__ == "__main__":
    main()
