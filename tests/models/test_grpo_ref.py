"""models/grpo_ref.py (numpy) against a torch transcription of TRL v1.9.0's GRPOTrainer lines and of
Flow-GRPO's step/loss lines, on the shared fixtures; and the fixtures are up to date.

The transcription below follows TRL v1.9.0's tensor operations one for one (trl/trainer/grpo_trainer.py,
line numbers of /tmp/grpo_trainer_main.py: unscorable mask, nanmean/nanstd/repeat_interleave/isclose/
nan_to_num for the advantages 2660-2712, the logged reward stats 2722-2733, the truncated-row masking and
num_items_in_batch 2415-2427, exp/clamp/min/masked sums and masked_seq_mean/nanmin/nanmax for the loss
3054-3253), with one process, no gradient accumulation (current_gradient_accumulation_steps = 1) and float64.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
import grpo_ref as ref  # noqa: E402
import make_grpo_fixtures as mk  # noqa: E402

FIX = ROOT / "tests" / "fixtures" / "grpo"
torch.set_default_dtype(torch.float64)


def load(name: str) -> dict:
    return json.loads((FIX / name).read_text())


def arr(x) -> np.ndarray:
    return np.asarray([[math.nan if v is None else v for v in row] if isinstance(row, list)
                       else (math.nan if row is None else row) for row in x], dtype=np.float64)


def close(a, b, tol=1e-10) -> bool:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.abs(a - b)
    ok = both_nan | (diff <= tol) | (diff <= tol * np.abs(b))
    return bool(ok.all())


# ----------------------------------------------------------------------------- TRL transcription

def trl_nanstd(t: torch.Tensor, dim=None) -> torch.Tensor:
    """trl/trainer/utils.py nanstd at v1.9.0."""
    mean = torch.nanmean(t, dim=dim, keepdim=True)
    variance = torch.nanmean((t - mean) ** 2, dim=dim, keepdim=True)
    count = torch.sum(~torch.isnan(t), dim=dim, keepdim=True)
    correction = count / (count - 1)
    correction = torch.where(count > 1, correction, torch.full_like(correction, float("nan")))
    variance = variance * correction
    out = torch.sqrt(variance)
    return out.squeeze() if dim is None else out.squeeze(dim)


def trl_nanmin(t):
    return torch.tensor(float("nan")) if torch.isnan(t).all() else torch.min(t[~torch.isnan(t)])


def trl_nanmax(t):
    return torch.tensor(float("nan")) if torch.isnan(t).all() else torch.max(t[~torch.isnan(t)])


def trl_score(rewards_per_func: torch.Tensor, weights: torch.Tensor, g: int, scale: str, names: list[str],
              reward_std_mode: str = "all"):
    unscorable_mask = torch.isnan(rewards_per_func).all(dim=1)
    rewards = (rewards_per_func * weights.unsqueeze(0)).nansum(dim=1)
    rewards[unscorable_mask] = torch.nan
    mean_grouped = torch.nanmean(rewards.view(-1, g), dim=1).repeat_interleave(g, dim=0)
    if scale in ("group", "none"):
        std = trl_nanstd(rewards.view(-1, g), dim=1).repeat_interleave(g, dim=0) if g > 1 \
            else torch.zeros_like(rewards)
    else:
        std = trl_nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
    advantages = rewards - mean_grouped
    if scale != "none":
        advantages = advantages / (std + 1e-4)
    is_zero = torch.isclose(std, torch.zeros_like(std))
    advantages = torch.nan_to_num(advantages, nan=0.0)
    metrics = {}
    for i, name in enumerate(names):
        metrics[f"rewards/{name}/mean"] = torch.nanmean(rewards_per_func[:, i]).item()
        metrics[f"rewards/{name}/std"] = trl_nanstd(rewards_per_func[:, i]).item()
    metrics["reward"] = torch.nanmean(rewards).item()
    # TRL 1.9 logs nanstd(rewards); the 0.22-0.26 option is the mean of the per-row std
    metrics["reward_std"] = trl_nanstd(rewards).item() if reward_std_mode == "all" else torch.nanmean(std).item()
    metrics["frac_reward_zero_std"] = is_zero.double().mean().item()
    return rewards, advantages, metrics


def trl_loss(per_token_logps, old_per_token_logps, ref_per_token_logps, entropies, advantages,
             completion_mask, num_items_in_batch, o: dict):
    beta, eps_low, eps_high = o["beta"], o["epsilon_low"], o["epsilon_high"]
    mask = completion_mask
    advantages = advantages.unsqueeze(1)
    if ref_per_token_logps is not None:  # TRL computes it only when beta != 0; the loss needs it only then
        per_token_kl = torch.exp(ref_per_token_logps - per_token_logps) - (ref_per_token_logps - per_token_logps) - 1
    log_ratio = per_token_logps - old_per_token_logps
    if o["importance_sampling_level"] == "token":
        log_w = log_ratio
    else:
        log_w = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
    coef_1 = torch.exp(log_w)
    coef_2 = torch.clamp(coef_1, 1 - eps_low, 1 + eps_high)
    if o["delta"] is not None:
        coef_1 = torch.clamp(coef_1, max=o["delta"])
    per_token_loss = -torch.min(coef_1 * advantages, coef_2 * advantages)
    if beta != 0.0:
        per_token_loss = per_token_loss + beta * per_token_kl
    masked_sum = (per_token_loss * mask).sum()
    losses = {
        "grpo": ((per_token_loss * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean().item(),
        "bnpo": (masked_sum / mask.sum().clamp(min=1.0)).item(),
        "dr_grpo": (masked_sum / (per_token_loss.size(0) * o["max_completion_length"])).item(),
        "dapo": (masked_sum / torch.as_tensor(float(num_items_in_batch)).clamp(min=1.0)).item(),
    }

    def masked_seq_mean(x):
        if x.shape[1] == 1:
            return x.squeeze(1)
        return (x * mask).sum(-1) / mask.sum(-1)

    def global_masked_mean(x):
        if x.shape[1] == 1:
            local_sum, local_count = x.sum(), torch.tensor(float(x.shape[0]))
        else:
            local_sum, local_count = (x * mask).sum(), mask.sum().double()
        return (local_sum / local_count.clamp(min=1.0)).item()

    metrics = {}
    if beta != 0.0:
        metrics["kl"] = global_masked_mean(per_token_kl)
    if entropies is not None:
        metrics["entropy"] = global_masked_mean(entropies)
    is_low = (coef_1 < 1 - eps_low) & (advantages < 0)
    is_high = (coef_1 > 1 + eps_high) & (advantages > 0)
    metrics["clip_ratio/low_mean"] = global_masked_mean(is_low.double())
    metrics["clip_ratio/high_mean"] = global_masked_mean(is_high.double())
    metrics["clip_ratio/region_mean"] = global_masked_mean((is_low | is_high).double())
    metrics["clip_ratio/low_min"] = trl_nanmin(masked_seq_mean(is_low.double())).item()
    metrics["clip_ratio/high_max"] = trl_nanmax(masked_seq_mean(is_high.double())).item()
    return losses, metrics


def trl_report(inp: dict):
    """Drive the transcription from a fixture's inputs, as TRL would see them."""
    lengths = torch.as_tensor(inp["lengths"])
    comps = list(inp["components"])
    if inp["length_penalty"] is not None:
        comps.append({"name": "length_penalty", "weight": inp["length_penalty"].get("weight", 1.0),
                      "values": ref.length_penalty(np.asarray(inp["lengths"]), inp["length_penalty"]).tolist()})
    names = [c["name"] for c in comps]
    rpf = torch.as_tensor(np.stack([arr(c["values"]) for c in comps], axis=1))
    weights = torch.as_tensor([float(c["weight"]) for c in comps])
    _, advantages, metrics = trl_score(rpf, weights, inp["group_size"], inp["scale_rewards"], names,
                                       inp.get("reward_std") or "all")

    logp = torch.as_tensor(arr(inp["logp"]))
    n, t = logp.shape
    is_truncated = torch.as_tensor(inp["truncated"], dtype=torch.bool)
    completion_mask = (torch.arange(t).expand(n, -1) < lengths.unsqueeze(1)).double()
    pre_mask_items = completion_mask.sum()
    if inp["options"]["mask_truncated_completions"]:
        completion_mask = completion_mask * (~is_truncated).unsqueeze(1).double()
    num_items = completion_mask.sum()  # line 2427: after masking
    if inp["options"].get("num_items_mode") == "before_mask":  # TRL <= 1.8
        num_items = pre_mask_items
    if inp["options"]["num_items_in_batch"] is not None:
        num_items = inp["options"]["num_items_in_batch"]
    o = dict(inp["options"])
    o["max_completion_length"] = o["max_completion_length"] or t
    old = torch.as_tensor(arr(inp["old_logp"])) if inp["old_logp"] is not None else logp.detach()
    ref_lp = torch.as_tensor(arr(inp["ref_logp"])) if inp["ref_logp"] is not None else None
    ent = torch.as_tensor(arr(inp["entropies"])) if inp["entropies"] is not None else None
    losses, loss_metrics = trl_loss(logp, old, ref_lp, ent, advantages, completion_mask, num_items, o)

    lens = lengths.double()
    term = lens[~is_truncated]
    clipped_ratio = is_truncated.double().mean().item()
    if term.numel() == 0:
        term = torch.zeros(1)
    metrics.update({
        "completions/mean_length": lens.mean().item(),
        "completions/min_length": lens.min().item(),
        "completions/max_length": lens.max().item(),
        "completions/clipped_ratio": clipped_ratio,
        "completions/mean_terminated_length": term.mean().item(),
        "completions/min_terminated_length": term.min().item(),
        "completions/max_terminated_length": term.max().item(),
    })
    metrics.update(loss_metrics)
    metrics["loss"] = losses[o["loss_type"]]
    return advantages.numpy(), losses, metrics


