"""Trains the image-image backbone (uae.backbone), measures what it sees and adds it to bundles.

Usage (from models/):
  /usr/bin/python3 -m uae.train_backbone [--steps N] [--shape-p P] ...   train (resumable), then probe
  /usr/bin/python3 -m uae.train_backbone --probe-only                      probe the trained checkpoint
  /usr/bin/python3 -m uae.train_backbone --export DIR [DIR ...]            add it to bundle folders
Writes models/work/ckpt/backbone.pt, its log under models/work/logs and models/work/eval/backbone-probe.json.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

from . import config as C
from .backbone import BACKBONE, BACKBONE_ID, BACKBONE_LABEL, BACKBONE_PATH, ImageBackbone, load_backbone
from .common import to_pixels


def _blur(x, sigma):
    """Per-image Gaussian blur; sigma [B] (0 = unchanged)."""
    k = torch.arange(-3, 4, dtype=x.dtype)
    w = torch.exp(-0.5 * (k[None] / sigma.clamp(min=1e-3)[:, None]) ** 2)
    w = w / w.sum(1, keepdim=True)
    b, c, h, wd = x.shape
    y = x.reshape(1, b * c, h, wd)
    kw = w.repeat_interleave(c, 0)
    y = F.conv2d(F.pad(y, (3, 3, 0, 0), mode="replicate"), kw[:, None, None, :], groups=b * c)
    y = F.conv2d(F.pad(y, (0, 0, 3, 3), mode="replicate"), kw[:, None, :, None], groups=b * c)
    y = y.reshape(b, c, h, wd)
    return torch.where((sigma > 0.05)[:, None, None, None], y, x)


def degrade(x, gen, colour=16 / 255):
    """Decoder-like degradations of pixel batches in [-1,1]: blur (sigma 0-1.5), noise (0-8/255), a colour
    shift per channel (up to `colour`), a shift by up to one pixel."""
    b = x.shape[0]
    u = lambda *s: torch.rand(*s, generator=gen)  # noqa: E731
    x = _blur(x, u(b) * 1.5)
    x = x + torch.randn(x.shape, generator=gen) * (u(b, 1, 1, 1) * 16 / 255)
    x = x + (u(b, 3, 1, 1) * 2 - 1) * (2 * colour)
    dy, dx = torch.randint(-1, 2, (2,), generator=gen).tolist()
    x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    return x.clamp(-1, 1)


def info_nce(a, b, extra, tau):
    """Symmetric InfoNCE of rows a[i] <-> b[i] against the batch, with `extra` [N,E] as more negatives for a."""
    logits = a @ torch.cat([b, extra]).t() / tau
    labels = torch.arange(len(a))
    back = b @ a.t() / tau
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(back, labels))


def level4_reconstructions(cfg, tok, records, count, cache, steps=8, guidance=2.0, batch=256):
    """The frozen decoder's reconstructions of the first `count` records' level-4 captions (uint8 [count,64,64,3]),
    cached as an .npz at `cache`."""
    import os
    if os.path.exists(cache):
        return np.load(cache)["images"]
    from .checkpoints import load_models
    from .common import encode_texts
    from .rl import Rewarder
    m = load_models(cfg, tok)
    rw = Rewarder(m, tok, steps, cfg["flow"]["latent_channels"], guidance)
    gen = torch.Generator().manual_seed(11)
    out = []
    for s in range(0, count, batch):
        caps = [r["captions"][C.LEVELS - 1] for r in records[s:min(count, s + batch)]]
        x = rw.reconstruct(encode_texts(tok, caps), gen)
        out.append(((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
        print(f"level-4 reconstructions {min(count, s + batch)}/{count}", flush=True)
    images = np.concatenate(out)
    np.savez(cache, images=images)
    return images


def shape_negatives(records, count, seed, cache):
    """One shape-changed copy of each of the first `count` records (uint8 [count,64,64,3]), cached at `cache`: the
    change the scorer is blindest to gets negatives of its own."""
    import os
    from .hardneg import perturbed, render
    if os.path.exists(cache):
        return np.load(cache)["images"]
    rng = np.random.default_rng(seed)
    images, _ = render([perturbed(r["scene"], "shape", rng) for r in records[:count]])
    np.savez(cache, images=images)
    return images


def train_backbone(cfg, hp, data, tok):
    """Trains ImageBackbone image to image (see the module's doc) -> the model."""
    from .common import work_dir
    from .hardneg import training_negatives
    from .train import _loop
    images, records = data["train"]
    n = hp["scenes"]
    seed = cfg["data"]["train_seed"]
    recon = level4_reconstructions(cfg, tok, records, n, work_dir("data", f"level4-recon-{seed}-{n}.npz"))
    neg, _, _ = training_negatives(records, n, 4, work_dir("data", f"hardneg-{seed}-{n}.npz"))
    shape = shape_negatives(records, n, 5, work_dir("data", f"shapeneg-{seed}-{n}.npz")) if hp["shape_p"] > 0 else None
    model = ImageBackbone(hp["width"], hp["flat_dim"], hp["embed"])
    gen = torch.Generator().manual_seed(0)

    def step(i, rng):
        idx = rng.choice(n, hp["batch"], replace=False)
        orig = to_pixels(images[idx])
        a = degrade(orig, gen, hp["colour_shift"] / 255)
        use_recon = torch.rand(len(idx), generator=gen) < hp["recon_p"]
        b = torch.where(use_recon[:, None, None, None], to_pixels(recon[idx]), degrade(orig, gen, hp["colour_shift"] / 255))
        hard = to_pixels(neg[idx])
        if shape is not None:
            use_shape = (torch.rand(len(idx), generator=gen) < hp["shape_p"])[:, None, None, None]
            hard = torch.where(use_shape, to_pixels(shape[idx]), hard)
        h = degrade(hard, gen, hp["colour_shift"] / 255)
        ea, eb, eh = model(a), model(b), model(h)
        nce = info_nce(ea, eb, eh, hp["tau"])
        pair = (ea * eh).sum(-1)
        hinge = F.relu(pair - hp["margin"]).mean()
        pos = (ea * eb).sum(-1)
        # a floor under the reconstructions' cosine: what the decoder draws from a full description is the scene
        floor = F.relu(hp["recon_floor"] - pos[use_recon]).mean() if use_recon.any() else pos.sum() * 0
        loss = nce + hp["margin_weight"] * hinge + hp["floor_weight"] * floor
        return {"loss": loss, "nce": nce, "hinge": hinge, "floor": floor, "pos_sim": pos.mean(),
                "recon_sim": pos[use_recon].mean() if use_recon.any() else pos.mean(), "hard_sim": pair.mean()}

    _loop("backbone", model, list(model.parameters()), hp, step)
    return model


PROBE_KINDS = ["swap", "shape", "colour", "size", "position", "drop"]


CAPTION_ROWS = ["level 3", "level 4", "level 3, one shape wrong", "level 4, one shape wrong",
                "level 4, two objects' positions swapped", "level 3 + an object not in the scene"]


@torch.no_grad()
def probe(backbone, scorer, cfg, tok, images, records, weights, seed=1, steps=8, guidance=2.0):
    """What each backbone, and the mix `weights` ({"scorer": w, "backbone": w}), sees on held-out scenes -> {renders,
    captions}, rows {change or captions, scenes, scorer, backbone, mix}:
    - renders: mean cosine between each image and the same scene re-rendered with one change (uae.hardneg; no decoder),
      and its reconstruction by the frozen decoder from its level-4 caption;
    - captions: mean cosine between each image and the decoder's reconstruction of a grammar caption or a corrupted one
      (uae.probe's variants plus a level-4 caption with one shape wrong): what a reward built on it pays for."""
    from .checkpoints import load_models
    from .common import encode_texts
    from .hardneg import KINDS, applicable, perturbed, render
    from .probe import variants, wrong_shape
    from .rl import Rewarder
    rng = np.random.default_rng(seed)
    embed = {"scorer": scorer.image, "backbone": backbone}
    total = sum(weights.values())

    def row(key, change, keep, other):
        px = to_pixels(images[keep])
        out = {key: change, "scenes": len(keep)}
        for name, f in embed.items():
            out[name] = round(float((f(px) * f(other)).sum(-1).mean()), 4)
        out["mix"] = round(sum(weights[k] * out[k] for k in weights) / total, 4)
        print(json.dumps(out), flush=True)
        return out

    renders = []
    for kind in PROBE_KINDS:
        keep = [i for i, r in enumerate(records) if applicable(r["scene"], kind)]
        alt, _ = render([perturbed(records[i]["scene"], kind, rng) for i in keep])
        renders.append(row("change", KINDS[kind], keep, to_pixels(alt)))
    m = load_models(cfg, tok)
    rw = Rewarder(m, tok, steps, cfg["flow"]["latent_channels"], guidance)
    everyone = list(range(len(records)))
    caps = variants(records, np.random.default_rng(0))
    caps["level 4, one shape wrong"] = [wrong_shape(r["captions"][C.LEVELS - 1], rng) for r in records]
    captions = []
    for name in CAPTION_ROWS:
        recon = rw.reconstruct(encode_texts(tok, caps[name]), torch.Generator().manual_seed(seed))
        out = row("captions", name, everyone, recon)
        captions.append(out)
        if name == "level 4":
            renders.append(dict(out, change="reconstruction of the level-4 caption"))
            del renders[-1]["captions"]
    return {"renders": renders, "captions": captions}


def write_parity(model, fixture_path):
    """Adds `backbones: {BACKBONE_ID: image_embeds [1,E]}` of the fixture's pixel_values to a parity fixture
    (tests/fixtures/parity/<bundle>.json, written by uae.bundle): tests/unit/parity.test.ts checks the exported graph."""
    fx = json.load(open(fixture_path))
    px = torch.tensor(fx["pixel_values"], dtype=torch.float32).reshape(1, 3, C.IMAGE_SIZE, C.IMAGE_SIZE)
    with torch.no_grad():
        fx.setdefault("backbones", {})[BACKBONE_ID] = [round(float(v), 7) for v in model(px)[0]]
    with open(fixture_path, "w") as f:
        json.dump(fx, f)


CARD_BEGIN, CARD_END = "<!-- i2i-backbone -->", "<!-- /i2i-backbone -->"

# issue 19's targets for the reward as used (the mix): render changes at most, the level-4 reconstruction at least
TARGETS = {"two objects' positions swapped": 0.90, "one object's shape changed": 0.90,
           "one object's colour changed": 0.85, "one object's size changed": 0.90}
RECON_TARGET = 0.90


def card_section(pr):
    """The model card's section on the i2i backbone from a probe JSON (models/work/eval/backbone-probe-seed*.json)."""
    w = pr["mix"]
    mix = f"{w['scorer'] / sum(w.values()):g} × scorer + {w['backbone'] / sum(w.values()):g} × i2i"
    L = [CARD_BEGIN, "## Image-image backbone (`i2i`)\n",
         f"`{BACKBONE_PATH}` (`roles.backbones`, id `{BACKBONE_ID}`): a small CNN trained image to image, without "
         "captions (`python3 -m uae.train_backbone`; docs/backbones.md): two views of a scene (decoder-like "
         "degradations of the render, or the frozen decoder's reconstruction of its level-4 caption) embed close; "
         "the scene changed in one detail (uae.hardneg, half of them a shape change) embeds far. Reward mix as used: "
         f"{mix} (`uae train --reward sim=0.5,i2i=0.5`).\n",
         f"Sensitivity, {pr['scenes']} held-out scenes of seed {pr['seed']} (`python3 -m uae.train_backbone "
         f"--probe-only --probe-seed {pr['seed']}`): mean cosine between each image and the same scene re-rendered "
         "with one change, or its reconstruction from the level-4 caption "
         f"({pr['euler_steps']} Euler steps, guidance {pr['guidance']}):\n",
         "| change | scenes | scorer | i2i | mix | target (mix) | met |", "|---|---|---|---|---|---|---|"]
    for r in pr["renders"]:
        if r["change"] in TARGETS:
            t, ok = f"≤ {TARGETS[r['change']]:.2f}", r["mix"] <= TARGETS[r["change"]]
        elif r["change"].startswith("reconstruction"):
            t, ok = f"≥ {RECON_TARGET:.2f}", r["mix"] >= RECON_TARGET
        else:
            t, ok = "", None
        met = "" if ok is None else ("yes" if ok else "**no**")
        L.append(f"| {r['change']} | {r['scenes']} | {r['scorer']:.3f} | {r['backbone']:.3f} | {r['mix']:.3f} | {t} | {met} |")
    L.append("\nWhat a reward built on each pays for: mean cosine between each image and the decoder's reconstruction of "
             "a grammar caption or a corrupted one (same scenes):\n")
    L.append("| captions | scorer | i2i | mix |")
    L.append("|---|---|---|---|")
    for r in pr["captions"]:
        L.append(f"| {r['captions']} | {r['scorer']:.3f} | {r['backbone']:.3f} | {r['mix']:.3f} |")
    L.append(CARD_END)
    return "\n".join(L)


def write_card_section(bundle_dir, pr):
    """Puts card_section(pr) into the bundle's MODEL_CARD.md (replacing an earlier one, else before `## Retraining`)
    and refreshes the card's manifest entry."""
    import os
    import re
    from .export import refresh_entry
    path = os.path.join(bundle_dir, "MODEL_CARD.md")
    text = open(path).read()
    section = card_section(pr)
    if CARD_BEGIN in text:
        text = re.sub(re.escape(CARD_BEGIN) + ".*?" + re.escape(CARD_END), lambda _: section, text, flags=re.S)
    else:
        text = text.replace("\n## Retraining\n", "\n" + section + "\n\n## Retraining\n")
    open(path, "w").write(text)
    refresh_entry(bundle_dir, "MODEL_CARD.md")


# The reward mix the sensitivity table reports (uae train --reward sim=0.5,i2i=0.5).
MIX = {"scorer": 0.5, "backbone": 0.5}


def add_to_bundle(model, bundle_dir, embed):
    """Exports the backbone into an existing bundle folder (BACKBONE_PATH, fp16 storage) and lists it in its
    manifest: files (bytes, sha256), io, roles.backbones (id BACKBONE_ID). Other files and roles are untouched."""
    import os
    from .export import _export, file_entry
    path = os.path.join(bundle_dir, BACKBONE_PATH)
    px = torch.zeros(2, 3, C.IMAGE_SIZE, C.IMAGE_SIZE)
    _export(model.eval(), (px,), path, ["pixel_values"], ["image_embeds"],
            {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}})
    mpath = os.path.join(bundle_dir, "manifest.json")
    m = json.load(open(mpath))
    m["files"] = sorted([f for f in m["files"] if f["path"] != BACKBONE_PATH] + [file_entry(bundle_dir, BACKBONE_PATH)],
                        key=lambda f: f["path"])
    m["io"][BACKBONE_PATH] = {
        "inputs": [{"name": "pixel_values", "dtype": "float32", "shape": ["batch", 3, C.IMAGE_SIZE, C.IMAGE_SIZE]}],
        "outputs": [{"name": "image_embeds", "dtype": "float32", "shape": ["batch", embed]}]}
    role = {"id": BACKBONE_ID, "label": BACKBONE_LABEL, "vision": BACKBONE_PATH, "embedDim": embed}
    roles = m["roles"]
    roles["backbones"] = [b for b in roles.get("backbones", []) if b["id"] != BACKBONE_ID] + [role]
    # keep the role order of the manifest reader: scorer, backbones, checkpoints, runs
    order = ["encoder", "referenceEncoder", "decoder", "scorer", "backbones", "checkpoints", "runs"]
    m["roles"] = {k: roles[k] for k in order if k in roles}
    with open(mpath, "w") as f:
        json.dump(m, f, indent=1)


