"""Hyper-parameters of every training stage. `full` is the shipped run; `tiny` is for pipeline tests."""

MAX_LEN = 48          # caption tokens including [BOS] and [EOS]
IMAGE_SIZE = 64
LEVELS = 5

# Caption-level mixes (probability of L0..L4) per model, as the model card states.
ENCODER_LEVEL_MIX = [0.55, 0.20, 0.12, 0.08, 0.05]   # cold start: biased to short captions
DECODER_LEVEL_MIX = [0.08, 0.08, 0.12, 0.22, 0.50]   # pre-training: emphasis on the most detailed
SCORER_LEVEL_MIX = [0.05, 0.05, 0.10, 0.20, 0.60]

FULL = {
    "data": {"train_count": 60000, "train_seed": 1, "heldout_seed": 2, "heldout_count": 1000},
    "ae": {"channels": 8, "steps": 1600, "batch": 64, "lr": 1e-3, "latent_noise": 0.1, "decoder_steps": 2000},
    "flow": {"latent_channels": 8, "latent_size": 8, "patch": 2, "dim": 128, "heads": 4, "depth": 5,
             "text_dim": 128, "text_heads": 4, "text_layers": 2, "steps": 5000, "batch": 48, "lr": 7e-4, "ema": 0.998, "guidance": 2.0,
             "cfg_dropout": 0.1},
    "encoder": {"dim": 128, "heads": 4, "vision_layers": 1, "layers": 2, "steps": 4800, "batch": 64,
                "lr": 1e-3, "attr_weight": 1.0, "bind_steps": 600, "bind_lr": 3e-4, "bind_weight": 1.0},
    "scorer": {"dim": 128, "heads": 4, "vision_layers": 2, "text_layers": 2, "embed": 64, "pool": "flatten",
               "flat_dim": 16, "steps": 800,
               "batch": 96, "hard_negatives": 48, "hard_negative_scenes": 16000, "hard_margin": 0.5,
               "hard_margin_weight": 1.0, "lr": 1e-3, "attr_weight": 0.0},
}

TINY = {
    "data": {"train_count": 256, "train_seed": 1, "heldout_seed": 2, "heldout_count": 32},
    "ae": {"channels": 8, "steps": 3, "batch": 8, "lr": 2e-3, "latent_noise": 0.1, "decoder_steps": 3},
    "flow": {"latent_channels": 8, "latent_size": 8, "patch": 2, "dim": 32, "heads": 2, "depth": 1,
             "text_dim": 32, "text_heads": 2, "text_layers": 1, "steps": 3, "batch": 8, "lr": 1e-3,
             "cfg_dropout": 0.1},
    "encoder": {"dim": 32, "heads": 2, "vision_layers": 1, "layers": 1, "steps": 3, "batch": 8, "lr": 1e-3,
                "attr_weight": 1.0, "bind_steps": 2, "bind_lr": 3e-4, "bind_weight": 1.0},
    "scorer": {"dim": 32, "heads": 2, "vision_layers": 1, "text_layers": 1, "embed": 16, "pool": "flatten",
               "flat_dim": 4, "steps": 3,
               "batch": 8, "hard_negatives": 4, "hard_negative_scenes": 64, "hard_margin": 0.5,
               "hard_margin_weight": 1.0, "lr": 1e-3, "attr_weight": 1.0},
}


def get(name):
    """Returns a deep copy of the named configuration ('full' or 'tiny')."""
    import copy
    return copy.deepcopy({"full": FULL, "tiny": TINY}[name])
