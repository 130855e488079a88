"""The hand-derived worked examples (tests/fixtures/grpo/worked-examples.json, derived from TRL v1.9.0's lines,
see each example's "derivation") against models/grpo_ref.py AND stage 2's optimised torch code
(models/uae/rl.py: token_logps / logps_from_logits with the sampling temperature, grpo_torch_loss under
every loss type, its gradient w.r.t. the log-probs against finite differences of grpo_ref).

Guards: temperature in the log-probs/entropies, unscorable rows, G = 1, dapo's after-mask normaliser,
truncated rows masked and unmasked, clip_ratio/low_min|high_max with an empty row, kl only when beta != 0.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch") if os.environ.get("CI") != "true" else __import__("torch")

ROOT = Path(__file__).resolve().parents[2]
import grpo_ref as ref  # noqa: E402
from uae.rl import grpo_torch_loss, logps_from_logits, token_logps  # noqa: E402

DOC = json.loads((ROOT / "tests" / "fixtures" / "grpo" / "worked-examples.json").read_text())
EXAMPLES = DOC["examples"]
TOL = DOC["tolerance"]
IDS = [e["name"] for e in EXAMPLES]


def nan(x):
    """JSON value (None = NaN, nested lists) -> float64 array."""
    if isinstance(x, list):
        return np.asarray([nan(v) for v in x], dtype=np.float64)
    return math.nan if x is None else float(x)


def close(a, b, tol=TOL) -> bool:
    a, b = np.asarray(nan(a) if isinstance(a, list) else a, dtype=np.float64), np.asarray(
        nan(b) if isinstance(b, list) else b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    diff = np.abs(a - b)
    return bool((np.isnan(a) & np.isnan(b) | (diff <= tol) | (diff <= tol * np.abs(b))).all())


def token_arrays(ex) -> dict:
    """Per-token inputs as numpy: the logp form as given; for the logits form the hand-derived log-probs
    (the logits -> log-prob step is checked against rl.token_logps separately)."""
    inp, e = ex["input"], ex["expected"]
    src = e if "logits" in inp else inp
    return {k: None if src.get(k) is None else nan(src[k]) for k in ("logp", "old_logp", "ref_logp", "entropies")}


def case_of(ex) -> dict:
    inp = ex["input"]
    return {**token_arrays(ex), "components": inp["components"], "lengths": np.asarray(inp["lengths"]),
            "truncated": np.asarray(inp["truncated"]), "group_size": inp["group_size"],
            "scale_rewards": inp["scale_rewards"], "reward_std": inp["options"]["reward_std"],
            "length_penalty": None, "options": inp["options"]}


@pytest.mark.parametrize("ex", EXAMPLES, ids=IDS)
def test_reference_matches_worked_example(ex):
    e, case = ex["expected"], case_of(ex)
    out = ref.grpo_report(case)
    adv, loss = out["advantages"], out["loss"]
    assert close(out["rewards"], nan(e["rewards"]))
    for k in ("advantages", "group_mean", "group_std", "std_used"):
        assert close(adv[k], nan(e[k])), k
    for lt, v in e["losses"].items():
        assert close(loss["losses"][lt], v), lt
    assert set(out["metrics"]) == set(e["metrics"]), set(out["metrics"]) ^ set(e["metrics"])
    for k, v in e["metrics"].items():
        assert close(out["metrics"][k], nan(v)), (k, out["metrics"][k], v)
    mask = nan(e["loss_mask"])
    assert close(loss["loss_mask"], mask)
    assert close(loss["per_token_loss"], nan(e["per_token_loss"]))
    assert close(loss["ratio"], nan(e["ratio"]) * mask)
    if e["per_token_kl"] is not None:
        assert close(loss["per_token_kl"], nan(e["per_token_kl"]) * mask)
    for mode in ref.NUM_ITEMS_MODES:
        r = ref.grpo_loss({**case, "advantages": adv["advantages"]}, {**case["options"], "num_items_mode": mode})
        assert close(r["num_items_in_batch"], e["num_items_in_batch"][mode]), mode
        assert close(r["losses"]["dapo"], e["dapo_by_mode"][mode]), mode
    for mode in ref.REWARD_STD_MODES:
        got = ref.group_advantages(out["rewards"], case["group_size"], case["scale_rewards"], mode)["reward_std"]
        assert close(got, nan(e["reward_std_by_mode"][mode])), mode


class _StubDecoder:
    """A caption decoder that returns fixed logits [N,T,V] for the teacher-forced ids [N,T]."""

    def __init__(self, logits):
        self.logits = logits

    def empty_past(self, n):
        return None

    def __call__(self, ids, enc, past):
        assert ids.shape[:2] == self.logits.shape[:2]
        return self.logits, None


class _Stub:
    def __init__(self, logits):
        self.decoder = _StubDecoder(logits)


def stage2_logps(ex, key):
    """rl.token_logps of the example's logits (ids = [BOS] + completion_ids) -> (logp, entropy) float64."""
    inp = ex["input"]
    ids = torch.tensor([[0] + row for row in inp["completion_ids"]], dtype=torch.int64)
    logits = torch.tensor(inp[key], dtype=torch.float64)
    return token_logps(_Stub(logits), None, ids, inp["temperature"])


