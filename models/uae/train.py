"""Training stages of the reference UAE: latent auto-encoder, flow decoder, caption encoder, scorer.

Usage: /usr/bin/python3 -m uae.train --stage {ae,flow,encoder,scorer,all} [--config full|tiny]
(run from models/). Every stage resumes from models/work/ckpt/<stage>.pt.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import config as C
from .checkpoints import Checkpoint, load_ae
from .common import (Captions, Log, TOKENIZER_PATH, cosine_lr, encode_texts, ensure_data, load_tokenizer,
                     recorded_times, setup, to_pixels, work_dir)
from .encoder import CaptionModel
from .flow_decoder import FlowDecoder, LatentAutoEncoder
from .infer import empty_caption_ids
from .labels import AttributeHead, scene_targets
from .scorer import Scorer
from .vocab import COLOURS, SHAPES, SIZES

SAVE_EVERY = 250


def batches(n, batch, rng):
    """Endless stream of random index batches over n items."""
    while True:
        yield rng.integers(0, n, size=batch)


class EMA:
    """Exponential moving average of a model's weights (the exported weights of the flow decoder)."""

    def __init__(self, model, decay):
        import copy
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model):
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.mul_(self.decay).add_(p.detach(), alpha=1 - self.decay)


def _loop(stage, model, params, hp, step_fn, log_every=50, ema=None, schedule_from=0, warmup=100):
    """Generic resumable optimisation loop; step_fn(step, rng) -> dict of scalar losses (tensor 'loss').
    With `ema`, the learning rate stays constant after warm-up and the EMA weights are checkpointed.
    `schedule_from` starts the warm-up + cosine schedule at that step (a second phase of a stage)."""
    opt = torch.optim.AdamW(params, lr=hp["lr"], weight_decay=0.01)
    ck = Checkpoint(stage)
    start = ck.load(model, opt)
    if ema is not None and start > 0:
        ema.model.load_state_dict(torch.load(ck.path)["ema"])
    log = Log(stage)
    rng = np.random.default_rng(1000 + start)
    t0 = time.time()
    for step in range(start, hp["steps"]):
        lr = cosine_lr(opt, hp["lr"], step - schedule_from,
                       hp["steps"] - schedule_from if ema is None else 10 ** 9, warmup)
        out = step_fn(step, rng)
        opt.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if ema is not None:
            ema.update(model)
        if step % log_every == 0 or step == hp["steps"] - 1:
            log(step=step, lr=lr, **{k: round(float(v), 5) for k, v in out.items()},
                s_per_step=round((time.time() - t0) / (step - start + 1), 3))
        if (step + 1) % SAVE_EVERY == 0 or step == hp["steps"] - 1:
            ck.save(model, opt, step + 1, {"ema": ema.model.state_dict()} if ema is not None else None)
    return model


def train_ae(cfg, data):
    hp = cfg["ae"]
    model = LatentAutoEncoder(hp["channels"])
    images = data["train"][0]

    def step(i, rng):
        x = to_pixels(images[rng.integers(0, len(images), hp["batch"])])
        z = model.encode(x)
        z = z + hp["latent_noise"] * z.detach().std() * torch.randn_like(z)
        y = model.decode(z)
        l1, l2 = (y - x).abs().mean(), (y - x).pow(2).mean()
        return {"loss": l1 + l2, "l1": l1, "mse": l2}

    _loop("ae", model, list(model.parameters()), hp, step)
    model.eval()
    with torch.no_grad():
        z = model.encode(to_pixels(images[:2048]))
        scale = float(1.0 / z.std())
        shift = float(z.mean())
    Checkpoint("ae").save(model, None, hp["steps"], {"scale": scale, "shift": shift})
    return model, scale, shift


def train_ae_decoder(cfg, data):
    """Refines the latent decoder with the encoder frozen, so the latents the flow was trained on stay
    exactly the same; the decoder also sees latent noise, as generated latents are imperfect."""
    hp = dict(cfg["ae"], steps=cfg["ae"]["decoder_steps"])
    model, scale, shift = load_ae(cfg, refined=False, need_encoder=True)
    images = data["train"][0]
    for p in model.enc.parameters():
        p.requires_grad_(False)

    def step(i, rng):
        x = to_pixels(images[rng.integers(0, len(images), hp["batch"])])
        with torch.no_grad():
            z = model.encode(x)
        z = z + hp["latent_noise"] * z.std() * torch.randn_like(z)
        y = model.decode(z)
        l1, l2 = (y - x).abs().mean(), (y - x).pow(2).mean()
        return {"loss": l1 + l2, "l1": l1, "mse": l2}

    _loop("ae_decoder", model, [p for p in model.parameters() if p.requires_grad], hp, step)
    Checkpoint("ae_decoder").save(model, None, hp["steps"], {"scale": scale, "shift": shift})
    return model


