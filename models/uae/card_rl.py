"""The model card's Unified-GRPO section (stages 2 and 3: logs, first/last checkpoint evaluations, the
unshipped stage-2 runs of models/stage2_runs.json, the reward probe) and the helpers uae.card shares with it."""
import json
import os

import torch

from . import config as C
from .card_stage3 import STAGE3_REWARD_WORDS, stage3_ablation_lines, stage3_paired_lines
from .checkpoints import Checkpoint, read_log, run_meta, stage3_reward
from .common import REPO, recorded_times, work_dir


def fmt(v):
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def stage_wall_time(stage):
    """Seconds of training behind the shipped weights of a stage: the sum, over the resumed segments of its
    log (models/work/logs/<stage>.jsonl; elapsed_s restarts at each resume), of each segment's last elapsed_s."""
    path = work_dir("logs", f"{stage}.jsonl")
    measured = work_dir("logs", "stage_times.json")   # uae.train's own timer: includes data caches it builds
    if os.path.exists(path) and os.path.exists(measured):
        timed = json.load(open(measured))
        if stage in timed:
            return float(timed[stage])
    if not os.path.exists(path):
        recovered = Checkpoint(stage).path
        if os.path.exists(recovered) and "imported_from" in torch.load(recovered):
            return float(recorded_times()["seconds"].get(stage, 0.0))
        return 0.0
    total, last = 0.0, 0.0
    for line in open(path):
        e = json.loads(line).get("elapsed_s", 0.0)
        if e < last:
            total += last
        last = e
    return total + last


# Unified-GRPO evaluations (models/work/eval/<name>.json), 200 held-out scenes
RL_EVALS = {
    "ckpt-first": ("npx uae eval --scenes 200 --seed 2 --checkpoint first --json", "stage 2, first checkpoint (cold start)"),
    "ckpt-last": ("npx uae eval --scenes 200 --seed 2 --checkpoint last --json", "stage 2, last checkpoint"),
    "flowgrpo": ("npx uae eval --scenes 200 --seed 2 --bundle public/models/uae-shapes-flowgrpo --json",
                 "stage 3: last stage-2 encoder, Flow-GRPO decoder"),
    # issue 19 point 2 is judged on seeds that chose nothing (seed 2 chose the length penalty and the step count)
    **{f"ckpt-last-seed{s}": (f"npx uae eval --scenes 200 --seed {s} --checkpoint last --json",
                              f"stage 2, last checkpoint, seed {s}") for s in (3, 4)},
}
# round-trip stability (issue 19 point 4): models/work/eval/<name>.json
LOOP_EVALS = {
    "loops-seed3": ("npx uae roundtrip --scenes 100 --loops 10 --dataset-seed 3 --json", "default bundle, seed 3"),
    "loops-seed4": ("npx uae roundtrip --scenes 100 --loops 10 --dataset-seed 4 --json", "default bundle, seed 4"),
    "loops-flowgrpo-seed3": ("npx uae roundtrip --scenes 100 --loops 10 --dataset-seed 3 "
                             "--bundle public/models/uae-shapes-flowgrpo --json", "Flow-GRPO bundle, seed 3"),
}
SPARK = "▁▂▃▄▅▆▇█"


def spark(values, lo=0.0, hi=1.0):
    """A one-line curve of values in [lo, hi]."""
    return "".join(SPARK[min(len(SPARK) - 1, max(0, int((v - lo) / (hi - lo) * len(SPARK))))] for v in values)


