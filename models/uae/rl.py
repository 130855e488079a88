"""Stage 2 of Unified-GRPO, Generation for Understanding: GRPO on the caption encoder.

The decoder (text encoder + flow transformer + latent decoder) and the scorer are frozen; the caption
decoder of the encoder is the policy (its vision encoder stays frozen, as the paper's LoRA keeps the
backbone). Reward = sim(scorer(image), scorer(decoder(caption))). KL (k3) to the frozen cold-start
encoder. Metrics under TRL's names are computed by models/grpo_ref.py on the detached numbers, so the
log and the playground's TypeScript GRPO maths share one definition.

Usage (from models/): /usr/bin/python3 -m uae.rl [--config full|tiny] [--steps N] [--loss-type dapo] ...
"""
import copy
import json
import os
import subprocess
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F

import grpo_ref

from . import config as C
from .checkpoints import Checkpoint, load_models, snapshot_path
from .common import REPO, Log, TOKENIZER_PATH, ensure_data, load_tokenizer, preset_cli, psnr_db, to_pixels
from .export import _VaeDecode
from .infer import decoder_input_ids, empty_caption_ids, euler_sample, greedy_captions


@torch.no_grad()
def sample_group(model, enc, group, temperature, gen, tok, max_len=C.MAX_LEN):
    """Samples `group` captions per image from softmax(logits / temperature) with the KV cache
    -> ids [B*G, max_len] ([BOS] completion [PAD]...), lengths [B*G], truncated [B*G] (bool).

    As TRL (grpo_trainer.py 1868-1873, 2237-2238), no [EOS] is forced: a row that reaches the last slot
    without [EOS] keeps its sampled tokens and is truncated (its last token is neither [EOS] nor [PAD]).
    lengths counts the sampled completion tokens: [EOS] included for a terminated row, max_len - 1 tokens
    without [EOS] for a truncated one; the loss mask covers exactly these tokens."""
    enc = enc.repeat_interleave(group, 0)
    m = enc.shape[0]
    past = model.decoder.empty_past(m)
    cur = torch.full((m, 1), tok.bos_id, dtype=torch.int64)
    out = torch.full((m, max_len), tok.pad_id, dtype=torch.int64)
    out[:, 0] = tok.bos_id
    done = torch.zeros(m, dtype=torch.bool)
    banned = [tok.pad_id, tok.bos_id, tok.unk_id]
    for pos in range(1, max_len):
        logits, past = model.decoder(cur, enc, past)
        logits = logits[:, -1] / temperature
        logits[:, banned] = -1e9
        nxt = torch.multinomial(logits.softmax(-1), 1, generator=gen)[:, 0]
        nxt = torch.where(done, torch.full_like(nxt, tok.pad_id), nxt)
        out[:, pos] = nxt
        done = done | (nxt == tok.eos_id)
        cur = nxt[:, None]
        if bool(done.all()):
            break
    lengths = (out[:, 1:] != tok.pad_id).sum(1)
    last = out.gather(1, lengths[:, None])[:, 0]  # the last completion token of each row
    truncated = (last != tok.eos_id) & (last != tok.pad_id)
    return out, lengths, truncated


def logps_from_logits(logits, targets, temperature=1.0):
    """TRL's per-token log-probs and entropies (grpo_trainer.py 1519-1532): both from logits / temperature
    -> (logp [N,T] of `targets` [N,T], entropy [N,T])."""
    logp_all = F.log_softmax(logits / temperature, -1)
    logp = logp_all.gather(-1, targets[..., None])[..., 0]
    with torch.no_grad():  # the entropy only feeds the logged metric (TRL: no grad without an entropy bonus)
        entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp, entropy


def token_logps(model, enc, ids, temperature=1.0):
    """Teacher-forced per-token log-probs of ids[:,1:] at `temperature` -> (logp [N,T], entropy [N,T]);
    T = max_len-1."""
    logits, _ = model.decoder(ids[:, :-1], enc, model.decoder.empty_past(ids.shape[0]))
    return logps_from_logits(logits, ids[:, 1:], temperature)


