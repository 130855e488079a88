"""The training pipeline on tiny settings: a few steps of every stage, export, manifest, parity fixture."""
import json
import os
import subprocess
import sys

import onnx
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PY = sys.executable
from uae.config import TINY  # noqa: E402


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    out = tmp_path_factory.mktemp("bundle")
    env = dict(os.environ, UAE_WORK=str(work))
    cwd = os.path.join(REPO, "models")
    for stage in ("uae.train", "uae.rl", "uae.rl_flow"):
        subprocess.run([PY, "-m", stage, "--config", "tiny"], cwd=cwd, env=env, check=True, capture_output=True)
    fx = out / "parity.json"
    subprocess.run([PY, "-m", "uae.bundle", "--config", "tiny", "--out", str(out), "--fixtures", str(fx),
                    "--id", "uae-tiny", "--name", "tiny"], cwd=cwd, env=env, check=True, capture_output=True)
    variant = tmp_path_factory.mktemp("variant")
    subprocess.run([PY, "-m", "uae.bundle", "--config", "tiny", "--variant", "flowgrpo", "--out", str(variant),
                    "--id", "uae-tiny-flowgrpo", "--name", "tiny v"], cwd=cwd, env=env, check=True,
                   capture_output=True)
    return work, out, variant


def test_every_stage_logged_and_checkpointed(tiny_bundle):
    work, _, _ = tiny_bundle
    enc = TINY["encoder"]
    for stage in ("ae", "flow", "encoder", "scorer"):
        assert (work / "ckpt" / f"{stage}.pt").exists()
        rows = [json.loads(line) for line in open(work / "logs" / f"{stage}.jsonl")]
        last = enc["steps"] + enc["bind_steps"] - 1 if stage == "encoder" else 2   # the encoder's binding phase follows
        assert rows[-1]["step"] == last and all(r["loss"] == r["loss"] for r in rows)


def test_attribute_probe_trains_the_vision_towers_and_stays_out_of_the_export(tiny_bundle):
    work, out, _ = tiny_bundle
    import torch
    for stage in ("encoder", "scorer"):
        rows = [json.loads(line) for line in open(work / "logs" / f"{stage}.jsonl")]
        rows = [r for r in rows if r["step"] < TINY[stage]["steps"]]      # the encoder's binding phase has no probe
        assert rows and all(0.0 <= r["attr_acc"] <= 1.0 and r["attr_loss"] > 0 for r in rows)
        state = torch.load(work / "ckpt" / f"{stage}.pt")["model"]
        assert any(k.startswith("attr_head.") for k in state)
    for graph in ("encoder/encoder_model.onnx", "scorer/vision_model.onnx"):
        names = [i.name for i in onnx.load(str(out / graph)).graph.initializer]
        assert not any("attr_head" in n for n in names), graph


def test_scorer_trains_with_hard_negatives(tiny_bundle):
    work, _, _ = tiny_bundle
    rows = [json.loads(line) for line in open(work / "logs" / "scorer.jsonl")]
    assert all(0.0 <= r["hard_acc"] <= 1.0 and -1.0 <= r["hard_pair_sim"] <= 1.0 for r in rows)
    import numpy as np
    z = np.load(work / "data" / "hardneg-1-64.npz")
    assert z["images"].shape == (64, 64, 64, 3) and len(z["captions"]) == 64
    assert set(z["kinds"]) <= {"swap", "shape", "colour", "size", "position", "drop"}


