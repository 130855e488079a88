"""The dataset `uae scenes` writes round-trips through models/shapes_data.py (exact pixels, captions)."""
import json
import os
import subprocess

import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

from shapes_data import iter_shards, load_dataset, load_tokenizer, read_manifest, verify_dataset  # noqa: E402

TOKENIZER = os.path.join(REPO, "public", "tokenizers", "shapes", "tokenizer.json")

# Regenerates each scene from its seed in TypeScript, independently of the export's file writing,
# and prints per-image channel sums.
REGENERATE = """
import { rasterizeScene, sampleScene, sceneSeed } from './src/shapes/index.ts';
const [count, seed, res] = process.argv.slice(-3).map(Number);
const sums = [];
for (let i = 0; i < count; i++) {
  const img = rasterizeScene(sampleScene(sceneSeed(seed, i)), res);
  const s = [0, 0, 0];
  for (let k = 0; k < img.length; k++) s[k % 3] += img[k];
  sums.push(s);
}
console.log(JSON.stringify(sums));
"""


def run(cmd):
    return subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("scenes"))
    run(["node", "bin/uae.mjs", "scenes", "--count", "50", "--seed", "7", "--out", out, "--shard-size", "20"])
    return out


def test_manifest_and_shapes(dataset):
    m = read_manifest(dataset)
    assert (m["count"], m["seed"], m["height"], m["width"]) == (50, 7, 64, 64)
    assert [s["count"] for s in m["shards"]] == [20, 20, 10]
    images, records = load_dataset(dataset)
    assert images.shape == (50, 64, 64, 3) and images.dtype == np.uint8
    assert [r["index"] for r in records] == list(range(50))
    assert sum(len(recs) for _, recs in iter_shards(dataset)) == 50


def test_exact_pixels(dataset):
    images, records = load_dataset(dataset)
    assert verify_dataset(images, records) == 0
    sums = json.loads(run(["node_modules/.bin/tsx", "--eval", REGENERATE, "--", "50", "7", "64"]))
    np.testing.assert_array_equal(images.reshape(50, -1, 3).sum(axis=1, dtype=np.int64), np.array(sums))
    tampered = np.array(images)
    tampered[3, 10, 10, 0] ^= 1
    assert verify_dataset(tampered, records) == 1


def test_pixels_agree_with_scene_graph(dataset):
    m = read_manifest(dataset)
    images, records = load_dataset(dataset)
    cell = m["height"] / 3
    for img, rec in zip(images, records):
        scene = rec["scene"]
        assert list(img[0, 0]) == m["palette"]["backgrounds"][scene["background"]]
        for o in scene["objects"]:
            y, x = int((o["row"] + 0.5) * cell), int((o["col"] + 0.5) * cell)
            assert list(img[y, x]) == m["palette"]["objects"][o["colour"]]


def test_captions_and_tokenizer(dataset):
    _, records = load_dataset(dataset)
    tok = load_tokenizer(TOKENIZER)
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    for rec in records:
        assert len(rec["captions"]) == 5
        main = next((o for o in rec["scene"]["objects"] if o["size"] == "large"), rec["scene"]["objects"][0])
        assert rec["captions"][0].endswith(f"{main['colour']} {main['shape']}")
        for text in rec["captions"]:
            ids = tok.encode(text)
            assert tok.unk_id not in ids
            assert tok.decode([tok.bos_id] + ids + [tok.eos_id, tok.pad_id]) == text
    padded = tok.encode_padded([r["captions"][4] for r in records], 48)
    assert padded.shape == (50, 48) and (padded[:, 0] == tok.bos_id).all()
    assert ((padded == tok.eos_id).sum(axis=1) == 1).all()
