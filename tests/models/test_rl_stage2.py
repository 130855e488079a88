"""Stage 2's optimised GRPO code (models/uae/rl.py) against the reference and TRL v1.9.0's rules:

- grpo_torch_loss equals grpo_ref for every report.json case (token level) under every loss type, dapo under
  both normaliser modes, and its autograd gradient w.r.t. the log-probs equals the analytic gradient of TRL's
  per-token loss (the dapo normaliser, the truncated-row mask and the clip branches all enter it);
- sample_group / greedy_captions force no [EOS]: a row that reaches the limit keeps its sampled tokens, is
  truncated, and its length counts those tokens; decoder_input_ids hands the decoder valid ids for it;
- grpo_iterations logs TRL's way: metrics appended on every loss computation, the step logs their mean, so
  clip ratios of iteration 2 show up.
"""
from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch") if os.environ.get("CI") != "true" else __import__("torch")

ROOT = Path(__file__).resolve().parents[2]
import grpo_ref as ref  # noqa: E402
from uae import config as C  # noqa: E402
from uae.infer import decoder_input_ids, greedy_captions  # noqa: E402
from uae.rl import (completion_masks, grpo_iterations, grpo_torch_loss, sample_group, token_logps,  # noqa: E402
                    trl_log_mean)

REPORT = json.loads((ROOT / "tests" / "fixtures" / "grpo" / "report.json").read_text())
TOKEN_CASES = [c for c in REPORT["cases"] if c["input"]["options"]["importance_sampling_level"] == "token"]


def arr(x):
    return np.asarray([[math.nan if v is None else v for v in r] for r in x], dtype=np.float64)


def analytic_grad(logp, old, ref_lp, adv, loss_mask, completion, o):
    """d loss / d logp of TRL's per-token loss, by hand: the unclipped branch -A*rho' (rho' = min(rho, delta))
    has derivative -A*rho when it is the one min() picks and rho < delta, the clipped branch is constant outside
    [1-eps_low, 1+eps_high]; k3 = e^d - d - 1 (d = ref - logp) has derivative 1 - e^d; then the aggregation
    weight of each active token."""
    rho = np.exp(logp - old)
    capped = rho if o.get("delta") is None else np.minimum(rho, o["delta"])
    c = np.clip(rho, 1 - o["epsilon_low"], 1 + o["epsilon_high"])
    a = adv[:, None]
    inside = (rho >= 1 - o["epsilon_low"]) & (rho <= 1 + o["epsilon_high"])
    picks_unclipped = capped * a <= c * a
    g = np.where(picks_unclipped | inside, -a * rho, 0.0)
    if o.get("delta") is not None:
        g = np.where(rho < o["delta"], g, np.where(inside & ~picks_unclipped, -a * rho, 0.0))
    if o["beta"] != 0.0:
        g = g + o["beta"] * (1 - np.exp(ref_lp - logp))
    n, t = logp.shape
    lt = o["loss_type"]
    if lt == "grpo":
        w = loss_mask / (n * np.maximum(loss_mask.sum(1, keepdims=True), 1.0))
    elif lt == "bnpo":
        w = loss_mask / max(loss_mask.sum(), 1.0)
    elif lt == "dr_grpo":
        w = loss_mask / (n * o["max_completion_length"])
    else:
        items = loss_mask.sum() if o["num_items_mode"] == "after_mask" else completion.sum()
        items = o["num_items_in_batch"] if o.get("num_items_in_batch") is not None else items
        w = loss_mask / max(items, 1.0)
    return g * w


CASES = [(c, lt, mode) for c in TOKEN_CASES for lt in ref.LOSS_TYPES
         for mode in (ref.NUM_ITEMS_MODES if lt == "dapo" else ("after_mask",))]