def completion_masks(lengths, truncated, width, mask_truncated=False):
    """(completion mask, loss mask) float [N, width]: the first lengths[i] tokens; the loss mask also zeroes
    truncated rows when `mask_truncated` (TRL's mask_truncated_completions, line 2417-2421)."""
    completion = (torch.arange(width)[None] < torch.as_tensor(lengths)[:, None]).float()
    if not mask_truncated:
        return completion, completion
    return completion, completion * (~torch.as_tensor(truncated, dtype=torch.bool))[:, None].float()


def grpo_torch_loss(logp, old_logp, ref_logp, adv, lengths, truncated, opts):
    """TRL v1.9.0's clipped surrogate + beta * k3 KL with `opts['loss_type']` aggregation (torch,
    differentiable in logp) -> scalar loss.

    opts: epsilon_low, epsilon_high, beta, loss_type, max_completion_length (dr_grpo),
    mask_truncated_completions, num_items_mode ('after_mask': dapo divides by the loss mask's tokens after
    truncated rows are masked, line 2427; 'before_mask': TRL <= 1.8's count), num_items_in_batch (optional
    explicit dapo normaliser), delta (optional cap). Token-level importance sampling only."""
    completion, mask = completion_masks(lengths, truncated, logp.shape[1], opts.get("mask_truncated_completions"))
    coef_1 = torch.exp(logp - old_logp)
    coef_2 = coef_1.clamp(1 - opts["epsilon_low"], 1 + opts["epsilon_high"])
    if opts.get("delta") is not None:
        coef_1 = coef_1.clamp(max=opts["delta"])
    a = adv[:, None]
    per_token = -torch.min(coef_1 * a, coef_2 * a)
    if opts["beta"] != 0.0:
        d = ref_logp - logp
        per_token = per_token + opts["beta"] * (torch.exp(d) - d - 1)
    lt = opts["loss_type"]
    if lt == "grpo":
        return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    if lt == "bnpo":
        return (per_token * mask).sum() / mask.sum().clamp(min=1.0)
    if lt == "dr_grpo":
        return (per_token * mask).sum() / (logp.shape[0] * opts["max_completion_length"])
    if lt == "dapo":
        items = completion.sum() if opts.get("num_items_mode") == "before_mask" else mask.sum()
        if opts.get("num_items_in_batch") is not None:  # this batch is a slice of a larger generation batch
            items = torch.as_tensor(float(opts["num_items_in_batch"]))
        return (per_token * mask).sum() / items.clamp(min=1.0)
    raise ValueError(lt)


def trl_log_mean(values):
    """TRL's GRPOTrainer.log (line 3276-3282): the mean of the appended values without NaNs, None when none
    is left -> float | None."""
    valid = [v for v in values if v == v]
    return sum(valid) / len(valid) if valid else None


def grpo_iterations(policy, opt, params, enc, ids, lengths, truncated, old_logp, ref_logp, advantages, opts,
                    iterations, temperature):
    """`iterations` loss computations and optimiser steps on one generation batch -> {metric: logged value}.

    As TRL, the loss-side metrics (kl when beta != 0, entropy, clip_ratio/*, loss) are appended on EVERY
    loss computation and the step logs their NaN-filtered mean (trl_log_mean): with iterations = 2 that is
    the mean of pass 1 (ratio 1, nothing clipped) and pass 2 (ratio moved by the first update)."""
    adv = torch.tensor(advantages, dtype=torch.float32)
    appended = defaultdict(list)
    for _ in range(iterations):
        logp, entropy = token_logps(policy, enc, ids, temperature)
        loss = grpo_torch_loss(logp, old_logp, ref_logp, adv, lengths, truncated, opts)
        rep = grpo_ref.grpo_loss(
            {"logp": logp.detach().double().numpy(), "old_logp": old_logp.double().numpy(),
             "ref_logp": ref_logp.double().numpy(), "entropies": entropy.detach().double().numpy(),
             "advantages": advantages, "lengths": lengths.numpy(), "truncated": truncated.numpy()}, opts)
        for k, v in rep["metrics"].items():
            appended[k].append(v)
        appended["loss"].append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    return {k: trl_log_mean(v) for k, v in appended.items()}


