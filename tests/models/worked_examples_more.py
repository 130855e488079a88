"""Worked examples W3-W6 of tests/fixtures/grpo/worked-examples.json, and the helpers that lay out their
expected arrays (see worked_examples_calc.py: plain math on literal numbers, no grpo_ref, no torch)."""
from __future__ import annotations

import math

ln, sqrt, exp = math.log, math.sqrt, math.exp
LN2 = math.log(2.0)
JUNK_LP = 7.5  # log-prob junk at padded positions: must not matter


def fmt(rows, lengths, width):
    """Ragged per-token rows -> [N][width] with 0 at t >= lengths[i]."""
    return [[float(r[t]) if t < lengths[i] else 0.0 for t in range(width)] for i, r in enumerate(rows)]


def common_expected(lengths, width, active, adv, rho, kl, loss_tok, losses, metrics, *, rewards, group_mean,
                    group_std, std_used, items_after, items_before, reward_std_modes) -> dict:
    """The expected block shared by every example -> dict (schema in worked_examples_calc.build)."""
    total = sum(sum(r) * active[i] for i, r in enumerate(loss_tok))
    return {
        "rewards": rewards, "group_mean": group_mean, "group_std": group_std, "std_used": std_used,
        "advantages": adv,
        "loss_mask": [[1.0 if (t < lengths[i] and active[i]) else 0.0 for t in range(width)] for i in range(len(lengths))],
        "ratio": fmt(rho, lengths, width),
        "per_token_kl": fmt(kl, lengths, width) if kl is not None else None,
        "per_token_loss": [[v * active[i] for v in row] for i, row in enumerate(fmt(loss_tok, lengths, width))],
        "num_items_in_batch": {"after_mask": float(items_after), "before_mask": float(items_before)},
        "losses": losses,
        "dapo_by_mode": {"after_mask": total / max(items_after, 1), "before_mask": total / max(items_before, 1)},
        "reward_std_by_mode": reward_std_modes,
        "metrics": metrics,
    }


def opts(loss_type, el, eh, beta, mcl, masked):
    """The options block -> dict."""
    return {"loss_type": loss_type, "epsilon_low": el, "epsilon_high": eh, "beta": beta, "max_completion_length": mcl,
            "mask_truncated_completions": masked, "num_items_mode": "after_mask", "reward_std": "all"}


