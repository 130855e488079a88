"""Settings of every training stage, one documented dataclass each (as TRL's GRPOConfig): for the
pre-training stages, what the network is (`*Arch`: the exported graphs depend on it) apart from how it is
optimised (`*Training`); for the RL stages, the options of stage 2 and stage 3, each field a flag of its
command. `full` is the shipped run; `tiny` is for pipeline tests.

The stages read the plain nested dict of `get(name)`; a field left at None is absent from it, so the code
that reads it with a default decides (see the field's comment).
"""
import dataclasses
from dataclasses import dataclass
from typing import Optional

MAX_LEN = 48          # caption tokens including [BOS] and [EOS]
IMAGE_SIZE = 64
LEVELS = 5

# Caption-level mixes (probability of L0..L4) per model, as the model card states.
ENCODER_LEVEL_MIX = [0.55, 0.20, 0.12, 0.08, 0.05]   # cold start: biased to short captions
DECODER_LEVEL_MIX = [0.08, 0.08, 0.12, 0.22, 0.50]   # pre-training: emphasis on the most detailed
SCORER_LEVEL_MIX = [0.05, 0.05, 0.10, 0.20, 0.60]


def _fields(obj):
    """The dataclass's fields that are set, in declaration order -> dict."""
    return {k: v for k, v in dataclasses.asdict(obj).items() if v is not None}


@dataclass(frozen=True)
class DataConfig:
    """The Shapes scenes exported by `uae scenes`: training and held-out sets (count and seed each)."""
    train_count: int
    train_seed: int
    heldout_seed: int
    heldout_count: int


@dataclass(frozen=True)
class AutoEncoderArch:
    """Latent auto-encoder: image [3,64,64] <-> latent [channels,8,8]."""
    channels: int


@dataclass(frozen=True)
class AutoEncoderTraining:
    """L1 + L2 reconstruction with latent noise (relative to the latents' std); `decoder_steps` for the
    optional refinement of the decoder (`--stage ae_decoder`)."""
    steps: int
    batch: int
    lr: float
    latent_noise: float
    decoder_steps: int


@dataclass(frozen=True)
class FlowArch:
    """Flow decoder: text tower (text_*) + DiT-style rectified-flow transformer on latent patches."""
    latent_channels: int
    latent_size: int
    patch: int
    dim: int
    heads: int
    depth: int
    text_dim: int
    text_heads: int
    text_layers: int


@dataclass(frozen=True)
class FlowTraining:
    """Rectified-flow matching with caption dropout `cfg_dropout` (for classifier-free guidance)."""
    steps: int
    batch: int
    lr: float
    ema: Optional[float] = None        # EMA decay of the exported weights; None: 0.999
    guidance: Optional[float] = None   # CFG scale of the bundle and of stage 3; None: bundle 1.0, stage 3 2.0
    cfg_dropout: float = 0.1


@dataclass(frozen=True)
class EncoderArch:
    """Caption encoder (I2T): vision encoder + caption decoder with cross-attention."""
    dim: int
    heads: int
    vision_layers: int
    layers: int


@dataclass(frozen=True)
class EncoderTraining:
    """Phase 1: next-token cross-entropy + `attr_weight` x the attribute probe; phase 2 (`bind_steps` at
    `bind_lr`): cross-entropy + `bind_weight` x the binding loss (uae.train.train_encoder)."""
    steps: int
    batch: int
    lr: float
    attr_weight: float
    bind_steps: int
    bind_lr: float
    bind_weight: float


@dataclass(frozen=True)
class ScorerArch:
    """CLIP-style scorer: image tower (`pool` 'flatten' keeps every token, narrowed to `flat_dim`) and text
    tower, both projected to `embed`."""
    dim: int
    heads: int
    vision_layers: int
    text_layers: int
    embed: int
    pool: str
    flat_dim: int


@dataclass(frozen=True)
class ScorerTraining:
    """Contrastive loss with `hard_negatives` changed scenes per batch (drawn from `hard_negative_scenes`)
    and a hinge at cosine `hard_margin`; `attr_weight` x the attribute probe on the image embedding."""
    steps: int
    batch: int
    hard_negatives: int
    hard_negative_scenes: int
    hard_margin: float
    hard_margin_weight: float
    lr: float
    attr_weight: float