LOGIT_EXAMPLES = [e for e in EXAMPLES if "logits" in e["input"]]


@pytest.mark.parametrize("ex", LOGIT_EXAMPLES, ids=[e["name"] for e in LOGIT_EXAMPLES])
def test_stage2_logps_and_entropies_use_the_temperature(ex):
    e = ex["expected"]
    mask = torch.tensor(nan(e["ratio"]) != 0, dtype=torch.float64)  # the completion tokens
    for key, want in (("logits", "logp"), ("old_logits", "old_logp"), ("ref_logits", "ref_logp")):
        logp, ent = stage2_logps(ex, key)
        assert close((logp * mask).numpy(), nan(e[want])), key
        if key == "logits":
            assert close((ent * mask).numpy(), nan(e["entropies"]))
    ids = torch.tensor(ex["input"]["completion_ids"])
    plain, _ = logps_from_logits(torch.tensor(ex["input"]["logits"], dtype=torch.float64), ids, 1.0)
    assert not close((plain * mask).numpy(), nan(e["logp"]), 1e-3), "temperature must change the log-probs"


def torch_inputs(ex):
    """(logp leaf with grad, old, ref, adv, lengths, truncated) for grpo_torch_loss, float64; for the logits
    form logp/old/ref come from rl.token_logps of the example's logits at its temperature."""
    inp, e = ex["input"], ex["expected"]
    if "logits" in inp:
        logp = stage2_logps(ex, "logits")[0].detach()
        old = stage2_logps(ex, "old_logits")[0].detach() if inp["old_logits"] is not None else logp.clone()
        ref_lp = stage2_logps(ex, "ref_logits")[0].detach() if inp["ref_logits"] is not None else None
    else:
        logp = torch.tensor(nan(inp["logp"]))
        old = torch.tensor(nan(inp["old_logp"])) if inp["old_logp"] is not None else logp.clone()
        ref_lp = torch.tensor(nan(inp["ref_logp"])) if inp["ref_logp"] is not None else None
    adv = torch.tensor(nan(e["advantages"]))
    return (logp.requires_grad_(True), old, ref_lp, adv, torch.tensor(inp["lengths"]),
            torch.tensor(inp["truncated"], dtype=torch.bool))


def reference_loss(ex, x, opts) -> float:
    """grpo_ref's loss at log-probs x (old/ref/advantages of the example) -> float."""
    case = case_of(ex)
    lp, old, rl_, adv, _, _ = torch_inputs(ex)
    inp = {**case, "logp": x, "old_logp": old.numpy(), "ref_logp": None if rl_ is None else rl_.numpy(),
           "advantages": adv.numpy()}
    return ref.grpo_loss(inp, opts)["loss"]


CASES = [(e, lt, mode) for e in EXAMPLES for lt in ref.LOSS_TYPES
         for mode in (ref.NUM_ITEMS_MODES if lt == "dapo" else ("after_mask",))]


@pytest.mark.parametrize("ex,lt,mode", CASES, ids=[f"{e['name']}-{lt}-{m}" for e, lt, m in CASES])
def test_stage2_torch_loss_value_and_gradient(ex, lt, mode):
    e = ex["expected"]
    opts = {**ex["input"]["options"], "loss_type": lt, "num_items_mode": mode}
    logp, old, ref_lp, adv, lengths, truncated = torch_inputs(ex)
    loss = grpo_torch_loss(logp, old, ref_lp, adv, lengths, truncated, opts)
    want = e["dapo_by_mode"][mode] if lt == "dapo" else e["losses"][lt]
    assert close(loss.item(), want), (lt, mode, loss.item(), want)
    (grad,) = torch.autograd.grad(loss, logp)
    x0, h = logp.detach().numpy().copy(), 1e-6
    fd = np.zeros_like(x0)
    for idx in np.ndindex(*x0.shape):
        xp, xm = x0.copy(), x0.copy()
        xp[idx] += h
        xm[idx] -= h
        fd[idx] = (reference_loss(ex, xp, opts) - reference_loss(ex, xm, opts)) / (2 * h)
    assert np.allclose(grad.numpy(), fd, atol=1e-7, rtol=1e-6), (grad.numpy(), fd)
    assert grad.abs().sum() > 0


def test_worked_examples_file_matches_its_calculator():
    """The JSON on disk is what tests/models/worked_examples_calc.py (plain math) writes."""
    import worked_examples_calc as calc
    assert json.loads(json.dumps(calc.clean(calc.build()))) == DOC, "run tests/models/worked_examples_calc.py"
