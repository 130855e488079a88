"""Stage 3's sampler: with an SDE window only the window's steps are stochastic and carry a log-probability;
every other step is the playground's deterministic Euler step."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "models"))

from uae import config as C  # noqa: E402
from uae.nets import FlowTransformer  # noqa: E402
from uae.rl_flow import sample_sde, sde_window  # noqa: E402


pytestmark = pytest.mark.usefixtures("float32")


def _setup():
    torch.manual_seed(0)
    hp = C.get("tiny")["flow"]
    flow = FlowTransformer(hp).eval()
    for p in flow.parameters():   # the output layers start at zero: give the velocity something to say
        torch.nn.init.normal_(p, std=0.05)
    ctx = torch.randn(4, 6, hp["text_dim"])
    return flow, ctx, (hp["latent_channels"], hp["latent_size"], hp["latent_size"])


def test_window_steps_are_the_only_stochastic_ones():
    flow, ctx, shape = _setup()
    steps = 6
    ode, ode_states, ode_logp, ts = sample_sde(flow, ctx, None, 1.0, steps, 0.7, torch.Generator().manual_seed(3),
                                               shape, sde_steps=[])
    assert float(ode_logp.abs().max()) == 0.0
    # no stochastic step: exactly the Euler ODE
    x = ode_states[0]
    for i in range(steps):
        t, dt = float(ts[i]), float(ts[i + 1] - ts[i])
        x = x + dt * flow(x, torch.full((4,), t), ctx)
    assert torch.allclose(x, ode, atol=1e-6)

    _, states, logp, _ = sample_sde(flow, ctx, None, 1.0, steps, 0.7, torch.Generator().manual_seed(3), shape,
                                    sde_steps=[1, 2])
    assert torch.equal(states[0], ode_states[0]) and torch.allclose(states[1], ode_states[1])
    assert not torch.allclose(states[2], ode_states[2])          # the window adds noise
    assert (logp[[0, 3, 4, 5]] == 0).all() and (logp[[1, 2]] != 0).all()


def test_full_sde_has_a_log_prob_at_every_step():
    flow, ctx, shape = _setup()
    _, _, logp, _ = sample_sde(flow, ctx, None, 1.0, 4, 0.7, torch.Generator().manual_seed(1), shape)
    assert (logp != 0).all()


def test_window_lies_in_the_first_half():
    import numpy as np
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(200):
        w = sde_window(12, 2, rng)
        assert len(w) == 2 and w[1] == w[0] + 1 and 0 <= w[0] and w[1] < 6
        starts.add(w[0])
    assert starts == {0, 1, 2, 3, 4}
