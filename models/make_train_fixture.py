"""Write tests/fixtures/train/update.json + update.bin: one GRPO update of the REAL caption decoder
(uae.encoder.CaptionModel, a small seeded configuration) from fixed rollouts, made by stage 2's own
functions (uae.rl: sample_group, token_logps, grpo_torch_loss, grpo_iterations) and torch's AdamW, one
case per loss type. The TypeScript trainer (src/engine/train/update.ts) is checked against it by
tests/unit/train-parity.test.ts; tests/models/test_train_fixture.py checks that it is up to date and that
it is what uae.rl computes.

Each case: weights before (shared), rollouts (shared ids/lengths/truncated/advantages, per-case old and
reference log-probs at the case's temperature), the loss, the per-token log-probs before the update, the
gradient norm before clipping, and the per-token log-probs and logits after the update.

Usage: ${UAE_PYTHON:-/usr/bin/python3} models/make_train_fixture.py [--check]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

import grpo_ref
from uae import config as C
from uae.common import TOKENIZER_PATH, load_tokenizer
from uae.encoder import CaptionModel
from uae.rl import grpo_iterations, grpo_torch_loss, sample_group, token_logps

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "fixtures" / "train"
JSON_NAME, BIN_NAME = "update.json", "update.bin"
SEED = 20251203
IMAGES, GROUP = 3, 4
SAMPLE_TEMPERATURE = 1.5  # the rollouts' sampling temperature: a mix of terminated and truncated rows
# a small decoder: the tiny preset's width with two layers, so the layer stack is exercised
ARCH = dict(dim=32, heads=2, layers=2)
# one update per loss type; lr is larger than the preset's 3e-5 so that the weights after it differ by far
# more than the parity tolerance; one case runs AdamW's decoupled weight decay, one has no KL (beta = 0)
CASES = [
    dict(name="dapo", loss_type="dapo", beta=0.1, epsilon_low=0.2, epsilon_high=0.28, temperature=1.0, lr=1e-3,
         weight_decay=0.0),
    dict(name="grpo", loss_type="grpo", beta=0.04, epsilon_low=0.2, epsilon_high=0.28, temperature=0.7, lr=1e-3,
         weight_decay=0.0),
    dict(name="dr_grpo", loss_type="dr_grpo", beta=0.0, epsilon_low=0.2, epsilon_high=0.28, temperature=1.0, lr=1e-3,
         weight_decay=0.0),
    dict(name="bnpo", loss_type="bnpo", beta=0.1, epsilon_low=0.1, epsilon_high=0.1, temperature=1.0, lr=2e-3,
         weight_decay=0.01),
]
TOL = 1e-5


def seeded_weights(model, gen):
    """Re-draws the decoder's weights (LayerNorm weights near 1, small biases, unit-scale embeddings,
    1/sqrt(fan_in) linears): the default init (embeddings at std 0.02) gives nearly uniform captions."""
    with torch.no_grad():
        for name, p in model.decoder.named_parameters():
            n = torch.randn(p.shape, generator=gen)
            if name.endswith(".bias"):
                p.copy_(0.02 * n)
            elif p.dim() == 1:
                p.copy_(1 + 0.1 * n)
            elif name.startswith(("tok.", "pos.")):
                p.copy_(0.5 * n)
            else:
                p.copy_(n / math.sqrt(p.shape[1]))


def perturbed(model, scale, gen):
    """A copy of `model` with N(0, scale^2) added to every decoder weight (an older / reference policy)."""
    other = copy.deepcopy(model)
    with torch.no_grad():
        for p in other.decoder.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen))
    return other


def rl_options(case):
    """uae.rl.run's opts for a case (its preset fields + the fixed ones)."""
    opts = {k: case[k] for k in ("epsilon_low", "epsilon_high", "beta", "loss_type")}
    opts.update(max_completion_length=C.MAX_LEN - 1, mask_truncated_completions=False, num_items_mode="after_mask")
    return opts


def run_case(case, base, old_model, ref_model, enc_g, ids, lengths, truncated, advantages):
    """One update as uae.rl.run does it -> (json entry, {tensor name: float32 array})."""
    policy = copy.deepcopy(base)
    params = [p for p in policy.decoder.parameters()]
    opt = torch.optim.AdamW(params, lr=case["lr"], weight_decay=case["weight_decay"])
    temp, opts = case["temperature"], rl_options(case)
    with torch.no_grad():
        old_logp, _ = token_logps(old_model, enc_g, ids, temp)
        ref_logp, _ = token_logps(ref_model, enc_g, ids, temp)
    adv = torch.tensor(advantages, dtype=torch.float32)
    # the gradient norm before clipping (grpo_iterations clips and drops it): the same loss, its own backward
    logp, _ = token_logps(policy, enc_g, ids, temp)
    loss = grpo_torch_loss(logp, old_logp, ref_logp, adv, lengths, truncated, opts)
    loss.backward()
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, math.inf))
    opt.zero_grad()
    policy.train()
    logged = grpo_iterations(policy, opt, params, enc_g, ids, lengths, truncated, old_logp, ref_logp, advantages, opts,
                             1, temp)
    assert logged["loss"] == float(loss), (logged["loss"], float(loss))
    policy.eval()
    with torch.no_grad():
        logits, _ = policy.decoder(ids[:, :-1], enc_g, policy.decoder.empty_past(ids.shape[0]))
        logp_after, _ = token_logps(policy, enc_g, ids, temp)
    n = case["name"]
    tensors = {f"{n}/old_logp": old_logp, f"{n}/ref_logp": ref_logp, f"{n}/logp_before": logp.detach(),
               f"{n}/logp_after": logp_after, f"{n}/logits_after": logits}
    entry = {"name": n, "options": {**opts, "temperature": temp, "lr": case["lr"], "betas": [0.9, 0.999], "eps": 1e-8,
                                    "weight_decay": case["weight_decay"], "max_grad_norm": 1.0},
             "loss": float(loss), "grad_norm": grad_norm, "metrics": logged}
    return entry, {k: v.numpy().astype(np.float32) for k, v in tensors.items()}


