"""Stage 3 (models/uae/rl_flow.py): with an SDE window only the window's steps are stochastic and carry a
log-probability, every other step is the playground's deterministic Euler step; the training pass detaches the
CFG unconditional branch as Flow-GRPO's compute_log_prob does; the optimised loss equals grpo_ref's
Flow-GRPO loss in value and gradient."""
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch") if os.environ.get("CI") != "true" else __import__("torch")


from uae import config as C  # noqa: E402
from uae.flow_decoder import FlowTransformer  # noqa: E402
from uae.infer import euler_sample  # noqa: E402
from uae.rl_flow import (flow_grpo_torch_loss, flow_log_prob, gaussian_logp, guided_velocity, sample_sde,  # noqa: E402
                         sde_mean, sde_window, trim_caption_padding)
import grpo_ref  # noqa: E402


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


def _loss_from_velocity(v, x, x_next, t, dt, old, adv):
    mean, std, _ = sde_mean(x, v, t, dt, 0.7, 0.75)
    loss, _, _ = flow_grpo_torch_loss(gaussian_logp(x_next, mean, std), old, adv, 0.2, 0.0)
    return loss


def test_training_pass_detaches_the_unconditional_branch():
    """The gradient of the training loss w.r.t. the flow's parameters is the one with u.detach()
    (train_sd3.py 189-194), and differs from the one where u carries gradient."""
    flow, ctx, shape = _setup()
    flow.train()
    uctx = torch.randn_like(ctx)
    g = torch.Generator().manual_seed(4)
    x = torch.randn((4,) + shape, generator=g)
    x_next = x + 0.1 * torch.randn(x.shape, generator=g)
    t, dt, guidance = 0.5, -0.25, 2.0
    adv = torch.tensor([1.5, -0.5, 0.8, -1.2])
    params = [p for p in flow.parameters()]

    def grads(loss):
        return torch.cat([gr.reshape(-1) for gr in torch.autograd.grad(loss, params)])

    logp, _, _ = flow_log_prob(flow, x, x_next, t, dt, ctx, uctx, guidance, 0.7, 0.75)
    with torch.no_grad():
        old = logp - 0.05
    used = grads(flow_grpo_torch_loss(logp, old, adv, 0.2, 0.0)[0])
    tt = torch.full((4,), t)
    c, u = flow(x, tt, ctx), flow(x, tt, uctx)
    detached = grads(_loss_from_velocity(u.detach() + guidance * (c - u.detach()), x, x_next, t, dt, old, adv))
    c, u = flow(x, tt, ctx), flow(x, tt, uctx)
    full = grads(_loss_from_velocity(u + guidance * (c - u), x, x_next, t, dt, old, adv))
    assert torch.allclose(used, detached, rtol=1e-5, atol=1e-8)
    assert not torch.allclose(used, full, rtol=1e-3, atol=1e-6), "the unconditional branch must carry no gradient"


FLOW = json.load(open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "grpo", "flow.json")))


@pytest.mark.parametrize("case", FLOW["losses"], ids=[c["name"] for c in FLOW["losses"]])
def test_flow_torch_loss_matches_reference_value_and_gradient(case):
    lp, old = np.asarray(case["log_prob"]), np.asarray(case["old_log_prob"])
    adv = np.clip(np.asarray(case["advantages"]), -case["adv_clip_max"], case["adv_clip_max"])
    kl = np.asarray(case["kl"])
    x = torch.tensor(lp, dtype=torch.float64, requires_grad=True)
    k = torch.tensor(kl, dtype=torch.float64, requires_grad=True)
    loss, policy_loss, kl_loss = flow_grpo_torch_loss(x, torch.tensor(old), torch.tensor(adv), case["clip_range"],
                                                      case["beta"], k)
    want = grpo_ref.flow_grpo_loss(lp, old, case["advantages"], case["clip_range"], case["adv_clip_max"],
                                   case["beta"], kl)
    assert loss.item() == pytest.approx(want["loss"], rel=1e-12)
    assert policy_loss.item() == pytest.approx(want["policy_loss"], rel=1e-12)
    assert (kl_loss is None) == ("kl_loss" not in want)
    gx, gk = torch.autograd.grad(loss, [x, k], allow_unused=True)
    # analytic: mean_b max(-A rho, -A clip(rho)): the unclipped branch has derivative -A rho / B when it is the
    # max (or rho is inside the clip range), the clipped one is constant outside it; d/d kl = beta / B
    rho = np.exp(lp - old)
    eps = case["clip_range"]
    inside = (rho >= 1 - eps) & (rho <= 1 + eps)
    unclipped_max = -adv * rho >= -adv * np.clip(rho, 1 - eps, 1 + eps)
    expect = np.where(inside | unclipped_max, -adv * rho, 0.0) / lp.size
    assert np.allclose(gx.numpy(), expect, rtol=1e-9, atol=1e-14)
    if case["beta"] > 0:
        assert np.allclose(gk.numpy(), case["beta"] / lp.size)