def example_empty_row(masked: bool) -> dict:
    """W3: log-prob inputs, G = 2, beta = 0, eps 0.2 / 0.2; the row with A > 0 is truncated. With
    mask_truncated_completions on it has no active token, so masked_seq_mean gives NaN for it and
    clip_ratio/low_min = nanmin over the other row = 1/2 (not 0); dapo differs from its pre-mask count."""
    lengths, truncated, width = [2, 3], [0, 1], 3
    p = [[1 / 4, 1 / 2], [1 / 2, 1 / 4, 1 / 2]]
    p_old = [[1 / 2, 1 / 2], [1 / 4, 1 / 4, 1 / 2]]
    logp = [[ln(1 / 4), ln(1 / 2), JUNK_LP], [ln(1 / 2), ln(1 / 4), ln(1 / 2)]]
    old = [[ln(1 / 2), ln(1 / 2), -JUNK_LP], [ln(1 / 4), ln(1 / 4), ln(1 / 2)]]
    ent_in = [[0.5, 1.0, 9.0], [1.5, 0.25, 0.75]]
    rho = [[a / b for a, b in zip(r, o)] for r, o in zip(p, p_old)]  # [[0.5, 1], [2, 1, 1]]
    s = sqrt(0.5)
    b = 0.5 / (s + 1e-4)
    adv = [-b, b]
    loss_tok = [[0.8 * b, b], [-1.2 * b, -b, -b]]
    active = [1, 0 if masked else 1]
    n_tok = 2 if masked else 5
    r0, r1 = sum(loss_tok[0]), sum(loss_tok[1]) * active[1]
    losses = {"grpo": (r0 / 2 + (r1 / 3 if active[1] else 0.0)) / 2, "bnpo": (r0 + r1) / n_tok,
              "dr_grpo": (r0 + r1) / (2 * 3), "dapo": (r0 + r1) / n_tok}
    low_rows = [1 / 2, 0.0 if active[1] else math.nan]
    high_rows = [0.0, 1 / 3 if active[1] else math.nan]
    ent = (0.5 + 1.0 + (1.5 + 0.25 + 0.75) * active[1]) / n_tok
    metrics = {
        "reward": 0.5, "reward_std": s, "frac_reward_zero_std": 0.0, "rewards/sim/mean": 0.5, "rewards/sim/std": s,
        "entropy": ent, "clip_ratio/low_mean": 1 / n_tok, "clip_ratio/high_mean": active[1] / n_tok,
        "clip_ratio/region_mean": (1 + active[1]) / n_tok,
        "clip_ratio/low_min": min(v for v in low_rows if v == v), "clip_ratio/high_max": max(v for v in high_rows if v == v),
        "completions/mean_length": 2.5, "completions/min_length": 2.0, "completions/max_length": 3.0,
        "completions/clipped_ratio": 0.5, "completions/mean_terminated_length": 2.0,
        "completions/min_terminated_length": 2.0, "completions/max_terminated_length": 2.0, "loss": losses["bnpo"],
    }
    exp_ = common_expected(lengths, width, active, adv, rho, None, loss_tok, losses, metrics, rewards=[0.0, 1.0],
                           group_mean=[0.5], group_std=[s], std_used=[s, s], items_after=n_tok, items_before=5,
                           reward_std_modes={"all": s, "group_mean": s})
    state = "on" if masked else "off"
    derivation = [
        "Inputs are log-probs: row0 logp [ln 1/4, ln 1/2] old [ln 1/2, ln 1/2]; row1 (truncated, 3 sampled tokens, no "
        "EOS) logp [ln 1/2, ln 1/4, ln 1/2] old [ln 1/4, ln 1/4, ln 1/2]; padded position of row 0 holds junk 7.5/-7.5 "
        "and entropy 9. beta = 0: no reference log-probs (line 3069 is skipped), no kl metric (line 3237).",
        "Rewards [0, 1] (line 2683), group nanmean 0.5 (2685), nanstd = sqrt((0.25+0.25)/2 * 2) = sqrt(0.5) = 0.707107 "
        "(2690); A = (r - 0.5)/(0.707107 + 1e-4) = -+%.9f (2705-2707). reward 0.5, reward_std nanstd of all = "
        "0.707107 (2748-2749; the per-row-std option gives the same here)." % b,
        "coef_1 = exp(logp - old) (3066): row0 [1/2, 1], row1 [2, 1, 1]. coef_2 = clamp(., 0.8, 1.2) (3084). "
        "Per token -min(coef_1 A, coef_2 A) (3089-3091): row0 (A=-b) [-min(-0.5b, -0.8b) = 0.8b, b]; "
        "row1 (A=+b) [-min(2b, 1.2b) = -1.2b, -b, -b].",
        "mask_truncated_completions %s (2417-2421): loss mask rows %s; num_items_in_batch = loss_mask.sum() = %d "
        "(2427; 5 before masking)." % (state, active, n_tok),
        "Aggregation (3124-3150): row sums row0 1.8b, row1 %s. grpo = mean(1.8b/2, %s) = %.9f; bnpo = sum/%d = %.9f; "
        "dr_grpo = sum/(2*3) = %.9f; dapo = sum/%d = %.9f (pre-mask count: sum/5 = %.9f)." % (
            "-3.2b" if active[1] else "masked", "-3.2b/3" if active[1] else "0 (0/max(0,1))", losses["grpo"], n_tok,
            losses["bnpo"], losses["dr_grpo"], n_tok, losses["dapo"], exp_["dapo_by_mode"]["before_mask"]),
        "Metrics (3219-3253): entropy = masked mean of the given entropies = %.9f; is_low (coef_1 < 0.8 and A < 0): row0 "
        "token 0; is_high (coef_1 > 1.2 and A > 0): %s; low_mean %d/%d, high_mean %d/%d, region %d/%d; masked_seq_mean: "
        "low %s, high %s -> low_min = nanmin = %s, high_max = nanmax = %s." % (
            ent, "row1 token 0" if active[1] else "none active", 1, n_tok, active[1], n_tok, 1 + active[1], n_tok,
            low_rows, high_rows, metrics["clip_ratio/low_min"], metrics["clip_ratio/high_max"]),
        "Completions (2231-2246, before masking): lengths [2, 3] mean 2.5 min 2 max 3; clipped_ratio 1/2; terminated "
        "row 0 only: 2, 2, 2.",
    ]
    inp = {"num_sequences": 2, "width": width, "group_size": 2, "lengths": lengths, "truncated": truncated,
           "logp": logp, "old_logp": old, "ref_logp": None, "entropies": ent_in,
           "components": [{"name": "sim", "weight": 1.0, "values": [0.0, 1.0]}], "scale_rewards": "group",
           "options": opts("bnpo", 0.2, 0.2, 0.0, 3, masked)}
    return {"name": f"logp_G2_low_min_empty_row_{'masked' if masked else 'unmasked'}",
            "description": example_empty_row.__doc__.strip(), "input": inp, "expected": exp_, "derivation": derivation}