def test_hard_negatives_change_exactly_one_detail():
    import numpy as np
    from uae import hardneg
    scene = {"background": "gray", "objects": [
        {"shape": "circle", "colour": "red", "size": "small", "row": 0, "col": 0},
        {"shape": "square", "colour": "blue", "size": "large", "row": 2, "col": 2}]}

    def cells(s):
        return sorted((o["row"], o["col"]) for o in s["objects"])

    def looks(s):
        return sorted((o["shape"], o["colour"], o["size"]) for o in s["objects"])

    rng = np.random.default_rng(0)
    swap = hardneg.perturbed(scene, "swap", rng)
    assert cells(swap) == cells(scene) and looks(swap) == looks(scene) and swap != scene
    for kind in ("shape", "colour", "size"):
        alt = hardneg.perturbed(scene, kind, rng)
        assert cells(alt) == cells(scene) and looks(alt) != looks(scene)
        assert sum(a != b for a, b in zip(alt["objects"], scene["objects"])) == 1
    moved = hardneg.perturbed(scene, "position", rng)
    assert looks(moved) == looks(scene) and len(set(cells(moved)) - set(cells(scene))) == 1
    dropped = hardneg.perturbed(scene, "drop", rng)
    assert dropped["objects"] == [scene["objects"][1]]
    assert not hardneg.applicable({"background": "gray", "objects": scene["objects"][:1]}, "swap")
    images, captions = hardneg.render([scene, swap], [7, 7])
    assert images.shape == (2, 64, 64, 3) and (images[0] != images[1]).any()
    assert captions[0][0] == captions[1][0] and captions[0][4] != captions[1][4]   # level 0 names one object
    with pytest.raises(Exception):
        hardneg.render([{"background": "gray", "objects": []}])


def test_scene_targets_encode_cells_and_background():
    from uae.labels import scene_targets
    scene = {"background": "navy", "objects": [{"shape": "cross", "colour": "orange", "size": "large", "row": 2,
                                                "col": 1}]}
    t = scene_targets([{"scene": scene}])[0]
    assert list(t[:9]) == [0, 0, 0, 0, 0, 0, 0, 5, 0]
    assert t[9 + 7] == 5 and t[18 + 7] == 1 and t[-1] == 3
    assert (t[9:27] == -100).sum() == 16


def test_a_bundle_carries_at_most_ten_stage2_checkpoints_ending_with_the_last():
    from uae.bundle import MAX_CHECKPOINTS, bundled_snapshots
    steps = lambda snaps: [s for s, _ in bundled_snapshots(snaps)]  # noqa: E731
    assert steps([(10 * i, "") for i in range(11)]) == [10 * i for i in range(11)]
    assert steps([(10 * i, "") for i in range(21)]) == [0] + [20 * i for i in range(1, 11)]
    kept = steps([(10 * i, "") for i in range(1, 16)])
    assert kept[-1] == 150 and len(kept) <= MAX_CHECKPOINTS and 0 not in kept


def test_manifest_lists_every_exported_graph_with_hashes(tiny_bundle):
    _, out, _ = tiny_bundle
    m = json.load(open(out / "manifest.json"))
    assert m["schema"] == "uae-bundle/1"
    paths = {f["path"] for f in m["files"]}
    for role in ("encoder", "decoder", "scorer"):
        for key, val in m["roles"][role].items():
            if isinstance(val, str) and val.endswith(".onnx"):
                assert val in paths
    for f in m["files"]:
        assert os.path.getsize(out / f["path"]) == f["bytes"] and len(f["sha256"]) == 64


def test_onnx_graphs_follow_the_contracts(tiny_bundle):
    _, out, _ = tiny_bundle

    def names(p):
        g = onnx.load(str(out / p)).graph
        return [i.name for i in g.input], [o.name for o in g.output]
    ins, outs = names("encoder/decoder_model_merged.onnx")
    assert ins[:4] == ["input_ids", "encoder_hidden_states", "past_key_values.0.decoder.key",
                       "past_key_values.0.decoder.value"]
    assert ins[4:6] == ["past_key_values.0.encoder.key", "past_key_values.0.encoder.value"]
    assert ins[-1] == "use_cache_branch"
    assert outs[:5] == ["logits", "present.0.decoder.key", "present.0.decoder.value", "present.0.encoder.key",
                        "present.0.encoder.value"]
    assert names("encoder/encoder_model.onnx") == (["pixel_values"], ["last_hidden_state"])
    ins, outs = names("decoder/transformer/model.onnx")
    assert ins[:4] == ["sample", "timestep", "encoder_hidden_states", "past_key_values.0.encoder.key"]
    assert ins[-1] == "use_cache_branch" and outs[:2] == ["out_sample", "present.0.encoder.key"]
    assert names("decoder/vae_decoder/model.onnx") == (["latent_sample"], ["sample"])
    assert names("scorer/vision_model.onnx") == (["pixel_values"], ["image_embeds"])
    assert names("scorer/text_model.onnx") == (["input_ids"], ["text_embeds"])
    for f in json.load(open(out / "manifest.json"))["files"]:
        if f["path"].endswith(".onnx"):
            assert onnx.load(str(out / f["path"])).opset_import[0].version >= 17


