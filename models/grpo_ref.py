"""Independent float64 reference for the playground's GRPO and Flow-GRPO maths.

Written in numpy from the definitions in TRL's GRPOTrainer (trl/trainer/grpo_trainer.py,
v0.22-v0.23 line: `_generate_and_score_completions` and `_compute_loss`), TRL's
`get_soft_overlong_punishment` (trl/rewards) and Flow-GRPO (yifan123/flow_grpo:
flow_grpo/diffusers_patch/sd3_sde_with_logprob.py, scripts/train_sd3.py,
flow_grpo/stat_tracking.py). docs/grpo.md lists every definition and its source.

It is NOT a port of src/engine/grpo*.ts: the TypeScript is checked against numbers this file
writes (tests/fixtures/grpo/*.json via models/make_grpo_fixtures.py), and this file is itself
checked against a torch transcription of TRL's lines (tests/models/test_grpo_ref.py).

Layout: token tensors are [N, T] float64 arrays (N sequences, T = padded width, right padding);
`lengths` [N] gives the active tokens of each row (EOS included, as TRL's completion_mask).
"""

from __future__ import annotations

import math

import numpy as np

ADV_EPS = 1e-4  # TRL: advantages / (std + 1e-4)
ZERO_STD_ATOL = 1e-8  # torch.isclose(std, 0): |std| <= atol + rtol * 0
LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo")
SCALINGS = ("group", "batch", "none")


# ----------------------------------------------------------------------------- statistics

def unbiased_std(x: np.ndarray) -> float:
    """torch.std default (Bessel, N-1); 0 for a single value as TRL's guard does."""
    x = np.asarray(x, dtype=np.float64)
    if x.size < 2:
        return 0.0
    return float(np.std(x, ddof=1))


def nan_mean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    ok = ~np.isnan(x)
    return float(x[ok].mean()) if ok.any() else math.nan


def nan_std(x: np.ndarray) -> float:
    """TRL's `nanstd`: nanmean of squared deviations times count/(count-1), square-rooted."""
    x = np.asarray(x, dtype=np.float64)
    ok = ~np.isnan(x)
    count = int(ok.sum())
    if count == 0:
        return math.nan
    vals = x[ok]
    var = float(((vals - vals.mean()) ** 2).mean())
    if count == 1:
        return math.nan  # 0 * (1/0) in torch
    return math.sqrt(var * count / (count - 1))


# ----------------------------------------------------------------------------- rewards