@pytest.mark.parametrize("case,lt,mode", CASES, ids=[f"{c['name']}-{lt}-{m}" for c, lt, m in CASES])
def test_torch_loss_matches_reference_value_and_gradient(case, lt, mode):
    inp = case["input"]
    logp = arr(inp["logp"])
    n, t = logp.shape
    old = arr(inp["old_logp"]) if inp["old_logp"] is not None else logp.copy()
    ref_lp = arr(inp["ref_logp"]) if inp["ref_logp"] is not None else logp.copy()
    adv = np.asarray(case["expected"]["advantages"], dtype=np.float64)
    o = {**inp["options"], "loss_type": lt, "num_items_mode": mode,
         "max_completion_length": inp["options"]["max_completion_length"] or t}
    want = ref.grpo_loss({**inp, "logp": logp, "old_logp": old, "ref_logp": ref_lp, "entropies": None,
                          "advantages": adv}, o)
    x = torch.tensor(logp, requires_grad=True)
    lengths, truncated = torch.tensor(inp["lengths"]), torch.tensor(inp["truncated"], dtype=torch.bool)
    loss = grpo_torch_loss(x, torch.tensor(old), torch.tensor(ref_lp), torch.tensor(adv), lengths, truncated, o)
    assert loss.item() == pytest.approx(want["loss"], rel=1e-10, abs=1e-12)
    (grad,) = torch.autograd.grad(loss, x)
    completion, mask = (m.double().numpy() for m in completion_masks(lengths, truncated, t,
                                                                     o["mask_truncated_completions"]))
    assert np.allclose(mask, want["loss_mask"])
    expect = analytic_grad(logp, old, ref_lp, adv, mask, completion, o)
    assert np.allclose(grad.numpy(), expect, atol=1e-12, rtol=1e-9), np.abs(grad.numpy() - expect).max()


# ----------------------------------------------------------------------------- sampling without forced EOS

TOK = SimpleNamespace(pad_id=0, bos_id=1, eos_id=2, unk_id=3)
V = 7


class ScriptedDecoder:
    """KV-cache decoder stub: row r emits [EOS] at completion position stop[r] (0-based; never if stop < 0),
    otherwise a content token (4, 5 or 6) that depends on the position."""

    def __init__(self, stop):
        self.stop = stop

    def empty_past(self, m):
        return [torch.zeros(m, 0)]

    def __call__(self, cur, enc, past):
        pos = past[0].shape[1]
        logits = torch.full((cur.shape[0], cur.shape[1], V), -30.0)
        for r, s in enumerate(self.stop):
            logits[r, -1, 2 if s == pos else 4 + pos % 3] = 30.0
        return logits, [torch.zeros(cur.shape[0], pos + cur.shape[1])]


def test_sample_group_forces_no_eos_and_counts_sampled_tokens():
    max_len = 8
    model = SimpleNamespace(decoder=ScriptedDecoder([2, -1, 0, -1]))
    ids, lengths, truncated = sample_group(model, torch.zeros(4, 1, 1), 1, 0.7, torch.Generator().manual_seed(0),
                                           TOK, max_len=max_len)
    assert truncated.tolist() == [False, True, False, True]
    assert lengths.tolist() == [3, max_len - 1, 1, max_len - 1]      # EOS counted only for terminated rows
    for r in (1, 3):                                                  # the sampled tokens are kept, no EOS
        assert (ids[r] == TOK.eos_id).sum() == 0 and ids[r, -1].item() == 4 + (max_len - 2) % 3
        assert ids[r, 1:].tolist() == [4 + p % 3 for p in range(max_len - 1)]
    assert ids[0, :4].tolist() == [1, 4, 5, 2] and (ids[0, 4:] == TOK.pad_id).all()
    _, mask = completion_masks(lengths, truncated, max_len - 1)
    assert mask.sum(1).tolist() == lengths.tolist()                   # the loss covers exactly the completion
    dec = decoder_input_ids(ids, TOK.bos_id, TOK.eos_id, TOK.pad_id, max_len)
    assert torch.equal(dec[0], ids[0]) and torch.equal(dec[2], ids[2])      # terminated rows unchanged
    assert dec[1].tolist() == ids[1, : max_len - 1].tolist() + [TOK.eos_id]  # [BOS] first max_len-2 tokens [EOS]


def test_greedy_captions_force_no_eos():
    max_len = 6
    model = SimpleNamespace(vision=lambda px: torch.zeros(px.shape[0], 1, 1), decoder=ScriptedDecoder([-1, 1]))
    ids = greedy_captions(model, torch.zeros(2, 3, 4, 4), TOK.bos_id, TOK.eos_id, TOK.pad_id, max_len=max_len)
    assert ids[0].tolist() == [1] + [4 + p % 3 for p in range(max_len - 1)]
    assert ids[1].tolist() == [1, 4, 2, 0, 0, 0]


# ----------------------------------------------------------------------------- TRL-style logging

def _tiny_policy():
    from uae.encoder import CaptionModel
    torch.manual_seed(3)
    return CaptionModel(dict(C.get("tiny")["encoder"], vocab=12, max_len=C.MAX_LEN))


