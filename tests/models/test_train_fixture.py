"""The trainer's parity fixture (tests/fixtures/train, models/make_train_fixture.py), the PyTorch side:

- it is up to date: a fresh build equals the files on disk;
- replayed from the files alone, uae.rl's update gives the recorded numbers: weights loaded into a fresh
  CaptionDecoder, token_logps / grpo_torch_loss / clip_grad_norm_ / grpo_iterations with torch's AdamW reproduce
  the loss, the log-probs before, the gradient norm and the log-probs and logits after (tests/unit/train-parity.test.ts
  is the same replay in jax-js);
- it covers every loss type, truncated and terminated rows, clipping and KL, and stays small.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch") if os.environ.get("CI") != "true" else __import__("torch")
import make_train_fixture as mk  # noqa: E402
from uae.encoder import CaptionDecoder  # noqa: E402
from uae.rl import grpo_iterations, grpo_torch_loss, token_logps  # noqa: E402

TOL = 1e-5


@pytest.fixture(scope="module")
def on_disk():
    return mk.load()


class Policy(torch.nn.Module):
    """What uae.rl's functions read of the policy: its caption decoder."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder


def replay(body, tensors, case):
    """One update from the fixture's files as uae.rl.run does it -> {name: value}."""
    a = body["arch"]
    dec = CaptionDecoder(a["vocab"], a["dim"], a["heads"], a["layers"], a["max_len"])
    state = {k[len("params/"):]: torch.tensor(np.array(v)) for k, v in tensors.items() if k.startswith("params/")}
    dec.load_state_dict(state, strict=True)
    policy = Policy(dec)
    params = list(dec.parameters())
    o = case["options"]
    opt = torch.optim.AdamW(params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weight_decay"])
    enc_g = torch.tensor(np.array(tensors["enc"])).repeat_interleave(body["group"], 0)
    ids = torch.tensor(body["ids"], dtype=torch.int64)
    lengths = torch.tensor(body["lengths"], dtype=torch.int64)
    truncated = torch.tensor(body["truncated"], dtype=torch.bool)
    adv_np = np.array(body["advantages"], dtype=np.float64)
    old = torch.tensor(np.array(tensors[f"{case['name']}/old_logp"]))
    ref = torch.tensor(np.array(tensors[f"{case['name']}/ref_logp"]))
    opts = {k: o[k] for k in ("epsilon_low", "epsilon_high", "beta", "loss_type", "max_completion_length",
                              "mask_truncated_completions", "num_items_mode")}
    temp = o["temperature"]
    logp, _ = token_logps(policy, enc_g, ids, temp)
    loss = grpo_torch_loss(logp, old, ref, torch.tensor(adv_np, dtype=torch.float32), lengths, truncated, opts)
    loss.backward()
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, math.inf))
    opt.zero_grad()
    logged = grpo_iterations(policy, opt, params, enc_g, ids, lengths, truncated, old, ref, adv_np, opts, 1, temp)
    with torch.no_grad():
        after, _ = token_logps(policy, enc_g, ids, temp)
        logits, _ = dec(ids[:, :-1], enc_g, dec.empty_past(ids.shape[0]))
    return {"loss": float(loss), "grad_norm": grad_norm, "logged": logged, "logp_before": logp.detach().numpy(),
            "logp_after": after.numpy(), "logits_after": logits.numpy()}


def test_fixture_is_up_to_date(on_disk, float32):
    diff = mk.stale(mk.build(), on_disk)
    assert not diff, f"stale: {diff}; run models/make_train_fixture.py"


@pytest.mark.parametrize("name", [c["name"] for c in mk.CASES])
def test_replay_from_the_files_gives_the_recorded_update(on_disk, name, float32):
    body, tensors = on_disk
    case = next(c for c in body["cases"] if c["name"] == name)
    got = replay(body, tensors, case)
    assert got["loss"] == pytest.approx(case["loss"], rel=TOL, abs=TOL)
    assert got["logged"]["loss"] == pytest.approx(case["loss"], rel=TOL, abs=TOL)
    assert got["grad_norm"] == pytest.approx(case["grad_norm"], rel=TOL, abs=TOL)
    for k in ("logp_before", "logp_after", "logits_after"):
        np.testing.assert_allclose(got[k], tensors[f"{name}/{k}"], rtol=TOL, atol=TOL, err_msg=k)
    # the update moved the policy far beyond the parity tolerance (1e-4)
    assert np.abs(got["logp_after"] - got["logp_before"]).max() > 1e-2
    for k, v in case["metrics"].items():
        if v is not None:
            assert got["logged"][k] == pytest.approx(v, rel=TOL, abs=TOL), k


def test_fixture_covers_every_loss_type_and_stays_small(on_disk):
    body, tensors = on_disk
    assert sorted(c["options"]["loss_type"] for c in body["cases"]) == sorted(["grpo", "bnpo", "dr_grpo", "dapo"])
    assert 0 < sum(body["truncated"]) < len(body["truncated"])  # truncated (no EOS) and terminated rows
    lengths, width = np.array(body["lengths"]), body["arch"]["max_len"] - 1
    ids = np.array(body["ids"])
    for i, (n, t) in enumerate(zip(lengths, body["truncated"])):
        assert (ids[i, 1 + n:] == body["tokens"]["pad"]).all()
        assert (ids[i, n] == body["tokens"]["eos"]) == (not t)
        assert n == width or not t
    for c in body["cases"]:
        m = c["metrics"]
        assert m["clip_ratio/region_mean"] > 0, c["name"]
        assert (m.get("kl") or 0) > 0 or c["options"]["beta"] == 0, c["name"]
    size = sum((mk.OUT_DIR / f).stat().st_size for f in (mk.JSON_NAME, body["bin"]))
    assert size < 2 * 2**20
    assert sum(int(np.prod(e["shape"])) for e in body["tensors"].values()) * 4 == (mk.OUT_DIR / body["bin"]).stat().st_size
