"""Write tests/fixtures/grpo/*.json: seeded GRPO / Flow-GRPO cases with inputs and the numbers
models/grpo_ref.py computes for them. The TypeScript engine (src/engine/grpo*.ts) is checked
against these files by tests/unit/grpo*.test.ts; tests/models/test_grpo_ref.py checks that they
are up to date and that grpo_ref agrees with a torch transcription of TRL's lines.

Usage: ${UAE_PYTHON:-/usr/bin/python3} models/make_grpo_fixtures.py [--check]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

import grpo_ref as ref  # models/ is sys.path[0] when run as a script; the tests import it from there too

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "fixtures" / "grpo"
SEED = 20250909


def clean(x):
    """JSON-safe: numpy -> lists, NaN/inf -> None (JSON has no NaN)."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    return x


def exact_log_ratio_pair(target: float, logp: float = -0.25) -> tuple[float, float]:
    """(logp, old_logp) with exp(logp - old_logp) == target exactly in float64 where possible."""
    old = logp - math.log(target)
    for k in range(0, 200):
        for sign in (1, -1):
            cand = old
            for _ in range(k):
                cand = np.nextafter(cand, sign * np.inf)
            x = logp - float(cand)
            if float(np.exp(x)) == target and math.exp(x) == target:
                return logp, float(cand)
    raise ValueError(f"no float64 log-ratio gives exp(.) == {target!r} exactly")


# ----------------------------------------------------------------------------- report cases

def random_tokens(rng, n, t, lengths, lo, hi, junk=True):
    """[N,T] values in [lo,hi) on active tokens; padded positions get junk to prove masking."""
    vals = rng.uniform(lo, hi, size=(n, t))
    if junk:
        for i in range(n):
            vals[i, lengths[i]:] = rng.uniform(-9.0, 9.0, size=t - lengths[i])
    return vals


