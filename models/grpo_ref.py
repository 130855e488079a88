"""Independent float64 reference for the playground's GRPO and Flow-GRPO maths.

Written in numpy from the pinned definitions (docs/grpo.md, /tmp/grpo-spec.md of issue 17):
TRL v1.9.0 (tag 35def3ee, trl/trainer/grpo_trainer.py, byte-identical to main f2cd5771):
`_generate_and_score_completions` (rewards, unscorable rows, advantages, reward and completion metrics,
lines 2660-2750 and 2231-2246), the loss mask and `num_items_in_batch` (lines 2415-2427) and
`_compute_loss` (ratio, clipping, KL, aggregation, loss-side metrics, lines 3054-3253); TRL's
`nanstd`/`nanmin`/`nanmax` (trl/trainer/utils.py); TRL's `get_soft_overlong_punishment` (trl/rewards);
and Flow-GRPO (yifan123/flow_grpo: flow_grpo/diffusers_patch/sd3_sde_with_logprob.py,
scripts/train_sd3.py, flow_grpo/stat_tracking.py).

It is NOT a port of src/engine/grpo*.ts: the TypeScript is checked against numbers this file
writes (tests/fixtures/grpo/*.json via models/make_grpo_fixtures.py), and this file is itself
checked against a torch transcription of TRL's lines (tests/models/test_grpo_ref.py) and against
hand-derived worked examples (tests/fixtures/grpo/worked-examples.json, tests/models/test_grpo_worked.py).

Layout: token tensors are [N, T] float64 arrays (N sequences, T = padded width, right padding);
`lengths` [N] gives the completion tokens of each row: EOS included for a terminated row, the sampled
tokens (no EOS) for a truncated one, as TRL's completion_mask / len(completion_ids).
Options kept from older TRL, off by default: `reward_std="group_mean"` (TRL 0.22-0.26 logged the mean
of the per-row std) and `num_items_mode="before_mask"` (TRL <= 1.8 counted dapo's tokens before the
truncated rows were masked).
"""

from __future__ import annotations

import math

import numpy as np

ADV_EPS = 1e-4  # TRL: advantages / (std + 1e-4)
ZERO_STD_ATOL = 1e-8  # torch.isclose(std, 0): |std| <= atol + rtol * 0
LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo")
SCALINGS = ("group", "batch", "none")
REWARD_STD_MODES = ("all", "group_mean")
NUM_ITEMS_MODES = ("after_mask", "before_mask")


# ----------------------------------------------------------------------------- statistics

def nan_mean(x: np.ndarray) -> float:
    """torch.nanmean -> float: mean of the non-NaN values, NaN when there are none."""
    x = np.asarray(x, dtype=np.float64)
    ok = ~np.isnan(x)
    return float(x[ok].mean()) if ok.any() else math.nan


def nan_std(x: np.ndarray) -> float:
    """TRL's `nanstd` -> float: sqrt(nanmean((x - nanmean x)^2) * count/(count-1)) over the non-NaN
    values (Bessel); NaN when fewer than two values remain (utils.py: correction NaN unless count > 1)."""
    x = np.asarray(x, dtype=np.float64)
    ok = ~np.isnan(x)
    count = int(ok.sum())
    if count < 2:
        return math.nan
    vals = x[ok]
    var = float(((vals - vals.mean()) ** 2).mean())
    return math.sqrt(var * count / (count - 1))


def nan_min(x) -> float:
    """TRL's `nanmin` -> float: min of the non-NaN values, NaN when all are NaN."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.nanmin(x)) if (~np.isnan(x)).any() else math.nan


def nan_max(x) -> float:
    """TRL's `nanmax` -> float: max of the non-NaN values, NaN when all are NaN."""
    return -nan_min(-np.asarray(x, dtype=np.float64))


# ----------------------------------------------------------------------------- rewards