def latents_of(ae, scale, shift, images, batch=512):
    """Scaled latents [N,C,8,8] of uint8 images, cached under models/work."""
    path = work_dir("cache", f"latents-{len(images)}.npy")
    try:
        return np.load(path)
    except FileNotFoundError:
        pass
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            out.append(((ae.encode(to_pixels(images[i:i + batch])) - shift) * scale).numpy())
    z = np.concatenate(out).astype(np.float32)
    np.save(path, z)
    return z


def train_flow(cfg, data, tok):
    hp = cfg["flow"]
    ae, scale, shift = load_ae(cfg, need_encoder=True)
    z_all = latents_of(ae, scale, shift, data["train"][0])
    caps = Captions(data["train"][1], tok)
    model = FlowDecoder(hp, tok.vocab_size, tok.pad_id)
    empty = empty_caption_ids(tok)

    def step(i, rng):
        idx = rng.integers(0, len(z_all), hp["batch"])
        x0 = torch.from_numpy(z_all[idx])
        ids, _ = caps.sample(idx, C.DECODER_LEVEL_MIX, rng)
        drop = torch.from_numpy(rng.random(len(idx)) < hp["cfg_dropout"])
        ids = torch.where(drop[:, None], empty.expand_as(ids), ids)
        # padding is masked out of the cross-attention, so trimming it is exact and saves compute
        ids = ids[:, : int((ids != tok.pad_id).sum(1).max())]
        t = torch.sigmoid(torch.randn(len(idx)))          # logit-normal timesteps (SD3)
        noise = torch.randn_like(x0)
        xt = (1 - t)[:, None, None, None] * x0 + t[:, None, None, None] * noise
        ctx, _ = model.text(ids)
        v = model.flow(xt, t, ctx)
        loss = (v - (noise - x0)).pow(2).mean()
        return {"loss": loss}

    ema = EMA(model, hp.get("ema", 0.999))
    _loop("flow", model, list(model.parameters()), hp, step, ema=ema)
    return ema.model


POSITION_WORDS = ["top", "bottom", "left", "right", "center"]


def position_cells(records, ids, tok):
    """For every caption token that is a position word, the grid cell (row * 3 + col) of the object its
    phrase names ("a small green square at the top left": both "top" and "left" -> that square's cell),
    else -1: int64 [N, LEVELS, MAX_LEN] aligned with Captions.ids. A phrase naming two objects of the same
    size, colour and shape gets -1 (no single cell)."""
    pos = {tok.encode(w)[0] for w in POSITION_WORDS}

    def word(ws):
        return {tok.encode(w)[0]: w for w in ws}

    sizes, colours, shapes = word(SIZES), word(COLOURS), word(SHAPES)
    out = np.full(ids.shape, -1, dtype=np.int64)
    for n, r in enumerate(records):
        objs = r["scene"]["objects"]
        for lv in range(2, C.LEVELS):     # levels 0 and 1 name no position
            row = ids[n, lv]
            for k in range(5, len(row)):
                if row[k] not in pos:
                    continue
                j = k - 1 if row[k - 1] in pos else k          # j: the phrase's first position word
                key = (sizes.get(row[j - 5]), colours.get(row[j - 4]), shapes.get(row[j - 3]))
                match = [o for o in objs if (o["size"], o["colour"], o["shape"]) == key]
                if len(match) == 1:
                    out[n, lv, k] = match[0]["row"] * 3 + match[0]["col"]
    return out


def cell_token_mask(side=8, size=64, grid=3):
    """[grid*grid, side*side] float: 1 where a vision token's patch centre lies in the grid cell."""
    cell = [min(grid - 1, int((size / side * t + size / side / 2) / (size / grid))) for t in range(side)]
    mask = torch.zeros(grid * grid, side * side)
    for ty in range(side):
        for tx in range(side):
            mask[cell[ty] * grid + cell[tx], ty * side + tx] = 1.0
    return mask