def base_case(rng, name, groups, group_size, width, scale, loss_type, beta, eps_low=0.2, eps_high=0.2,
              ratio_spread=0.35, with_ref=True, with_entropy=True, **extra):
    n = groups * group_size
    lengths = rng.integers(max(1, width // 3), width + 1, size=n)
    truncated = (lengths == width).astype(int)
    logp = random_tokens(rng, n, width, lengths, -4.0, -0.02)
    old = logp - random_tokens(rng, n, width, lengths, -ratio_spread, ratio_spread, junk=False)
    ref_logp = logp + random_tokens(rng, n, width, lengths, -0.6, 0.6, junk=False) if with_ref else None
    ent = random_tokens(rng, n, width, lengths, 0.0, 3.0) if with_entropy else None
    sim = rng.uniform(0.55, 0.95, size=n)
    options = {
        "loss_type": loss_type, "epsilon_low": eps_low, "epsilon_high": eps_high, "beta": beta,
        "max_completion_length": None, "num_items_in_batch": None, "delta": None,
        "importance_sampling_level": "token", "mask_truncated_completions": False,
        "num_items_mode": "after_mask",
    }
    case = {
        "name": name, "group_size": group_size, "scale_rewards": scale, "reward_std": "all",
        "components": [{"name": "sim", "weight": 1.0, "values": sim}],
        "length_penalty": None, "lengths": lengths, "truncated": truncated,
        "logp": logp, "old_logp": old, "ref_logp": ref_logp, "entropies": ent, "options": options,
    }
    for k, v in extra.items():
        if k in options:
            options[k] = v
        else:
            case[k] = v
    return case


def clip_edge_case():
    """Hand-made ratios at, just inside and just outside 1-eps_low / 1+eps_high, both signs of A."""
    eps_low, eps_high = 0.2, 0.28
    targets = [
        1.0 - eps_low, 1.0 + eps_high,                       # exactly on the edges
        (1.0 - eps_low) * (1 + 1e-9), (1.0 + eps_high) * (1 - 1e-9),  # just inside
        (1.0 - eps_low) * (1 - 1e-9), (1.0 + eps_high) * (1 + 1e-9),  # just outside
        0.5, 2.0, 1.0, 1.0,
    ]
    width = len(targets)
    logp = np.zeros((4, width))
    old = np.zeros((4, width))
    for j, target in enumerate(targets):
        lp, ol = exact_log_ratio_pair(target) if j < 2 else (-0.25, -0.25 - math.log(target))
        logp[:, j] = lp
        old[:, j] = ol
    lengths = np.array([width, width, width - 3, width])
    for i in range(4):
        logp[i, lengths[i]:] = 5.0  # junk past the end: a huge ratio that must not count
        old[i, lengths[i]:] = -5.0
    # rewards chosen so advantages are (+, -, +, -) within each group of 2
    sim = np.array([0.9, 0.1, 0.8, 0.3])
    return {
        "name": "clip_edges_eps_0.2_0.28", "group_size": 2, "scale_rewards": "group", "reward_std": "all",
        "components": [{"name": "sim", "weight": 1.0, "values": sim}], "length_penalty": None,
        "lengths": lengths, "truncated": np.zeros(4, dtype=int),
        "logp": logp, "old_logp": old, "ref_logp": logp - 0.1, "entropies": None,
        "options": {
            "loss_type": "bnpo", "epsilon_low": eps_low, "epsilon_high": eps_high, "beta": 0.0,
            "max_completion_length": None, "num_items_in_batch": None, "delta": None,
            "importance_sampling_level": "token", "mask_truncated_completions": False,
            "num_items_mode": "after_mask",
        },
    }


def report_cases(rng) -> list[dict]:
    cases = [
        base_case(rng, "g8_group_grpo_beta0_on_policy", 1, 8, 12, "group", "grpo", 0.0, ratio_spread=0.0),
        base_case(rng, "g4x3_batch_bnpo_beta0.04_dapo_eps", 3, 4, 10, "batch", "bnpo", 0.04, eps_high=0.28),
        base_case(rng, "g2x4_none_drgrpo_maxlen32", 4, 2, 9, "none", "dr_grpo", 0.1, max_completion_length=32),
        base_case(rng, "g16_group_dapo_items", 1, 16, 14, "group", "dapo", 0.02, num_items_in_batch=400),
        base_case(rng, "g32_group_grpo_beta0.04", 1, 32, 8, "group", "grpo", 0.04),
        base_case(rng, "g6x2_batch_dapo_beta0", 2, 6, 11, "batch", "dapo", 0.0),
        base_case(rng, "no_ref_no_entropy", 2, 4, 7, "group", "bnpo", 0.0, with_ref=False, with_entropy=False),
        base_case(rng, "sequence_level_delta", 2, 4, 9, "group", "grpo", 0.04,
                  importance_sampling_level="sequence", delta=1.15, ratio_spread=0.05),
        base_case(rng, "token_level_delta", 2, 4, 9, "group", "bnpo", 0.0, delta=1.1, ratio_spread=0.4),
        clip_edge_case(),
    ]
    # GSPO with per-sequence drifts large enough to clip whole sequences, and a delta cap below some
    c = base_case(rng, "sequence_level_clipped", 3, 4, 10, "batch", "dapo", 0.04, eps_high=0.28,
                  importance_sampling_level="sequence", delta=1.4, ratio_spread=0.05)
    c["old_logp"] = c["old_logp"] - rng.uniform(-0.5, 0.5, size=(12, 1))
    cases.append(c)
    # eps = 0 and every ratio exactly 1: nothing counts as clipped (strict inequalities)
    c = base_case(rng, "eps0_ratio_exactly_one", 1, 4, 6, "group", "grpo", 0.0, eps_low=0.0, eps_high=0.0)
    c["old_logp"] = c["logp"].copy()
    cases.append(c)
    # group 0 all-equal rewards (zero std), group 1 spread
    c = base_case(rng, "zero_std_group", 2, 4, 8, "group", "grpo", 0.04)
    c["components"][0]["values"][:4] = 0.7
    cases.append(c)
    c = base_case(rng, "zero_std_group_none_scaling", 2, 4, 8, "none", "bnpo", 0.0)
    c["components"][0]["values"][:4] = 0.3
    cases.append(c)
    c = base_case(rng, "zero_std_whole_batch", 2, 4, 8, "batch", "dapo", 0.04)
    c["components"][0]["values"][:] = 0.25
    cases.append(c)
    c = base_case(rng, "tiny_std_counts_as_zero", 2, 4, 8, "group", "bnpo", 0.0)
    c["components"][0]["values"][:4] = 0.5 + np.array([0.0, 1e-9, -1e-9, 0.0])
    cases.append(c)
    # truncated completions masked out of the loss (DAPO overlong filtering)
    c = base_case(rng, "mask_truncated_completions", 2, 4, 9, "group", "dapo", 0.04,
                  mask_truncated_completions=True)
    c["lengths"][[1, 5, 6]] = 9
    c["truncated"] = (c["lengths"] == 9).astype(int)
    cases.append(c)
    c = base_case(rng, "all_truncated", 1, 4, 6, "group", "grpo", 0.0)
    c["lengths"][:] = 6
    c["truncated"][:] = 1
    cases.append(c)
    c = base_case(rng, "zero_length_row", 1, 4, 6, "batch", "grpo", 0.04)
    c["lengths"][2] = 0
    c["logp"][2, :] = rng.uniform(-9, 9, size=6)
    cases.append(c)
    # named components with weights, a NaN (not applicable) entry, and length penalties
    c = base_case(rng, "components_weights_overlong_penalty", 2, 4, 12, "group", "bnpo", 0.04)
    n = 8
    psnr = rng.uniform(12.0, 30.0, size=n)
    psnr[3] = math.nan
    c["components"] = [
        {"name": "sim", "weight": 1.0, "values": rng.uniform(0.5, 0.9, size=n)},
        {"name": "psnr", "weight": 0.02, "values": psnr},
        {"name": "attribute_f1", "weight": 0.5, "values": rng.uniform(0.0, 1.0, size=n)},
    ]
    c["length_penalty"] = {"kind": "overlong", "max_completion_length": 11, "soft_punish_cache": 4, "weight": 0.5}
    c["lengths"][:] = [3, 7, 8, 9, 11, 12, 10, 5]
    c["truncated"] = (c["lengths"] == 12).astype(int)
    cases.append(c)
    c = base_case(rng, "linear_length_penalty", 1, 8, 10, "none", "dr_grpo", 0.0, max_completion_length=10)
    c["length_penalty"] = {"kind": "linear", "coef": 0.01, "weight": 1.0}
    cases.append(c)
    return cases + issue17_cases(np.random.default_rng(SEED + 17))  # own stream: older cases unchanged


def issue17_cases(rng) -> list[dict]:
    """Cases of the TRL v1.9.0 definitions: truncated rows (no EOS: their length is the sampled tokens)
    under dapo masked/unmasked and with the TRL <= 1.8 pre-mask count, G = 1, unscorable rows, both
    reward_std modes, and clip_ratio/low_min|high_max with a row that has no active token."""
    cases = []
    for name, masked, mode in [("truncated_dapo_unmasked", False, "after_mask"),
                               ("truncated_dapo_masked", True, "after_mask"),
                               ("truncated_dapo_masked_before_mask_items", True, "before_mask")]:
        c = base_case(rng, name, 2, 3, 7, "group", "dapo", 0.04, eps_high=0.28, ratio_spread=0.4,
                      mask_truncated_completions=masked, num_items_mode=mode)
        c["lengths"][:] = [3, 7, 5, 7, 2, 6]
        c["truncated"] = np.array([0, 1, 0, 1, 0, 0])  # rows 1, 3 hit the limit without EOS
        cases.append(c)
    c = base_case(rng, "g1_three_prompts", 3, 1, 6, "group", "grpo", 0.04)
    cases.append(c)
    c = base_case(rng, "g1_batch_scaling", 3, 1, 6, "batch", "bnpo", 0.0)
    cases.append(c)
    c = base_case(rng, "unscorable_rows", 2, 4, 8, "group", "bnpo", 0.04, ratio_spread=0.3)
    sim = rng.uniform(0.5, 0.9, size=8)
    psnr = rng.uniform(12.0, 30.0, size=8)
    sim[[1, 6]] = math.nan
    psnr[[1, 2]] = math.nan  # row 1 unscorable, row 2 and 6 scored by one component
    sim[[4, 5, 7]] = math.nan
    psnr[[4, 5]] = math.nan  # rows 4, 5 unscorable: group 1 keeps two scorable rows (6, 7)
    c["components"] = [{"name": "sim", "weight": 1.0, "values": sim},
                       {"name": "psnr", "weight": 0.02, "values": psnr}]
    cases.append(c)
    c = base_case(rng, "unscorable_group_of_one_left", 1, 3, 6, "batch", "grpo", 0.0)
    c["components"][0]["values"][[0, 2]] = math.nan  # one scorable row: group std NaN, advantage 0
    cases.append(c)
    for mode in ("all", "group_mean"):
        for scale in ("group", "batch"):
            c = base_case(rng, f"reward_std_{mode}_{scale}", 3, 4, 6, scale, "grpo", 0.0, reward_std=mode)
            c["components"][0]["values"][4:8] = 0.6  # a zero-std group
            cases.append(c)
    c = base_case(rng, "clip_min_max_empty_row", 2, 3, 6, "group", "bnpo", 0.0, eps_high=0.28, ratio_spread=0.6,
                  mask_truncated_completions=True)
    c["lengths"][:] = [6, 4, 0, 3, 6, 5]
    c["truncated"] = np.array([1, 0, 0, 0, 0, 0])  # row 0 masked, row 2 empty: both NaN in masked_seq_mean
    cases.append(c)
    c = base_case(rng, "clip_min_max_all_rows_empty", 1, 2, 4, "group", "dapo", 0.0, mask_truncated_completions=True)
    c["lengths"][:] = [4, 4]
    c["truncated"] = np.array([1, 1])  # low_min/high_max NaN (null), dapo normaliser clamped to 1
    cases.append(c)
    return cases


def report_expected(case: dict) -> dict:
    out = ref.grpo_report(case)
    adv, loss = out["advantages"], out["loss"]
    return {
        "rewards": out["rewards"],
        "advantages": adv["advantages"],
        "group_mean": adv["group_mean"],
        "group_std": adv["group_std"],
        "std_used": adv["std_used"],
        "num_items_in_batch": loss["num_items_in_batch"],
        "losses": loss["losses"],
        "metrics": out["metrics"],
        "ratio": loss["ratio"],
        "per_token_loss": loss["per_token_loss"],
        "per_token_kl": loss["per_token_kl"],
        "sequence_logp": loss["sequence_logp"],
        "sequence_kl": loss["sequence_kl"],
    }


# ----------------------------------------------------------------------------- other files

ADV_KEYS = ("advantages", "group_mean", "group_std", "std_used", "reward", "reward_std", "frac_reward_zero_std")


def advantage_case(name, rewards, g, scale, mode="all") -> dict:
    """One advantages.json case: inputs and group_advantages' numbers -> dict."""
    r = ref.group_advantages(rewards, g, scale, mode)
    return {"name": name, "rewards": rewards, "group_size": g, "scale_rewards": scale, "reward_std": mode,
            "expected": {k: r[k] for k in ADV_KEYS}}


def advantage_cases(rng) -> list[dict]:
    cases = []
    for groups, g in [(1, 1), (3, 1), (1, 2), (4, 2), (2, 3), (1, 8), (3, 8), (2, 16), (1, 32)]:
        rewards = rng.normal(0.7, 0.1, size=groups * g)
        for scale in ref.SCALINGS:
            cases.append(advantage_case(f"B{groups}_G{g}_{scale}", rewards, g, scale))
    rewards = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0])  # binary rewards, one tied group
    for scale in ref.SCALINGS:
        cases.append(advantage_case(f"binary_tied_{scale}", rewards, 4, scale))
    # unscorable rows (NaN rewards): out of the baselines, advantage 0; a whole unscorable group; both
    # reward_std modes
    rng = np.random.default_rng(SEED + 18)  # own stream: the older cases keep their numbers
    rewards = rng.normal(0.6, 0.15, size=12)
    rewards[[1, 4, 5, 6, 7, 9, 10]] = math.nan  # group 1 all NaN, group 2 one value left
    for scale in ref.SCALINGS:
        for mode in ref.REWARD_STD_MODES:
            cases.append(advantage_case(f"unscorable_{scale}_{mode}", rewards, 4, scale, mode))
    rewards = rng.normal(0.6, 0.15, size=8)
    rewards[:4] = 0.5
    for scale in ref.SCALINGS:
        cases.append(advantage_case(f"reward_std_group_mean_{scale}", rewards, 4, scale, "group_mean"))
    cases.append(advantage_case("single_reward_batch", np.array([0.4]), 1, "batch"))
    return cases