def test_resume_continues_from_checkpoint(tiny_bundle, tmp_path):
    """Stage 2 interrupted after 1 of its 3 steps and resumed from its checkpoint continues at step 2 with the
    saved optimiser state and sampling streams: it ends where the fixture's uninterrupted run ended."""
    import shutil
    import torch
    work, _, _ = tiny_bundle
    state = torch.load(work / "ckpt" / "encoder.pt")
    assert state["step"] == TINY["encoder"]["steps"] + TINY["encoder"]["bind_steps"]
    fresh = tmp_path / "work"
    (fresh / "ckpt").mkdir(parents=True)
    for f in (work / "ckpt").glob("*.pt"):
        if not f.name.startswith("rl_"):
            shutil.copy(f, fresh / "ckpt" / f.name)   # the pre-trained stages, no stage-2 state
    shutil.copytree(work / "data", fresh / "data")
    env = dict(os.environ, UAE_WORK=str(fresh))

    def stage2(steps):
        subprocess.run([PY, "-m", "uae.rl", "--config", "tiny", "--steps", str(steps)], cwd=os.path.join(REPO, "models"),
                       env=env, check=True, capture_output=True)

    stage2(1)
    interrupted = torch.load(fresh / "ckpt" / "rl_encoder.pt")
    assert interrupted["step"] == 1 and "gen" in interrupted and "rng" in interrupted
    stage2(3)
    resumed, straight = torch.load(fresh / "ckpt" / "rl_encoder.pt"), torch.load(work / "ckpt" / "rl_encoder.pt")
    assert resumed["step"] == straight["step"] == 3
    adam = lambda s: sorted(int(v["step"]) for v in s["opt"]["state"].values())   # noqa: E731
    iterations = 2
    assert adam(interrupted) == [iterations] * len(adam(interrupted))
    assert adam(resumed) == adam(straight) == [3 * iterations] * len(adam(straight))
    for k, v in straight["model"].items():
        assert torch.allclose(resumed["model"][k], v, rtol=1e-5, atol=1e-6), k
    rows = [json.loads(line) for line in open(fresh / "logs" / "rl_encoder.jsonl")]
    ref_rows = {r["step"]: r for r in (json.loads(line) for line in open(work / "logs" / "rl_encoder.jsonl"))}
    assert [r["step"] for r in rows] == [0, 1, 2, 3]                 # no step repeated or skipped
    for r in rows[1:]:
        for key in ("reward", "loss", "kl", "completions/mean_length"):
            assert r[key] == pytest.approx(ref_rows[r["step"]][key], rel=1e-5, abs=1e-7), (r["step"], key)


def test_encoder_binding_phase_logs_the_attention_mass_it_trains(tiny_bundle):
    work, _, _ = tiny_bundle
    enc = TINY["encoder"]
    rows = [json.loads(line) for line in open(work / "logs" / "encoder.jsonl")]
    bind = [r for r in rows if r["step"] >= enc["steps"]]
    assert bind and all(r["bind_loss"] > 0 and 0.0 < r["bind_mass"] < 1.0 for r in bind)
    assert all("bind_loss" not in r for r in rows if r["step"] < enc["steps"])


TRL_KEYS = ("reward", "reward_std", "completions/mean_length", "kl", "clip_ratio/region_mean", "loss")


