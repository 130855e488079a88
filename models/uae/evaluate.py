"""Quick PyTorch-side evaluation for development: decoder retrieval by caption level, scorer retrieval,
encoder precision/recall via the TypeScript parser is done by `uae eval` (the numbers that ship)."""
import argparse
import json

import numpy as np
import torch

from . import config as C
from .checkpoints import Checkpoint, load_ae, without_probe
from .common import TOKENIZER_PATH, Captions, ensure_data, load_tokenizer, setup, to_pixels, work_dir
from .encoder import CaptionModel
from .export import _VaeDecode
from .flow_decoder import FlowDecoder
from .infer import empty_caption_ids, euler_sample, greedy_captions
from .rl import score_captions
from .scorer import Scorer


def load_flow(cfg, tok):
    model = FlowDecoder(cfg["flow"], tok.vocab_size, tok.pad_id)
    model.load_state_dict(torch.load(Checkpoint("flow").path)["ema"])
    return model.eval()


def load_scorer(cfg, tok):
    hp = dict(cfg["scorer"], vocab=tok.vocab_size, max_len=C.MAX_LEN, pad_id=tok.pad_id)
    model = Scorer(hp)
    model.load_state_dict(without_probe(torch.load(Checkpoint("scorer").path)["model"]))
    return model.eval()


@torch.no_grad()
def decoder_by_level(cfg, tok, images, records, n, steps, guidance):
    ae, _, _ = load_ae(cfg)
    flow = load_flow(cfg, tok)
    scorer = load_scorer(cfg, tok)
    ae_dec = _VaeDecode(ae, *load_ae(cfg)[1:])
    caps = Captions(records[:n], tok)
    orig = scorer.image(to_pixels(images[:n]))
    empty = empty_caption_ids(tok)
    rows = []
    for lv in range(C.LEVELS):
        g = torch.Generator().manual_seed(lv)
        ids = torch.from_numpy(caps.ids[:, lv])
        z = euler_sample(flow.text, flow.flow, ids, steps, guidance, g, empty,
                         (cfg["flow"]["latent_channels"], 8, 8))
        rec = ae_dec(z)
        e = scorer.image(rec)
        sim = (e * orig).sum(-1)
        top1 = float(((e @ orig.t()).argmax(1) == torch.arange(n)).float().mean())
        mse = ((rec - to_pixels(images[:n])) * 0.5).pow(2).mean((1, 2, 3))
        psnr = float((10 * torch.log10(1.0 / mse)).mean())
        rows.append({"level": lv, "sim": round(float(sim.mean()), 4), "retrieval_top1": round(top1, 3),
                     "psnr": round(psnr, 2)})
        print(json.dumps(rows[-1]), flush=True)
    ti = scorer.text(torch.from_numpy(caps.ids[:, C.LEVELS - 1]))
    t2i = float(((ti @ orig.t()).argmax(1) == torch.arange(n)).float().mean())
    print(json.dumps({"scorer_text_to_image_top1_L4": round(t2i, 3)}))
    return rows


@torch.no_grad()
def encoder_quality(cfg, tok, images, records, n):
    """Greedy-caption attribute precision/recall (TypeScript parser) and mean tokens of the encoder."""
    enc = CaptionModel(dict(cfg["encoder"], vocab=tok.vocab_size, max_len=C.MAX_LEN))
    enc.load_state_dict(without_probe(torch.load(Checkpoint("encoder").path)["model"]))
    enc.eval()
    ids = greedy_captions(enc, to_pixels(images[:n]), tok.bos_id, tok.eos_id, tok.pad_id)
    texts = [tok.decode([int(v) for v in row]) for row in ids]
    s = score_captions(texts, [r["scene"] for r in records[:n]])
    out = {"attr_precision": float(np.mean([x["precision"] for x in s])),
           "attr_recall": float(np.mean([x["recall"] for x in s])),
           "mean_tokens": float(np.mean([len(t.split()) for t in texts])), "examples": texts[:5]}
    print(json.dumps(out))
    return out


@torch.no_grad()
def scorer_quality(cfg, tok, images, records, n):
    """Caption -> image retrieval top-1 of the scorer among n held-out scenes, per caption level; saved to
    models/work/eval/scorer.json for the model card."""
    sc = load_scorer(cfg, tok)
    caps = Captions(records[:n], tok)
    ie = sc.image(to_pixels(images[:n]))
    top1 = []
    for lv in range(C.LEVELS):
        te = sc.text(torch.from_numpy(caps.ids[:, lv]))
        top1.append(round(float(((te @ ie.t()).argmax(1) == torch.arange(n)).float().mean()), 4))
    out = {"scenes": n, "text_to_image_top1": top1,
           "command": f"/usr/bin/python3 -m uae.evaluate --scorer -n {n}  (from models/)"}
    json.dump(out, open(work_dir("eval", "scorer.json"), "w"), indent=1)
    print(json.dumps(out))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="full")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--guidance", type=float, default=1.0)
    ap.add_argument("--encoder", action="store_true", help="evaluate the caption encoder only")
    ap.add_argument("--scorer", action="store_true", help="evaluate the scorer's caption->image retrieval")
    a = ap.parse_args()
    cfg = C.get(a.config)
    setup(0)
    tok = load_tokenizer(TOKENIZER_PATH)
    data = ensure_data(cfg["data"])
    images, records = data["heldout"]
    if a.scorer:
        scorer_quality(cfg, tok, images, records, a.n)
    elif a.encoder:
        encoder_quality(cfg, tok, images, records, a.n)
    else:
        decoder_by_level(cfg, tok, images, records, a.n, a.steps, a.guidance)


if __name__ == "__main__":
    main()
