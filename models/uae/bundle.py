"""Builds a model bundle from trained checkpoints: ONNX export, manifest, parity fixtures.

Usage (from models/): /usr/bin/python3 -m uae.bundle [--config full|tiny] [--out DIR] [--fixtures FILE]
"""
import argparse
import copy
import json
import os
import shutil

import torch

from . import config as C
from .checkpoints import final_stage2_encoder, load_models, run_meta, stage2_snapshots, stage3_reward
from .common import REPO, TOKENIZER_PATH, ensure_data, load_tokenizer, setup, to_pixels, work_dir
from .export import _VaeDecode, export_caption_model, export_decoder, export_scorer, round_to_fp16, write_manifest
from .infer import greedy_captions


MAX_CHECKPOINTS = 10   # stage-2 checkpoints a bundle carries besides the cold start (~1.2 MB each; bundles ≤ 25 MB)


def bundled_snapshots(snaps, limit=MAX_CHECKPOINTS):
    """The stage-2 snapshots [(step, path)] a bundle carries: the cold start, then every k-th of the others, k the
    smallest stride that keeps at most `limit`, counted back from the last (which is always kept)."""
    rest = [s for s in snaps if s[0] != 0]
    k = max(1, -(-len(rest) // limit))
    return [s for s in snaps if s[0] == 0] + rest[::-1][::k][::-1]


def rl_artifacts(cold_start, out_dir, name="rl_encoder"):
    """Exports stage-2 snapshots (caption decoder weights; at most MAX_CHECKPOINTS besides the cold start) as
    encoder checkpoints and copies the run log into the bundle -> {io, checkpoints, runs}, or None when no RL run
    exists."""
    snaps = bundled_snapshots(stage2_snapshots(name))
    log = work_dir("logs", f"{name}.jsonl")
    if not snaps or not os.path.exists(log):
        return None
    io, checkpoints = {}, []
    for step, path in snaps:
        if step == 0:  # the cold start itself: same graphs as the encoder / referenceEncoder roles
            checkpoints.append({"step": 0, "label": "cold start (step 0)",
                                "encoder": {"vision": "encoder/encoder_model.onnx",
                                            "decoder": "encoder/decoder_model_merged.onnx"}})
            continue
        model = copy.deepcopy(cold_start)
        model.decoder.load_state_dict(torch.load(path))
        round_to_fp16(model)
        prefix = f"checkpoints/step-{step:04d}"
        ck_io, role = export_caption_model(model, out_dir, prefix, vision_path="encoder/encoder_model.onnx")
        io.update(ck_io)
        checkpoints.append({"step": step, "label": f"GRPO step {step}",
                            "encoder": {"vision": role["vision"], "decoder": role["decoder"]}})
    return {"io": io, "checkpoints": checkpoints, "runs": recorded_runs(out_dir)}


def stage2_label():
    """The stage-2 run's label: its reward (and length penalty), and the trainer when uae.from_bundle --stage2
    imported it from the TypeScript trainer (models/work/logs/rl_encoder.meta.json)."""
    meta = run_meta()
    if meta is None:
        return "Stage 2: GRPO on the encoder (reward = sim)"
    reward = meta.get("reward", "sim")
    if meta.get("length_penalty", "none") != "none":
        reward += f", length penalty {meta['length_penalty']}"
    return f"Stage 2: GRPO on the encoder by uae train (reward = {reward})"


def recorded_runs(out_dir):
    """Copies the stage-2 and stage-3 run logs that exist into <bundle>/runs -> manifest run entries."""
    runs = []
    for stage, name, rid, label in (
            ("2", "rl_encoder", "stage2-grpo", stage2_label()),
            ("3", "rl_flow", "stage3-flow-grpo",
             f"Stage 3: Flow-GRPO on the decoder (reward = {stage3_reward()})")):
        log = work_dir("logs", f"{name}.jsonl")
        if os.path.exists(log):
            os.makedirs(os.path.join(out_dir, "runs"), exist_ok=True)
            shutil.copyfile(log, os.path.join(out_dir, "runs", f"{rid}.jsonl"))
            runs.append({"id": rid, "label": label, "stage": stage, "path": f"runs/{rid}.jsonl"})
    return runs


def _arr(t):
    return [round(float(v), 7) for v in t.detach().reshape(-1).tolist()]


@torch.no_grad()
def parity_fixture(m, cfg, tok, images, records, steps=4):
    """PyTorch reference outputs of every exported graph on held-out inputs (JSON-serialisable)."""
    px = to_pixels(images[:2])
    enc = m["encoder"]
    hidden = enc.vision(px)
    ids = greedy_captions(enc, px, tok.bos_id, tok.eos_id, tok.pad_id)
    # step-by-step cached logits of image 0, for multi-step cached decoding parity
    past = enc.decoder.empty_past(1)
    cur = ids[:1, :1]
    step_logits = []
    for pos in range(1, ids.shape[1]):
        logits, past = enc.decoder(cur, hidden[:1], past)
        step_logits.append(_arr(logits[0, -1]))
        cur = ids[:1, pos:pos + 1]
        if int(ids[0, pos]) == tok.eos_id:
            break
    caption_ids = [int(v) for v in ids[0] if int(v) != tok.pad_id]
    text_ids = torch.tensor([[tok.pad_id] * C.MAX_LEN])
    seq = [tok.bos_id] + tok.encode(records[0]["captions"][4]) + [tok.eos_id]
    text_ids[0, : len(seq)] = torch.tensor(seq)
    ctx, _ = m["flow"].text(text_ids)
    c = cfg["flow"]["latent_channels"]
    g = torch.Generator().manual_seed(123)
    noise = torch.randn((1, c, 8, 8), generator=g)
    t = torch.tensor([0.7])
    vel = m["flow"].flow(noise, t, ctx)
    vae = _VaeDecode(m["ae"], m["scale"], m["shift"])
    image = vae(noise)
    # full Euler run from the stored noise, so the TS sampler loop is checked too
    x = noise.clone()
    ts = torch.linspace(1.0, 0.0, steps + 1)
    for i in range(steps):
        x = x + float(ts[i + 1] - ts[i]) * m["flow"].flow(x, torch.full((1,), float(ts[i])), ctx)
    euler_image = vae(x)
    sc = m["scorer"]
    return {
        "pixel_values": _arr(px[:1]), "scene_seed": records[0]["seed"],
        "last_hidden_state": _arr(hidden[:1]), "hidden_dims": list(hidden[:1].shape),
        "greedy_ids": caption_ids, "greedy_text": tok.decode(caption_ids), "step_logits": step_logits,
        "text_input_ids": text_ids[0].tolist(), "text_states": _arr(ctx),
        "noise": _arr(noise), "timestep": 0.7, "velocity": _arr(vel), "vae_image": _arr(image),
        "euler_steps": steps, "euler_image": _arr(euler_image),
        "image_embeds": _arr(sc.image(px[:1])), "text_embeds": _arr(sc.text(text_ids)),
    }


def build(cfg, out_dir, fixture_path, bundle_id, name, variant=None):
    """Exports the bundle. variant 'flowgrpo': the encoder is stage 2's last checkpoint (no checkpoint
    list), the decoder stage 3's refined flow transformer, and no parity fixture is written."""
    tok = load_tokenizer(TOKENIZER_PATH)
    m = load_models(cfg, tok, "rl_flow" if variant == "flowgrpo" else "flow")
    if variant == "flowgrpo":
        final_stage2_encoder(m["encoder"])
        round_to_fp16(m["encoder"])
    os.makedirs(out_dir, exist_ok=True)
    io, roles = {}, {}
    enc_io, roles["encoder"] = export_caption_model(m["encoder"], out_dir, "encoder")
    io.update(enc_io)
    roles["referenceEncoder"] = dict(roles["encoder"])
    extra_files = []
    rl = rl_artifacts(m["encoder"], out_dir) if variant is None else None
    if variant == "flowgrpo":
        roles["runs"] = recorded_runs(out_dir)
        extra_files += [r["path"] for r in roles["runs"]]
    if rl is not None:
        # the cold-start encoder stays as the reference policy; the encoder role becomes RL's last checkpoint
        io.update(rl["io"])
        roles["checkpoints"] = rl["checkpoints"]
        roles["runs"] = rl["runs"]
        last = rl["checkpoints"][-1]["encoder"]
        roles["encoder"] = dict(roles["encoder"], vision=last["vision"], decoder=last["decoder"])
        extra_files += [r["path"] for r in rl["runs"]]
    dec_io, roles["decoder"] = export_decoder(m["flow"], m["ae"], m["scale"], m["shift"], cfg["flow"], out_dir)
    io.update(dec_io)
    sc_io, roles["scorer"] = export_scorer(m["scorer"], cfg["scorer"], out_dir)
    io.update(sc_io)
    desc = ("Reference Unified Auto-Encoder trained on the procedural Shapes domain: a caption encoder "
            "(I2T), a latent rectified-flow decoder (T2I) and a CLIP-style scorer.")
    if variant == "flowgrpo":
        desc += (" Variant after stage 3: the encoder is stage 2's final GRPO checkpoint and the flow "
                 "transformer is refined by Flow-GRPO.")
    extra = [p for p in ("MODEL_CARD.md",) if os.path.exists(os.path.join(out_dir, p))] + extra_files
    manifest = write_manifest(out_dir, bundle_id, name, desc, io, roles, TOKENIZER_PATH, extra)
    total = sum(e["bytes"] for e in manifest["files"])
    if variant is not None:
        print(json.dumps({"bundle": out_dir, "files": len(manifest["files"]), "bytes": total}))
        return manifest
    data = ensure_data(cfg["data"])
    images, records = data["heldout"]
    fx = parity_fixture(m, cfg, tok, images, records)
    fx["bundle"] = bundle_id
    # the caption numbers are those of the cold-start encoder, i.e. the referenceEncoder role's graphs
    fx["caption_role"] = "referenceEncoder"
    os.makedirs(os.path.dirname(fixture_path), exist_ok=True)
    with open(fixture_path, "w") as f:
        json.dump(fx, f)
    print(json.dumps({"bundle": out_dir, "files": len(manifest["files"]), "bytes": total}))
    return manifest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="full", choices=["full", "tiny"])
    ap.add_argument("--out", default=os.path.join(REPO, "public", "models", "uae-shapes"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "tests", "fixtures", "parity", "uae-shapes.json"))
    ap.add_argument("--id", default="uae-shapes")
    ap.add_argument("--name", default="UAE Shapes (reference)")
    ap.add_argument("--variant", default=None, choices=["flowgrpo"])
    a = ap.parse_args()
    setup(0)
    build(C.get(a.config), a.out, a.fixtures, a.id, a.name, a.variant)


if __name__ == "__main__":
    main()