REWARD_NAMES = ("sim", "i2i")
# Stage 3 (uae.rl_flow) may also pay for pixel fidelity: `psnr`, each reconstruction's PSNR in dB against its original;
# and for being read back: `readback`, the frozen stage-2 encoder's per-token probability (geometric mean) of the
# caption the reconstruction was drawn from, read from the reconstruction (understanding as the decoder's reward)
FLOW_REWARD_NAMES = REWARD_NAMES + ("psnr", "readback")


def parse_reward(spec, names=REWARD_NAMES):
    """`sim` or `sim=W,i2i=W` (uae train's --reward, restricted to the image-image rewards; `names` what else is
    allowed) -> {name: weight}."""
    out = {}
    for part in spec.split(","):
        name, _, w = part.strip().partition("=")
        if name not in names:
            raise ValueError(f"reward takes NAME or NAME=W,NAME=W with NAME in {', '.join(names)}, got {spec!r}")
        out[name] = float(w) if w else 1.0
    return out


def parse_length_penalty(spec):
    """`none`, `linear:COEF[:W]` or `overlong:MAX:CACHE[:W]` (uae train's --length-penalty) -> grpo_ref's spec
    dict, or None for `none`."""
    parts = spec.strip().split(":")
    try:
        if parts == ["none"]:
            return None
        if parts[0] == "linear" and len(parts) in (2, 3):
            out = {"kind": "linear", "coef": float(parts[1])}
        elif parts[0] == "overlong" and len(parts) in (3, 4):
            out = {"kind": "overlong", "max_completion_length": int(parts[1]), "soft_punish_cache": int(parts[2])}
        else:
            raise ValueError(spec)
        if len(parts) == (3 if parts[0] == "linear" else 4):
            out["weight"] = float(parts[-1])
        return out
    except ValueError:
        raise ValueError("length penalty takes none, linear:COEF[:W] or overlong:MAX:CACHE[:W], "
                         f"got {spec!r}") from None


class Rewarder:
    """Frozen decoder + scorer: captions -> reconstructions (Euler, CFG at the playground's scale) -> sim.
    CFG matters: without it the decoder under-reacts to wrong or repeated objects, and GRPO learns to
    repeat the salient object (measured in the model card). `weights` is the reward mix ({"sim": 1} by
    default); an `i2i` weight loads the image-image backbone (models/work/ckpt/backbone.pt); `psnr` and `readback`
    (stage 3 only) use the originals' pixels and the frozen encoder m["encoder"]."""

    def __init__(self, m, tok, flow_steps, latent_channels, guidance=2.0, weights=None):
        self.m, self.tok, self.steps, self.c, self.g = m, tok, flow_steps, latent_channels, guidance
        self.weights = weights or {"sim": 1.0}
        self.backbone = None
        if self.weights.get("i2i"):
            from .backbone import load_backbone
            self.backbone = load_backbone()
        self.vae = _VaeDecode(m["ae"], m["scale"], m["shift"]).eval()
        self.empty = empty_caption_ids(tok)

    @torch.no_grad()
    def reconstruct(self, ids, gen):
        """Captions ids [B, max_len] (truncated rows without [EOS] allowed) -> images [B,3,64,64]; the decoder
        reads them as the playground does (infer.decoder_input_ids)."""
        ids = decoder_input_ids(ids, self.tok.bos_id, self.tok.eos_id, self.tok.pad_id)
        z = euler_sample(self.m["flow"].text, self.m["flow"].flow, ids, self.steps, self.g, gen,
                         empty_ids=self.empty, shape=(self.c, 8, 8))
        return self.vae(z)

    @torch.no_grad()
    def sim(self, orig_emb, recon):
        return (self.m["scorer"].image(recon) * orig_emb).sum(-1)

    @torch.no_grad()
    def readback(self, recon, ids):
        """Reconstructions [B,3,64,64] and the decoder input ids they were drawn from ([BOS] caption [EOS] [PAD]...)
        -> [B] exp(mean log p(token | recon, prefix)) over the caption's tokens and [EOS], under the frozen encoder."""
        inp, tgt = ids[:, :-1], ids[:, 1:]
        logp = torch.log_softmax(self.m["encoder"](recon, inp), -1).gather(-1, tgt[..., None])[..., 0]
        mask = (tgt != self.tok.pad_id).float()
        return torch.exp((logp * mask).sum(1) / mask.sum(1).clamp(min=1))

    @torch.no_grad()
    def components(self, px, recon, group=1, ids=None):
        """Originals px [B,3,64,64] and their reconstructions [B*group,...] (each original's `group` in a row) -> TRL
        reward components [{name, weight, values}] of the mix (values: each reward's cosine per reconstruction); each
        original is embedded once. `ids` (the decoder input ids of each reconstruction) only for `readback`."""
        out = []
        for name, w in self.weights.items():
            if name == "psnr":   # pixel fidelity (stage 3 only): dB against each reconstruction's own original
                values = psnr_db(recon, px.repeat_interleave(group, 0))
            elif name == "readback":   # stage 3 only: is the drawing read back as its caption?
                if ids is None:
                    raise ValueError("the readback reward needs the captions' ids")
                values = self.readback(recon, ids)
            else:
                f = self.m["scorer"].image if name == "sim" else self.backbone
                values = (f(recon) * f(px).repeat_interleave(group, 0)).sum(-1)
            out.append({"name": name, "weight": w, "values": values.numpy().astype(np.float64)})
        return out