def flow_cases(rng) -> dict:
    dim, steps = 24, 10
    sigmas = np.linspace(1.0, 0.0, steps + 1)
    sigma_max = float(sigmas[1])
    sde = []
    for k in [0, 1, 4, 8]:
        t, dt = float(sigmas[k]), float(sigmas[k + 1] - sigmas[k])
        for a in (0.7, 1.0):
            x = rng.normal(size=dim)
            v = rng.normal(size=dim)
            v_ref = v + rng.normal(scale=0.1, size=dim)
            noise = rng.normal(size=dim)
            other = rng.normal(size=dim)
            st = ref.sde_step(x, v, t, dt, a, noise, sigma_max)
            st_ref = ref.sde_step(x, v_ref, t, dt, a, None, sigma_max)
            sde.append({
                "name": f"t{t:.1f}_a{a}", "x": x, "v": v, "v_ref": v_ref, "noise": noise, "other": other,
                "t": t, "dt": dt, "a": a, "sigma_max": sigma_max,
                "expected": {
                    "mean": st["mean"], "std": st["std"], "std_dev_t": st["std_dev_t"], "next": st["next"],
                    "log_prob_next": ref.sde_log_prob(st["next"], st["mean"], st["std"]),
                    "log_prob_other": ref.sde_log_prob(other, st["mean"], st["std"]),
                    "kl": ref.flow_kl(st["mean"], st_ref["mean"], st["std_dev_t"]),
                },
            })
    advantages = []
    for g, glob in [(4, False), (4, True), (8, False), (2, False)]:
        rewards = rng.normal(0.5, 0.2, size=16)
        if g == 4:
            rewards[:4] = 0.4  # one tied group
        advantages.append({"name": f"G{g}_global{glob}", "rewards": rewards, "group_size": g,
                           "global_std": glob, "expected": ref.flow_advantages(rewards, g, glob)})
    losses = []
    for name, clip_range, beta in [("clip1e-4_beta0", 1e-4, 0.0), ("clip1e-4_beta0.04", 1e-4, 0.04),
                                   ("clip0.2_beta0.01", 0.2, 0.01)]:
        b = 12
        old = rng.normal(-1.0, 0.3, size=b)
        scale = clip_range * 3.0
        lp = old + rng.uniform(-scale, scale, size=b)
        adv = rng.normal(0.0, 3.0, size=b)
        adv[0], adv[1] = 7.5, -6.0  # beyond the +-5 clamp
        kl = rng.uniform(0.0, 0.3, size=b)
        losses.append({
            "name": name, "log_prob": lp, "old_log_prob": old, "advantages": adv, "clip_range": clip_range,
            "adv_clip_max": 5.0, "beta": beta, "kl": kl,
            "expected": ref.flow_grpo_loss(lp, old, adv, clip_range, 5.0, beta, kl),
        })
    return {"sde": sde, "advantages": advantages, "losses": losses}