def binding_loss(decoder, cells, mask):
    """-log of the cross-attention mass (mean over layers and heads) that each query predicting a position
    word puts on the vision tokens of the named object's cell; `cells` [B,S] are the targets' cells (-1:
    none). -> (loss, mean mass), or (None, None) when the batch has no position word."""
    sel = cells >= 0
    if not bool(sel.any()):
        return None, None
    probs = torch.stack([layer.cross.last_probs for layer in decoder.layers]).mean((0, 2))   # [B,S,N]
    mass = (probs[sel] * mask[cells[sel]]).sum(-1)
    return -(mass + 1e-6).log().mean(), mass.mean()


def train_encoder(cfg, data, tok):
    """Phase 1 (`steps`): next-token cross-entropy on short-biased captions plus the attribute probe on
    the vision tokens. Phase 2 (`bind_steps`, from phase 1's weights, same caption mix): cross-entropy plus
    a binding loss that supervises where the caption decoder looks when it names an object's position
    (`binding_loss`). Measured on the 4800-step phase 1 alone: given a scene's true level-4 opening it
    wrote 268 wrong positions among 2408 asserted attributes of 200 held-out scenes, and its cross-attention
    at those tokens put 0.12 of its mass on the object's cell (about what a uniform map puts there): it had
    learnt which cells are occupied, not which object sits where."""
    hp = dict(cfg["encoder"], vocab=tok.vocab_size, max_len=C.MAX_LEN)
    images, records = data["train"]
    caps = Captions(records, tok)
    targets = torch.from_numpy(scene_targets(records))
    model = CaptionModel(hp)
    model.attr_head = AttributeHead(hp["dim"], from_tokens=True)   # training-only probe (not exported)

    def caption_loss(idx, rng):
        ids, levels = caps.sample(idx, C.ENCODER_LEVEL_MIX, rng)
        enc = model.vision(to_pixels(images[idx]))
        logits, _ = model.decoder(ids[:, :-1], enc, model.decoder.empty_past(len(idx)))
        target = ids[:, 1:].clone()
        target[target == tok.pad_id] = -100
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)
        return ce, enc, levels

    def step(i, rng):
        idx = rng.integers(0, len(images), hp["batch"])
        caption, enc, _ = caption_loss(idx, rng)
        attr, attr_acc = model.attr_head.loss(enc, targets[idx])
        return {"loss": caption + hp["attr_weight"] * attr, "caption_loss": caption, "attr_loss": attr,
                "attr_acc": attr_acc}

    params = list(model.parameters())
    _loop("encoder", model, params, hp, step)
    if not hp.get("bind_steps"):
        return model
    cells = torch.from_numpy(position_cells(records, caps.ids, tok))
    mask = cell_token_mask()
    for layer in model.decoder.layers:
        layer.cross.keep_probs = True

    def bind_step(i, rng):
        idx = rng.integers(0, len(images), hp["batch"])
        caption, _, levels = caption_loss(idx, rng)
        targets_cells = cells[torch.from_numpy(idx), torch.from_numpy(levels)][:, 1:]   # query s predicts token s+1
        bind, mass = binding_loss(model.decoder, targets_cells, mask)
        if bind is None:
            return {"loss": caption, "caption_loss": caption}
        return {"loss": caption + hp["bind_weight"] * bind, "caption_loss": caption, "bind_loss": bind,
                "bind_mass": mass}

    _loop("encoder", model, params, dict(hp, steps=hp["steps"] + hp["bind_steps"], lr=hp["bind_lr"]), bind_step,
          schedule_from=hp["steps"], warmup=50)
    for layer in model.decoder.layers:
        layer.cross.keep_probs = False
    return model