def build():
    """-> (json body, {tensor name: float32 array}) of the fixture."""
    old_dtype, old_threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)
    try:
        tok = load_tokenizer(TOKENIZER_PATH)
        arch = dict(ARCH, vocab=tok.vocab_size, max_len=C.MAX_LEN)
        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED)
        base = CaptionModel(dict(arch, vision_layers=1)).eval()
        seeded_weights(base, gen)
        px = torch.rand((IMAGES, 3, C.IMAGE_SIZE, C.IMAGE_SIZE), generator=gen) * 2 - 1
        with torch.no_grad():
            enc = base.vision(px)
            ids, lengths, truncated = sample_group(base, enc, GROUP, SAMPLE_TEMPERATURE, gen, tok)
        enc_g = enc.repeat_interleave(GROUP, 0)
        rewards = torch.rand(IMAGES * GROUP, generator=gen).double().numpy()
        advantages = grpo_ref.group_advantages(rewards, GROUP, "group")["advantages"]
        old_model, ref_model = perturbed(base, 0.03, gen), perturbed(base, 0.05, gen)
        tensors = {f"params/{k}": v.detach().numpy().astype(np.float32) for k, v in base.decoder.named_parameters()}
        tensors["enc"] = enc.numpy().astype(np.float32)
        cases = []
        for case in CASES:
            entry, arrays = run_case(case, base, old_model, ref_model, enc_g, ids, lengths, truncated, advantages)
            cases.append(entry)
            tensors.update(arrays)
    finally:
        torch.set_default_dtype(old_dtype)
        torch.set_num_threads(old_threads)
    index, offset = {}, 0
    for k, v in tensors.items():
        index[k] = {"offset": offset, "shape": list(v.shape)}
        offset += v.size
    body = {
        "generator": "models/make_train_fixture.py",
        "reference": "models/uae/rl.py (sample_group, token_logps, grpo_torch_loss, grpo_iterations) + torch.optim.AdamW",
        "seed": SEED, "torch": torch.__version__,
        "arch": arch, "tokens": {"bos": tok.bos_id, "eos": tok.eos_id, "pad": tok.pad_id},
        "images": IMAGES, "group": GROUP,
        "layout": "ids [N][max_len] ([BOS] completion [PAD]...), rows image after image (G rollouts each); token arrays "
                  "[N][max_len-1] teacher-forced on ids[:, 1:]; lengths = completion tokens (EOS included when "
                  "terminated; a truncated row, no EOS, counts its sampled tokens); enc [images][64][dim], repeated G "
                  "times; params/<torch name> in torch layout (Linear weight [out, in]); bin = float32 little endian, "
                  "offsets in elements",
        "ids": ids.tolist(), "lengths": lengths.tolist(), "truncated": [int(t) for t in truncated.tolist()],
        "advantages": [float(a) for a in advantages],
        "bin": BIN_NAME, "tensors": index, "cases": cases,
    }
    return body, tensors


def pack(tensors):
    """The bin file's bytes: every tensor flattened, float32 little endian, in index order."""
    return np.concatenate([v.ravel() for v in tensors.values()]).astype("<f4").tobytes()


def load(out_dir=OUT_DIR):
    """-> (json body, {tensor name: float32 array}) read from disk."""
    body = json.loads((out_dir / JSON_NAME).read_text())
    blob = np.frombuffer((out_dir / body["bin"]).read_bytes(), dtype="<f4")
    tensors = {}
    for k, e in body["tensors"].items():
        size = int(np.prod(e["shape"]))
        tensors[k] = blob[e["offset"]: e["offset"] + size].reshape(e["shape"])
    return body, tensors


def same(a, b, tol=TOL):
    """Structural equality with floats (and float arrays) equal to `tol`, absolute or relative."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k], tol) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))
    if isinstance(a, float) and isinstance(b, (int, float)):
        return abs(a - b) <= tol * max(1.0, abs(b))
    return a == b


def stale(built, on_disk):
    """Names of the parts of the fixture that differ from a fresh build (empty when up to date)."""
    (body, tensors), (disk_body, disk_tensors) = built, on_disk
    keys = [k for k in body if k not in ("torch", "cases", "tensors")]
    out = [k for k in keys if not same(json.loads(json.dumps(body[k])), disk_body.get(k))]
    out += [f"cases/{c['name']}" for c, d in zip(body["cases"], disk_body["cases"]) if not same(c, d)]
    if len(body["cases"]) != len(disk_body["cases"]) or body["tensors"] != disk_body["tensors"]:
        out.append("layout")
    else:
        out += [k for k in tensors if not same(tensors[k], disk_tensors[k])]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="exit 1 if the files on disk differ from a fresh build")
    args = ap.parse_args()
    body, tensors = build()
    if args.check:
        if not (OUT_DIR / JSON_NAME).exists():
            print(f"missing: {OUT_DIR / JSON_NAME}")
            return 1
        diff = stale((body, tensors), load())
        print("stale: " + ", ".join(diff) if diff else "fixture up to date")
        return 1 if diff else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(body, indent=1) + "\n"
    (OUT_DIR / JSON_NAME).write_text(text)
    data = pack(tensors)
    (OUT_DIR / BIN_NAME).write_bytes(data)
    print(f"wrote {OUT_DIR / JSON_NAME} ({len(text)} bytes), {OUT_DIR / BIN_NAME} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