def loop_section():
    """Markdown lines of the round-trip stability runs (LOOP_EVALS) and the issue-19 point-4 check, or ([], [])."""
    runs = {}
    for name in LOOP_EVALS:
        p = work_dir("eval", f"{name}.json")
        if os.path.exists(p):
            runs[name] = json.load(open(p))
    if not runs:
        return [], []
    L = ["### Round trips, loop after loop\n",
         "Caption → image → caption … ten times on 100 held-out scenes per run, greedy captions, fresh decoder noise every loop "
         "from one seeded stream (`uae roundtrip --scenes`); sim is each loop's image against the original, the ratio the "
         "median over scenes of sim at loop k ÷ sim at loop 1 (how much of what the first loop kept the loops keep):\n"]
    L.append("| loop | " + " | ".join(f"{LOOP_EVALS[n][1]}: median sim / ratio / mean tokens" for n in runs) + " |")
    L.append("|---|" + "---|" * len(runs))
    k = max(len(r["loops"]) for r in runs.values())
    for j in range(k):
        cells = []
        for r in runs.values():
            x = r["loops"][j] if j < len(r["loops"]) else None
            cells.append(f"{x['sim_median']:.3f} / {x['ratio_median']:.3f} / {x['tokens_mean']:.1f}" if x else "—")
        L.append(f"| {j + 1} | " + " | ".join(cells) + " |")
    L.append("")
    for n, r in runs.items():
        L.append(f"- {LOOP_EVALS[n][1]} (`{LOOP_EVALS[n][0]}`): ratio by loop "
                 f"`{spark([x['ratio_median'] for x in r['loops']], 0.5)}` (0.5 to 1)")
    L.append("\nWhy the loops drift, and what was tried against it (sampler settings, an encoder taught to read the "
             "decoder's drawings): docs/backbones.md, \"Round trips, loop after loop\".\n")
    checks = []
    main = [r for n, r in runs.items() if not n.startswith("loops-flowgrpo")]
    if main:
        last = [r["ratio_last"] for r in main]
        checks.append(("loops (issue 19): median sim at loop 10 ÷ loop 1 ≥ 0.9 (100 scenes, seeds "
                       + " and ".join(str(r["dataset_seed"]) for r in main) + ")",
                       " / ".join(f"{v:.3f}" for v in last),
                       all(len(r["loops"]) >= 10 for r in main) and min(last) >= 0.9))
    return L, checks


EVAL_KEYS = ["scenes", "mean_tokens", "sim", "psnr", "ssim", "attr_precision", "attr_recall", "attr_f1",
             "retrieval_top1", "unified_score"]


STAGE2_RUNS = os.path.join(REPO, "models", "stage2_runs.json")


def stage2_runs_section():
    """Markdown lines comparing longer, unshipped stage-2 runs (models/stage2_runs.json), if recorded."""
    if not os.path.exists(STAGE2_RUNS):
        return []
    d = json.load(open(STAGE2_RUNS))
    steps = sorted({e["step"] for r in d["runs"] for e in r["evals"] if e["step"] > 0})
    L = ["Why stage 2 stops where it does: " + d["note"] + " These runs predate the exactness fixes of the shipped "
         "run (the sampled token kept at the length limit instead of a forced EOS, metrics averaged over both "
         "optimisation passes); the fixes change neither the loss of a caption that ends by itself nor the "
         "sampling. Attribute precision, then mean tokens, by step:\n",
         "| settings | | " + " | ".join(str(s) for s in steps) + " |",
         "|---|---|" + "---|" * len(steps)]
    for r in d["runs"]:
        by = {e["step"]: e for e in r["evals"]}
        for key in ("attr_precision", "mean_tokens"):
            L.append(f"| {r['settings']} | {key} | "
                     + " | ".join(fmt(by[s][key]) if s in by else "—" for s in steps) + " |")
    e = d.get("errors_200")
    if e:
        kinds = list(e["rows"][0]["wrong"])
        L += ["", f"The first run's snapshots on {e['scenes']} held-out scenes ({e['note']}):\n",
              "| step | attributes asserted | " + " | ".join(kinds) + " | attr_precision |",
              "|---|---|" + "---|" * len(kinds) + "---|"]
        for r in e["rows"]:
            L.append(f"| {r['step']} | {r['asserted']} | " + " | ".join(str(r["wrong"][k]) for k in kinds)
                     + f" | {r['attr_precision']:.3f} |")
    L += ["", "Until about step 120 the runs' captions list the objects (size, colour, shape, position, level-3 "
          "style) and precision stays between 0.91 and 0.94 after the first 40 steps (one dip to 0.884 in the "
          "batch-scaled run). Then the policy starts writing the level-4 header (\"four objects on a white "
          "background : ...\"), and count words and repeated objects, which the reward barely pays for or against, "
          "drift in: count and extra-object errors grow while position errors stay flat. A stronger KL (β 0.3) "
          "or batch-level reward scaling delays this but does not stop it. The shipped run stops at "
          f"{rl_steps()} steps, before it. The step was chosen from the in-run curves above, whose 128 scenes "
          "are among the 200 of the evaluation below.\n"]
    return L