REPORT = load("report.json")


@pytest.mark.parametrize("case", REPORT["cases"], ids=[c["name"] for c in REPORT["cases"]])
def test_reference_matches_trl_transcription(case):
    inp = case["input"]
    live = ref.grpo_report({**inp, "components": [{**c, "values": arr(c["values"])} for c in inp["components"]],
                            "logp": arr(inp["logp"]),
                            "old_logp": None if inp["old_logp"] is None else arr(inp["old_logp"]),
                            "ref_logp": None if inp["ref_logp"] is None else arr(inp["ref_logp"]),
                            "entropies": None if inp["entropies"] is None else arr(inp["entropies"])})
    adv, losses, metrics = trl_report(inp)
    assert close(live["advantages"]["advantages"], adv)
    for k, v in losses.items():
        assert close(live["loss"]["losses"][k], v), k
    assert set(live["metrics"]) == set(metrics)
    for k, v in metrics.items():
        assert close(live["metrics"][k], v), (k, live["metrics"][k], v)


ADV = load("advantages.json")


@pytest.mark.parametrize("case", ADV["cases"], ids=[c["name"] for c in ADV["cases"]])
def test_advantage_fixtures_match_trl_transcription(case):
    """advantages.json (G = 1, NaN = unscorable rows, both reward_std modes) against TRL 1.9's lines."""
    rpf = torch.as_tensor(arr(case["rewards"])).unsqueeze(1)
    _, adv, metrics = trl_score(rpf, torch.ones(1), case["group_size"], case["scale_rewards"], ["r"],
                                case["reward_std"])
    e = case["expected"]
    assert close(e["advantages"], adv.numpy())
    for k in ("reward", "reward_std", "frac_reward_zero_std"):
        assert close(math.nan if e[k] is None else e[k], metrics[k]), k