def example_g1() -> dict:
    """W4: G = 1 (three prompts, one completion each): std 0, advantage 0, only the k3 KL term (beta 0.1) is
    left in the loss; old log-probs absent (ratio 1); reward_std is still nanstd over all rewards."""
    lengths, width = [2, 1, 2], 2
    logp = [[ln(0.5), ln(0.25)], [ln(0.5), JUNK_LP], [ln(0.25), ln(0.5)]]
    ref = [[ln(0.25), ln(0.25)], [ln(0.125), -JUNK_LP], [ln(0.5), ln(0.25)]]
    # k3 = r - ln r - 1 with r = p_ref/p: 1/2 -> ln2 - 1/2; 1 -> 0; 1/4 -> 2 ln2 - 3/4; 2 -> 1 - ln2
    kl = [[LN2 - 0.5, 0.0], [2 * LN2 - 0.75], [1 - LN2, LN2 - 0.5]]
    loss_tok = [[0.1 * k for k in row] for row in kl]
    rows = [sum(r) for r in loss_tok]
    total = sum(rows)
    losses = {"grpo": (rows[0] / 2 + rows[1] / 1 + rows[2] / 2) / 3, "bnpo": total / 5, "dr_grpo": total / (3 * 2),
              "dapo": total / 5}
    mean = 1.6 / 3
    var = ((0.3 - mean) ** 2 + (0.8 - mean) ** 2 + (0.5 - mean) ** 2) / 3 * 3 / 2
    metrics = {
        "reward": mean, "reward_std": sqrt(var), "frac_reward_zero_std": 1.0, "rewards/sim/mean": mean,
        "rewards/sim/std": sqrt(var), "kl": sum(sum(r) for r in kl) / 5, "entropy": (1.0 + 0.5 + 0.8 + 1.2 + 0.4) / 5,
        "clip_ratio/low_mean": 0.0, "clip_ratio/high_mean": 0.0, "clip_ratio/region_mean": 0.0,
        "clip_ratio/low_min": 0.0, "clip_ratio/high_max": 0.0,
        "completions/mean_length": 5 / 3, "completions/min_length": 1.0, "completions/max_length": 2.0,
        "completions/clipped_ratio": 0.0, "completions/mean_terminated_length": 5 / 3,
        "completions/min_terminated_length": 1.0, "completions/max_terminated_length": 2.0, "loss": losses["dr_grpo"],
    }
    exp_ = common_expected(lengths, width, [1, 1, 1], [0.0, 0.0, 0.0], [[1.0, 1.0], [1.0], [1.0, 1.0]], kl, loss_tok,
                           losses, metrics, rewards=[0.3, 0.8, 0.5], group_mean=[0.3, 0.8, 0.5],
                           group_std=[0.0, 0.0, 0.0], std_used=[0.0, 0.0, 0.0], items_after=5, items_before=5,
                           reward_std_modes={"all": sqrt(var), "group_mean": 0.0})
    derivation = [
        "G = 1: line 2685 nanmean of a group of one = the reward itself; lines 2689-2693: num_generations == 1 -> "
        "std_rewards = zeros; A = (r - r)/(0 + 1e-4) = 0 for every row; is_std_zero all true -> "
        "frac_reward_zero_std = 1.",
        "reward = nanmean(0.3, 0.8, 0.5) = 0.533333; reward_std = nanstd over all three (2749): deviations "
        "-0.233333, 0.266667, -0.033333, squares sum 0.126667, /3 * 3/2 = 0.063333, sqrt = %.9f "
        "(the mean-of-row-std option would log 0)." % sqrt(var),
        "old_per_token_logps absent: line 3037 uses per_token_logps.detach(), coef_1 = 1; -min(1*0, 1*0) = 0.",
        "k3 (3069-3074) with r = p_ref/p: row0 [r=1/2 -> ln2 - 0.5 = 0.193147, r=1 -> 0], row1 [r=1/4 -> 1/4 + 2 ln2 - 1 "
        "= 0.636294], row2 [r=2 -> 1 - ln2 = 0.306853, r=1/2 -> 0.193147]; per-token loss = 0.1 * k3 (3121).",
        "grpo = mean(row0/2, row1/1, row2/2) = %.9f; bnpo = dapo = sum/5 = %.9f; dr_grpo = sum/(3 * 2) = %.9f; "
        "kl = sum k3 / 5 = %.9f; entropy = (1 + 0.5 + 0.8 + 1.2 + 0.4)/5 = 0.78; nothing clipped: every clip ratio 0."
        % (losses["grpo"], losses["bnpo"], losses["dr_grpo"], metrics["kl"]),
        "Completions: lengths [2, 1, 2], none truncated: mean 5/3, min 1, max 2, clipped 0, terminated the same.",
    ]
    inp = {"num_sequences": 3, "width": width, "group_size": 1, "lengths": lengths, "truncated": [0, 0, 0],
           "logp": logp, "old_logp": None, "ref_logp": ref, "entropies": [[1.0, 0.5], [0.8, 9.0], [1.2, 0.4]],
           "components": [{"name": "sim", "weight": 1.0, "values": [0.3, 0.8, 0.5]}], "scale_rewards": "group",
           "options": opts("dr_grpo", 0.2, 0.2, 0.1, 2, False)}
    return {"name": "logp_G1_three_prompts_beta0.1", "description": example_g1.__doc__.strip(), "input": inp,
            "expected": exp_, "derivation": derivation}