def length_penalty(lengths: np.ndarray, spec: dict) -> np.ndarray:
    """Per-completion length penalty.

    kind "overlong": TRL get_soft_overlong_punishment (DAPO eq. 13).
    kind "linear": -coef * length.
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    out = np.zeros_like(lengths)
    if spec["kind"] == "linear":
        return -float(spec["coef"]) * lengths
    if spec["kind"] != "overlong":
        raise ValueError(spec["kind"])
    l_max = float(spec["max_completion_length"])
    cache = float(spec["soft_punish_cache"])
    for i, n in enumerate(lengths):
        if n <= l_max - cache:
            out[i] = 0.0
        elif n <= l_max:
            out[i] = ((l_max - cache) - n) / cache
        else:
            out[i] = -1.0
    return out


def combine_rewards(components: list[dict], lengths=None, penalty: dict | None = None):
    """Weighted sum of named reward components (NaN = not applicable, skipped as nansum).

    Returns (rewards [N], metrics {rewards/<name>/mean, rewards/<name>/std}).
    """
    comps = [dict(c) for c in components]
    if penalty is not None:
        comps.append({
            "name": "length_penalty",
            "values": length_penalty(lengths, penalty),
            "weight": float(penalty.get("weight", 1.0)),
        })
    n = len(np.asarray(comps[0]["values"]))
    total = np.zeros(n, dtype=np.float64)
    metrics: dict[str, float] = {}
    for c in comps:
        vals = np.asarray([math.nan if v is None else v for v in c["values"]], dtype=np.float64)
        weighted = vals * float(c["weight"])
        total += np.where(np.isnan(weighted), 0.0, weighted)
        metrics[f"rewards/{c['name']}/mean"] = nan_mean(vals)
        metrics[f"rewards/{c['name']}/std"] = nan_std(vals)
    return total, metrics


# ----------------------------------------------------------------------------- advantages

def group_advantages(rewards: np.ndarray, group_size: int, scale: str) -> dict:
    rewards = np.asarray(rewards, dtype=np.float64)
    n = rewards.size
    if n % group_size != 0:
        raise ValueError("number of rewards must be a multiple of group_size")
    if scale not in SCALINGS:
        raise ValueError(scale)
    num_groups = n // group_size
    group_mean = np.zeros(num_groups)
    group_std = np.zeros(num_groups)
    for g in range(num_groups):
        chunk = rewards[g * group_size:(g + 1) * group_size]
        group_mean[g] = chunk.mean()
        group_std[g] = unbiased_std(chunk)
    batch_std = unbiased_std(rewards)
    advantages = np.zeros(n)
    std_used = np.zeros(n)
    for i in range(n):
        g = i // group_size
        std_used[i] = batch_std if scale == "batch" else group_std[g]
        advantages[i] = rewards[i] - group_mean[g]
        if scale != "none":
            advantages[i] = advantages[i] / (std_used[i] + ADV_EPS)
    zero = np.abs(std_used) <= ZERO_STD_ATOL
    return {
        "advantages": advantages,
        "group_mean": group_mean,
        "group_std": group_std,
        "std_used": std_used,
        "batch_std": batch_std,
        "reward": float(np.repeat(group_mean, group_size).mean()),
        "reward_std": float(std_used.mean()),
        "frac_reward_zero_std": float(zero.astype(np.float64).mean()),
    }


# ----------------------------------------------------------------------------- per-token

def mask_from_lengths(lengths, width: int) -> np.ndarray:
    lengths = np.asarray(lengths, dtype=np.int64)
    return (np.arange(width)[None, :] < lengths[:, None]).astype(np.float64)


def k3_kl(logp: np.ndarray, ref_logp: np.ndarray) -> np.ndarray:
    """Schulman's k3 estimator of KL(pi_theta || pi_ref), per token."""
    d = ref_logp - logp
    return np.exp(d) - d - 1.0