def test_stage2_logs_trl_metrics_and_exports_checkpoints(tiny_bundle):
    work, out, _ = tiny_bundle
    rows = [json.loads(line) for line in open(work / "logs" / "rl_encoder.jsonl")]
    assert rows[0]["step"] == 0 and "eval/sim" in rows[0]
    for r in rows[1:]:
        assert all(k in r for k in TRL_KEYS + ("entropy", "clip_ratio/low_min", "clip_ratio/high_max",
                                               "completions/clipped_ratio", "rewards/sim/mean")), r.keys()
        assert r["completions/max_length"] <= 47 and 0 <= r["completions/clipped_ratio"] <= 1
    m = json.load(open(out / "manifest.json"))
    steps = [c["step"] for c in m["roles"]["checkpoints"]]
    assert steps == [0, 1, 2, 3]
    # step 0 is the cold start: the same graphs as the reference encoder, not a copy
    assert m["roles"]["checkpoints"][0]["encoder"]["decoder"] == m["roles"]["referenceEncoder"]["decoder"]
    assert m["roles"]["encoder"]["decoder"] == m["roles"]["checkpoints"][-1]["encoder"]["decoder"]
    assert [r["stage"] for r in m["roles"]["runs"]] == ["2", "3"]


FLOW_GRPO_KEYS = ("reward", "reward_std", "reward_std_mean", "zero_std_ratio", "approx_kl", "clipfrac",
                  "clipfrac_gt_one", "clipfrac_lt_one", "policy_loss", "kl_loss", "loss")


def test_stage3_flow_grpo_logs_and_refines_the_decoder(tiny_bundle):
    work, out, variant = tiny_bundle
    rows = [json.loads(line) for line in open(work / "logs" / "rl_flow.jsonl")]
    assert rows[0]["step"] == 0 and "eval/sim" in rows[0]
    for r in rows[1:]:
        assert all(k in r for k in FLOW_GRPO_KEYS), r.keys()   # Flow-GRPO's own names, not TRL's
        assert "kl" not in r and not any(k.startswith(("clip_ratio/", "completions/")) for k in r), r.keys()
        assert r["kl_loss"] >= 0 and 0 <= r["clipfrac"] <= 1
    m = json.load(open(variant / "manifest.json"))
    assert "checkpoints" not in m["roles"]
    assert m["roles"]["runs"][-1]["label"] == "Stage 3: Flow-GRPO on the decoder (reward = sim)"
    a = open(out / m["roles"]["decoder"]["transformer"], "rb").read()
    b = open(variant / m["roles"]["decoder"]["transformer"], "rb").read()
    assert a != b, "the variant's flow transformer should be the Flow-GRPO-refined one"


def test_stage3_reward_mix_adds_the_backbone_cosine(tiny_bundle):
    """`uae.rl_flow --reward sim=W,i2i=W` rewards with stage 2's mix and logs each part (a seeded, untrained
    backbone of the full architecture stands in for the trained one: plumbing only)."""
    work, _, _ = tiny_bundle
    code = ("import torch; from uae.backbone import BACKBONE, ImageBackbone; from uae.checkpoints import Checkpoint; "
            "torch.manual_seed(0); "
            "Checkpoint('backbone').save(ImageBackbone(BACKBONE['width'], BACKBONE['flat_dim'], BACKBONE['embed']), "
            "None, BACKBONE['steps'])")
    env = dict(os.environ, UAE_WORK=str(work))
    cwd = os.path.join(REPO, "models")
    subprocess.run([PY, "-c", code], cwd=cwd, env=env, check=True, capture_output=True)
    subprocess.run([PY, "-m", "uae.rl_flow", "--config", "tiny", "--reward", "sim=0.25,i2i=0.75", "--log-name",
                    "rl_flow_mix"], cwd=cwd, env=env, check=True, capture_output=True)
    rows = [json.loads(line) for line in open(work / "logs" / "rl_flow_mix.jsonl")][1:]
    assert rows and (work / "ckpt" / "rl_flow_mix.pt").exists()
    meta = json.load(open(work / "logs" / "rl_flow_mix.meta.json"))   # what uae.bundle labels the run by
    assert meta["reward"] == "sim=0.25,i2i=0.75" and meta["config"] == "tiny" and meta["log_name"] == "rl_flow_mix"
    for r in rows:
        assert abs(r["reward"] - (0.25 * r["rewards/sim/mean"] + 0.75 * r["rewards/i2i/mean"])) < 1e-9
        assert r["rewards/i2i/mean"] != r["rewards/sim/mean"]
    plain = [json.loads(line) for line in open(work / "logs" / "rl_flow.jsonl")][1:]
    assert not any(k.startswith("rewards/") for k in plain[0])   # the sim-only run keeps Flow-GRPO's names
    # the readback reward: the frozen encoder's per-token probability of each reconstruction's caption
    subprocess.run([PY, "-m", "uae.rl_flow", "--config", "tiny", "--reward", "sim=1,readback=0.5", "--log-name",
                    "rl_flow_readback"], cwd=cwd, env=env, check=True, capture_output=True)
    rows = [json.loads(line) for line in open(work / "logs" / "rl_flow_readback.jsonl")][1:]
    for r in rows:
        assert 0 < r["rewards/readback/mean"] < 1
        assert abs(r["reward"] - (r["rewards/sim/mean"] + 0.5 * r["rewards/readback/mean"])) < 1e-9