@dataclass(frozen=True)
class Stage:
    """One pre-training stage: what the network is and how it is optimised."""
    arch: object
    train: object

    def as_dict(self):
        """Architecture keys, then optimisation keys -> one flat dict (what the stage reads)."""
        return {**_fields(self.arch), **_fields(self.train)}


@dataclass(frozen=True)
class PretrainConfig:
    """Stage 1 (uae.train): the data and the four pre-trained models."""
    data: DataConfig
    ae: Stage
    flow: Stage
    encoder: Stage
    scorer: Stage

    def as_dict(self):
        """-> {"data": {...}, "ae": {...}, "flow": {...}, "encoder": {...}, "scorer": {...}}, fresh copies."""
        return {"data": _fields(self.data), **{k: getattr(self, k).as_dict() for k in ("ae", "flow", "encoder", "scorer")}}


PRETRAIN = {
    "full": PretrainConfig(
        data=DataConfig(train_count=60000, train_seed=1, heldout_seed=2, heldout_count=1000),
        ae=Stage(AutoEncoderArch(channels=8),
                 AutoEncoderTraining(steps=1600, batch=64, lr=1e-3, latent_noise=0.1, decoder_steps=2000)),
        flow=Stage(FlowArch(latent_channels=8, latent_size=8, patch=2, dim=128, heads=4, depth=5, text_dim=128,
                            text_heads=4, text_layers=2),
                   FlowTraining(steps=5000, batch=48, lr=7e-4, ema=0.998, guidance=2.0, cfg_dropout=0.1)),
        encoder=Stage(EncoderArch(dim=128, heads=4, vision_layers=1, layers=2),
                      EncoderTraining(steps=4800, batch=64, lr=1e-3, attr_weight=1.0, bind_steps=600, bind_lr=3e-4,
                                      bind_weight=1.0)),
        scorer=Stage(ScorerArch(dim=128, heads=4, vision_layers=2, text_layers=2, embed=64, pool="flatten", flat_dim=16),
                     ScorerTraining(steps=800, batch=96, hard_negatives=48, hard_negative_scenes=16000, hard_margin=0.5,
                                    hard_margin_weight=1.0, lr=1e-3, attr_weight=0.0)),
    ),
    "tiny": PretrainConfig(
        data=DataConfig(train_count=256, train_seed=1, heldout_seed=2, heldout_count=32),
        ae=Stage(AutoEncoderArch(channels=8),
                 AutoEncoderTraining(steps=3, batch=8, lr=2e-3, latent_noise=0.1, decoder_steps=3)),
        flow=Stage(FlowArch(latent_channels=8, latent_size=8, patch=2, dim=32, heads=2, depth=1, text_dim=32,
                            text_heads=2, text_layers=1),
                   FlowTraining(steps=3, batch=8, lr=1e-3, cfg_dropout=0.1)),
        encoder=Stage(EncoderArch(dim=32, heads=2, vision_layers=1, layers=1),
                      EncoderTraining(steps=3, batch=8, lr=1e-3, attr_weight=1.0, bind_steps=2, bind_lr=3e-4,
                                      bind_weight=1.0)),
        scorer=Stage(ScorerArch(dim=32, heads=2, vision_layers=1, text_layers=1, embed=16, pool="flatten", flat_dim=4),
                     ScorerTraining(steps=3, batch=8, hard_negatives=4, hard_negative_scenes=64, hard_margin=0.5,
                                    hard_margin_weight=1.0, lr=1e-3, attr_weight=1.0)),
    ),
}

FULL = PRETRAIN["full"].as_dict()
TINY = PRETRAIN["tiny"].as_dict()


def get(name):
    """The named pre-training configuration ('full' or 'tiny') as a fresh nested dict."""
    return PRETRAIN[name].as_dict()