def main():
    import argparse
    from .common import TOKENIZER_PATH, ensure_data, load_tokenizer, setup, work_dir
    ap = argparse.ArgumentParser()
    for k, v in BACKBONE.items():
        ap.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
    ap.add_argument("--export", nargs="*", default=None, metavar="BUNDLE",
                    help="add the trained backbone to these bundle folders (no training; needs the checkpoint)")
    ap.add_argument("--probe-only", action="store_true", help="only measure the trained checkpoint's sensitivity table")
    ap.add_argument("--probe-seed", type=int, default=None,
                    help="probe on 200 scenes of this held-out dataset seed (default: the config's held-out seed)")
    ap.add_argument("--card", nargs="*", default=None, metavar="BUNDLE",
                    help="write the probe of --probe-seed (default 3) into these bundles' MODEL_CARD.md")
    ap.add_argument("--untrained-tiny", action="store_true",
                    help="with --export: a seeded, untrained backbone of width 4 (the test fixture's, for plumbing only)")
    a = vars(ap.parse_args())
    export, probe_only, tiny = a.pop("export"), a.pop("probe_only"), a.pop("untrained_tiny")
    probe_seed, card = a.pop("probe_seed"), a.pop("card")
    if card is not None:
        pr = json.load(open(work_dir("eval", f"backbone-probe-seed{3 if probe_seed is None else probe_seed}.json")))
        for d in card:
            write_card_section(d, pr)
            print(f"card: {d}/MODEL_CARD.md")
        return
    from .export import round_to_fp16
    if tiny:
        torch.manual_seed(0)
        for d in export or []:
            add_to_bundle(round_to_fp16(ImageBackbone(width=4, flat_dim=2, embed=8)), d, 8)
            print(f"added an untrained tiny {BACKBONE_PATH} to {d}")
        return
    setup(0)
    cfg = C.get("full")
    tok = load_tokenizer(TOKENIZER_PATH)
    data = ensure_data(cfg["data"])
    if export is not None or probe_only:
        model = load_backbone(a)
        import os
        from .common import REPO
        model = round_to_fp16(model)
        for d in export or []:
            add_to_bundle(model, d, a["embed"])
            print(f"added {BACKBONE_PATH} to {d}")
            fixture = os.path.join(REPO, "tests", "fixtures", "parity", json.load(open(os.path.join(d, "manifest.json")))["id"] + ".json")
            if os.path.exists(fixture):
                write_parity(model, fixture)
                print(f"parity: {fixture}")
        if export:
            return
    else:
        model = train_backbone(cfg, a, data, tok).eval()
    print(json.dumps({"params": sum(p.numel() for p in model.parameters())}))
    from .checkpoints import load_models
    n = 200
    seed = cfg["data"]["heldout_seed"] if probe_seed is None else probe_seed
    if seed == cfg["data"]["heldout_seed"]:
        images, records = data["heldout"]
    else:
        images, records = ensure_data(dict(cfg["data"], heldout_seed=seed, heldout_count=n))["heldout"]
    tables = probe(model, load_models(cfg, tok)["scorer"], cfg, tok, images[:n], records[:n], MIX)
    out = {"scenes": n, "seed": seed, "mix": MIX, "euler_steps": 8, "guidance": 2.0, **tables}
    json.dump(out, open(work_dir("eval", f"backbone-probe-seed{seed}.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
