"""Checkpoints of the training stages under models/work/ckpt: saving and resuming a stage, the stage-2
snapshots, and loading every trained model for evaluation, RL and export."""
import glob
import os

import numpy as np
import torch

from . import config as C
from .common import work_dir
from .encoder import CaptionModel
from .export import round_to_fp16
from .flow_decoder import FlowDecoder, LatentAutoEncoder
from .scorer import Scorer

PROBE_PREFIX = "attr_head."   # the training-only attribute probe (uae.labels.AttributeHead), never exported


def without_probe(state):
    """A checkpoint's model state without the training-only attribute probe's weights."""
    return {k: v for k, v in state.items() if not k.startswith(PROBE_PREFIX)}


class Checkpoint:
    """Saves/resumes a stage's model, optimiser and step under models/work/ckpt/<stage>.pt."""

    def __init__(self, stage):
        self.path = work_dir("ckpt", f"{stage}.pt")

    def load(self, model, opt):
        if not os.path.exists(self.path):
            return 0
        state = torch.load(self.path)
        # weights recovered from a bundle (uae.from_bundle) lack the training-only attribute probe
        res = model.load_state_dict(state["model"], strict=False)
        if res.unexpected_keys or any(not k.startswith(PROBE_PREFIX) for k in res.missing_keys):
            raise RuntimeError(f"{self.path}: does not fit the model: missing {res.missing_keys}, "
                               f"unexpected {res.unexpected_keys}")
        if opt is not None and state.get("opt"):
            opt.load_state_dict(state["opt"])
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["np_rng"])
        return state["step"]

    def save(self, model, opt, step, extra=None):
        state = {"model": model.state_dict(), "opt": opt.state_dict() if opt else None, "step": step,
                 "torch_rng": torch.get_rng_state(), "np_rng": np.random.get_state()}
        state.update(extra or {})
        tmp = self.path + ".tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.path)


def snapshot_path(name, step):
    """Path of stage 2's caption-decoder weights at `step`: models/work/ckpt/<name>-snapshots/step-NNNN.pt."""
    return os.path.join(work_dir("ckpt", f"{name}-snapshots"), f"step-{step:04d}.pt")


def stage2_snapshots(name="rl_encoder"):
    """Stage 2's caption-decoder snapshots -> [(step, path)] in step order (empty when stage 2 has not run)."""
    paths = sorted(glob.glob(os.path.join(work_dir("ckpt", f"{name}-snapshots"), "step-*.pt")))
    return [(int(os.path.basename(p)[5:9]), p) for p in paths]


def run_meta(name="rl_encoder"):
    """How an RL run was trained (models/work/logs/NAME.meta.json), or None: rl_encoder's is written when uae.from_bundle
    --stage2 imports stage 2, rl_flow's (and an ablation's) by uae.rl_flow."""
    import json
    p = work_dir("logs", f"{name}.meta.json")
    return json.load(open(p)) if os.path.exists(p) else None


def stage3_reward():
    """The reward the stage 3 in models/work was trained with (`sim` for runs from before rl_flow.meta.json)."""
    return (run_meta("rl_flow") or {}).get("reward", "sim")


def read_log(stage):
    """A run's log rows (models/work/logs/STAGE.jsonl), [] when it has not run."""
    import json
    path = work_dir("logs", f"{stage}.jsonl")
    return [json.loads(line) for line in open(path)] if os.path.exists(path) else []


def final_stage2_encoder(encoder, name="rl_encoder"):
    """Loads stage 2's last caption-decoder snapshot into `encoder` (in place) -> its step, or 0."""
    snaps = stage2_snapshots(name)
    if not snaps:
        return 0
    step, path = snaps[-1]
    encoder.decoder.load_state_dict(torch.load(path))
    return step


def load_ae(cfg, refined=True, need_encoder=False):
    """The latent auto-encoder (the refined decoder when that stage has run) -> (model, scale, shift).
    With `need_encoder` (latents of images: the flow and ae_decoder stages), a checkpoint recovered from a bundle by
    uae.from_bundle is refused: a bundle has no image encoder, so its encoder weights are not trained ones."""
    model = LatentAutoEncoder(cfg["ae"]["channels"])
    state = torch.load(Checkpoint("ae").path)
    if need_encoder and state.get("imported_from"):
        raise SystemExit(
            f"{Checkpoint('ae').path} was recovered from a bundle ({state['imported_from']}) and has no image encoder, "
            "so it cannot make the latents this stage trains on. Move it aside and retrain it: `python3 -m uae.train "
            "--stage ae` (about 7 min here; with the same seed it reproduces the shipped latent decoder, "
            "docs/backbones.md).")
    model.load_state_dict(state["model"], strict=False)
    if refined and os.path.exists(Checkpoint("ae_decoder").path):
        model.load_state_dict(torch.load(Checkpoint("ae_decoder").path)["model"])
    return model.eval(), state["scale"], state["shift"]


def load_models(cfg, tok, flow_stage="flow"):
    """Loads every trained stage from models/work/ckpt -> dict of eval-mode modules. `flow_stage`
    'rl_flow' takes the decoder refined by stage 3 (Flow-GRPO) instead of the pre-trained one."""
    ae, scale, shift = load_ae(cfg)
    flow = FlowDecoder(cfg["flow"], tok.vocab_size, tok.pad_id)
    state = torch.load(Checkpoint(flow_stage).path)
    flow.load_state_dict(state["ema"] if flow_stage == "flow" else state["model"])
    enc = CaptionModel(dict(cfg["encoder"], vocab=tok.vocab_size, max_len=C.MAX_LEN))
    enc.load_state_dict(without_probe(torch.load(Checkpoint("encoder").path)["model"]))
    sc = Scorer(dict(cfg["scorer"], vocab=tok.vocab_size, max_len=C.MAX_LEN, pad_id=tok.pad_id))
    sc.load_state_dict(without_probe(torch.load(Checkpoint("scorer").path)["model"]))
    for mod in (ae, flow, enc, sc):
        round_to_fp16(mod)
    return {"ae": ae, "scale": scale, "shift": shift, "flow": flow.eval(), "encoder": enc.eval(),
            "scorer": sc.eval()}