def grpo_loss(inp: dict, opts: dict) -> dict:
    """Per-token clipped surrogate + k3 KL, every aggregation, and TRL's loss-side metrics.

    inp: logp [N,T], old_logp? [N,T], ref_logp? [N,T], entropies? [N,T], advantages [N],
         lengths [N], truncated? [N] (1 = no EOS).
    opts: loss_type, epsilon_low, epsilon_high, beta, max_completion_length?, num_items_in_batch?,
          delta?, importance_sampling_level ('token'|'sequence'), mask_truncated_completions.
    """
    logp = np.asarray(inp["logp"], dtype=np.float64)
    n, t = logp.shape
    old = np.asarray(inp["old_logp"], dtype=np.float64) if inp.get("old_logp") is not None else logp.copy()
    lengths = np.asarray(inp["lengths"], dtype=np.int64)
    adv = np.asarray(inp["advantages"], dtype=np.float64)
    mask = mask_from_lengths(lengths, t)
    truncated = np.zeros(n, dtype=bool) if inp.get("truncated") is None else np.asarray(inp["truncated"], dtype=bool)
    if opts.get("mask_truncated_completions"):
        for i in range(n):
            if truncated[i]:
                mask[i, :] = 0.0
    eps_low, eps_high = float(opts["epsilon_low"]), float(opts["epsilon_high"])
    beta = float(opts["beta"])
    level = opts.get("importance_sampling_level", "token")
    delta = opts.get("delta")

    log_ratio = logp - old
    if level == "token":
        log_w = log_ratio
    elif level == "sequence":
        log_w = np.zeros((n, 1))
        for i in range(n):
            log_w[i, 0] = (log_ratio[i] * mask[i]).sum() / max(mask[i].sum(), 1.0)
    else:
        raise ValueError(level)
    raw_ratio = np.exp(log_w)
    clipped = np.clip(raw_ratio, 1.0 - eps_low, 1.0 + eps_high)
    ratio = raw_ratio if delta is None else np.minimum(raw_ratio, float(delta))
    a = adv[:, None]
    per_token_loss = -np.minimum(ratio * a, clipped * a)
    per_token_loss = np.broadcast_to(per_token_loss, (n, t)).copy()
    kl = None
    if inp.get("ref_logp") is not None:
        kl = k3_kl(logp, np.asarray(inp["ref_logp"], dtype=np.float64))
        if beta != 0.0:
            per_token_loss = per_token_loss + beta * kl

    masked = per_token_loss * mask
    row_tokens = mask.sum(axis=1)
    total_tokens = mask.sum()
    max_len = opts.get("max_completion_length") or t
    items = opts.get("num_items_in_batch")
    if items is None:
        items = float(lengths.sum())
    losses = {
        "grpo": float(np.mean([masked[i].sum() / max(row_tokens[i], 1.0) for i in range(n)])),
        "bnpo": float(masked.sum() / max(total_tokens, 1.0)),
        "dr_grpo": float(masked.sum() / (n * float(max_len))),
        "dapo": float(masked.sum() / max(float(items), 1.0)),
    }

    denom = max(total_tokens, 1.0)

    def batch_mean(x: np.ndarray) -> float:
        if x.shape[1] == 1:
            return float(x.mean())
        return float((x * mask).sum() / denom)

    is_low = (ratio < 1.0 - eps_low) & (a < 0)
    is_high = (ratio > 1.0 + eps_high) & (a > 0)
    metrics = {
        "clip_ratio/low_mean": batch_mean(is_low.astype(np.float64)),
        "clip_ratio/high_mean": batch_mean(is_high.astype(np.float64)),
        "clip_ratio/region_mean": batch_mean((is_low | is_high).astype(np.float64)),
    }
    if kl is not None:
        metrics["kl"] = batch_mean(kl)
    if inp.get("entropies") is not None:
        metrics["entropy"] = batch_mean(np.asarray(inp["entropies"], dtype=np.float64))

    ratio_full = np.broadcast_to(raw_ratio, (n, t)) * mask
    seq_logp = (logp * mask).sum(axis=1)
    seq_kl = None
    if kl is not None:
        seq_kl = np.array([(kl[i] * mask[i]).sum() / max(row_tokens[i], 1.0) for i in range(n)])
    return {
        "losses": losses,
        "loss": losses[opts["loss_type"]],
        "metrics": metrics,
        "ratio": ratio_full,
        "per_token_loss": masked,
        "per_token_kl": kl * mask if kl is not None else None,
        "sequence_logp": seq_logp,
        "sequence_kl": seq_kl,
    }


def completion_metrics(lengths, truncated=None) -> dict:
    lengths = np.asarray(lengths, dtype=np.float64)
    truncated = np.zeros(lengths.size, dtype=bool) if truncated is None else np.asarray(truncated, dtype=bool)
    term = lengths[~truncated]
    if term.size == 0:
        term = np.zeros(1)
    return {
        "completions/mean_length": float(lengths.mean()),
        "completions/min_length": float(lengths.min()),
        "completions/max_length": float(lengths.max()),
        "completions/clipped_ratio": float(truncated.astype(np.float64).mean()),
        "completions/mean_terminated_length": float(term.mean()),
        "completions/min_terminated_length": float(term.min()),
        "completions/max_terminated_length": float(term.max()),
    }


def grpo_report(case: dict) -> dict:
    """Everything one GRPO step logs, for one batch of B groups of G rollouts."""
    lengths = case["lengths"]
    rewards, reward_metrics = combine_rewards(case["components"], lengths, case.get("length_penalty"))
    adv = group_advantages(rewards, case["group_size"], case["scale_rewards"])
    loss = grpo_loss({**case, "advantages": adv["advantages"]}, case["options"])
    metrics = {
        **completion_metrics(lengths, case.get("truncated")),
        **reward_metrics,
        "reward": adv["reward"],
        "reward_std": adv["reward_std"],
        "frac_reward_zero_std": adv["frac_reward_zero_std"],
        **loss["metrics"],
        "loss": loss["loss"],
    }
    return {"rewards": rewards, "advantages": adv, "loss": loss, "metrics": metrics}