def train_scorer(cfg, data, tok):
    """CLIP-style contrastive training. With `hard_negatives` H > 0, each batch also holds H scenes changed
    in one detail (uae.hardneg: two objects swapped, a shape/colour/size changed, an object moved or
    removed) with their top-level captions, and the H originals they come from are captioned at the top
    level, so every caption must tell its scene from the changed one (as NegCLIP does); a mean-pooled
    image embedding otherwise learns a bag of colours and shapes that does not know which object is where.
    Because the reward compares two images, a hinge also pushes each changed scene's image embedding below
    cosine `hard_margin` to its original's (measured: with the caption loss alone, the text tower learns the
    difference but image-image cosine of swapped scenes stays at 0.986)."""
    hp = dict(cfg["scorer"], vocab=tok.vocab_size, max_len=C.MAX_LEN, pad_id=tok.pad_id)
    images, records = data["train"]
    caps = Captions(records, tok)
    targets = torch.from_numpy(scene_targets(records))
    model = Scorer(hp)
    if hp["attr_weight"]:
        model.attr_head = AttributeHead(hp["embed"], from_tokens=False)   # training-only probe (not exported)
    n_hard = hp.get("hard_negatives", 0)
    if n_hard:
        from .hardneg import training_negatives
        count = min(hp["hard_negative_scenes"], len(records))
        cache = work_dir("data", f"hardneg-{cfg['data']['train_seed']}-{count}.npz")
        neg_images, neg_caps, _ = training_negatives(records, count, 4, cache)
        neg_ids = encode_texts(tok, neg_caps)

    def step(i, rng):
        b = hp["batch"]
        if n_hard:
            hard = rng.choice(len(neg_ids), n_hard, replace=False)
            rest = rng.choice(len(images), b - n_hard, replace=False)
            idx = np.concatenate([hard, rest])
        else:
            idx = rng.choice(len(images), b, replace=False)
        ids, _ = caps.sample(idx, C.SCORER_LEVEL_MIX, rng)
        px = to_pixels(images[idx])
        if n_hard:
            ids[:n_hard] = torch.from_numpy(caps.ids[hard, C.LEVELS - 1])
            ids = torch.cat([ids, neg_ids[hard]])
            px = torch.cat([px, to_pixels(neg_images[hard])])
        ie = model.image(px)
        te = model.text(ids)
        logits = model.logit_scale.exp().clamp(max=100) * ie @ te.t()
        labels = torch.arange(len(ids))
        contrastive = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))
        acc = (logits.argmax(1) == labels).float().mean()
        out = {"loss": contrastive, "acc": acc}
        if n_hard:
            # the reward compares two images: a changed scene must also be far from its original in image space
            pair = (ie[:n_hard] * ie[b:]).sum(-1)
            margin = F.relu(pair - hp["hard_margin"]).mean()
            out.update(loss=contrastive + hp["hard_margin_weight"] * margin, contrastive_loss=contrastive,
                       margin_loss=margin)
            out["hard_pair_sim"] = pair.mean()
            out["hard_acc"] = (logits[:n_hard, :n_hard].diagonal() > logits[:n_hard, b:].diagonal()).float().mean()
        if not hp["attr_weight"]:
            return out
        attr, attr_acc = model.attr_head.loss(ie[:b], targets[idx])
        return dict(out, loss=out["loss"] + hp["attr_weight"] * attr, contrastive_loss=contrastive,
                    attr_loss=attr, attr_acc=attr_acc)

    _loop("scorer", model, list(model.parameters()), hp, step)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", default="all", choices=["ae", "flow", "encoder", "scorer", "ae_decoder", "all"])
    ap.add_argument("--config", default="full", choices=["full", "tiny"])
    args = ap.parse_args()
    cfg = C.get(args.config)
    setup(0)
    tok = load_tokenizer(TOKENIZER_PATH)
    data = ensure_data(cfg["data"])
    # ae_decoder (a refinement of the latent decoder) is optional and not part of `all`
    stages = ["ae", "flow", "encoder", "scorer"] if args.stage == "all" else [args.stage]
    times_path = work_dir("logs", "stage_times.json")
    try:
        times = json.load(open(times_path))
    except FileNotFoundError:
        times = {}
    for s in stages:
        t0 = time.time()
        ck = Checkpoint(s).path
        recovered = torch.load(ck).get("imported_from") if os.path.exists(ck) else None
        if recovered:
            # weights recovered from a bundle (uae.from_bundle) are complete: keep them. Rerunning the stage would not
            # train (it resumes at its last step) but would redo its ending, e.g. the auto-encoder's latent scale and
            # shift measured with the image encoder a bundle does not have. Count the time recorded when they were made.
            times.setdefault(s, recorded_times()["seconds"].get(s, 0))
            json.dump(times, open(times_path, "w"), indent=1)
            print(f"{s}: recovered from {recovered} (uae.from_bundle); kept, not retrained")
            continue
        setup({"ae": 1, "flow": 2, "encoder": 3, "scorer": 4, "ae_decoder": 6}[s])
        if s == "ae":
            train_ae(cfg, data)
        elif s == "ae_decoder":
            train_ae_decoder(cfg, data)
        elif s == "flow":
            train_flow(cfg, data, tok)
        elif s == "encoder":
            train_encoder(cfg, data, tok)
        else:
            train_scorer(cfg, data, tok)
        times[s] = times.get(s, 0) + round(time.time() - t0, 1)
        json.dump(times, open(times_path, "w"), indent=1)


if __name__ == "__main__":
    main()