def example_unscorable() -> dict:
    """W5: two reward functions (sim weight 1, fmt weight 0.5) with None entries; row 1 has None for both, so it
    is unscorable: NaN reward, out of the group mean and the (batch) std, advantage 0. scale_rewards = batch,
    beta = 0 with reference log-probs given (per-token KL shown, no kl metric), no entropies, grpo loss."""
    lengths, width = [2, 2, 1, 2, 2, 1], 2
    p = [[0.3, 0.6], [0.4, 0.1], [0.3], [0.5, 0.5], [0.5, 0.2], [0.1]]
    p_old = [[0.2, 0.6], [0.2, 0.2], [0.4], [0.5, 0.4], [0.4, 0.2], [0.2]]
    p_ref = [[0.3, 0.3], [0.4, 0.4], [0.6], [0.25, 0.5], [0.5, 0.4], [0.1]]
    pad = lambda rows, v: [r + [v] * (width - len(r)) for r in rows]  # noqa: E731
    rho = [[1.5, 1.0], [2.0, 0.5], [0.75], [1.0, 1.25], [1.25, 1.0], [0.5]]
    ratio_ref = [[1.0, 0.5], [1.0, 4.0], [2.0], [0.5, 1.0], [1.0, 2.0], [1.0]]  # p_ref / p
    kl = [[r - ln(r) - 1 for r in row] for row in ratio_ref]
    rewards = [0.8 + 0.5 * 1.0, math.nan, 0.4, 0.6 + 0.5 * 0.0, 0.9 + 0.5 * 1.0, 0.5 * 1.0]
    m0, m1 = (1.3 + 0.4) / 2, (0.6 + 1.4 + 0.5) / 3
    sb = sqrt(((1.3 - 0.84) ** 2 + (0.4 - 0.84) ** 2 + (0.6 - 0.84) ** 2 + (1.4 - 0.84) ** 2 + (0.5 - 0.84) ** 2)
              / 5 * 5 / 4)
    g0 = sqrt(((1.3 - m0) ** 2 + (0.4 - m0) ** 2) / 2 * 2)
    g1 = sqrt(((0.6 - m1) ** 2 + (1.4 - m1) ** 2 + (0.5 - m1) ** 2) / 3 * 3 / 2)
    d = sb + 1e-4
    A = [(1.3 - m0) / d, 0.0, (0.4 - m0) / d, (0.6 - m1) / d, (1.4 - m1) / d, (0.5 - m1) / d]
    loss_tok = [[-1.28 * A[0], -A[0]], [0.0, 0.0], [-0.8 * A[2]], [-A[3], -1.25 * A[3]], [-1.25 * A[4], -A[4]],
                [-0.8 * A[5]]]
    rows = [sum(r) for r in loss_tok]
    total = sum(rows)
    losses = {"grpo": sum(r / n for r, n in zip(rows, lengths)) / 6, "bnpo": total / 10, "dr_grpo": total / (6 * 2),
              "dapo": total / 10}
    sim_m = (0.8 + 0.4 + 0.6 + 0.9) / 4
    sim_s = sqrt(((0.8 - sim_m) ** 2 + (0.4 - sim_m) ** 2 + (0.6 - sim_m) ** 2 + (0.9 - sim_m) ** 2) / 4 * 4 / 3)
    metrics = {
        "reward": 4.2 / 5, "reward_std": sb, "frac_reward_zero_std": 0.0, "rewards/sim/mean": sim_m,
        "rewards/sim/std": sim_s, "rewards/fmt/mean": 0.75, "rewards/fmt/std": 0.5,
        "clip_ratio/low_mean": 2 / 10, "clip_ratio/high_mean": 1 / 10, "clip_ratio/region_mean": 3 / 10,
        "clip_ratio/low_min": 0.0, "clip_ratio/high_max": 0.5,
        "completions/mean_length": 10 / 6, "completions/min_length": 1.0, "completions/max_length": 2.0,
        "completions/clipped_ratio": 0.0, "completions/mean_terminated_length": 10 / 6,
        "completions/min_terminated_length": 1.0, "completions/max_terminated_length": 2.0, "loss": losses["grpo"],
    }
    exp_ = common_expected(lengths, width, [1] * 6, A, rho, kl, loss_tok, losses, metrics, rewards=rewards,
                           group_mean=[m0, m1], group_std=[g0, g1], std_used=[sb] * 6, items_after=10,
                           items_before=10, reward_std_modes={"all": sb, "group_mean": sb})
    derivation = [
        "Line 2679: unscorable_mask = every reward function NaN -> row 1 only (row 2 has fmt None but sim 0.4, row 5 "
        "sim None but fmt 1). Line 2683 nansum(w * r): [0.8+0.5, -, 0.4, 0.6+0, 0.9+0.5, 0.5] = [1.3, NaN, 0.4, 0.6, "
        "1.4, 0.5] (2684 sets row 1 to NaN).",
        "Line 2685 nanmean per group of 3: group 0 (1.3 + 0.4)/2 = 0.85; group 1 (0.6 + 1.4 + 0.5)/3 = 0.833333.",
        "scale_rewards = batch, line 2697: nanstd over the 5 non-NaN rewards: mean 0.84, squared deviations 0.2116, "
        "0.1936, 0.0576, 0.3136, 0.1156 (sum 0.892), /5 * 5/4 = 0.223, sqrt = %.9f. (Per-group nanstd, logged as "
        "group_std: %.9f and %.9f.)" % (sb, g0, g1),
        "Lines 2705-2707 and 2730: A = (r - group mean)/(%.9f + 1e-4) = %s; row 1 is NaN -> nan_to_num -> 0." % (
            sb, [round(a, 9) for a in A]),
        "Lines 2741-2750: rewards/sim/mean = nanmean(0.8, 0.4, 0.6, 0.9) = 0.675, std = nanstd = %.9f; rewards/fmt/mean "
        "= nanmean(1, 0, 1, 1) = 0.75, std = sqrt(0.75/4 * 4/3) = 0.5; reward = nanmean of the 5 = 0.84; reward_std = "
        "nanstd = %.9f; frac_reward_zero_std = 0." % (sim_s, sb),
        "coef_1 = p/p_old (3066): %s. beta = 0: the loss has no KL; the per-token k3 = r - ln r - 1 (r = p_ref/p = %s) "
        "is listed for the UI only, and no kl metric is logged (3237)." % (rho, ratio_ref),
        "Per token -min(coef_1 A, clamp(coef_1, 0.8, 1.28) A) (3084-3091): row0 (A>0) [-1.28 A0, -A0]; row1 (A=0) "
        "[0, 0]; row2 (A<0, 0.75 -> 0.8) [-0.8 A2]; row3 (A<0) [-A3, -1.25 A3]; row4 (A>0, 1.25 inside) "
        "[-1.25 A4, -A4]; row5 (A<0, 0.5 -> 0.8) [-0.8 A5].",
        "Aggregation (3124-3150), 10 active tokens: grpo = mean of row sum/row tokens = %.9f; bnpo = dapo = sum/10 = "
        "%.9f; dr_grpo = sum/(6 * 2) = %.9f." % (losses["grpo"], losses["bnpo"], losses["dr_grpo"]),
        "Clip metrics (3243-3253): is_low = rows 2 and 5 token 0 (row 1 token 1 has ratio 0.5 but A = 0, not < 0); "
        "is_high = row 0 token 0 (row 1 token 0 has ratio 2 but A = 0): low 2/10, high 1/10, region 3/10; "
        "per-row low [0,0,1,0,0,1] -> low_min 0; per-row high [1/2,0,0,0,0,0] -> high_max 0.5. No entropy metric.",
        "Completions: lengths [2,2,1,2,2,1]: mean 10/6, min 1, max 2, clipped 0, terminated the same.",
    ]
    inp = {"num_sequences": 6, "width": width, "group_size": 3, "lengths": lengths, "truncated": [0] * 6,
           "logp": pad([[ln(x) for x in r] for r in p], JUNK_LP), "old_logp": pad([[ln(x) for x in r] for r in p_old], 0.0),
           "ref_logp": pad([[ln(x) for x in r] for r in p_ref], -JUNK_LP), "entropies": None,
           "components": [{"name": "sim", "weight": 1.0, "values": [0.8, None, 0.4, 0.6, 0.9, None]},
                          {"name": "fmt", "weight": 0.5, "values": [1.0, None, None, 0.0, 1.0, 1.0]}],
           "scale_rewards": "batch", "options": opts("grpo", 0.2, 0.28, 0.0, 2, False)}
    return {"name": "logp_unscorable_row_batch_scaling", "description": example_unscorable.__doc__.strip(),
            "input": inp, "expected": exp_, "derivation": derivation}