@dataclass(frozen=True)
class EncoderGRPOConfig:
    """Stage 2 (`python3 -m uae.rl`): GRPO on the caption decoder, with TRL's option names.

    steps, images per step, group (captions sampled per image), lr; beta (k3 KL weight), epsilon_low /
    epsilon_high (clip range), loss_type (grpo, bnpo, dr_grpo, dapo), scale_rewards (group, batch, none),
    iterations (optimiser steps per generation batch), temperature (sampling); flow_steps and guidance of
    the reward's decoder (Euler, CFG); eval_every / eval_n (held-out scenes), ckpt_every (snapshots); reward:
    `sim` or a mix `sim=W,i2i=W` of the scorer's cosine and the image-image backbone's (uae.backbone), as
    `uae train --reward` takes it; length_penalty: `none`, `linear:COEF[:W]` (reward - COEF x completion tokens)
    or `overlong:MAX:CACHE[:W]` (TRL's soft overlong punishment), as `uae train --length-penalty` takes it."""
    steps: int
    images: int
    group: int
    lr: float
    beta: float
    epsilon_low: float
    epsilon_high: float
    loss_type: str
    scale_rewards: str
    iterations: int
    temperature: float
    flow_steps: int
    guidance: float
    eval_every: int
    eval_n: int
    ckpt_every: int
    reward: str = "sim"
    length_penalty: str = "none"


@dataclass(frozen=True)
class FlowGRPOConfig:
    """Stage 3 (`python3 -m uae.rl_flow`): Flow-GRPO on the flow transformer, with Flow-GRPO's names.

    steps, images per step, group (samples per caption), lr, beta (KL weight), clip_range, adv_clip_max;
    noise_level (the SDE's a), sample_steps, train_timesteps (trained per trajectory without a window),
    sde_window (W > 0: only W consecutive steps are stochastic and trained, Flow-GRPO-Fast), minibatches;
    eval_every / eval_n / eval_steps (held-out Euler reconstructions), ckpt_every; global_std (1: advantages
    over the batch's std, as Flow-GRPO's configs), log_name (logs and checkpoints, e.g. an ablation's); reward:
    `sim` or a mix `sim=W,i2i=W,psnr=W,readback=W` (stage 2's names: the scorer's cosine and the image-image
    backbone's; each reconstruction's PSNR in dB; the frozen encoder's per-token probability of its caption, read
    from the reconstruction)."""
    steps: int
    images: int
    group: int
    lr: float
    beta: float
    clip_range: float
    adv_clip_max: float
    noise_level: float
    sample_steps: int
    train_timesteps: int
    sde_window: int
    minibatches: int
    eval_every: int
    eval_n: int
    eval_steps: int
    ckpt_every: int
    global_std: int
    log_name: str
    reward: str = "sim"


RL_ENCODER = {
    "full": EncoderGRPOConfig(steps=100, images=8, group=8, lr=3e-5, beta=0.1, epsilon_low=0.2, epsilon_high=0.28,
                              loss_type="dapo", scale_rewards="group", iterations=2, temperature=1.0, flow_steps=8,
                              guidance=2.0, eval_every=20, eval_n=128, ckpt_every=10),
    "tiny": EncoderGRPOConfig(steps=3, images=2, group=4, lr=5e-5, beta=0.01, epsilon_low=0.2, epsilon_high=0.28,
                              loss_type="dapo", scale_rewards="group", iterations=2, temperature=1.0, flow_steps=2,
                              guidance=2.0, eval_every=2, eval_n=8, ckpt_every=1),
}

RL_FLOW = {
    "full": FlowGRPOConfig(steps=120, images=12, group=8, lr=5e-5, beta=0.04, clip_range=1e-3, adv_clip_max=5.0,
                           noise_level=0.7, sample_steps=12, train_timesteps=3, sde_window=2, minibatches=2,
                           eval_every=15, eval_n=128, eval_steps=12, ckpt_every=15, global_std=0, log_name="rl_flow",
                           reward="sim=1,psnr=0.01"),
    "tiny": FlowGRPOConfig(steps=2, images=2, group=3, lr=2e-5, beta=0.01, clip_range=1e-3, adv_clip_max=5.0,
                           noise_level=0.7, sample_steps=3, train_timesteps=2, sde_window=1, minibatches=2,
                           eval_every=1, eval_n=4, eval_steps=2, ckpt_every=1, global_std=0, log_name="rl_flow"),
}
