"""Calculator for tests/fixtures/grpo/worked-examples.json (run it to rewrite the file).

The expected numbers of the worked examples are derived by hand from TRL v1.9.0's lines (the
"derivation" text of each example says which line and what arithmetic); this file only does that
arithmetic on literal numbers with `math` (exp, log, sqrt) so the digits are exact. It imports
neither models/grpo_ref.py nor torch: the examples are an independent check of both and of
src/engine/grpo*.ts. Line numbers refer to /tmp/grpo_trainer_main.py = trl/trainer/grpo_trainer.py
at v1.9.0 (tag 35def3ee, byte-identical to main f2cd5771).

Usage: /usr/bin/python3 tests/models/worked_examples_calc.py   (writes the JSON)
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from worked_examples_more import EXAMPLES_MORE, common_expected, fmt

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "grpo" / "worked-examples.json"
LN2, LN3 = math.log(2.0), math.log(3.0)
ln, sqrt = math.log, math.sqrt

# Tokens of the logits examples: 0 [PAD], 1 [EOS], 2 "a", 3 "b".
# Weight vectors w: logits = T * ln(w) + c make softmax(logits / T) = w / sum(w) exactly.
D = {"D1": [1, 1, 4, 2], "D2": [1, 2, 2, 3], "D3": [1, 4, 2, 1], "D4": [2, 2, 2, 2], "D5": [1, 1, 2, 4],
     "D6": [2, 2, 1, 1]}
JUNK = [3.0, -1.0, 0.5, 2.0]  # logits at padded positions: must not matter


def logits_of(name, temperature, offset):
    """T * ln(w) + offset for the named weight vector -> list of V floats (the example's raw logits)."""
    return [temperature * ln(w) + offset for w in D[name]]


def entropy_of(name):
    """-sum p ln p of w / sum(w), by hand: D1, D3, D5 (1/8, 1/8, 1/4, 1/2) -> 1.75 ln 2; D2 (1/8, 1/4, 1/4,
    3/8) -> 2.5 ln 2 - 0.375 ln 3; D4 uniform -> 2 ln 2."""
    return {"D1": 1.75 * LN2, "D3": 1.75 * LN2, "D5": 1.75 * LN2, "D2": 2.5 * LN2 - 0.375 * LN3,
            "D4": 2.0 * LN2}[name]


def example_tempered(mask_truncated: bool) -> dict:
    """W1/W2: logits at T = 0.5 over 4 tokens, B = 2 groups of G = 2, beta = 0.04, eps 0.2 / 0.28, one
    truncated row (row 2) with mask_truncated_completions off (W1) or on (W2)."""
    T, beta, el, eh, mcl = 0.5, 0.04, 0.2, 0.28, 4
    ids = [[2, 1, 0], [3, 2, 1], [2, 3, 3], [1, 0, 0]]
    lengths, truncated = [2, 3, 3, 1], [0, 0, 1, 0]
    cur = [["D1", "D3", None], ["D1", "D2", "D3"], ["D2", "D3", "D5"], ["D4", None, None]]
    old = [["D2", "D3", None], ["D5", "D2", "D6"], ["D2", "D1", "D5"], ["D4", None, None]]
    ref = [["D2", "D3", None], ["D5", "D1", "D3"], ["D4", "D1", "D5"], ["D3", None, None]]

    def raw(table, c):
        return [[logits_of(d, T, c) if d else JUNK for d in row] for row in table]

    def prob(table, i, t):
        w = D[table[i][t]]
        return w[ids[i][t]] / sum(w)

    # by hand, from the tables: p = w[id] / sum(w)
    p = [[1 / 2, 1 / 2], [1 / 4, 1 / 4, 1 / 2], [1 / 4, 1 / 8, 1 / 2], [1 / 4]]
    p_old = [[1 / 4, 1 / 2], [1 / 2, 1 / 4, 1 / 3], [1 / 4, 1 / 4, 1 / 2], [1 / 4]]
    p_ref = [[1 / 4, 1 / 2], [1 / 2, 1 / 2, 1 / 2], [1 / 4, 1 / 4, 1 / 2], [1 / 2]]
    for i in range(4):  # the hand tables agree with the weight vectors
        for t in range(lengths[i]):
            assert math.isclose(p[i][t], prob(cur, i, t)) and math.isclose(p_old[i][t], prob(old, i, t))
            assert math.isclose(p_ref[i][t], prob(ref, i, t))
    rho = [[2.0, 1.0], [0.5, 1.0, 1.5], [1.0, 0.5, 1.0], [1.0]]
    kl = [[LN2 - 0.5, 0.0], [1 - LN2, 1 - LN2, 0.0], [0.0, 1 - LN2, 0.0], [1 - LN2]]
    ent = [[entropy_of("D1"), entropy_of("D3")], [entropy_of("D1"), entropy_of("D2"), entropy_of("D3")],
           [entropy_of("D2"), entropy_of("D3"), entropy_of("D5")], [entropy_of("D4")]]
    s = sqrt(0.08)
    a = 0.2 / (s + 1e-4)
    adv = [a, -a, -a, a]
    # -min(rho A, clip(rho, 0.8, 1.28) A) by hand, then + beta * kl
    sur = [[-1.28 * a, -a], [0.8 * a, a, 1.5 * a], [a, 0.8 * a, a], [-a]]
    loss_tok = [[sur[i][t] + beta * kl[i][t] for t in range(lengths[i])] for i in range(4)]
    active = [1, 1, 0 if mask_truncated else 1, 1]
    row_sum = [sum(r) * active[i] for i, r in enumerate(loss_tok)]
    n_tok = 9 - (3 if mask_truncated else 0)
    total = sum(row_sum)
    losses = {"grpo": (row_sum[0] / 2 + row_sum[1] / 3 + (row_sum[2] / 3 if active[2] else 0.0) + row_sum[3] / 1) / 4,
              "bnpo": total / n_tok, "dr_grpo": total / (4 * mcl), "dapo": total / n_tok}
    kl_sum = sum(sum(kl[i]) * active[i] for i in range(4))
    ent_sum = sum(sum(ent[i]) * active[i] for i in range(4))
    low_rows = [0.0, 1 / 3, 1 / 3 if active[2] else math.nan, 0.0]
    high_rows = [1 / 2, 0.0, 0.0 if active[2] else math.nan, 0.0]
    n_low, n_high = 1 + active[2], 1
    metrics = {
        "reward": 0.55, "reward_std": sqrt(0.25 / 4 * 4 / 3), "frac_reward_zero_std": 0.0,
        "rewards/sim/mean": 0.55, "rewards/sim/std": sqrt(0.25 / 4 * 4 / 3),
        "kl": kl_sum / n_tok, "entropy": ent_sum / n_tok,
        "clip_ratio/low_mean": n_low / n_tok, "clip_ratio/high_mean": n_high / n_tok,
        "clip_ratio/region_mean": (n_low + n_high) / n_tok,
        "clip_ratio/low_min": min(v for v in low_rows if v == v), "clip_ratio/high_max": max(v for v in high_rows if v == v),
        "completions/mean_length": 2.25, "completions/min_length": 1.0, "completions/max_length": 3.0,
        "completions/clipped_ratio": 0.25, "completions/mean_terminated_length": 2.0,
        "completions/min_terminated_length": 1.0, "completions/max_terminated_length": 3.0,
        "loss": losses["dapo"],
    }
    logp = [[ln(x) for x in r] for r in p]
    expected = common_expected(lengths, 3, active, adv, rho, kl, loss_tok, losses, metrics,
                               rewards=[0.9, 0.5, 0.2, 0.6], group_mean=[0.7, 0.4], group_std=[s, s],
                               std_used=[s] * 4, items_after=n_tok, items_before=9,
                               reward_std_modes={"all": sqrt(0.25 / 4 * 4 / 3), "group_mean": s})
    expected.update({"logp": fmt(logp, lengths, 3), "old_logp": fmt([[ln(x) for x in r] for r in p_old], lengths, 3),
                     "ref_logp": fmt([[ln(x) for x in r] for r in p_ref], lengths, 3), "entropies": fmt(ent, lengths, 3)})
    name = "logits_T0.5_G2x2_beta0.04_truncated_" + ("masked" if mask_truncated else "unmasked")
    m = "on" if mask_truncated else "off"
    derivation = [
        "Inputs: vocabulary 0 [PAD], 1 [EOS], 2 a, 3 b. Every logits vector at an active position is T*ln(w) + c "
        "with T = 0.5 and weights D1=[1,1,4,2], D2=[1,2,2,3], D3=[1,4,2,1], D4=[2,2,2,2], D5=[1,1,2,4], D6=[2,2,1,1] "
        "(c = 1.0 current, -0.5 old, 0.25 reference); padded positions hold junk [3,-1,0.5,2].",
        "Lines 1519-1521: logits.div_(temperature); logps = selective_log_softmax(logits, ids). logits/T = ln(w) + c/T, "
        "so log_softmax = ln(w) - ln(sum w): the probability of the chosen token is w[id]/sum(w). (Without the division "
        "by T the probabilities would be sqrt(w)/sum(sqrt(w)), e.g. row 0 token 0: 2/(1+1+2+sqrt2) = 0.4142 not 0.5.)",
        "Current p per completion token: row0 [1/2 (D1,a), 1/2 (D3,EOS)], row1 [1/4 (D1,b), 1/4 (D2,a), 1/2 (D3,EOS)], "
        "row2 [1/4 (D2,a), 1/8 (D3,b), 1/2 (D5,b)], row3 [1/4 (D4,EOS)]. logp = ln p, e.g. ln(1/2) = -0.693147, "
        "ln(1/4) = -1.386294, ln(1/8) = -2.079442.",
        "Old p: row0 [1/4 (D2), 1/2 (D3)], row1 [1/2 (D5), 1/4 (D2), 1/3 (D6)], row2 [1/4 (D2), 1/4 (D1), 1/2 (D5)], "
        "row3 [1/4 (D4)]. Reference p: row0 [1/4, 1/2], row1 [1/2 (D5), 1/2 (D1), 1/2 (D3)], row2 [1/4 (D4), 1/4 (D1), "
        "1/2 (D5)], row3 [1/2 (D3)]. Old and reference log-probs also use logits/T (same function, lines 2565 and 2628-2652).",
        "Lines 1523-1532 entropy_from_logits(logits/T) = -sum p ln p: D1, D3, D5 (1/8,1/8,1/4,1/2) -> 1.75 ln2 = 1.213008; "
        "D2 (1/8,1/4,1/4,3/8) -> 2.5 ln2 - 0.375 ln3 = 1.320888; D4 -> 2 ln2 = 1.386294.",
        "Lines 1868-1873 completion mask keeps tokens up to the first EOS: lengths [2, 3, 3, 1]; row 2 (a b b) has no EOS, "
        "line 2237-2238 (and 2419): truncated = last token not in {EOS, PAD} -> [0, 0, 1, 0]; its length is its 3 sampled tokens.",
        "Rewards (one function 'sim', weight 1, line 2683 nansum): [0.9, 0.5, 0.2, 0.6]. Line 2685 nanmean per group: "
        "[0.7, 0.4]. Line 2690 nanstd per group (Bessel): group 0 sqrt((0.2^2+0.2^2)/2 * 2/1) = sqrt(0.08) = 0.282843, "
        "group 1 the same. Lines 2705-2707: A = (r - mean)/(std + 1e-4) = +-0.2/0.282943 = +-%.9f -> "
        "[+a, -a, -a, +a]." % a,
        "Lines 2746-2750: reward = nanmean = 0.55; reward_std = nanstd over all 4 = sqrt(((0.35^2+0.05^2+0.35^2+0.05^2)/4)"
        " * 4/3) = sqrt(0.0625*4/3) = %.9f (the 0.22-0.26 option, mean of the per-row std: 0.282843); "
        "frac_reward_zero_std = 0; rewards/sim/mean|std = the same as reward|reward_std." % sqrt(0.25 / 3),
        "Line 3066 coef_1 = exp(logp - old) = p/p_old: row0 [2, 1], row1 [1/2, 1, 3/2], row2 [1, 1/2, 1], row3 [1].",
        "Lines 3069-3074 (beta != 0) k3 = exp(ref - logp) - (ref - logp) - 1 = r - ln r - 1 with r = p_ref/p: r = 1/2 -> "
        "ln2 - 0.5 = 0.193147; r = 2 -> 1 - ln2 = 0.306853; r = 1 -> 0. Row0 [r=1/2, 1], row1 [2, 2, 1], row2 [1, 2, 1], "
        "row3 [2].",
        "Lines 3084-3091 coef_2 = clamp(coef_1, 0.8, 1.28); per-token -min(coef_1 A, coef_2 A): row0 (A=+a) [-min(2a,1.28a) = "
        "-1.28a, -a]; row1 (A=-a) [-min(-0.5a,-0.8a) = 0.8a, a, -min(-1.5a,-1.28a) = 1.5a]; row2 (A=-a) [a, 0.8a, a]; "
        "row3 [-a]. Line 3121: + 0.04*k3.",
        "Lines 2417-2421 mask_truncated_completions = %s: loss mask rows = %s; line 2427 num_items_in_batch = loss_mask.sum() = %d "
        "(%d before masking, the TRL <= 1.8 count)." % (m, active, n_tok, 9),
        "Lines 3124-3150: grpo = mean over the 4 rows of (row sum / max(row tokens, 1)) = %.9f; bnpo = sum / %d = %.9f; "
        "dr_grpo = sum / (4 * max_completion_length 4) = %.9f; dapo = sum / num_items %d = %.9f." % (
            losses["grpo"], n_tok, losses["bnpo"], losses["dr_grpo"], n_tok, losses["dapo"]),
        "Lines 3219-3253: kl (beta != 0) = masked mean of k3 = %.9f; entropy = %.9f; is_low = coef_1 < 0.8 and A < 0: "
        "row1 token 0%s; is_high = coef_1 > 1.28 and A > 0: row0 token 0 (row1 token 2 has ratio 1.5 but A < 0); "
        "low_mean = %d/%d, high_mean = 1/%d, region_mean = %d/%d; masked_seq_mean per row: low %s, high %s (NaN = no active "
        "token) -> low_min = nanmin = 0, high_max = nanmax = 0.5." % (
            metrics["kl"], metrics["entropy"], ", row2 token 1" if active[2] else " (row 2 is masked)", n_low, n_tok,
            n_tok, n_low + n_high, n_tok, low_rows, high_rows),
        "Lines 2231-2246 (before any masking): lengths [2,3,3,1] -> mean 2.25, min 1, max 3; clipped_ratio 1/4; "
        "terminated rows 0, 1, 3 -> mean 2, min 1, max 3.",
    ]
    inp = {"num_sequences": 4, "width": 3, "group_size": 2, "lengths": lengths, "truncated": truncated,
           "temperature": T, "vocab": {"size": 4, "pad_id": 0, "eos_id": 1}, "completion_ids": ids,
           "logits": raw(cur, 1.0), "old_logits": raw(old, -0.5), "ref_logits": raw(ref, 0.25),
           "components": [{"name": "sim", "weight": 1.0, "values": [0.9, 0.5, 0.2, 0.6]}],
           "scale_rewards": "group",
           "options": {"loss_type": "dapo", "epsilon_low": el, "epsilon_high": eh, "beta": beta,
                       "max_completion_length": mcl, "mask_truncated_completions": mask_truncated,
                       "num_items_mode": "after_mask", "reward_std": "all"}}
    return {"name": name, "description": example_tempered.__doc__.strip(), "input": inp, "expected": expected,
            "derivation": derivation}


def build() -> dict:
    """The whole worked-examples document -> dict (JSON-ready, NaN as None)."""
    examples = [example_tempered(False), example_tempered(True)] + [f() for f in EXAMPLES_MORE]
    return {
        "schema": "uae-grpo-worked-examples/1",
        "pinned": "TRL v1.9.0 (tag 35def3ee000a87f6839e66f4b7749b06274ed1b3), trl/trainer/grpo_trainer.py; line "
                  "numbers as in main f2cd57710ae345ea6428ae95363267fcf38a3dc8 (byte-identical file)",
        "calculator": "tests/models/worked_examples_calc.py (plain math on literal numbers; no grpo_ref, no torch)",
        "tolerance": 1e-9,
        "conventions": {
            "layout": "rows g*G .. g*G+G-1 are group g; token arrays [N][T] right padded",
            "lengths": "completion tokens: EOS counted for a terminated row; a truncated row (no EOS, truncated = 1) "
                       "counts its sampled tokens",
            "per_token": "logp/old_logp/ref_logp/entropies/ratio/per_token_kl are given on the completion tokens "
                         "(t < lengths[i]) and 0 elsewhere; per_token_loss is 0 where loss_mask is 0",
            "logits": "logp and entropies are from log_softmax(logits / temperature) (TRL lines 1517-1530); old and "
                      "reference log-probs too",
            "null": "null stands for NaN (e.g. an unscorable reward, clip_ratio/low_min with no active row)",
            "metrics": "TRL's names for one loss computation; kl only when beta != 0; entropy only when entropies or "
                       "logits are given; loss = losses[options.loss_type]",
        },
        "examples": examples,
    }


def clean(x):
    """NaN -> None, recursively -> JSON-safe value."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


if __name__ == "__main__":
    OUT.write_text(json.dumps(clean(build()), indent=1) + "\n")
    print(f"wrote {OUT}")