def tempered(z, T):
    """log_softmax(z / T) and its entropy by hand: (z_i/T - ln sum_j exp(z_j/T), -sum p ln p) -> (list, float)."""
    lse = ln(sum(exp(v / T) for v in z))
    lp = [v / T - lse for v in z]
    return lp, -sum(exp(x) * x for x in lp)


def example_plain_logits() -> dict:
    """W6: plain decimal logits over 3 tokens (0 [PAD], 1 [EOS], 2 a) at T = 0.7, G = 2, scale_rewards = none
    (A = r - mean), beta = 0.05, eps 0.2; row 1 is truncated (a a, no EOS), mask off; bnpo."""
    T, beta, width = 0.7, 0.05, 2
    ids, lengths = [[2, 1], [2, 2]], [2, 2]
    cur = [[[0.2, -0.3, 1.1], [-0.5, 0.9, 0.4]], [[0.0, 0.6, -0.2], [1.3, -0.1, 0.5]]]
    old = [[[0.1, -0.2, 0.8], [-0.5, 0.9, 0.4]], [[0.3, 0.2, 0.1], [1.0, 0.0, 0.9]]]
    ref = [[[0.0, 0.0, 0.0], [0.2, 0.5, -0.1]], [[0.4, -0.4, 0.3], [1.3, -0.1, 0.5]]]
    tab = {}
    for name, L in (("cur", cur), ("old", old), ("ref", ref)):
        tab[name] = [[tempered(L[i][t], T) for t in range(2)] for i in range(2)]
    lp = {k: [[tab[k][i][t][0][ids[i][t]] for t in range(2)] for i in range(2)] for k in tab}
    ent = [[tab["cur"][i][t][1] for t in range(2)] for i in range(2)]
    A = [-0.25, 0.25]
    rho = [[exp(lp["cur"][i][t] - lp["old"][i][t]) for t in range(2)] for i in range(2)]
    kl = [[exp(lp["ref"][i][t] - lp["cur"][i][t]) - (lp["ref"][i][t] - lp["cur"][i][t]) - 1 for t in range(2)]
          for i in range(2)]
    sur = [[-min(rho[i][t] * A[i], min(max(rho[i][t], 0.8), 1.2) * A[i]) for t in range(2)] for i in range(2)]
    loss_tok = [[sur[i][t] + beta * kl[i][t] for t in range(2)] for i in range(2)]
    total = sum(map(sum, loss_tok))
    losses = {"grpo": (sum(loss_tok[0]) / 2 + sum(loss_tok[1]) / 2) / 2, "bnpo": total / 4, "dr_grpo": total / (2 * 3),
              "dapo": total / 4}
    low = [[float(rho[i][t] < 0.8 and A[i] < 0) for t in range(2)] for i in range(2)]
    high = [[float(rho[i][t] > 1.2 and A[i] > 0) for t in range(2)] for i in range(2)]
    s = sqrt(0.125)
    metrics = {
        "reward": 0.5, "reward_std": s, "frac_reward_zero_std": 0.0, "rewards/sim/mean": 0.5, "rewards/sim/std": s,
        "kl": sum(map(sum, kl)) / 4, "entropy": sum(map(sum, ent)) / 4,
        "clip_ratio/low_mean": sum(map(sum, low)) / 4, "clip_ratio/high_mean": sum(map(sum, high)) / 4,
        "clip_ratio/region_mean": (sum(map(sum, low)) + sum(map(sum, high))) / 4,
        "clip_ratio/low_min": min(sum(r) / 2 for r in low), "clip_ratio/high_max": max(sum(r) / 2 for r in high),
        "completions/mean_length": 2.0, "completions/min_length": 2.0, "completions/max_length": 2.0,
        "completions/clipped_ratio": 0.5, "completions/mean_terminated_length": 2.0,
        "completions/min_terminated_length": 2.0, "completions/max_terminated_length": 2.0, "loss": losses["bnpo"],
    }
    exp_ = common_expected(lengths, width, [1, 1], A, rho, kl, loss_tok, losses, metrics, rewards=[0.25, 0.75],
                           group_mean=[0.5], group_std=[s], std_used=[s, s], items_after=4, items_before=4,
                           reward_std_modes={"all": s, "group_mean": s})
    exp_.update({"logp": lp["cur"], "old_logp": lp["old"], "ref_logp": lp["ref"], "entropies": ent})
    r9 = lambda x: [[round(v, 9) for v in row] for row in x]  # noqa: E731
    derivation = [
        "Lines 1519-1521: logp = z_id/T - ln sum_j exp(z_j/T) with T = 0.7. Current: row0 token 0 z/T = [0.285714, "
        "-0.428571, 1.571429] -> logsumexp %.9f -> logp(a) = %.9f; the same for every position and for the old and "
        "reference logits. Current logp %s, old %s, reference %s." % (
            ln(sum(exp(v / T) for v in cur[0][0])), lp["cur"][0][0], r9(lp["cur"]), r9(lp["old"]), r9(lp["ref"])),
        "Lines 1523-1532: entropy of softmax(z/T) = -sum p ln p: %s." % r9(ent),
        "Rewards [0.25, 0.75], group nanmean 0.5, nanstd sqrt(0.125) = 0.353553 (logged; scale_rewards = none does "
        "not divide, 2706): A = [-0.25, 0.25]. reward 0.5, reward_std 0.353553.",
        "coef_1 = exp(logp - old) (3066) = %s; k3 = exp(ref - logp) - (ref - logp) - 1 (3071) = %s." % (r9(rho), r9(kl)),
        "-min(coef_1 A, clamp(coef_1, 0.8, 1.2) A) (3084-3091) = %s; + 0.05 k3 (3121) = %s." % (r9(sur), r9(loss_tok)),
        "grpo = mean of row means = %.9f; bnpo = dapo = sum/4 = %.9f; dr_grpo = sum/(2 * 3) = %.9f." % (
            losses["grpo"], losses["bnpo"], losses["dr_grpo"]),
        "Metrics: kl = %.9f, entropy = %.9f; is_low %s, is_high %s -> low_mean %.2f, high_mean %.2f, low_min %.2f, "
        "high_max %.2f. Completions: lengths [2, 2], row 1 truncated (a a): clipped 0.5, terminated row 0: 2." % (
            metrics["kl"], metrics["entropy"], low, high, metrics["clip_ratio/low_mean"],
            metrics["clip_ratio/high_mean"], metrics["clip_ratio/low_min"], metrics["clip_ratio/high_max"]),
    ]
    inp = {"num_sequences": 2, "width": width, "group_size": 2, "lengths": lengths, "truncated": [0, 1],
           "temperature": T, "vocab": {"size": 3, "pad_id": 0, "eos_id": 1}, "completion_ids": ids,
           "logits": cur, "old_logits": old, "ref_logits": ref,
           "components": [{"name": "sim", "weight": 1.0, "values": [0.25, 0.75]}], "scale_rewards": "none",
           "options": opts("bnpo", 0.2, 0.2, beta, 3, False)}
    return {"name": "plain_logits_T0.7_none_scaling_beta0.05", "description": example_plain_logits.__doc__.strip(),
            "input": inp, "expected": exp_, "derivation": derivation}


EXAMPLES_MORE = [lambda: example_empty_row(True), lambda: example_empty_row(False), example_g1, example_unscorable,
                 example_plain_logits]