def sci(x):
    """A small logged value in 2-digit scientific notation, 0 as 0, missing as —."""
    return "—" if x is None else "0" if x == 0 else f"{x:.2e}"


def rl_steps():
    return C.RL_ENCODER["full"].steps


def rl_section(ev):
    """Markdown lines for stages 2 and 3 from their logs and the saved evaluations, plus target checks."""
    L, checks = [], []
    s2, s3 = read_log("rl_encoder"), read_log("rl_flow")
    if not s2:
        return L, checks
    rf = C.RL_FLOW["full"]
    window = rf.sde_window
    fast = (f"; each sample is stochastic (and trained) only on a {window}-step window of its {rf.sample_steps} steps "
            "and takes the Euler steps the playground samples with elsewhere (Flow-GRPO-Fast)") if window else ""
    fast += f"; reward `{stage3_reward()}`{STAGE3_REWARD_WORDS}"
    L.append("## Unified-GRPO (stages 2 and 3)\n")
    meta = run_meta()
    if meta:
        penalty = meta.get("length_penalty", "none")
        priced = (f", minus the length penalty `{penalty}` (a price per completion token: a repeated object adds "
                  "tokens and nothing to the picture)") if penalty != "none" else ""
        L.append(f"Stage 2 (the TypeScript trainer, `{meta.get('command') or 'uae train'}`, the same trainer as the "
                 "page's Train live; its checkpoints and log imported by `python3 -m uae.from_bundle --stage2`): GRPO "
                 "on the caption decoder of the encoder (vision encoder, decoder, scorer and backbone frozen), reward = "
                 f"`{meta.get('reward', 'sim')}`: the scorer's sim and the i2i backbone's cosine (docs/backbones.md) "
                 "between the image and decoder(caption), the decoder run as the playground runs it (Euler, "
                 "classifier-free guidance)" + priced + "; k3 KL to the cold start. Stage 3 (`python3 -m "
                 "uae.rl_flow`): Flow-GRPO on the flow transformer with the encoder frozen at stage 2's last checkpoint"
                 + fast + ". Stage 2's options are the trainer's "
                 "preset (`src/engine/train/config.ts`), stage 3's in `models/uae/config.py` (RL_FLOW['full']).\n")
    else:
        L.append("Stage 2 (`python3 -m uae.rl`): GRPO on the caption decoder of the encoder (vision encoder, decoder "
                 "and scorer frozen), reward = sim(image, decoder(caption)) with the decoder run as the playground "
                 "runs it (Euler, classifier-free guidance), k3 KL to the cold start. Stage 3 (`python3 -m "
                 "uae.rl_flow`): Flow-GRPO on the flow transformer with the encoder frozen at stage 2's last "
                 "checkpoint" + fast + ". Options and values are in `models/uae/config.py` (RL_ENCODER / RL_FLOW['full']).\n")
    L.append("Stage 2 along the run (held-out evaluation inside the run: 128 scenes of seed 2, greedy captions):\n")
    L.append("| step | mean tokens | sim | attr recall | attr precision | retrieval top-1 | kl | max clip_ratio/region_mean "
             "since the row above | sample caption |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    kl, clip = 0.0, 0.0
    for r in s2:
        kl, clip = r.get("kl", kl), max(clip, r.get("clip_ratio/region_mean") or 0.0)
        if "eval/sim" in r:
            L.append(f"| {r['step']} | {r['eval/mean_tokens']:.2f} | {r['eval/sim']:.3f} | {r['eval/attr_recall']:.3f} | "
                     f"{r['eval/attr_precision']:.3f} | {r['eval/retrieval_top1']:.3f} | {kl:.3f} | {clip:.4f} | "
                     f"{r.get('eval/sample_caption', '—')} |")
            clip = 0.0
    L.append("")
    if meta:
        L.append("How this reward and the length penalty's coefficient were chosen, with the PyTorch stage-2 runs of the "
                 "same reward: docs/backbones.md.\n")
    else:
        L += stage2_runs_section()
    a, b = ev.get("ckpt-first"), ev.get("ckpt-last")
    if a and b:
        L.append("First against last stage-2 checkpoint, 200 held-out scenes (`uae eval --checkpoint`):\n")
        L.append("| checkpoint | " + " | ".join(EVAL_KEYS) + " |")
        L.append("|---|" + "---|" * len(EVAL_KEYS))
        for name in ("ckpt-first", "ckpt-last"):
            L.append(f"| {RL_EVALS[name][1]} | " + " | ".join(fmt(ev[name].get(k)) for k in EVAL_KEYS) + " |")
        L.append("")
        checks += [
            ("stage 2: mean_tokens grows ≥ 2.5×", f"{a['mean_tokens']:.2f} → {b['mean_tokens']:.2f} "
             f"({b['mean_tokens'] / a['mean_tokens']:.2f}×)", b["mean_tokens"] >= 2.5 * a["mean_tokens"]),
            ("stage 2: attr_recall at least doubles", f"{a['attr_recall']:.3f} → {b['attr_recall']:.3f}",
             b["attr_recall"] >= 2 * a["attr_recall"]),
            ("stage 2: attr_precision stays ≥ 0.9", f"{b['attr_precision']:.3f}", b["attr_precision"] >= 0.9),
            ("stage 2: retrieval_top1 rises ≥ 0.3", f"{a['retrieval_top1']:.3f} → {b['retrieval_top1']:.3f}",
             b["retrieval_top1"] - a["retrieval_top1"] >= 0.3),
            ("stage 2: sim rises", f"{a['sim']:.3f} → {b['sim']:.3f}", b["sim"] > a["sim"]),
        ]
        # issue 19 point 2: the last stage-2 checkpoint says what the grammar's top level says, on seeds that chose
        # nothing (3 and 4) when measured, else on seed 2
        held = [ev[f"ckpt-last-seed{s}"] for s in (3, 4) if ev.get(f"ckpt-last-seed{s}")] or [b]
        if all(h.get("background_named") is not None for h in held):
            seeds = " and ".join(str(h.get("seed", "?")) for h in held)
            if len(held) > 1 or held[0] is not b:
                L.append(f"The last checkpoint on held-out seeds {seeds}, which chose nothing (200 scenes each, "
                         + ", ".join(f"`{RL_EVALS[f'ckpt-last-seed{s}'][0]}`" for s in (3, 4)
                                     if ev.get(f"ckpt-last-seed{s}")) + "):\n")
                L.append("| seed | " + " | ".join(EVAL_KEYS + ["background_named", "count_named", "extra_object_rate"]) + " |")
                L.append("|---|" + "---|" * (len(EVAL_KEYS) + 3))
                for h in held:
                    L.append(f"| {h.get('seed', '?')} | " + " | ".join(
                        fmt(h.get(k)) for k in EVAL_KEYS + ["background_named", "count_named", "extra_object_rate"]) + " |")
                L.append("")

            def target(label, key, ok, unit=""):
                vals = [h[key] for h in held]
                shown = " / ".join((f"{v:.2f}" if unit else f"{v:.3f}") + unit for v in vals)
                return (f"stage 2 (issue 19, seed{'s' if len(held) > 1 else ''} {seeds}): {label}", shown,
                        all(ok(v) for v in vals))
            checks += [
                target("attr_precision ≥ 0.95", "attr_precision", lambda v: v >= 0.95),
                target("attr_recall ≥ 0.9", "attr_recall", lambda v: v >= 0.9),
                target("background named in ≥ 90 % of captions", "background_named", lambda v: v >= 0.9),
                target("object count named in ≥ 90 % of captions", "count_named", lambda v: v >= 0.9),
                target("extra-object errors ≤ 2 % of asserted attributes", "extra_object_rate", lambda v: v <= 0.02),
                target("PSNR ≥ 18 dB", "psnr", lambda v: v >= 18, " dB"),
            ]
    if s3:
        e3 = [r for r in s3 if "eval/sim" in r]
        L.append("Stage 3 along the run (128 held-out scenes, captions of the last stage-2 encoder, fixed noise, "
                 "Euler with guidance):\n")
        L.append("| step | eval sim | eval retrieval top-1 | reward (group mean of the training samples) | "
                 "kl_loss (Flow-GRPO) | clipfrac |")
        L.append("|---|---|---|---|---|---|")
        for r in e3:
            L.append(f"| {r['step']} | {r['eval/sim']:.4f} | {r['eval/retrieval_top1']:.3f} | "
                     f"{fmt(r.get('reward', '—'))} | {sci(r.get('kl_loss'))} | {sci(r.get('clipfrac'))} |")
        L.append("")
        L += stage3_ablation_lines(e3)
        paired, paired_checks = stage3_paired_lines()
        L += paired
        checks += paired_checks
        if len(e3) > 1:
            checks.append(("stage 3 raises held-out sim (in-run evaluation)", f"{e3[0]['eval/sim']:.4f} → {e3[-1]['eval/sim']:.4f}",
                           e3[-1]["eval/sim"] > e3[0]["eval/sim"]))
        if b and ev.get("flowgrpo"):
            c = ev["flowgrpo"]
            L.append(f"200 held-out scenes, last stage-2 encoder's captions: pre-RL decoder sim {b['sim']:.4f} "
                     f"(`{RL_EVALS['ckpt-last'][0]}`), Flow-GRPO decoder sim {c['sim']:.4f} (`{RL_EVALS['flowgrpo'][0]}`).\n")
            checks.append(("stage 3 raises sim (200 scenes, uae eval)", f"{b['sim']:.4f} → {c['sim']:.4f}", c["sim"] > b["sim"]))
    for stage, label in (("rl_encoder", "stage 2"), ("rl_flow", "stage 3")):
        t = stage_wall_time(stage)
        if t:
            checks.append((f"{label} ≤ 30 min", f"{t / 60:.1f} min", t <= 30 * 60))
    probe = work_dir("eval", "reward-probe.json")
    if os.path.exists(probe):
        pr = json.load(open(probe))
        gs = sorted({r["guidance"] for r in pr["rows"]})
        L.append(f"### What the reward pays for\n\n`python3 -m uae.probe`: mean sim of {pr['scenes']} held-out scenes "
                 f"reconstructed ({pr['euler_steps']} Euler steps) from grammar captions and corrupted ones:\n")
        L.append("| captions | " + " | ".join(f"sim, guidance {g}" for g in gs) + " |")
        L.append("|---|" + "---|" * len(gs))
        names = list(dict.fromkeys(r["captions"] for r in pr["rows"]))
        for n in names:
            L.append(f"| {n} | " + " | ".join(fmt(next(r["sim"] for r in pr["rows"] if r["captions"] == n and r["guidance"] == g))
                                              for g in gs) + " |")
        if pr.get("scorer_sensitivity"):
            L.append("\nThe scorer alone: mean sim between each held-out image and the same scene rendered by the "
                     "TypeScript rasteriser with one change (no decoder involved); what a change costs here bounds "
                     "what any reward built on this scorer can pay for:\n")
            L.append("| change | scenes | sim |")
            L.append("|---|---|---|")
            for r in pr["scorer_sensitivity"]:
                L.append(f"| {r['change']} | {r['scenes']} | {fmt(r['sim'])} |")
        ce = pr.get("caption_errors")
        if ce:
            kinds = list(next(v for k, v in ce.items() if k != "scenes")["wrong"])
            L.append(f"\nWhat the encoder's greedy captions get wrong, {ce['scenes']} held-out scenes (`uae.probe`; "
                     "asserted attributes false of the scene, by kind, under the parser's one-to-one object matching; "
                     "`extraObject` counts the attributes of objects the scene does not have; \"given the true "
                     "level-4 opening\" feeds the encoder the scene's level-4 caption up to its colon, e.g. \"three "
                     "objects on a white background :\", and lets it go on greedily: how exact it is when it does "
                     "describe every object):\n")
            L.append("| encoder | attributes asserted | " + " | ".join(kinds) + " | attr_precision |")
            L.append("|---|---|" + "---|" * len(kinds) + "---|")
            for name, v in ce.items():
                if name != "scenes":
                    L.append(f"| {name} | {v['asserted']} | " + " | ".join(str(v["wrong"][k]) for k in kinds)
                             + f" | {v['attr_precision']:.3f} |")
        top_error = None
        if ce and any(k.startswith("stage 2") for k in ce):
            last = ce[[k for k in ce if k.startswith("stage 2")][-1]]["wrong"]
            top_error = max(last, key=last.get)

        def row(name, g):
            return next((r["sim"] for r in pr["rows"] if r["captions"] == name and r["guidance"] == g), None)
        g_hi = gs[-1]
        notes = []
        shape_cost = (row("level 3", g_hi) or 0) - (row("level 3, one shape wrong", g_hi) or 0)
        notes.append(f"With guidance {g_hi}, one wrong shape in a level-3 caption costs the reward {shape_cost:.3f}"
                     + (" (next to nothing: GRPO on sim cannot teach shapes, so the encoder must see them from "
                        "pre-training, its attribute probe, and stage 2 must not unlearn them)" if shape_cost < 0.02 else ""))
        swap = row("level 4, two objects' positions swapped", g_hi)
        if swap is not None:
            swap_cost = (row('level 4', g_hi) or 0) - swap
            largest = "; they are the stage-2 encoder's largest error kind above" if top_error == "position" else ""
            why = (" (the decoder draws much the same picture whichever object each position is given to, so "
                   "GRPO on sim cannot teach positions" + largest + ")")
            notes.append(f"swapping two objects' positions in a level-4 caption costs {swap_cost:.3f}"
                         + (why if swap_cost < 0.02 else ""))
        rep1, l2_1 = row("level 2, object repeated 3×", 1.0), row("level 2", 1.0)
        if rep1 is not None and l2_1 is not None and rep1 > l2_1:
            notes.append("without guidance, repeating the salient object pays (a first stage-2 run with guidance 1 "
                         "exploited it), so stage 2 rewards reconstructions made with guidance")
        opened = (ce or {}).get("cold start, given the true level-4 opening")
        rl_rows = [k for k in (ce or {}) if k.startswith("stage 2")]
        if opened and rl_rows and ce[rl_rows[-1]]["attr_precision"] < 0.9:
            last = ce[rl_rows[-1]]
            notes.append(f"stage 2's precision ({last['attr_precision']:.3f}) is that of the cold-start encoder itself "
                         f"when it describes every object ({opened['attr_precision']:.3f}, given the true level-4 "
                         f"opening; {opened['wrong']['position']} of its {opened['asserted']} attributes are wrong "
                         "positions): the RL keeps what the encoder can see, and the bar of 0.9 waits on an encoder that "
                         "binds positions to objects better, not on the reward")
        L.append("\n" + "; ".join(notes) + ".\n")
    return L, checks