@pytest.mark.usefixtures("float32")
def test_metrics_are_the_mean_over_every_loss_computation():
    torch.set_num_threads(2)
    policy = _tiny_policy()
    g = torch.Generator().manual_seed(5)
    n, width = 4, 9
    ids = torch.randint(4, 12, (n, width + 1), generator=g)
    ids[:, 0] = TOK.bos_id
    lengths = torch.tensor([9, 5, 7, 3])
    truncated = torch.tensor([True, False, False, False])
    enc = policy.vision(torch.randn(n, 3, 64, 64, generator=g)).detach()
    with torch.no_grad():
        old, _ = token_logps(policy, enc, ids, 0.8)
    ref_lp = old + 0.05
    adv = np.array([1.0, -1.0, 0.5, -0.5])
    o = {"epsilon_low": 0.2, "epsilon_high": 0.28, "beta": 0.04, "loss_type": "dapo", "max_completion_length": width,
         "mask_truncated_completions": False, "num_items_mode": "after_mask"}
    one = copy.deepcopy(policy)
    opt2 = torch.optim.Adam(policy.decoder.parameters(), lr=0.05)
    opt1 = torch.optim.Adam(one.decoder.parameters(), lr=0.05)
    two_pass = grpo_iterations(policy, opt2, list(policy.decoder.parameters()), enc, ids, lengths, truncated,
                               old, ref_lp, adv, o, 2, 0.8)
    first = grpo_iterations(one, opt1, list(one.decoder.parameters()), enc, ids, lengths, truncated, old, ref_lp,
                            adv, o, 1, 0.8)
    with torch.no_grad():  # the second pass sees the model after one update
        logp, ent = token_logps(one, enc, ids, 0.8)
        loss2 = grpo_torch_loss(logp, old, ref_lp, torch.tensor(adv, dtype=torch.float32), lengths, truncated, o)
    second = ref.grpo_loss({"logp": logp.double().numpy(), "old_logp": old.double().numpy(),
                            "ref_logp": ref_lp.double().numpy(), "entropies": ent.double().numpy(),
                            "advantages": adv, "lengths": lengths.numpy(), "truncated": truncated.numpy()},
                           o)["metrics"]
    second["loss"] = float(loss2)
    assert first["clip_ratio/region_mean"] == 0.0 and second["clip_ratio/region_mean"] > 0
    assert set(two_pass) == set(second) and "clip_ratio/low_min" in two_pass and "clip_ratio/high_max" in two_pass
    for k, v in two_pass.items():
        assert v == pytest.approx(trl_log_mean([first[k], second[k]]), rel=1e-5, abs=1e-7), k
    assert two_pass["clip_ratio/region_mean"] > 0


def test_trl_log_mean_skips_nan():
    assert trl_log_mean([1.0, math.nan, 3.0]) == 2.0 and trl_log_mean([math.nan]) is None


def test_reward_mix_parses_like_uae_train_and_sums_scorer_and_backbone_cosines():
    from uae.backbone import ImageBackbone
    from uae.rl import Rewarder, parse_reward
    assert parse_reward("sim") == {"sim": 1.0}
    assert parse_reward("sim=0.5, i2i=0.5") == {"sim": 0.5, "i2i": 0.5}
    with pytest.raises(ValueError, match="NAME in sim, i2i"):
        parse_reward("psnr")
    torch.manual_seed(0)
    backbone = ImageBackbone(width=4, flat_dim=2, embed=8).eval()
    scorer = SimpleNamespace(image=lambda x: torch.nn.functional.normalize(x.mean((2, 3)), dim=-1))
    rw = Rewarder.__new__(Rewarder)
    rw.m, rw.weights, rw.backbone = {"scorer": scorer}, {"sim": 0.25, "i2i": 0.75}, backbone
    px = torch.rand(3, 3, 64, 64) * 2 - 1
    recon = px.flip(0)
    comps = rw.components(px, recon)
    assert [(c["name"], c["weight"]) for c in comps] == [("sim", 0.25), ("i2i", 0.75)]
    with torch.no_grad():
        want = (backbone(recon) * backbone(px)).sum(-1).numpy()
    assert np.allclose(comps[1]["values"], want)
    total, metrics = ref.combine_rewards(comps)
    assert np.allclose(total, 0.25 * comps[0]["values"] + 0.75 * comps[1]["values"])
    assert set(metrics) == {"rewards/sim/mean", "rewards/sim/std", "rewards/i2i/mean", "rewards/i2i/std"}
    # a group of G reconstructions per original embeds the original once and gives what G copies of it give
    grouped = rw.components(px[:1], recon, group=3)
    copies = rw.components(px[:1].repeat(3, 1, 1, 1), recon)
    for g, c in zip(grouped, copies):
        assert np.allclose(g["values"], c["values"], atol=1e-6)