def build() -> dict[str, str]:
    rng = np.random.default_rng(SEED)
    header = {
        "generator": "models/make_grpo_fixtures.py",
        "reference": "models/grpo_ref.py",
        "seed": SEED,
        "layout": "token arrays are [N][T], right padded; lengths[i] = completion tokens (EOS included for a "
                  "terminated row; a truncated row (truncated[i] = 1, no EOS) counts its sampled tokens); "
                  "null = NaN",
        "pinned": "TRL v1.9.0 (35def3ee), Flow-GRPO ac4c86e8",
    }
    reports = [{"name": c["name"], "input": {k: v for k, v in c.items() if k != "name"},
                "expected": report_expected(c)} for c in report_cases(rng)]
    files = {
        "report.json": {**header, "cases": reports},
        "advantages.json": {**header, "cases": advantage_cases(rng)},
        "flow.json": {**header, **flow_cases(rng)},
    }
    return {name: json.dumps(clean(body), indent=1) + "\n" for name, body in files.items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="exit 1 if the files on disk differ")
    args = ap.parse_args()
    built = build()
    if args.check:
        stale = [n for n, text in built.items()
                 if not (OUT_DIR / n).exists() or (OUT_DIR / n).read_text() != text]
        print("stale: " + ", ".join(stale) if stale else "fixtures up to date")
        return 1 if stale else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in built.items():
        (OUT_DIR / name).write_text(text)
        print(f"wrote {OUT_DIR / name} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