def test_clip_edges_count_only_strictly_outside():
    case = next(c for c in REPORT["cases"] if c["name"].startswith("clip_edges"))
    ratio = arr(case["expected"]["ratio"])
    # the first two ratios sit exactly on 1-eps_low and 1+eps_high, also under torch.exp
    logp, old = torch.as_tensor(arr(case["input"]["logp"])), torch.as_tensor(arr(case["input"]["old_logp"]))
    coef = torch.exp(logp - old)
    assert coef[0, 0].item() == 1 - 0.2 and coef[0, 1].item() == 1 + 0.28
    assert ratio[0, 0] == 1 - 0.2 and ratio[0, 1] == 1 + 0.28
    m = case["expected"]["metrics"]
    # rows with A>0: rows 0 (10 tokens) and 2 (7 tokens); A<0: rows 1 and 3 (10 tokens each)
    assert m["clip_ratio/high_mean"] == pytest.approx(3 / 37)
    assert m["clip_ratio/low_mean"] == pytest.approx(4 / 37)


def test_hand_computed_advantages():
    r = ref.group_advantages(np.array([1.0, 0.0, 0.5, 0.5]), 2, "group")
    s = math.sqrt(0.5)
    assert r["advantages"] == pytest.approx([0.5 / (s + 1e-4), -0.5 / (s + 1e-4), 0.0, 0.0])
    assert r["frac_reward_zero_std"] == 0.5
    # TRL 1.9: nanstd of all four rewards: mean 0.5, squared deviations .25 .25 0 0 -> (0.5/4) * 4/3
    assert r["reward_std"] == pytest.approx(math.sqrt(1 / 6))
    legacy = ref.group_advantages(np.array([1.0, 0.0, 0.5, 0.5]), 2, "group", reward_std="group_mean")
    assert legacy["reward_std"] == pytest.approx(s / 2)  # TRL 0.22-0.26: mean of the per-row group std
    none = ref.group_advantages(np.array([1.0, 0.0, 0.5, 0.5]), 2, "none")
    assert none["advantages"] == pytest.approx([0.5, -0.5, 0.0, 0.0])


