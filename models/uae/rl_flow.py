"""Stage 3 of Unified-GRPO, Understanding for Generation: Flow-GRPO on the flow transformer.

The encoder is frozen at stage 2's final checkpoint and writes one greedy caption per image; the decoder
samples a group of G latents per caption with Flow-GRPO's SDE sampler (same marginals as the Euler ODE,
Gaussian steps with log-probabilities), decodes them, and is rewarded with sim(image, reconstruction) (or, with
`--reward sim=W,i2i=W,psnr=W,readback=W`, a weighted sum of the scorer's cosine, the image-image backbone's, the PSNR
in dB and the frozen encoder's per-token probability of reading the caption back from the reconstruction).
The text tower and latent decoder stay frozen; the flow transformer is the policy, with KL to the pre-RL
transformer ||mu_theta - mu_ref||^2 / (2 sigma_t^2). Classifier-free guidance at the bundle's scale is
part of the policy's velocity; in the training pass its unconditional branch is detached, as Flow-GRPO's
compute_log_prob does (train_sd3.py 189-194), so only the conditional branch carries gradient.
Metrics are computed by models/grpo_ref.py on the detached numbers and logged under Flow-GRPO's own names
(approx_kl, clipfrac, clipfrac_gt_one, clipfrac_lt_one, policy_loss, kl_loss, loss), not TRL's; reward /
reward_std are the mean / Bessel-corrected std (ddof 1) of all rewards of the step (grpo_ref.flow_reward_stats),
with Flow-GRPO's reward_std_mean (mean per-group population std) and zero_std_ratio next to them.
With `sde_window` W > 0 (Flow-GRPO-Fast, MixGRPO), only W consecutive steps of each trajectory are stochastic
and trained, the rest are the Euler steps the playground samples with: with every step stochastic, the
SDE samples differ from the Euler ODE samples the decoder is judged on, and a run that raised the
SDE reward lowered held-out Euler sim (0.8567 -> 0.8522, the model card of that build).

Usage (from models/): /usr/bin/python3 -m uae.rl_flow [--config full|tiny] [--steps N] ...
"""
import copy
import dataclasses
import json
import time

import numpy as np
import torch

import grpo_ref

from . import config as C
from .checkpoints import Checkpoint, final_stage2_encoder, load_models
from .common import Log, TOKENIZER_PATH, ensure_data, load_tokenizer, preset_cli, to_pixels, work_dir
from .export import _VaeDecode
from .infer import decoder_input_ids, empty_caption_ids, euler_sample, greedy_captions
from .rl import FLOW_REWARD_NAMES, Rewarder, parse_reward


def guided_velocity(flow, x, t, ctx, uctx, guidance, detach_uncond=False, kv=None, ukv=None):
    """CFG velocity u + g (c - u) for a batch at one time t (float) -> [B, ...]. With `detach_uncond` (the
    training pass) the unconditional branch u carries no gradient: u.detach() + g (c - u.detach()). `kv` / `ukv`:
    the caption states' cross-attention keys/values (flow.text_kv of ctx / uctx), when computed once for many steps."""
    tt = torch.full((x.shape[0],), t)
    v = flow(x, tt, ctx, text_kv=kv)
    if guidance == 1.0:
        return v
    u = flow(x, tt, uctx, text_kv=ukv)
    if detach_uncond:
        u = u.detach()
    return u + guidance * (v - u)


def sde_mean(x, v, t, dt, a, sigma_max):
    """Flow-GRPO SDE step -> (mean, step std, sigma_t); t runs 1 -> 0 (dt < 0), at t == 1 the denominator
    uses sigma_max, the grid's next t (as Flow-GRPO and src/engine/grpo-flow.ts do)."""
    std_dev_t = a * (t / (1 - (sigma_max if t == 1.0 else t))) ** 0.5
    mean = x * (1 + std_dev_t ** 2 / (2 * t) * dt) + v * (1 + std_dev_t ** 2 * (1 - t) / (2 * t)) * dt
    return mean, std_dev_t * (-dt) ** 0.5, std_dev_t


