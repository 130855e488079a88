#!/usr/bin/env python3
"""Generate the tiny test bundle public/models/fixture-tiny/ and its broken variants.

The bundle is a scorer-like pair of ONNX graphs exported with torch.onnx.export from modules with
deterministic weights (torch.manual_seed), a manifest.json with real byte sizes and sha256, the shapes
tokenizer (when present), and reference.json: the embeddings PyTorch computes for fixed inputs, which
the Node tests compare against onnxruntime-web.

Broken variants for loader/CLI error tests go to tests/fixtures/bad-bundles/<variant>/.

Run with Debian's interpreter (torch + onnx): /usr/bin/python3 models/make_fixture.py
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
EMBED_DIM = 16
IMAGE_SIZE = 64
SEED = 20250909
OPSET = 17


class VisionTower(torch.nn.Module):
    """pixel_values [batch,3,64,64] -> image_embeds [batch,16], unit L2 norm."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = torch.nn.Conv2d(3, 8, kernel_size=8, stride=8)
        self.proj = torch.nn.Linear(8 * 8 * 8, EMBED_DIM)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.patch(pixel_values))
        return F.normalize(self.proj(h.flatten(1)), dim=-1)


class TextTower(torch.nn.Module):
    """input_ids [batch,seq] int64 -> text_embeds [batch,16], unit L2 norm (mean-pooled embeddings)."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, EMBED_DIM)
        self.proj = torch.nn.Linear(EMBED_DIM, EMBED_DIM)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.embed(input_ids).mean(dim=1)), dim=-1)


def reference_pixels(batch: int) -> np.ndarray:
    """Fixed input the TS test rebuilds exactly: v[i] = float32(((i*37) % 255) / 255 - 0.5), NCHW."""
    i = np.arange(batch * 3 * IMAGE_SIZE * IMAGE_SIZE, dtype=np.int64)
    return (((i * 37) % 255) / 255.0 - 0.5).astype(np.float32).reshape(batch, 3, IMAGE_SIZE, IMAGE_SIZE)


REFERENCE_IDS = [[1, 5, 9, 2], [1, 7, 3, 2]]


def export(module: torch.nn.Module, example: torch.Tensor, in_name: str, out_name: str) -> bytes:
    buf = io.BytesIO()
    # torch 1.13 warns about F.normalize's constants during shape inference; the graph is checked below.
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant type is missing")
    torch.onnx.export(
        module, (example,), buf, input_names=[in_name], output_names=[out_name],
        dynamic_axes={in_name: {0: "batch"} if example.dim() == 4 else {0: "batch", 1: "seq"}, out_name: {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True,
    )
    data = buf.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data))
    return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def vocab_size(tokenizer: Path | None) -> int:
    if tokenizer is None:
        return 64
    vocab = json.loads(tokenizer.read_text())["model"]["vocab"]
    return max(64, len(vocab))


def build(out: Path, tokenizer: Path | None) -> dict:
    """Writes the bundle into `out`; returns the manifest."""
    torch.manual_seed(SEED)
    vision, text = VisionTower().eval(), TextTower(vocab_size(tokenizer)).eval()
    pixels = torch.from_numpy(reference_pixels(2))
    ids = torch.tensor(REFERENCE_IDS, dtype=torch.int64)
    with torch.no_grad():
        image_embeds = vision(pixels).numpy()
        text_embeds = text(ids).numpy()
    files: dict[str, bytes] = {
        "scorer/vision.onnx": export(vision, pixels, "pixel_values", "image_embeds"),
        "scorer/text.onnx": export(text, ids, "input_ids", "text_embeds"),
    }
    if tokenizer is not None:
        files["tokenizer.json"] = tokenizer.read_bytes()
    if out.exists():
        shutil.rmtree(out)
    for rel, data in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    manifest = {
        "schema": "uae-bundle/1",
        "id": "fixture-tiny",
        "name": "Tiny test fixture",
        "version": "1.0.0",
        "description": "A 16-d scorer-like pair of graphs with seeded random weights, for tests only.",
        **({"tokenizer": "tokenizer.json"} if tokenizer is not None else {}),
        "files": [{"path": p, "bytes": len(d), "sha256": sha256(d)} for p, d in files.items()],
        "io": {
            "scorer/vision.onnx": {
                "inputs": [{"name": "pixel_values", "dtype": "float32", "shape": ["batch", 3, IMAGE_SIZE, IMAGE_SIZE]}],
                "outputs": [{"name": "image_embeds", "dtype": "float32", "shape": ["batch", EMBED_DIM]}],
            },
            "scorer/text.onnx": {
                "inputs": [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "seq"]}],
                "outputs": [{"name": "text_embeds", "dtype": "float32", "shape": ["batch", EMBED_DIM]}],
            },
        },
        "preprocessing": {"image": {
            "width": IMAGE_SIZE, "height": IMAGE_SIZE, "channels": 3, "layout": "NCHW", "scale": 1 / 255,
            "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "resize": "cover",
        }},
        "defaults": {"flowSteps": 8, "maxTokens": 16, "loops": 1, "groupSize": 4,
                     "temperature": 1.0, "topP": 0.95, "seed": 0},
        "roles": {"scorer": {"vision": "scorer/vision.onnx", "text": "scorer/text.onnx", "embedDim": EMBED_DIM}},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    reference = {
        "note": "PyTorch outputs of the fixture graphs; pixel_values[i] = float32(((i*37) % 255)/255 - 0.5), NCHW.",
        "pixel_values": {"formula": "i*37%255/255-0.5", "dims": [2, 3, IMAGE_SIZE, IMAGE_SIZE]},
        "image_embeds": {"dims": list(image_embeds.shape), "data": [float(x) for x in image_embeds.ravel()]},
        "input_ids": {"dims": [len(REFERENCE_IDS), len(REFERENCE_IDS[0])], "data": sum(REFERENCE_IDS, [])},
        "text_embeds": {"dims": list(text_embeds.shape), "data": [float(x) for x in text_embeds.ravel()]},
    }
    (out / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    return manifest


def build_bad(good: Path, bad_root: Path) -> list[str]:
    """Writes one broken copy of the bundle per failure class; returns the variant names."""
    if bad_root.exists():
        shutil.rmtree(bad_root)

    def copy(name: str) -> tuple[Path, dict]:
        dst = bad_root / name
        shutil.copytree(good, dst, ignore=shutil.ignore_patterns("reference.json"))
        return dst, json.loads((dst / "manifest.json").read_text())

    def save(dst: Path, manifest: dict) -> None:
        (dst / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    dst, _ = copy("malformed-manifest")
    text = (dst / "manifest.json").read_text()
    (dst / "manifest.json").write_text(text[: len(text) // 2])  # truncated JSON

    dst, m = copy("schema-error")
    m["files"][1]["sha256"] = "not-a-hash"
    save(dst, m)

    dst, _ = copy("missing-file")
    (dst / "scorer/text.onnx").unlink()

    dst, _ = copy("sha-mismatch")
    data = bytearray((dst / "scorer/vision.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different content
    (dst / "scorer/vision.onnx").write_bytes(bytes(data))

    dst, _ = copy("size-mismatch")
    with open(dst / "scorer/text.onnx", "ab") as f:
        f.write(b"\0" * 7)

    dst, m = copy("not-onnx")
    junk = b"This is not an ONNX model, just text standing where scorer/vision.onnx should be.\n"
    (dst / "scorer/vision.onnx").write_bytes(junk)
    entry = next(f for f in m["files"] if f["path"] == "scorer/vision.onnx")
    entry["bytes"], entry["sha256"] = len(junk), sha256(junk)
    save(dst, m)
    return sorted(p.name for p in bad_root.iterdir())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "public/models/fixture-tiny")
    ap.add_argument("--bad-out", type=Path, default=ROOT / "tests/fixtures/bad-bundles")
    ap.add_argument("--tokenizer", type=Path, default=ROOT / "public/tokenizers/shapes/tokenizer.json")
    ap.add_argument("--no-bad", action="store_true", help="skip the broken variants")
    args = ap.parse_args()
    tokenizer = args.tokenizer if args.tokenizer.is_file() else None
    manifest = build(args.out, tokenizer)
    print(f"wrote {args.out} ({len(manifest['files'])} files)")
    if not args.no_bad:
        print(f"wrote {args.bad_out}: {', '.join(build_bad(args.out, args.bad_out))}")


if __name__ == "__main__":
    main()