def score_captions(texts, scenes):
    """Attribute precision/recall of captions against scenes via the TypeScript parser (source of truth)."""
    payload = json.dumps([{"caption": t, "scene": s} for t, s in zip(texts, scenes)])
    res = subprocess.run(["node", "--import", "tsx", os.path.join(REPO, "scripts", "score-captions.ts")],
                         input=payload, capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(res.stdout)


@torch.no_grad()
def evaluate(policy, m, rewarder, tok, images, records, n, seed=0):
    """Held-out fidelity of greedy captions: eval/sim, eval/attr_recall, eval/attr_precision, mean tokens."""
    px = to_pixels(images[:n])
    ids = greedy_captions(policy, px, tok.bos_id, tok.eos_id, tok.pad_id)
    recon = rewarder.reconstruct(ids, torch.Generator().manual_seed(seed))
    orig = m["scorer"].image(px)
    sim = rewarder.sim(orig, recon)
    texts = [tok.decode([int(v) for v in row]) for row in ids]
    scores = score_captions(texts, [r["scene"] for r in records[:n]])
    emb = m["scorer"].image(recon)
    top1 = float(((emb @ orig.t()).argmax(1) == torch.arange(n)).float().mean())
    n_tokens = ((ids != tok.pad_id) & (ids != tok.bos_id) & (ids != tok.eos_id)).sum(1).float()
    return {"eval/sim": float(sim.mean()), "eval/attr_recall": float(np.mean([s["recall"] for s in scores])),
            "eval/attr_precision": float(np.mean([s["precision"] for s in scores])),
            "eval/retrieval_top1": top1, "eval/mean_tokens": float(n_tokens.mean()),
            "eval/sample_caption": texts[0]}


def stage2_opts(rl):
    """The loss options of stage 2 with options `rl` (a config.EncoderGRPOConfig) -> opts for grpo_torch_loss."""
    opts = {k: getattr(rl, k) for k in ("epsilon_low", "epsilon_high", "beta", "loss_type")}
    opts.update(max_completion_length=C.MAX_LEN - 1, mask_truncated_completions=False, num_items_mode="after_mask")
    return opts


def stage2_setup(cfg, tok, rl):
    """Stage 2's models from models/work/ckpt at the cold start -> (models, policy, frozen reference copy, the
    trained parameters (the caption decoder's), AdamW, rewarder)."""
    m = load_models(cfg, tok)
    policy = m["encoder"]
    ref = copy.deepcopy(policy).eval()
    for p in policy.vision.parameters():
        p.requires_grad_(False)
    params = [p for p in policy.decoder.parameters()]
    opt = torch.optim.AdamW(params, lr=rl.lr, weight_decay=0.0)
    rewarder = Rewarder(m, tok, rl.flow_steps, cfg["flow"]["latent_channels"], rl.guidance, parse_reward(rl.reward))
    return m, policy, ref, params, opt, rewarder


def stage2_step(policy, ref, m, rewarder, tok, opt, params, train_images, rng, gen, rl, opts):
    """One stage-2 step: `rl.images` training images drawn with `rng`, `rl.group` captions sampled per image by
    the current policy, reconstructed and rewarded (rl.reward: sim, or a mix with i2i) by the frozen decoder,
    scorer and backbone, group advantages, the old and reference log-probs, then `rl.iterations` updates -> the
    step's metrics under TRL's names."""
    idx = rng.integers(0, len(train_images), rl.images)
    px = to_pixels(train_images[idx])
    policy.eval()
    with torch.no_grad():
        enc = policy.vision(px)
        ids, lengths, truncated = sample_group(policy, enc, rl.group, rl.temperature, gen, tok)
        recon = rewarder.reconstruct(ids, gen)
        components = rewarder.components(px, recon, rl.group)
        enc_g = enc.repeat_interleave(rl.group, 0)
        old_logp, _ = token_logps(policy, enc_g, ids, rl.temperature)
        ref_logp, _ = token_logps(ref, ref.vision(px).repeat_interleave(rl.group, 0), ids, rl.temperature)
    rewards, reward_metrics = grpo_ref.combine_rewards(components, lengths.numpy(),
                                                       parse_length_penalty(rl.length_penalty))
    adv_info = grpo_ref.group_advantages(rewards, rl.group, rl.scale_rewards)
    policy.train()
    logged = grpo_iterations(policy, opt, params, enc_g, ids, lengths, truncated, old_logp, ref_logp,
                             adv_info["advantages"], opts, rl.iterations, rl.temperature)
    return {"reward": adv_info["reward"], "reward_std": adv_info["reward_std"], **reward_metrics,
            "frac_reward_zero_std": adv_info["frac_reward_zero_std"],
            **grpo_ref.completion_metrics(lengths.numpy(), truncated.numpy()),
            **logged}


def run(cfg_name, rl, out_name="rl_encoder"):
    """Stage 2 with options `rl` (a config.EncoderGRPOConfig) -> the trained caption model."""
    cfg = C.get(cfg_name)
    tok = load_tokenizer(TOKENIZER_PATH)
    m, policy, ref, params, opt, rewarder = stage2_setup(cfg, tok, rl)
    data = ensure_data(cfg["data"])
    train_images, _ = data["train"]
    ho_images, ho_records = data["heldout"]
    ck = Checkpoint(out_name)
    start = ck.load(policy, opt)
    log = Log(out_name)
    gen = torch.Generator().manual_seed(7 + start)
    rng = np.random.default_rng(11 + start)
    if start == 0:
        torch.save(policy.decoder.state_dict(), snapshot_path(out_name, 0))
        log(step=0, **evaluate(policy, m, rewarder, tok, ho_images, ho_records, rl.eval_n))
    if start:  # resume the sampling streams where the interrupted run left them
        state = torch.load(ck.path)
        if "gen" in state:
            gen.set_state(state["gen"])
            rng.bit_generator.state = state["rng"]
    opts = stage2_opts(rl)
    t0 = time.time()
    for step in range(start, rl.steps):
        row = {"step": step + 1, "learning_rate": rl.lr,
               **stage2_step(policy, ref, m, rewarder, tok, opt, params, train_images, rng, gen, rl, opts),
               "s_per_step": round((time.time() - t0) / (step - start + 1), 2)}
        if (step + 1) % rl.eval_every == 0 or step + 1 == rl.steps:
            policy.eval()
            row.update(evaluate(policy, m, rewarder, tok, ho_images, ho_records, rl.eval_n))
        log(**row)
        if (step + 1) % rl.ckpt_every == 0 or step + 1 == rl.steps:
            torch.save(policy.decoder.state_dict(), snapshot_path(out_name, step + 1))
            ck.save(policy, opt, step + 1, extra={"gen": gen.get_state(), "rng": rng.bit_generator.state})
    return policy


def main():
    preset_cli(__doc__, C.RL_ENCODER, run)


if __name__ == "__main__":
    main()