def test_overlong_penalty_matches_dapo_eq13():
    got = ref.length_penalty(np.array([5, 7, 8, 10, 11, 12]), {"kind": "overlong", "max_completion_length": 10,
                                                               "soft_punish_cache": 3})
    assert got.tolist() == pytest.approx([0.0, 0.0, -1 / 3, -1.0, -1.0, -1.0])


# ----------------------------------------------------------------------------- Flow-GRPO transcription

def flow_sde_torch(x, v, sigma, sigma_prev, sigma_max, noise_level, noise):
    dt = sigma_prev - sigma
    std_dev_t = torch.sqrt(sigma / (1 - torch.where(sigma == 1, sigma_max, sigma))) * noise_level
    mean = x * (1 + std_dev_t ** 2 / (2 * sigma) * dt) + v * (1 + std_dev_t ** 2 * (1 - sigma) / (2 * sigma)) * dt
    prev = mean + std_dev_t * torch.sqrt(-1 * dt) * noise
    log_prob = (-((prev - mean) ** 2) / (2 * ((std_dev_t * torch.sqrt(-1 * dt)) ** 2))
                - torch.log(std_dev_t * torch.sqrt(-1 * dt)) - torch.log(torch.sqrt(2 * torch.as_tensor(math.pi))))
    return prev, log_prob.mean(), mean, std_dev_t


FLOW = load("flow.json")


@pytest.mark.parametrize("case", FLOW["sde"], ids=[c["name"] for c in FLOW["sde"]])
def test_flow_step_matches_transcription(case):
    T = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    sigma = T(case["t"])
    prev, lp, mean, std_dev_t = flow_sde_torch(T(case["x"]), T(case["v"]), sigma, T(case["t"] + case["dt"]),
                                               T(case["sigma_max"]), case["a"], T(case["noise"]))
    _, _, mean_ref, _ = flow_sde_torch(T(case["x"]), T(case["v_ref"]), sigma, T(case["t"] + case["dt"]),
                                       T(case["sigma_max"]), case["a"], T(case["noise"]))
    e = case["expected"]
    assert close(e["mean"], mean.numpy(), 1e-9)
    assert close(e["next"], prev.numpy(), 1e-9)
    assert close(e["std_dev_t"], std_dev_t.item(), 1e-9)
    assert close(e["log_prob_next"], lp.item(), 1e-9)
    kl = (((mean - mean_ref) ** 2).mean() / (2 * std_dev_t ** 2)).item()
    assert close(e["kl"], kl, 1e-9)


@pytest.mark.parametrize("case", FLOW["losses"], ids=[c["name"] for c in FLOW["losses"]])
def test_flow_loss_matches_transcription(case):
    T = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    adv = torch.clamp(T(case["advantages"]), -case["adv_clip_max"], case["adv_clip_max"])
    ratio = torch.exp(T(case["log_prob"]) - T(case["old_log_prob"]))
    unclipped = -adv * ratio
    clipped = -adv * torch.clamp(ratio, 1.0 - case["clip_range"], 1.0 + case["clip_range"])
    policy = torch.mean(torch.maximum(unclipped, clipped)).item()
    e = case["expected"]
    assert close(e["policy_loss"], policy)
    loss = policy + case["beta"] * float(np.mean(case["kl"])) if case["beta"] > 0 else policy
    assert close(e["loss"], loss)
    assert close(e["clipfrac"], torch.mean((torch.abs(ratio - 1.0) > case["clip_range"]).double()).item())
    assert close(e["approx_kl"], (0.5 * torch.mean((T(case["log_prob"]) - T(case["old_log_prob"])) ** 2)).item())


def test_flow_advantages_use_population_std():
    for case in FLOW["advantages"]:
        r = np.asarray(case["rewards"])
        g = case["group_size"]
        exp = np.concatenate([(r[i:i + g] - r[i:i + g].mean()) / ((r if case["global_std"] else r[i:i + g]).std() + 1e-4)
                              for i in range(0, r.size, g)])
        assert close(case["expected"], exp)


# ----------------------------------------------------------------------------- freshness

def test_fixtures_up_to_date():
    built = mk.build()
    for name, text in built.items():
        on_disk = json.loads((FIX / name).read_text())
        fresh = json.loads(text)
        assert _same(on_disk, fresh), f"{name} is stale: run models/make_grpo_fixtures.py"


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-12 * max(1.0, abs(b))
    return a == b