def gaussian_logp(x_next, mean, std):
    """Per-sample log-density of x_next around mean, averaged over latent elements -> [B]."""
    sq = ((x_next - mean) ** 2).reshape(x_next.shape[0], -1).mean(1)
    return -sq / (2 * std ** 2) - np.log(std) - 0.5 * np.log(2 * np.pi)


def flow_log_prob(flow, x, x_next, t, dt, ctx, uctx, guidance, a, sigma_max):
    """Flow-GRPO's compute_log_prob for the training pass -> (log-prob [B] of x_next, step mean, sigma_t):
    guided velocity with the unconditional branch detached (train_sd3.py 189-194), then the SDE step."""
    v = guided_velocity(flow, x, t, ctx, uctx, guidance, detach_uncond=True)
    mean, std, std_dev_t = sde_mean(x, v, t, dt, a, sigma_max)
    return gaussian_logp(x_next, mean, std), mean, std_dev_t


def flow_grpo_torch_loss(logp, old_logp, adv, clip_range, beta, kl=None):
    """One timestep of Flow-GRPO's loss (train_sd3.py 882-899), torch and differentiable in logp/kl
    -> (loss, policy_loss, kl_loss or None). `adv` is already clamped to +-adv_clip_max."""
    ratio = torch.exp(logp - old_logp)
    unclipped = -adv * ratio
    clipped = -adv * ratio.clamp(1 - clip_range, 1 + clip_range)
    policy_loss = torch.maximum(unclipped, clipped).mean()
    if beta > 0:
        kl_loss = kl.mean()
        return policy_loss + beta * kl_loss, policy_loss, kl_loss
    return policy_loss, policy_loss, None


@torch.no_grad()
def sample_sde(flow, ctx, uctx, guidance, steps, a, gen, shape, sde_steps=None):
    """SDE sampling from noise -> (final latents, states [steps+1,B,...], log-probs [steps,B], ts).
    With `sde_steps` (a set of step indices), only those steps are stochastic and the others are the
    deterministic Euler steps of the ODE sampler (log-prob 0), as Flow-GRPO-Fast / MixGRPO sample."""
    x = torch.randn((ctx.shape[0],) + tuple(shape), generator=gen)
    ts = torch.linspace(1.0, 0.0, steps + 1)
    states, logps = [x], []
    # the captions' keys/values are the same at every step: computed once (as the playground's sampler does)
    kv = flow.text_kv(ctx)
    ukv = flow.text_kv(uctx) if uctx is not None else None
    for i in range(steps):
        t, dt = float(ts[i]), float(ts[i + 1] - ts[i])
        v = guided_velocity(flow, x, t, ctx, uctx, guidance, kv=kv, ukv=ukv)
        if sde_steps is not None and i not in sde_steps:
            x = x + dt * v
            logps.append(torch.zeros(x.shape[0]))
        else:
            mean, std, _ = sde_mean(x, v, t, dt, a, float(ts[1]))
            x = mean + std * torch.randn(mean.shape, generator=gen)
            logps.append(gaussian_logp(x, mean, std))
        states.append(x)
    return x, torch.stack(states), torch.stack(logps), ts


def trim_caption_padding(ctx, uctx=None):
    """Drops the caption-state positions that are padding in every row of ctx (and uctx) -> (ctx, uctx). Padding
    states are exactly zero (TextTower), and the flow transformer pools over and attends to the nonzero ones only
    (a -1e4 bias, whose softmax weight is exactly 0 in float32), so its velocity is the same without them; fewer
    positions make every cross-attention cheaper (48 -> the longest caption in the batch)."""
    used = ctx.abs().sum(-1) > 0
    if uctx is not None:
        used = torch.cat([used, uctx.abs().sum(-1) > 0])
    keep = int(used.any(0).nonzero().max()) + 1 if used.any() else 1
    return ctx[:, :keep], (uctx[:, :keep] if uctx is not None else None)