def _padded_states(hp):
    """Caption states as the TextTower writes them: rows of different lengths, exactly zero after each caption."""
    torch.manual_seed(5)
    ctx = torch.randn(4, 10, hp["text_dim"])
    for row, length in enumerate([3, 7, 5, 2]):
        ctx[row, length:] = 0
    uctx = torch.zeros(4, 10, hp["text_dim"])
    uctx[:, :2] = torch.randn(2, hp["text_dim"])
    return ctx, uctx


def test_trimmed_caption_padding_and_keys_values_once_give_the_same_sde_samples_bit_for_bit():
    flow, _, shape = _setup()
    hp = C.get("tiny")["flow"]
    ctx, uctx = _padded_states(hp)
    short, ushort = trim_caption_padding(ctx, uctx)
    assert short.shape[1] == 7 and ushort.shape[1] == 7          # the longest caption: position 7 on is padding
    assert torch.equal(short, ctx[:, :7]) and torch.equal(ushort, uctx[:, :7])
    assert trim_caption_padding(ctx[:, :, :], None)[1] is None
    # the velocity with the captions' keys/values computed once equals computing them every call, trimmed or not
    x, t = torch.randn((4,) + shape), 0.6
    v_full = guided_velocity(flow, x, t, ctx, uctx, 2.0)
    v_once = guided_velocity(flow, x, t, short, ushort, 2.0, kv=flow.text_kv(short), ukv=flow.text_kv(ushort))
    assert torch.allclose(v_once, v_full, atol=1e-6)
    # the sampler (keys/values once per run) on trimmed states: the same trajectory and log-probs as on the padded ones
    a = sample_sde(flow, ctx, uctx, 2.0, 6, 0.7, torch.Generator().manual_seed(2), shape, sde_steps=[1, 2])
    b = sample_sde(flow, short, ushort, 2.0, 6, 0.7, torch.Generator().manual_seed(2), shape, sde_steps=[1, 2])
    assert torch.allclose(a[1], b[1], atol=1e-6) and torch.allclose(a[2], b[2], atol=1e-6)
    assert (a[2][[1, 2]] != 0).all()


def test_euler_sample_with_keys_values_once_is_the_step_by_step_definition():
    flow, _, shape = _setup()
    hp = C.get("tiny")["flow"]
    ctx, uctx = _padded_states(hp)

    class Text:                                                   # a text tower returning the fixed states
        def __call__(self, ids):
            return (uctx if int(ids[0, 0]) == -1 else ctx), None

    ids, empty = torch.zeros(4, 10, dtype=torch.long), torch.full((1, 10), -1, dtype=torch.long)
    z = euler_sample(Text(), flow, ids, 5, 2.0, torch.Generator().manual_seed(4), empty, shape)
    x = torch.randn((4,) + shape, generator=torch.Generator().manual_seed(4))
    ts = torch.linspace(1.0, 0.0, 6)
    for i in range(5):
        tt = torch.full((4,), float(ts[i]))
        v, u = flow(x, tt, ctx), flow(x, tt, uctx)
        x = x + float(ts[i + 1] - ts[i]) * (u + 2.0 * (v - u))
    assert torch.allclose(z, x, atol=1e-6)