def test_stage3_paired_compares_both_decoders_on_the_same_scenes_and_noise(tiny_bundle, tmp_path):
    import shutil
    from uae.stage3_paired import interval
    mean, half = interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and abs(half - 1.96 / 3 ** 0.5) < 1e-12
    work, _, _ = tiny_bundle
    mine = tmp_path / "work"
    shutil.copytree(work, mine)
    r = subprocess.run([PY, "-m", "uae.stage3_paired", "--config", "tiny", "--seeds", "3,4", "--scenes", "5", "--noise", "0,1"],
                       cwd=os.path.join(REPO, "models"), env=dict(os.environ, UAE_WORK=str(mine)), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = json.load(open(mine / "eval" / "stage3-paired.json"))
    assert [row["seed"] for row in d["rows"]] == [3, 4, "3+4"] and d["rows"][-1]["scenes"] == 10
    for row in d["rows"]:
        for k in ("sim", "psnr", "retrieval"):
            x = row[k]
            assert abs(x["diff"] - (x["rl"] - x["pre"])) < 1e-9 and x["ci95"] >= 0
    pooled = d["rows"][-1]["sim"]["pre"]
    assert abs(pooled - (d["rows"][0]["sim"]["pre"] + d["rows"][1]["sim"]["pre"]) / 2) < 1e-9


def test_loops_runs_both_decoders_from_the_same_noise(tiny_bundle, tmp_path):
    """uae.loops: per decoder and loop, median sim / ratio / tokens; the pre-RL decoder against itself (`--stage flow`)
    gives the same rows, since both get the same noise at every loop."""
    import shutil
    work, _, _ = tiny_bundle
    mine = tmp_path / "work"
    shutil.copytree(work, mine)
    r = subprocess.run([PY, "-m", "uae.loops", "--config", "tiny", "--seed", "3", "--scenes", "4", "--loops", "3",
                        "--stage", "flow"], cwd=os.path.join(REPO, "models"), env=dict(os.environ, UAE_WORK=str(mine)),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = json.load(open(mine / "eval" / "loops-flow-3.json"))
    assert [row["loop"] for row in d["pre"]] == [1, 2, 3] and d["pre"][0]["ratio_median"] == 1.0
    assert d["flow"] == d["pre"]
    assert all(-1 <= row["sim_median"] <= 1 and row["tokens_mean"] >= 0 for row in d["pre"])


def test_checkpoints_recovered_from_a_bundle_equal_the_exported_weights(tiny_bundle, tmp_path):
    """uae.from_bundle: the pre-trained models come back from the ONNX files (fp16-rounded weights)."""
    import torch
    work, out, _ = tiny_bundle
    env = dict(os.environ, UAE_WORK=str(tmp_path))
    r = subprocess.run([PY, "-m", "uae.from_bundle", "--config", "tiny", "--bundle", str(out)],
                       cwd=os.path.join(REPO, "models"), env=env, check=True, capture_output=True, text=True)
    assert "encoder:" in r.stdout and "scale" in r.stdout

    def rounded(state):
        return {k: v.half().float() if v.dtype == torch.float32 else v for k, v in state.items()}

    pairs = {"ae": "model", "flow": "ema", "scorer": "model", "encoder": "model"}
    for stage, key in pairs.items():
        src = "ae_decoder" if stage == "ae" and (work / "ckpt" / "ae_decoder.pt").exists() else stage
        orig = rounded(torch.load(work / "ckpt" / f"{src}.pt")[key])
        got = torch.load(tmp_path / "ckpt" / f"{stage}.pt")
        state = got["model"] if stage != "flow" else got["ema"]
        compared = 0
        for k, v in orig.items():
            if k.startswith(("attr_head.", "ae.", "enc.")) or k == "logit_scale":
                continue  # training-only probe, the unexported image encoder of the auto-encoder
            assert torch.equal(state[k], v), f"{stage}: {k} differs"
            compared += 1
        assert compared > 5
    ae = torch.load(work / "ckpt" / "ae.pt")
    got = torch.load(tmp_path / "ckpt" / "ae.pt")
    assert abs(got["scale"] - ae["scale"]) < 1e-5 * abs(ae["scale"]) and abs(got["shift"] - ae["shift"]) < 1e-5


def test_pretraining_keeps_recovered_checkpoints_and_will_not_encode_with_a_recovered_auto_encoder(tiny_bundle, tmp_path):
    """uae.train over checkpoints recovered by uae.from_bundle keeps them (it used to redo the auto-encoder's ending,
    measuring the latent scale and shift with the image encoder a bundle does not have); a stage that needs latents
    of images refuses a recovered auto-encoder with a message saying how to retrain it."""
    import torch
    work, out, _ = tiny_bundle
    (tmp_path / "data").symlink_to(work / "data")
    env = dict(os.environ, UAE_WORK=str(tmp_path))
    cwd = os.path.join(REPO, "models")
    subprocess.run([PY, "-m", "uae.from_bundle", "--config", "tiny", "--bundle", str(out), "--models", "ae,flow"],
                   cwd=cwd, env=env, check=True, capture_output=True)
    before = torch.load(tmp_path / "ckpt" / "ae.pt")
    r = subprocess.run([PY, "-m", "uae.train", "--config", "tiny", "--stage", "ae"], cwd=cwd, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "ae: recovered from" in r.stdout and "kept, not retrained" in r.stdout
    after = torch.load(tmp_path / "ckpt" / "ae.pt")
    assert (after["scale"], after["shift"], after["imported_from"]) == (before["scale"], before["shift"],
                                                                        before["imported_from"])
    assert all(torch.equal(after["model"][k], v) for k, v in before["model"].items())
    (tmp_path / "ckpt" / "flow.pt").unlink()
    r = subprocess.run([PY, "-m", "uae.train", "--config", "tiny", "--stage", "flow"], cwd=cwd, env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "has no image encoder" in r.stderr and "--stage ae" in r.stderr, r.stderr
    assert not (tmp_path / "ckpt" / "flow.pt").exists()


def test_recovery_refuses_a_bundle_of_another_architecture(tiny_bundle, tmp_path):
    _, out, _ = tiny_bundle
    env = dict(os.environ, UAE_WORK=str(tmp_path))
    r = subprocess.run([PY, "-m", "uae.from_bundle", "--config", "full", "--bundle", str(out), "--models", "scorer"],
                       cwd=os.path.join(REPO, "models"), env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "scorer/vision_model.onnx" in r.stderr and "shape" in r.stderr
    assert not (tmp_path / "ckpt" / "scorer.pt").exists()


def test_a_typescript_stage2_run_imports_as_stage_2(tiny_bundle, tmp_path):
    """uae.from_bundle --stage2: a `uae train --out` run becomes stage 2 (snapshots, log, meta), and uae.bundle ships it."""
    import shutil

    import numpy as np
    import torch
    from onnx import numpy_helper
    work, out, _ = tiny_bundle
    mine = tmp_path / "work"
    shutil.copytree(work, mine)
    run = tmp_path / "run"
    for steps in ("1", "2"):   # a run resumed after its first step
        subprocess.run(["node", os.path.join(REPO, "bin", "uae.mjs"), "train", "--bundle", str(out), "--out", str(run),
                        "--steps", steps, "--eval-every", "1", "--eval-scenes", "4", "--group", "2", "--images", "2"],
                       cwd=REPO, check=True, capture_output=True, text=True)
    assert json.load(open(run / "state" / "trainer.json"))["resumedAt"] == [1]
    env = dict(os.environ, UAE_WORK=str(mine))
    cwd = os.path.join(REPO, "models")
    r = subprocess.run([PY, "-m", "uae.from_bundle", "--config", "tiny", "--stage2", str(run), "--reward", "sim",
                        "--length-penalty", "linear:0.005", "--command", "uae train --steps 2"],
                       cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    snaps = sorted(p.name for p in (mine / "ckpt" / "rl_encoder-snapshots").iterdir())
    assert snaps == ["step-0000.pt", "step-0001.pt", "step-0002.pt"]   # uae.rl's old snapshots are gone
    # the last snapshot holds the trainer's float32 weights exactly
    manifest = json.load(open(run / "manifest.json"))
    last = manifest["roles"]["checkpoints"][-1]["encoder"]["decoder"]
    inits = {i.name.removesuffix("__fp16"): numpy_helper.to_array(i) for i in onnx.load(str(run / last)).graph.initializer}
    state = torch.load(mine / "ckpt" / "rl_encoder-snapshots" / "step-0002.pt")
    compared = 0
    for k, v in state.items():
        key = "decoder." + k
        if key in inits:
            assert np.array_equal(inits[key], v.numpy()), k
            compared += 1
        elif key + "_t" in inits:
            assert np.array_equal(inits[key + "_t"].T, v.numpy()), k
            compared += 1
    assert compared > 5
    rows = [json.loads(line) for line in open(mine / "logs" / "rl_encoder.jsonl")]
    assert [r["step"] for r in rows if "eval/sim" in r] == [0, 1, 2]
    assert all("elapsed_s" in r for r in rows) and all(isinstance(r["eval/sample_caption"], str) for r in rows if "eval/sim" in r)
    # elapsed_s sums the segments: step 1's seconds, then step 2's (its s_per_step counts from the resume)
    s1, s2 = (next(r["s_per_step"] for r in rows if r["step"] == k and "s_per_step" in r) for k in (1, 2))
    timed = [r for r in rows if "s_per_step" in r]
    assert [r["elapsed_s"] for r in timed] == [round(s1, 1), round(s1 + s2, 1)] and s1 > 0 and s2 > 0
    meta = json.load(open(mine / "logs" / "rl_encoder.meta.json"))
    assert meta["reward"] == "sim" and meta["trainer"].startswith("uae train") and meta["checkpoints"] == [0, 1, 2]
    shipped = tmp_path / "bundle"
    subprocess.run([PY, "-m", "uae.bundle", "--config", "tiny", "--out", str(shipped), "--fixtures", str(tmp_path / "fx.json"),
                    "--id", "uae-tiny", "--name", "tiny"], cwd=cwd, env=env, check=True, capture_output=True)
    m = json.load(open(shipped / "manifest.json"))
    assert [c["step"] for c in m["roles"]["checkpoints"]] == [0, 1, 2]
    assert m["roles"]["runs"][0]["label"] == "Stage 2: GRPO on the encoder by uae train (reward = sim, length penalty linear:0.005)"
    # a folder that is not a trainer's output is refused by name, and nothing is imported
    bad = subprocess.run([PY, "-m", "uae.from_bundle", "--config", "tiny", "--stage2", str(out)],
                         cwd=cwd, env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "not a `uae train --out` folder" in bad.stderr