def length_penalty(lengths: np.ndarray, spec: dict) -> np.ndarray:
    """Per-completion length penalty.

    kind "overlong": TRL get_soft_overlong_punishment (DAPO eq. 13).
    kind "linear": -coef * length.
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    if spec["kind"] == "linear":
        return -float(spec["coef"]) * lengths
    if spec["kind"] != "overlong":
        raise ValueError(spec["kind"])
    l_max, cache = float(spec["max_completion_length"]), float(spec["soft_punish_cache"])
    return np.where(lengths <= l_max - cache, 0.0,
                    np.where(lengths <= l_max, ((l_max - cache) - lengths) / cache, -1.0))


def combine_rewards(components: list[dict], lengths=None, penalty: dict | None = None):
    """Weighted sum of named reward components (NaN/None = not applicable, skipped as nansum).

    A row where EVERY component is NaN is unscorable (TRL 1.9 `unscorable_mask`): its reward is NaN.
    Returns (rewards [N], metrics {rewards/<name>/mean, rewards/<name>/std} of the unweighted values).
    """
    comps = [dict(c) for c in components]
    if penalty is not None:
        comps.append({"name": "length_penalty", "values": length_penalty(lengths, penalty),
                      "weight": float(penalty.get("weight", 1.0))})
    n = len(np.asarray(comps[0]["values"]))
    total = np.zeros(n, dtype=np.float64)
    scorable = np.zeros(n, dtype=bool)
    metrics: dict[str, float] = {}
    for c in comps:
        vals = np.asarray([math.nan if v is None else v for v in c["values"]], dtype=np.float64)
        weighted = vals * float(c["weight"])
        total += np.where(np.isnan(weighted), 0.0, weighted)
        scorable |= ~np.isnan(vals)
        metrics[f"rewards/{c['name']}/mean"] = nan_mean(vals)
        metrics[f"rewards/{c['name']}/std"] = nan_std(vals)
    total[~scorable] = math.nan
    return total, metrics


# ----------------------------------------------------------------------------- advantages

def group_advantages(rewards: np.ndarray, group_size: int, scale: str, reward_std: str = "all") -> dict:
    """TRL 1.9 advantages (sum_then_normalize) -> dict of advantages [N], group_mean [B], group_std [B],
    std_used [N], batch_std, reward, reward_std, frac_reward_zero_std.

    NaN rewards (unscorable rows) are left out of the group mean/std (nanmean/nanstd) and get advantage 0
    (nan_to_num). `group`/`none`: std_i = nanstd of the group, 0 when G = 1; `batch`: nanstd of all
    rewards, 0 when N = 1. `reward` = nanmean of the rewards; `reward_std` = nanstd of all rewards
    (default "all", TRL >= 0.27) or, with reward_std="group_mean", the nanmean over rows of std_i
    (TRL 0.22-0.26's `std_rewards.mean()`).
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    n = rewards.size
    if n % group_size != 0:
        raise ValueError("number of rewards must be a multiple of group_size")
    if scale not in SCALINGS:
        raise ValueError(scale)
    if reward_std not in REWARD_STD_MODES:
        raise ValueError(reward_std)
    num_groups = n // group_size
    group_mean = np.zeros(num_groups)
    group_std = np.zeros(num_groups)
    for g in range(num_groups):
        chunk = rewards[g * group_size:(g + 1) * group_size]
        group_mean[g] = nan_mean(chunk)
        group_std[g] = nan_std(chunk) if group_size > 1 else 0.0
    batch_std = nan_std(rewards) if n > 1 else 0.0
    advantages = np.zeros(n)
    std_used = np.zeros(n)
    for i in range(n):
        g = i // group_size
        std_used[i] = batch_std if scale == "batch" else group_std[g]
        advantages[i] = rewards[i] - group_mean[g]
        if scale != "none":
            advantages[i] = advantages[i] / (std_used[i] + ADV_EPS)
    advantages = np.nan_to_num(advantages, nan=0.0)
    zero = np.abs(std_used) <= ZERO_STD_ATOL  # NaN std -> False, as torch.isclose
    return {
        "advantages": advantages,
        "group_mean": group_mean,
        "group_std": group_std,
        "std_used": std_used,
        "batch_std": batch_std,
        "reward": nan_mean(rewards),
        "reward_std": nan_std(rewards) if reward_std == "all" else nan_mean(std_used),
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
    """Per-token clipped surrogate + k3 KL, every aggregation, and TRL's loss-side metrics for ONE loss
    computation -> dict of losses {grpo, bnpo, dr_grpo, dapo}, loss (opts' type), metrics, ratio [N,T],
    per_token_loss [N,T], per_token_kl [N,T] | None, sequence_logp [N], sequence_kl [N] | None,
    loss_mask [N,T], num_items_in_batch.

    inp: logp [N,T], old_logp? [N,T] (None: old = current, ratio 1), ref_logp? [N,T], entropies? [N,T],
         advantages [N], lengths [N], truncated? [N] (1 = no EOS).
    opts: loss_type, epsilon_low, epsilon_high, beta, max_completion_length?, num_items_in_batch?
          (explicit override), num_items_mode ('after_mask' default | 'before_mask'), delta?,
          importance_sampling_level ('token'|'sequence'), mask_truncated_completions.
    `kl` is a metric only when beta != 0 (TRL computes no reference log-probs otherwise); the per-token
    KL is still returned whenever ref_logp is given. clip_ratio/low_min and high_max are the nanmin/nanmax
    over sequences of the per-sequence masked mean (NaN for a row with no active token).
    """
    logp = np.asarray(inp["logp"], dtype=np.float64)
    n, t = logp.shape
    old = np.asarray(inp["old_logp"], dtype=np.float64) if inp.get("old_logp") is not None else logp.copy()
    lengths = np.asarray(inp["lengths"], dtype=np.int64)
    adv = np.asarray(inp["advantages"], dtype=np.float64)
    completion = mask_from_lengths(lengths, t)
    mask = completion.copy()
    truncated = np.zeros(n, dtype=bool) if inp.get("truncated") is None else np.asarray(inp["truncated"], dtype=bool)
    if opts.get("mask_truncated_completions"):
        mask[truncated, :] = 0.0  # line 2417
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
    mode = opts.get("num_items_mode") or "after_mask"
    if mode not in NUM_ITEMS_MODES:
        raise ValueError(mode)
    if items is None:  # line 2427: loss_mask.sum() after the truncated rows are masked
        items = float(total_tokens) if mode == "after_mask" else float(completion.sum())
    losses = {
        "grpo": float(np.mean([masked[i].sum() / max(row_tokens[i], 1.0) for i in range(n)])),
        "bnpo": float(masked.sum() / max(total_tokens, 1.0)),
        "dr_grpo": float(masked.sum() / (n * float(max_len))),
        "dapo": float(masked.sum() / max(float(items), 1.0)),
    }

    def batch_mean(x: np.ndarray) -> float:  # global_masked_mean
        if x.shape[1] == 1:
            return float(x.mean())
        return float((x * mask).sum() / max(total_tokens, 1.0))

    def seq_means(x: np.ndarray) -> np.ndarray:  # masked_seq_mean: NaN for a row without active tokens
        if x.shape[1] == 1:
            return x[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            return (x * mask).sum(axis=1) / row_tokens

    is_low = ((ratio < 1.0 - eps_low) & (a < 0)).astype(np.float64)
    is_high = ((ratio > 1.0 + eps_high) & (a > 0)).astype(np.float64)
    metrics = {}
    if kl is not None and beta != 0.0:
        metrics["kl"] = batch_mean(kl)
    if inp.get("entropies") is not None:
        metrics["entropy"] = batch_mean(np.asarray(inp["entropies"], dtype=np.float64))
    metrics.update({
        "clip_ratio/low_mean": batch_mean(is_low),
        "clip_ratio/high_mean": batch_mean(is_high),
        "clip_ratio/region_mean": batch_mean(np.maximum(is_low, is_high)),
        "clip_ratio/low_min": nan_min(seq_means(is_low)),
        "clip_ratio/high_max": nan_max(seq_means(is_high)),
    })

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
        "loss_mask": mask,
        "num_items_in_batch": float(items),
    }


def completion_metrics(lengths, truncated=None) -> dict:
    """TRL's completions/* (lines 2231-2246) over len(completion_ids) -> dict of 7 floats; the
    terminated-length stats are over the rows that are not truncated, 0 when every row is."""
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
    """Everything one GRPO step logs, for one batch of B groups of G rollouts with a single loss
    computation -> dict of rewards [N], advantages (group_advantages' dict), loss (grpo_loss' dict),
    metrics (TRL's names)."""
    lengths = case["lengths"]
    rewards, reward_metrics = combine_rewards(case["components"], lengths, case.get("length_penalty"))
    adv = group_advantages(rewards, case["group_size"], case["scale_rewards"], case.get("reward_std") or "all")
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
    """Gaussian log-density of `sample` around `mean` (std `std`), averaged over elements -> float."""
    sample = np.asarray(sample, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    lp = -((sample - mean) ** 2) / (2.0 * std ** 2) - math.log(std) - math.log(math.sqrt(2.0 * math.pi))
    return float(lp.mean())


def flow_kl(mean_theta, mean_ref, std_dev_t: float) -> float:
    """Flow-GRPO's KL term mean((mu_theta - mu_ref)^2) / (2 sigma_t^2) -> float."""
    d = np.asarray(mean_theta, dtype=np.float64) - np.asarray(mean_ref, dtype=np.float64)
    return float((d ** 2).mean() / (2.0 * std_dev_t ** 2))


def flow_advantages(rewards, group_size: int, global_std: bool) -> np.ndarray:
    """PerPromptStatTracker (type 'grpo') -> advantages [N]: (r - group mean) / (np.std + 1e-4), population
    std (ddof 0) of the group, or of every reward with global_std."""
    rewards = np.asarray(rewards, dtype=np.float64)
    out = np.zeros_like(rewards)
    for g in range(rewards.size // group_size):
        sl = slice(g * group_size, (g + 1) * group_size)
        std = (np.std(rewards) if global_std else np.std(rewards[sl])) + ADV_EPS
        out[sl] = (rewards[sl] - rewards[sl].mean()) / std
    return out


def flow_grpo_loss(log_prob, old_log_prob, advantages, clip_range: float, adv_clip_max: float,
                   beta: float, kl=None) -> dict:
    """One timestep of Flow-GRPO's training loop over a batch of B samples -> dict under Flow-GRPO's own
    logged names (train_sd3.py): policy_loss, loss, approx_kl, clipfrac, clipfrac_gt_one, clipfrac_lt_one,
    and kl_loss when beta > 0. Advantages are clamped to +-adv_clip_max first."""
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


def flow_reward_stats(rewards, group_size: int) -> dict:
    """Stage 3's reward logging -> dict: reward = mean of all rewards; reward_std = std of all rewards
    with Bessel's correction (ddof 1, TRL's nanstd, the same definition as stage 2's reward_std, so the
    two stages' charts compare); Flow-GRPO's own reward_std_mean = mean over groups of the population std
    (np.std, ddof 0) and zero_std_ratio = fraction of groups whose np.std is exactly 0
    (train_sd3.py calculate_zero_std_ratio)."""
    rewards = np.asarray(rewards, dtype=np.float64)
    stds = np.array([np.std(rewards[g:g + group_size]) for g in range(0, rewards.size, group_size)])
    return {"reward": nan_mean(rewards), "reward_std": nan_std(rewards),
            "reward_std_mean": float(stds.mean()), "zero_std_ratio": float((stds == 0).mean())}