def sde_window(steps, size, rng):
    """Flow-GRPO-Fast's window: `size` consecutive step indices starting uniformly in the first half of the
    trajectory (where the picture's layout is decided)."""
    start = int(rng.integers(0, max(1, steps // 2 - size + 1)))
    return list(range(start, start + size))


class Evaluator:
    """Held-out sim / retrieval of deterministic Euler reconstructions from fixed captions."""

    def __init__(self, m, tok, images, ids, steps, guidance, empty, shape):
        self.m, self.ids, self.steps, self.g, self.empty, self.shape = m, ids, steps, guidance, empty, shape
        self.px = to_pixels(images)
        self.vae = _VaeDecode(m["ae"], m["scale"], m["shift"]).eval()
        with torch.no_grad():
            self.orig = m["scorer"].image(self.px)

    @torch.no_grad()
    def __call__(self, flow_model):
        z = euler_sample(flow_model.text, flow_model.flow, self.ids, self.steps, self.g,
                         torch.Generator().manual_seed(0), empty_ids=self.empty, shape=self.shape)
        emb = self.m["scorer"].image(self.vae(z))
        n = len(self.ids)
        return {"eval/sim": float((emb * self.orig).sum(-1).mean()),
                "eval/retrieval_top1": float(((emb @ self.orig.t()).argmax(1) == torch.arange(n)).float().mean())}


def run(cfg_name, rl, out_name="rl_flow"):
    """Stage 3 with options `rl` (a config.FlowGRPOConfig: a preset, flags override); logs and checkpoints under
    rl.log_name (an ablation writes its own, e.g. --global-std 1 --log-name rl_flow_globalstd) -> the trained
    flow model."""
    out_name = rl.log_name or out_name
    cfg = C.get(cfg_name)
    tok = load_tokenizer(TOKENIZER_PATH)
    m = load_models(cfg, tok)
    enc_step = final_stage2_encoder(m["encoder"])
    data = ensure_data(cfg["data"])
    train_images, train_records = data["train"]
    ho_images, ho_records = data["heldout"]
    policy = m["flow"]
    ref = copy.deepcopy(policy).eval().requires_grad_(False)
    for p in policy.text.parameters():
        p.requires_grad_(False)
    params = list(policy.flow.parameters())
    opt = torch.optim.AdamW(params, lr=rl.lr, weight_decay=0.0)
    ck = Checkpoint(out_name)
    start = ck.load(policy, opt)
    vae = _VaeDecode(m["ae"], m["scale"], m["shift"]).eval()
    shape = (cfg["flow"]["latent_channels"], cfg["flow"]["latent_size"], cfg["flow"]["latent_size"])
    guidance = cfg["flow"].get("guidance", 2.0)
    empty = empty_caption_ids(tok)
    with torch.no_grad():
        ho_ids = decoder_input_ids(greedy_captions(m["encoder"], to_pixels(ho_images[: rl.eval_n]), tok.bos_id,
                                                   tok.eos_id, tok.pad_id), tok.bos_id, tok.eos_id, tok.pad_id)
        uctx_one, _ = policy.text(empty)
    evaluate = Evaluator(m, tok, ho_images[: rl.eval_n], ho_ids, rl.eval_steps, guidance, empty, shape)
    # the reward: a weighted sum of fidelity terms (uae.rl's Rewarder: sim, i2i, psnr; i2i loads the backbone)
    weights = parse_reward(rl.reward, FLOW_REWARD_NAMES)
    rewarder = Rewarder(m, tok, rl.sample_steps, shape[0], guidance, weights)
    log = Log(out_name)
    with open(work_dir("logs", f"{out_name}.meta.json"), "w") as f:   # the options (uae.bundle labels the run by them)
        json.dump({"config": cfg_name, **dataclasses.asdict(rl)}, f)
    gen = torch.Generator().manual_seed(17 + start)
    rng = np.random.default_rng(23 + start)
    if start:  # resume the sampling streams where the interrupted run left them
        state = torch.load(ck.path)
        if "gen" in state:
            gen.set_state(state["gen"])
            rng.bit_generator.state = state["rng"]
    if start == 0:
        policy.eval()
        log(step=0, encoder_step=enc_step, **evaluate(policy))
    G, a = rl.group, rl.noise_level
    t0 = time.time()
    for step in range(start, rl.steps):
        idx = rng.integers(0, len(train_images), rl.images)
        px = to_pixels(train_images[idx])
        policy.eval()
        with torch.no_grad():
            ids = decoder_input_ids(greedy_captions(m["encoder"], px, tok.bos_id, tok.eos_id, tok.pad_id),
                                    tok.bos_id, tok.eos_id, tok.pad_id).repeat_interleave(G, 0)
            ctx, _ = policy.text(ids)
            uctx = uctx_one.expand(ctx.shape[0], -1, -1)[:, : ctx.shape[1]] if guidance != 1.0 else None
            if uctx is not None and uctx.shape[1] < ctx.shape[1]:
                uctx = torch.nn.functional.pad(uctx, (0, 0, 0, ctx.shape[1] - uctx.shape[1]))
            ctx, uctx = trim_caption_padding(ctx, uctx)
            window = sde_window(rl.sample_steps, rl.sde_window, rng) if rl.sde_window else None
            z, states, old_logp, ts = sample_sde(policy.flow, ctx, uctx, guidance, rl.sample_steps, a, gen, shape,
                                                 sde_steps=window)
            rewards, reward_parts = grpo_ref.combine_rewards(rewarder.components(px, vae(z), group=G, ids=ids))
        # Group std by default; Flow-GRPO's configs set global_std = True (the ablation is in the model card)
        adv = grpo_ref.flow_advantages(rewards, G, global_std=bool(rl.global_std))
        adv_t = torch.tensor(np.clip(adv, -rl.adv_clip_max, rl.adv_clip_max), dtype=torch.float32)
        # Flow-GRPO trains on a random subset of the sampling timesteps (the last, deterministic-ish one excluded)
        # (with an SDE window, exactly the window's steps: the only ones with a log-probability)
        train_ts = window if window else sorted(
            rng.choice(rl.sample_steps - 1, rl.train_timesteps, replace=False).tolist())
        n = ids.shape[0]
        perm = rng.permutation(n)
        reports = []
        policy.train()
        for mb in np.array_split(perm, rl.minibatches):
            mb = torch.from_numpy(mb)
            opt.zero_grad()
            for j in train_ts:
                t, dt = float(ts[j]), float(ts[j + 1] - ts[j])
                x, x_next = states[j][mb], states[j + 1][mb]
                u = uctx[mb] if uctx is not None else None
                logp, mean, std_dev_t = flow_log_prob(policy.flow, x, x_next, t, dt, ctx[mb], u, guidance, a,
                                                      float(ts[1]))
                with torch.no_grad():  # the reference needs no gradient
                    _, mean_ref, _ = flow_log_prob(ref.flow, x, x_next, t, dt, ctx[mb], u, guidance, a, float(ts[1]))
                kl = ((mean - mean_ref) ** 2).reshape(len(mb), -1).mean(1) / (2 * std_dev_t ** 2)
                loss, _, _ = flow_grpo_torch_loss(logp, old_logp[j][mb], adv_t[mb], rl.clip_range, rl.beta, kl)
                (loss / len(train_ts)).backward()
                reports.append(grpo_ref.flow_grpo_loss(
                    logp.detach().double().numpy(), old_logp[j][mb].double().numpy(), adv[mb.numpy()],
                    rl.clip_range, rl.adv_clip_max, rl.beta, kl.detach().double().numpy()))
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        # Flow-GRPO logs the mean of every appended value under its own names (train_sd3.py 901-930, averaged at 947)
        mean_r = {k: float(np.mean([r[k] for r in reports])) for k in reports[0]}
        lengths = ((ids != tok.pad_id) & (ids != tok.bos_id)).sum(1).numpy()
        row = {"step": step + 1, "learning_rate": rl.lr, **grpo_ref.flow_reward_stats(rewards, G), **mean_r,
               "caption_mean_length": float(lengths.mean()), **(reward_parts if len(weights) > 1 else {}),
               "s_per_step": round((time.time() - t0) / (step - start + 1), 2)}
        if (step + 1) % rl.eval_every == 0 or step + 1 == rl.steps:
            policy.eval()
            row.update(evaluate(policy))
        log(**row)
        if (step + 1) % rl.ckpt_every == 0 or step + 1 == rl.steps:
            ck.save(policy, opt, step + 1, extra={"gen": gen.get_state(), "rng": rng.bit_generator.state})
    return policy


def main():
    preset_cli(__doc__, C.RL_FLOW, run)


if __name__ == "__main__":
    main()
