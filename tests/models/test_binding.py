"""The caption encoder's binding phase: which caption tokens are position words of which object, which
vision tokens lie in a grid cell, and the loss on the cross-attention mass there."""
import os

import numpy as np
import pytest

# missing torch skips locally but fails under CI=true (conftest.py checks it too)
torch = pytest.importorskip("torch") if os.environ.get("CI") != "true" else __import__("torch")


from uae.common import TOKENIZER_PATH, load_tokenizer  # noqa: E402
from uae.train import binding_loss, cell_token_mask, position_cells  # noqa: E402
from uae import config as C  # noqa: E402
from uae.encoder import CaptionModel  # noqa: E402


pytestmark = pytest.mark.usefixtures("float32")


TOK = load_tokenizer(TOKENIZER_PATH)
SCENE = {"background": "white", "objects": [
    {"shape": "square", "colour": "green", "size": "small", "row": 0, "col": 0},
    {"shape": "circle", "colour": "red", "size": "large", "row": 2, "col": 1}]}


def ids_of(captions):
    out = np.full((1, C.LEVELS, C.MAX_LEN), TOK.pad_id, dtype=np.int64)
    for lv, text in enumerate(captions):
        row = [TOK.bos_id] + TOK.encode(text) + [TOK.eos_id]
        out[0, lv, : len(row)] = row
    return out


def test_position_words_point_at_their_objects_cell():
    caps = ["a green square", "a small green square", "a small green square at the top left",
            "a large red circle at the bottom and a small green square at the top left",
            "two objects on a white background : a small green square in the top left , a large red circle at the bottom"]
    ids = ids_of(caps)
    cells = position_cells([{"scene": SCENE}], ids, TOK)
    assert (cells[0, :2] == -1).all()          # levels 0 and 1 have no position words
    for lv in (2, 3, 4):
        words = caps[lv].split(" ")
        got = {(words[k - 1], int(cells[0, lv, k])) for k in range(1, len(words) + 1) if cells[0, lv, k] >= 0}
        want = {("top", 0), ("left", 0)} | ({("bottom", 7)} if lv > 2 else set())
        assert got == want, (lv, got)


def test_two_identical_objects_give_no_target():
    scene = {"background": "white", "objects": [dict(SCENE["objects"][0]), dict(SCENE["objects"][0], row=2, col=2)]}
    ids = ids_of(["a green square", "a small green square", "a small green square at the bottom right",
                  "a small green square at the top left and a small green square at the bottom right",
                  "two objects on a white background : a small green square at the top left and a small green "
                  "square at the bottom right"])
    assert (position_cells([{"scene": scene}], ids, TOK) == -1).all()


def test_cell_mask_partitions_the_tokens():
    m = cell_token_mask()
    assert m.shape == (9, 64)
    assert torch.equal(m.sum(0), torch.ones(64))              # every token in exactly one cell
    assert m[0, 0] == 1 and m[8, 63] == 1 and m[4, 4 * 8 + 4] == 1
    assert m.sum(1).tolist() == [9, 6, 9, 6, 4, 6, 9, 6, 9]


def test_binding_loss_falls_when_attention_moves_to_the_cell():
    hp = dict(C.get("tiny")["encoder"], vocab=TOK.vocab_size, max_len=C.MAX_LEN)
    torch.manual_seed(0)
    model = CaptionModel(hp)
    for layer in model.decoder.layers:
        layer.cross.keep_probs = True
    ids = torch.from_numpy(ids_of(["a", "a", "a small green square at the top left", "a", "a"])[:, 2])
    cells = torch.from_numpy(position_cells([{"scene": SCENE}], ids_of(
        ["a", "a", "a small green square at the top left", "a", "a"]), TOK)[:, 2])
    mask = cell_token_mask()
    px = torch.zeros(1, 3, 64, 64)
    enc = model.vision(px)
    model.decoder(ids[:, :-1], enc, model.decoder.empty_past(1))
    loss, mass = binding_loss(model.decoder, cells[:, 1:], mask)
    assert loss is not None and 0 < float(mass) < 1
    assert abs(float(loss) + float(torch.log(mass))) < 0.05      # one or two queries of similar mass
    # steer the cross-attention: keys that only the cell's tokens light up
    enc2 = enc.detach().clone()
    enc2[0, mask[0] > 0] += 50.0 * torch.randn(enc.shape[-1])
    opt = torch.optim.SGD(model.decoder.parameters(), lr=0.5)
    first = float(loss)
    for _ in range(30):
        model.decoder(ids[:, :-1], enc2, model.decoder.empty_past(1))
        loss, _ = binding_loss(model.decoder, cells[:, 1:], mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.5 * first
    none, _ = binding_loss(model.decoder, torch.full((1, 5), -1), mask)
    assert none is None