# ----------------------------------------------------------------------------- Flow-GRPO

def sde_step(x, v, t: float, dt: float, a: float, noise=None, sigma_max: float | None = None) -> dict:
    """Flow-GRPO's `sde_step_with_logprob` (sde_type 'sde'), t = sigma from 1 (noise) to 0, dt < 0."""
    x = np.asarray(x, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if not dt < 0:
        raise ValueError("dt must be negative (t runs from noise at 1 to data at 0)")
    denom_sigma = sigma_max if t == 1.0 else t
    if denom_sigma is None:
        raise ValueError("t == 1 needs sigma_max")
    std_dev_t = math.sqrt(t / (1.0 - denom_sigma)) * a
    mean = x * (1.0 + std_dev_t ** 2 / (2.0 * t) * dt) + v * (1.0 + std_dev_t ** 2 * (1.0 - t) / (2.0 * t)) * dt
    std = std_dev_t * math.sqrt(-dt)
    out = {"mean": mean, "std": std, "std_dev_t": std_dev_t}
    if noise is not None:
        out["next"] = mean + std * np.asarray(noise, dtype=np.float64)
    return out


def sde_log_prob(sample, mean, std: float) -> float:
    sample = np.asarray(sample, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    lp = -((sample - mean) ** 2) / (2.0 * std ** 2) - math.log(std) - math.log(math.sqrt(2.0 * math.pi))
    return float(lp.mean())


def flow_kl(mean_theta, mean_ref, std_dev_t: float) -> float:
    d = np.asarray(mean_theta, dtype=np.float64) - np.asarray(mean_ref, dtype=np.float64)
    return float((d ** 2).mean() / (2.0 * std_dev_t ** 2))


def flow_advantages(rewards, group_size: int, global_std: bool) -> np.ndarray:
    """PerPromptStatTracker (type 'grpo'): (r - group mean) / (np.std + 1e-4), population std."""
    rewards = np.asarray(rewards, dtype=np.float64)
    out = np.zeros_like(rewards)
    for g in range(rewards.size // group_size):
        sl = slice(g * group_size, (g + 1) * group_size)
        std = (np.std(rewards) if global_std else np.std(rewards[sl])) + ADV_EPS
        out[sl] = (rewards[sl] - rewards[sl].mean()) / std
    return out


def flow_grpo_loss(log_prob, old_log_prob, advantages, clip_range: float, adv_clip_max: float,
                   beta: float, kl=None) -> dict:
    """One timestep of Flow-GRPO's training loop over a batch of B samples."""
    lp = np.asarray(log_prob, dtype=np.float64)
    old = np.asarray(old_log_prob, dtype=np.float64)
    adv = np.clip(np.asarray(advantages, dtype=np.float64), -adv_clip_max, adv_clip_max)
    ratio = np.exp(lp - old)
    unclipped = -adv * ratio
    clipped = -adv * np.clip(ratio, 1.0 - clip_range, 1.0 + clip_range)
    policy_loss = float(np.maximum(unclipped, clipped).mean())
    out = {
        "policy_loss": policy_loss,
        "loss": policy_loss,
        "approx_kl": float(0.5 * ((lp - old) ** 2).mean()),
        "clipfrac": float((np.abs(ratio - 1.0) > clip_range).mean()),
        "clipfrac_gt_one": float((ratio - 1.0 > clip_range).mean()),
        "clipfrac_lt_one": float((1.0 - ratio > clip_range).mean()),
    }
    if beta > 0:
        kl_loss = float(np.asarray(kl, dtype=np.float64).mean())
        out["kl_loss"] = kl_loss
        out["loss"] = policy_loss + beta * kl_loss
    return out
