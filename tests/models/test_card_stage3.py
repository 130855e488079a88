"""The model card's stage-3 ablations are kept in git (models/stage3_ablations.json, uae.card_stage3 --keep): a run
in models/work replaces its entry, entries of runs not in models/work stay, an entry whose flags are not the
ablation's flags any more is not read, and the card reads models/work first, the kept file otherwise."""
import json
import os

import pytest

pytest.importorskip("torch") if os.environ.get("CI") != "true" else __import__("torch")

from uae import card_stage3 as S  # noqa: E402

NAME, _, FLAGS, _ = S.STAGE3_ABLATIONS[1]
OTHER, _, OTHER_FLAGS, _ = S.STAGE3_ABLATIONS[2]


def _write_run(work, name, sims):
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)
    os.makedirs(os.path.join(work, "eval"), exist_ok=True)
    with open(os.path.join(work, "logs", f"{name}.jsonl"), "w") as f:
        for step, sim in enumerate(sims):
            f.write(json.dumps({"step": step * 15, "eval/sim": sim, "eval/retrieval_top1": 0.5}) + "\n")
            f.write(json.dumps({"step": step * 15 + 1, "reward": 1.0}) + "\n")   # a training row: not kept
    with open(os.path.join(work, "logs", f"{name}.meta.json"), "w") as f:
        json.dump({"log_name": name}, f)
    with open(os.path.join(work, "eval", f"stage3-paired-{name}.json"), "w") as f:
        json.dump({"rows": [{"seed": "3+4", "sim": {"diff": 0.01}}]}, f)


def test_keep_then_read_without_models_work(tmp_path, monkeypatch):
    work, kept = tmp_path / "work", tmp_path / "kept.json"
    monkeypatch.setenv("UAE_WORK", str(work))
    monkeypatch.setattr(S, "KEPT", str(kept))
    _write_run(str(work), NAME, [0.80, 0.82])
    assert S.keep() == [NAME]
    doc = json.load(open(kept))
    assert doc["runs"][NAME]["flags"] == FLAGS
    assert [r["step"] for r in doc["runs"][NAME]["evals"]] == [0, 15]
    assert all(set(r) == {"step", "eval/sim", "eval/retrieval_top1"} for r in doc["runs"][NAME]["evals"])

    # a fresh machine: models/work is empty, the card reads the kept entry
    monkeypatch.setenv("UAE_WORK", str(tmp_path / "fresh"))
    assert [r["eval/sim"] for r in S.ablation_evals(NAME, FLAGS)] == [0.80, 0.82]
    assert S.ablation_paired(NAME, FLAGS)["rows"][0]["sim"]["diff"] == 0.01
    assert S.ablation_evals(NAME, FLAGS + " --lr 1") == [] and S.ablation_paired(NAME, FLAGS + " --lr 1") is None

    # another run kept later leaves the first entry as it was; models/work wins over the kept file
    _write_run(str(tmp_path / "fresh"), OTHER, [0.7])
    assert S.keep() == sorted([NAME, OTHER])
    assert [r["eval/sim"] for r in S.ablation_evals(NAME, FLAGS)] == [0.80, 0.82]
    _write_run(str(tmp_path / "fresh"), NAME, [0.9])
    assert [r["eval/sim"] for r in S.ablation_evals(NAME, FLAGS)] == [0.9]


def test_an_entry_with_old_flags_is_dropped_on_keep(tmp_path, monkeypatch):
    monkeypatch.setenv("UAE_WORK", str(tmp_path / "work"))
    monkeypatch.setattr(S, "KEPT", str(tmp_path / "kept.json"))
    json.dump({"runs": {NAME: {"flags": "--old", "evals": [{"step": 0, "eval/sim": 0.1}], "paired": None},
                        OTHER: {"flags": OTHER_FLAGS, "evals": [{"step": 0, "eval/sim": 0.2}], "paired": None}}},
              open(tmp_path / "kept.json", "w"))
    assert S.keep() == [OTHER]


def _pooled(sim, psnr):
    return {"sim": {"diff": sim, "ci95": 0.003}, "psnr": {"diff": psnr, "ci95": 0.07}, "retrieval": {"diff": 0.01, "ci95": 0.01}}


def test_why_lines_set_the_gain_against_the_samples_a_step_and_each_lever_against_its_own_baseline():
    pooled = {"6 images": _pooled(0.0098, -0.17), "shipped": _pooled(0.0131, -0.01), "24 images": _pooled(0.0154, 0.09),
              "no KL": _pooled(0.0095, -0.23), "reward sim": _pooled(0.0077, -0.37),
              "sim, every step stochastic": _pooled(0.0064, -0.45), "lr 8e-5": _pooled(0.0120, -0.16)}
    text = "\n".join(S.stage3_why_lines(pooled))
    assert "6 images +0.0098 ± 0.0030 / -0.17 dB, 12 images +0.0131 ± 0.0030 / -0.01 dB, 24 images +0.0154" in text
    assert "about +0.0028 sim per doubling" in text
    assert "No KL term (beta 0 instead of 0.04): +0.0095 ± 0.0030 / -0.23 dB against the 6 images run's +0.0098" in text
    assert "(no SDE window): +0.0064 ± 0.0030 / -0.45 dB against the reward sim run's +0.0077" in text
    assert "- 1.6 times the learning rate (8e-5): +0.0120 ± 0.0030 / -0.16 dB against the shipped run's +0.0131" in text
    # fewer than three batch sizes measured: nothing to say about the trend
    assert S.stage3_why_lines({"6 images": pooled["6 images"], "shipped": pooled["shipped"]}) == []