def test_stage3_reward_may_add_psnr_in_db_and_stage2_may_not():
    from uae.rl import FLOW_REWARD_NAMES, Rewarder, parse_reward
    assert parse_reward("sim=1,psnr=0.01", FLOW_REWARD_NAMES) == {"sim": 1.0, "psnr": 0.01}
    with pytest.raises(ValueError, match="NAME in sim, i2i, got"):
        parse_reward("sim=1,psnr=0.01")           # uae train's names only: the TypeScript trainer has no psnr
    rw = Rewarder.__new__(Rewarder)
    rw.m, rw.weights, rw.backbone = {}, {"psnr": 1.0}, None
    px = torch.zeros(1, 3, 4, 4)
    recon = torch.stack([px[0], px[0] + 0.2, px[0] - 1.0])   # 0.1 and 0.5 off on the [0,1] scale: 20 and ~6.02 dB
    values = rw.components(px, recon, group=3)[0]["values"]
    assert np.allclose(values, [100.0, 20.0, 10 * math.log10(4.0)], atol=1e-4)   # identical: capped at MSE 1e-10


def test_length_penalty_parses_like_uae_train():
    from uae.rl import parse_length_penalty
    assert parse_length_penalty("none") is None
    assert parse_length_penalty("linear:0.005") == {"kind": "linear", "coef": 0.005}
    assert parse_length_penalty("linear:0.01:2") == {"kind": "linear", "coef": 0.01, "weight": 2.0}
    overlong = {"kind": "overlong", "max_completion_length": 48, "soft_punish_cache": 8}
    assert parse_length_penalty("overlong:48:8") == overlong
    assert parse_length_penalty("overlong:48:8:0.5")["weight"] == 0.5
    for bad in ("linear", "linear:x", "overlong:48", "cosine:1", ""):
        with pytest.raises(ValueError, match="length penalty takes none"):
            parse_length_penalty(bad)
    total, metrics = ref.combine_rewards([{"name": "sim", "weight": 1.0, "values": [0.5, 0.5]}], np.array([10, 20]),
                                         parse_length_penalty("linear:0.005"))
    assert np.allclose(total, [0.45, 0.4]) and metrics["rewards/length_penalty/mean"] == pytest.approx(-0.075)


def test_stage3_readback_reward_is_the_encoders_per_token_probability_of_the_caption():
    from uae.rl import FLOW_REWARD_NAMES, Rewarder, parse_reward
    assert parse_reward("sim=1,readback=0.5", FLOW_REWARD_NAMES) == {"sim": 1.0, "readback": 0.5}
    with pytest.raises(ValueError, match="NAME in sim, i2i, got"):
        parse_reward("readback")                  # stage 3 only
    V, pad = 6, 0
    # a fake encoder whose next-token distribution depends on the image's mean (one row per reconstruction)
    table = torch.log_softmax(torch.arange(V, dtype=torch.float32), -1)

    def encoder(recon, inp):
        assert inp.shape[1] == 5                 # ids [B, 6] without the last position
        shift = recon.mean((1, 2, 3))[:, None, None]
        return table.expand(inp.shape[0], inp.shape[1], V) * (1 + shift)

    rw = Rewarder.__new__(Rewarder)
    rw.m, rw.weights, rw.backbone = {"encoder": encoder}, {"readback": 1.0}, None
    rw.tok = SimpleNamespace(pad_id=pad)
    ids = torch.tensor([[1, 3, 4, 2, pad, pad],   # [BOS] 3 4 [EOS]: three targets
                        [1, 5, 2, pad, pad, pad]])  # [BOS] 5 [EOS]: two targets
    recon = torch.stack([torch.zeros(3, 4, 4), torch.ones(3, 4, 4)])
    values = rw.components(torch.zeros(2, 3, 4, 4), recon, group=1, ids=ids)[0]["values"]
    want = []
    for b, targets in enumerate(([3, 4, 2], [5, 2])):
        lp = torch.log_softmax(table * (1 + recon[b].mean()), -1)
        want.append(math.exp(float(sum(lp[t] for t in targets)) / len(targets)))
    assert np.allclose(values, want, atol=1e-6)
    assert all(0 < v < 1 for v in values)
    with pytest.raises(ValueError, match="needs the captions' ids"):
        rw.components(torch.zeros(2, 3, 4, 4), recon)
