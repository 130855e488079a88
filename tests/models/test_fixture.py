"""models/make_fixture.py: the bundle it writes is consistent, deterministic, and matches the checked-in copy."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "models" / "make_fixture.py"
CHECKED_IN = ROOT / "public" / "models" / "fixture-tiny"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("fixture")
    out, bad = tmp / "fixture-tiny", tmp / "bad"
    python = os.environ.get("UAE_PYTHON", sys.executable)
    subprocess.run([python, str(SCRIPT), "--out", str(out), "--bad-out", str(bad)], check=True, capture_output=True)
    return out, bad


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_lists_every_file_with_real_size_and_sha(generated: tuple[Path, Path]) -> None:
    out, _ = generated
    m = json.loads((out / "manifest.json").read_text())
    assert m["schema"] == "uae-bundle/1" and m["id"] == "fixture-tiny"
    for f in m["files"]:
        p = out / f["path"]
        assert p.stat().st_size == f["bytes"], f["path"]
        assert sha256(p) == f["sha256"], f["path"]
    listed = {f["path"] for f in m["files"]}
    assert set(m["io"]) <= listed
    assert {m["roles"]["scorer"]["vision"], m["roles"]["scorer"]["text"]} <= listed
    if (ROOT / "public/tokenizers/shapes/tokenizer.json").is_file():
        assert m["tokenizer"] == "tokenizer.json" and "tokenizer.json" in listed


def test_graphs_declare_the_io_the_manifest_names(generated: tuple[Path, Path]) -> None:
    out, _ = generated
    m = json.loads((out / "manifest.json").read_text())
    for path, io in m["io"].items():
        model = onnx.load(str(out / path))
        onnx.checker.check_model(model)
        assert [i.name for i in model.graph.input] == [s["name"] for s in io["inputs"]], path
        assert [o.name for o in model.graph.output] == [s["name"] for s in io["outputs"]], path
        dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        assert dims[0] == "batch" and dims[1:] == io["inputs"][0]["shape"][1:], path


def test_reference_is_unit_norm_and_deterministic(generated: tuple[Path, Path]) -> None:
    out, _ = generated
    ref = json.loads((out / "reference.json").read_text())
    for key in ("image_embeds", "text_embeds"):
        e = np.array(ref[key]["data"]).reshape(ref[key]["dims"])
        assert e.shape == (2, 16)
        np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-6)
        assert not np.allclose(e[0], e[1]), f"{key}: both rows equal; the fixed input should tell them apart"
        # The checked-in copy (what the Node tests read) must be what the script produces now.
        checked = json.loads((CHECKED_IN / "reference.json").read_text())[key]
        np.testing.assert_allclose(e.ravel(), checked["data"], atol=1e-6, err_msg=f"{key}: regenerate with models/make_fixture.py")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bad_variants_each_carry_exactly_their_defect(generated: tuple[Path, Path]) -> None:
    out, bad = generated
    assert sorted(p.name for p in bad.iterdir()) == [
        "malformed-manifest", "missing-file", "not-onnx", "schema-error", "sha-mismatch", "size-mismatch"]
    with pytest.raises(json.JSONDecodeError):
        json.loads((bad / "malformed-manifest/manifest.json").read_text())
    assert json.loads((bad / "schema-error/manifest.json").read_text())["files"][1]["sha256"] == "not-a-hash"
    assert not (bad / "missing-file/scorer/text.onnx").exists()
    good = {f["path"]: f for f in json.loads((out / "manifest.json").read_text())["files"]}
    v = bad / "sha-mismatch/scorer/vision.onnx"
    assert v.stat().st_size == good["scorer/vision.onnx"]["bytes"] and sha256(v) != good["scorer/vision.onnx"]["sha256"]
    assert (bad / "size-mismatch/scorer/text.onnx").stat().st_size == good["scorer/text.onnx"]["bytes"] + 7
    not_onnx = json.loads((bad / "not-onnx/manifest.json").read_text())
    entry = next(f for f in not_onnx["files"] if f["path"] == "scorer/vision.onnx")
    assert sha256(bad / "not-onnx/scorer/vision.onnx") == entry["sha256"]  # only session creation can catch it
    with pytest.raises(Exception):
        onnx.load(str(bad / "not-onnx/scorer/vision.onnx"))
