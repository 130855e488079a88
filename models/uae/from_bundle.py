"""Recovers PyTorch checkpoints of the pre-trained models from a bundle's ONNX files, so that stage 2 and
stage 3 (and re-exports) can run on a fresh machine without repeating pre-training.

Usage (from models/):
  /usr/bin/python3 -m uae.from_bundle [--bundle DIR] [--config full|tiny] [--models ae,flow,scorer,encoder[,backbone]] [--force]
  /usr/bin/python3 -m uae.from_bundle --stage2 RUN_DIR [--reward SPEC] [--length-penalty SPEC] [--command CMD]

With --stage2, a stage-2 run of the TypeScript trainer (`uae train --out RUN_DIR`) becomes this pipeline's stage 2:
each checkpoint's caption decoder goes to models/work/ckpt/rl_encoder-snapshots/step-NNNN.pt (step 0: the cold
start), its run log (RUN_DIR/runs/live-stage2.jsonl, TRL's names) to models/work/logs/rl_encoder.jsonl with
elapsed_s (the trainer's own step seconds, evaluations excluded, summed over the run's resumes) added, and how it
was trained to models/work/logs/rl_encoder.meta.json. Stage 3 (uae.rl_flow) and uae.bundle then take it as they take uae.rl's.

Writes models/work/ckpt/{ae,flow,scorer,encoder,backbone}.pt (the encoder from the bundle's `referenceEncoder`,
i.e. the cold start). Existing checkpoints are kept unless --force. `uae.train` keeps recovered checkpoints (it
skips their stages), and a stage that needs latents of images (flow, ae_decoder) refuses a recovered auto-encoder: a
bundle has no image encoder; `uae.train --stage ae` in a fresh work folder retrains it. Weights come back at the precision the
bundle stores them in (float16 values). Each import is checked: the recovered module is exported again
and every weight of the new graph must equal the bundle's, initializer by initializer.

How weights are found: the caption decoder and the flow transformer (merged layout with use_cache_branch)
name every initializer after its parameter (uae.merged_decoder), so they are read by name. For the other graphs (and caption decoders of the
older layout) torch's exporter keeps parameter names for most initializers but renames
constant-folded ones (a Linear weight transposed for MatMul becomes `onnx::MatMul_N`). So the module is
first exported with distinct random weights; every parameter is located there by value (as is or
transposed) and identified by the graph node that consumes it; the bundle's graph, exported from the same
code, has the same node consuming the trained value.
"""
import argparse
import json
import os
import tempfile

import numpy as np
import torch

from . import config as C
from .checkpoints import Checkpoint, snapshot_path
from .common import REPO, TOKENIZER_PATH, load_tokenizer, work_dir
from .encoder import CaptionModel
from .export import OPSET, _TextStates, _VaeDecode
from .flow_decoder import FlowDecoder, LatentAutoEncoder
from .scorer import Scorer


class ImportError_(RuntimeError):
    """The bundle's graph does not match the module (other architecture, other exporter)."""


def _graph_weights(path):
    """ONNX file -> {(consumer node name, input index): float32 array} for every initializer (and every
    Constant node output), seen through Cast (float16 storage) and Identity (deduplicated) nodes."""
    import onnx
    from onnx import numpy_helper
    g = onnx.load(path).graph
    values = {}
    for i in g.initializer:
        arr = numpy_helper.to_array(i)
        values[i.name] = arr.astype(np.float32) if arr.dtype.kind == "f" else arr
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            values[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    # float16 storage adds Cast nodes, and the exporter replaces equal initializers by Identity nodes
    alias, passes = {}, [n for n in g.node if n.op_type in ("Cast", "Identity")]
    changed = True
    while changed:
        changed = False
        for n in passes:
            src = alias.get(n.input[0], n.input[0])
            if src in values and n.output[0] not in alias:
                alias[n.output[0]] = src
                changed = True
    out = {}
    for n in g.node:
        if n.op_type in ("Cast", "Identity") and n.output[0] in alias:
            continue
        for j, name in enumerate(n.input):
            src = alias.get(name, name)
            if src in values:
                out[(n.name, j)] = values[src]
    return out


def _export_plain(wrapper, args, inputs, outputs, dynamic, path):
    wrapper.eval()
    with torch.no_grad():
        torch.onnx.export(wrapper, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=OPSET, do_constant_folding=True)


def _locate(wrapper, spec, tmp):
    """Exports `wrapper` with distinct random weights -> {param name: (consumer key, transposed)}."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in wrapper.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    path = os.path.join(tmp, "probe.onnx")
    _export_plain(wrapper, *spec, path)
    weights = _graph_weights(path)
    where = {}
    for name, p in wrapper.named_parameters():
        v = p.detach().numpy()
        for key, arr in sorted(weights.items()):
            if arr.shape == v.shape and np.array_equal(arr, v):
                where[name] = (key, False)
                break
            if v.ndim == 2 and arr.shape == v.T.shape and np.array_equal(arr, v.T):
                where[name] = (key, True)
                break
    return where


def import_module(wrapper, spec, onnx_path, skip=()):
    """Loads the weights of `onnx_path` into `wrapper` (exported with `spec` = (args, inputs, outputs,
    dynamic)); verifies by re-export. Parameters whose name starts with a prefix in `skip` are not in the
    graph (not used by its forward) and are left as they are."""
    with tempfile.TemporaryDirectory() as tmp:
        where = _locate(wrapper, spec, tmp)
        trained = _graph_weights(onnx_path)
        missing = [n for n, _ in wrapper.named_parameters() if n not in where and not n.startswith(tuple(skip))]
        if missing:
            raise ImportError_(f"{onnx_path}: parameters not found in the graph: {', '.join(missing[:6])}")
        with torch.no_grad():
            for name, p in wrapper.named_parameters():
                if name not in where:
                    continue
                key, transposed = where[name]
                if key not in trained:
                    raise ImportError_(f"{onnx_path}: no weight at node {key[0]} input {key[1]} (for {name})")
                arr = trained[key].T if transposed else trained[key]
                if arr.shape != tuple(p.shape):
                    raise ImportError_(f"{onnx_path}: {name} has shape {arr.shape} in the graph, {tuple(p.shape)} here")
                p.copy_(torch.from_numpy(np.ascontiguousarray(arr)))
        check = os.path.join(tmp, "check.onnx")
        _export_plain(wrapper, *spec, check)
        again = _graph_weights(check)
        for key, arr in again.items():
            if arr.dtype.kind == "f" and key in trained and arr.size > 1:
                rounded = arr.astype(np.float16).astype(np.float32)
                same = arr.shape == trained[key].shape and np.array_equal(rounded, trained[key])
                if not same:
                    raise ImportError_(f"{onnx_path}: re-export differs at node {key[0]} input {key[1]}")
        if set(k for k, a in again.items() if a.size > 1) != set(k for k, a in trained.items() if a.size > 1):
            raise ImportError_(f"{onnx_path}: the re-exported graph has other weights than the bundle's")
    return len(where)


def _rng_state():
    return {"torch_rng": torch.get_rng_state(), "np_rng": np.random.get_state()}


def _save(stage, state):
    path = Checkpoint(stage).path
    torch.save(dict(state, **_rng_state()), path + ".tmp")
    os.replace(path + ".tmp", path)
    return path


def import_ae(bundle, cfg, roles):
    ae = LatentAutoEncoder(cfg["ae"]["channels"])
    c, s = cfg["flow"]["latent_channels"], cfg["flow"]["latent_size"]
    x = torch.zeros(2, c, s, s)
    spec = ((x,), ["latent_sample"], ["sample"], {"latent_sample": {0: "batch"}, "sample": {0: "batch"}})
    path = os.path.join(bundle, roles["decoder"]["vaeDecoder"])
    # scale and shift are constants of the graph: export once with known values to find them
    probe_scale, probe_shift = 3.0517578125, 0.1220703125
    with tempfile.TemporaryDirectory() as tmp:
        _export_plain(_VaeDecode(ae, probe_scale, probe_shift), *spec, os.path.join(tmp, "s.onnx"))
        probe = _graph_weights(os.path.join(tmp, "s.onnx"))
    trained = _graph_weights(path)
    scalars = {k: float(v.reshape(-1)[0]) for k, v in probe.items() if v.size == 1 and v.dtype.kind == "f"}
    k_scale = [k for k, v in scalars.items() if v == probe_scale]
    k_shift = [k for k, v in scalars.items() if v == probe_shift]
    if len(k_scale) != 1 or len(k_shift) != 1 or k_scale[0] not in trained or k_shift[0] not in trained:
        raise ImportError_(f"{path}: latent scale/shift constants not found")
    scale, shift = float(trained[k_scale[0]].reshape(-1)[0]), float(trained[k_shift[0]].reshape(-1)[0])
    n = import_module(_VaeDecode(ae, scale, shift), spec, path, skip=("ae.enc.",))
    _save("ae", {"model": ae.state_dict(), "opt": None, "step": cfg["ae"]["steps"], "scale": scale, "shift": shift,
                 "imported_from": path})
    return (f"ae: {n} tensors (decoder and refinement; the image encoder is not in the bundle: uae.train --stage ae "
            f"retrains it), scale {scale:.5g}, shift {shift:.5g}")


def import_flow(bundle, cfg, roles, tok):
    hp = cfg["flow"]
    flow = FlowDecoder(hp, tok.vocab_size, tok.pad_id)
    ids = torch.ones(2, C.MAX_LEN, dtype=torch.int64)
    n = import_module(_TextStates(flow.text), ((ids,), ["input_ids"], ["last_hidden_state"],
                                               {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}}),
                      os.path.join(bundle, roles["decoder"]["textEncoder"]))
    c, s = hp["latent_channels"], hp["latent_size"]
    path = os.path.join(bundle, roles["decoder"]["transformer"])
    if _has_cache_branch(path):
        n += import_by_name(flow.flow, "flow.", path)
    else:
        args = (torch.zeros(2, c, s, s), torch.full((2,), 0.5), torch.zeros(2, C.MAX_LEN, hp["text_dim"]))
        n += import_module(flow.flow, (args, ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
                                       {"sample": {0: "batch"}, "timestep": {0: "batch"},
                                        "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch"}}), path)
    sd = flow.state_dict()
    _save("flow", {"model": sd, "ema": sd, "opt": None, "step": hp["steps"], "imported_from": bundle})
    return f"flow: {n} tensors (text encoder + flow transformer, EMA weights)"


def import_scorer(bundle, cfg, roles, tok):
    sc = Scorer(dict(cfg["scorer"], vocab=tok.vocab_size, max_len=C.MAX_LEN, pad_id=tok.pad_id))
    px = torch.zeros(2, 3, C.IMAGE_SIZE, C.IMAGE_SIZE)
    ids = torch.ones(2, C.MAX_LEN, dtype=torch.int64)
    n = import_module(sc.image, ((px,), ["pixel_values"], ["image_embeds"],
                                 {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}),
                      os.path.join(bundle, roles["scorer"]["vision"]))
    n += import_module(sc.text, ((ids,), ["input_ids"], ["text_embeds"],
                                 {"input_ids": {0: "batch"}, "text_embeds": {0: "batch"}}),
                       os.path.join(bundle, roles["scorer"]["text"]))
    _save("scorer", {"model": sc.state_dict(), "opt": None, "step": cfg["scorer"]["steps"], "imported_from": bundle})
    return f"scorer: {n} tensors (vision + text towers; logit scale is training-only and not recovered)"


class _LegacyMergedDecoder(torch.nn.Module):
    """The caption decoder as bundles before the merged encoder-decoder layout exported it (self-attention
    cache only: past_key_values.{i}.key/value), to import those by graph position."""

    def __init__(self, dec):
        super().__init__()
        self.dec = dec

    def forward(self, input_ids, encoder_hidden_states, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, present = self.dec(input_ids, encoder_hidden_states, past)
        return (logits, *[t for kv in present for t in kv])


def _legacy_decoder_spec(dec, n_tok):
    past, names_in, names_out = [], ["input_ids", "encoder_hidden_states"], ["logits"]
    dyn = {"input_ids": {0: "batch", 1: "sequence"}, "encoder_hidden_states": {0: "batch"},
           "logits": {0: "batch", 1: "sequence"}}
    for i in range(len(dec.layers)):
        for kv in ("key", "value"):
            past.append(torch.zeros(2, dec.heads, 4, dec.head_dim))
            names_in.append(f"past_key_values.{i}.{kv}")
            names_out.append(f"present.{i}.{kv}")
            dyn[f"past_key_values.{i}.{kv}"] = {0: "batch", 2: "past_sequence"}
            dyn[f"present.{i}.{kv}"] = {0: "batch", 2: "total_sequence"}
    args = (torch.ones(2, 3, dtype=torch.int64), torch.zeros(2, n_tok, dec.tok.weight.shape[1]), *past)
    return args, names_in, names_out, dyn


def _has_cache_branch(path):
    """True for a graph of the merged layout (uae.merged_decoder): weights named after their parameters."""
    import onnx
    return "use_cache_branch" in [i.name for i in onnx.load(path).graph.input]


def import_by_name(module, prefix, onnx_path):
    """Loads every parameter of `module` from the initializer named `<prefix><name>` (or `<prefix><name>_t`,
    transposed; float16-stored ones end in `__fp16`), as the merged caption decoder names them; checks that
    every initializer so named holds its parameter."""
    import onnx
    from onnx import numpy_helper
    inits = {}
    for i in onnx.load(onnx_path).graph.initializer:
        inits[i.name[:-len("__fp16")] if i.name.endswith("__fp16") else i.name] = numpy_helper.to_array(i)
    n = 0
    with torch.no_grad():
        for name, p in module.named_parameters():
            key = prefix + name
            if key not in inits and key + "_t" not in inits:
                raise ImportError_(f"{onnx_path}: no initializer named {key} or {key}_t")
            arr = inits[key] if key in inits else inits[key + "_t"].T
            if arr.shape != tuple(p.shape):
                raise ImportError_(f"{onnx_path}: {key} has shape {arr.shape} in the graph, {tuple(p.shape)} here")
            p.copy_(torch.from_numpy(np.ascontiguousarray(arr.astype(np.float32))))
            n += 1
        params = {prefix + k: v.detach().numpy() for k, v in module.named_parameters()}
        for key, arr in inits.items():
            base = key[:-2] if key.endswith("_t") and key[:-2] in params else key
            if base in params and not np.array_equal(arr.T if base != key else arr, params[base]):
                raise ImportError_(f"{onnx_path}: {key} and {base} disagree")
    return n


def import_backbone(bundle, roles):
    """The i2i backbone (roles.backbones, id i2i) -> models/work/ckpt/backbone.pt, marked as its finished run."""
    from .backbone import BACKBONE, ImageBackbone
    role = next((b for b in roles.get("backbones") or [] if b["id"] == "i2i"), None)
    if role is None:
        raise ImportError_(f"{bundle}: the manifest lists no i2i backbone")
    model = ImageBackbone(BACKBONE["width"], BACKBONE["flat_dim"], BACKBONE["embed"])
    px = torch.zeros(2, 3, C.IMAGE_SIZE, C.IMAGE_SIZE)
    n = import_module(model, ((px,), ["pixel_values"], ["image_embeds"],
                              {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}),
                      os.path.join(bundle, role["vision"]))
    _save("backbone", {"model": model.state_dict(), "opt": None, "step": BACKBONE["steps"], "imported_from": bundle})
    return f"backbone: {n} tensors"


def import_caption_model(bundle, cfg, role, tok):
    model = CaptionModel(dict(cfg["encoder"], vocab=tok.vocab_size, max_len=C.MAX_LEN))
    px = torch.zeros(2, 3, C.IMAGE_SIZE, C.IMAGE_SIZE)
    n = import_module(model.vision, ((px,), ["pixel_values"], ["last_hidden_state"],
                                     {"pixel_values": {0: "batch"}, "last_hidden_state": {0: "batch"}}),
                      os.path.join(bundle, role["vision"]))
    path = os.path.join(bundle, role["decoder"])
    if _has_cache_branch(path):
        return model, n + import_by_name(model.decoder, "decoder.", path)
    spec = _legacy_decoder_spec(model.decoder, model.vision.stem.pos.shape[1])
    return model, n + import_module(_LegacyMergedDecoder(model.decoder), spec, path)


def import_stage2(run_dir, cfg, tok, meta):
    """A `uae train --out RUN_DIR` run -> stage-2 snapshots, log and meta under models/work (see the docstring)."""
    manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
    roles = manifest["roles"]
    checkpoints = roles.get("checkpoints") or []
    run = next((r for r in roles.get("runs") or [] if r.get("id") == "live-stage2"), None)
    if not checkpoints or run is None:
        raise ImportError_(f"{run_dir}: not a `uae train --out` folder (no checkpoints or no live-stage2 run)")
    # the sample caption uae.rl logs at each evaluation: the greedy caption of held-out scene 0, from the imported
    # cold start's vision tower (models/work/ckpt/encoder.pt) and the checkpoint's caption decoder
    from .checkpoints import without_probe
    from .common import ensure_data, to_pixels
    from .infer import greedy_captions
    vision = CaptionModel(dict(cfg["encoder"], vocab=tok.vocab_size, max_len=C.MAX_LEN))
    vision.load_state_dict(without_probe(torch.load(Checkpoint("encoder").path)["model"]))
    px0 = to_pixels(ensure_data(cfg["data"])["heldout"][0][:1])
    samples = {}
    snap_dir = work_dir("ckpt", "rl_encoder-snapshots")
    for old in os.listdir(snap_dir):
        if old.startswith("step-") and old.endswith(".pt"):
            os.remove(os.path.join(snap_dir, old))
    shown = []
    for ck in checkpoints:
        # the trainer trains the caption decoder only: the vision tower stays the cold start's
        import_by_name(vision.decoder, "decoder.", os.path.join(run_dir, ck["encoder"]["decoder"]))
        torch.save(vision.decoder.state_dict(), snapshot_path("rl_encoder", ck["step"]))
        shown.append(ck["step"])
        with torch.no_grad():
            ids = greedy_captions(vision.eval(), px0, tok.bos_id, tok.eos_id, tok.pad_id)[0].tolist()
        samples[ck["step"]] = tok.decode([int(v) for v in ids])   # as uae.rl's evaluation decodes
    state = os.path.join(run_dir, "state", "trainer.json")
    resumed = json.load(open(state)).get("resumedAt", []) if os.path.exists(state) else []
    rows, t, base = [], 0.0, {0: 0.0}
    for line in open(os.path.join(run_dir, run["path"])):
        if not line.strip():
            continue
        row = json.loads(line)
        if "s_per_step" in row:   # the mean step time since the run, or the resume its row belongs to, started
            t0 = max([r for r in resumed if r < row["step"]], default=0)
            t = base.get(t0, t) + row["s_per_step"] * (row["step"] - t0)
            base[row["step"]] = t
        row["elapsed_s"] = round(t, 1)
        if "eval/sim" in row and row["step"] in samples:
            row["eval/sample_caption"] = samples[row["step"]]
        rows.append(row)
    log = work_dir("logs", "rl_encoder.jsonl")
    with open(log + ".tmp", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    os.replace(log + ".tmp", log)
    with open(work_dir("logs", "rl_encoder.meta.json"), "w") as f:
        json.dump(dict(meta, trainer="uae train (TypeScript)", run_dir=os.path.relpath(run_dir, REPO),
                       checkpoints=shown), f, indent=1)
    return f"stage 2: {len(shown)} checkpoints (steps {shown[0]}..{shown[-1]}), {len(rows)} log rows from {run_dir}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default=os.path.join(REPO, "public", "models", "uae-shapes"))
    ap.add_argument("--config", default="full", choices=["full", "tiny"])
    ap.add_argument("--models", default=None,
                    help="default: ae,flow,scorer,encoder, and backbone when the bundle has one")
    ap.add_argument("--force", action="store_true", help="overwrite existing checkpoints")
    ap.add_argument("--stage2", default=None, metavar="RUN_DIR", help="import a `uae train --out RUN_DIR` run as stage 2")
    ap.add_argument("--reward", default="sim", help="with --stage2: the run's reward, as passed to uae train")
    ap.add_argument("--length-penalty", default="none", help="with --stage2: the run's --length-penalty")
    ap.add_argument("--command", default="", help="with --stage2: the command that trained it (for the card)")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("UAE_THREADS", "2")))
    cfg = C.get(a.config)
    tok = load_tokenizer(TOKENIZER_PATH)
    if a.stage2 is not None:
        try:
            print(import_stage2(a.stage2, cfg, tok, {"reward": a.reward, "length_penalty": a.length_penalty,
                                                     "command": a.command}))
        except (ImportError_, OSError, KeyError, json.JSONDecodeError) as e:
            raise SystemExit(f"uae.from_bundle: stage 2 not imported from {a.stage2}: {e}")
        return
    roles = json.load(open(os.path.join(a.bundle, "manifest.json")))["roles"]
    models = a.models or "ae,flow,scorer,encoder" + (",backbone" if roles.get("backbones") else "")
    for name in [m.strip() for m in models.split(",") if m.strip()]:
        if name not in ("ae", "flow", "scorer", "encoder", "backbone"):
            raise SystemExit(f"unknown model {name!r} (expected ae, flow, scorer, encoder, backbone)")
        if os.path.exists(Checkpoint(name).path) and not a.force:
            print(f"{name}: {Checkpoint(name).path} exists, kept (--force overwrites)")
            continue
        try:
            if name == "ae":
                print(import_ae(a.bundle, cfg, roles))
            elif name == "flow":
                print(import_flow(a.bundle, cfg, roles, tok))
            elif name == "scorer":
                print(import_scorer(a.bundle, cfg, roles, tok))
            elif name == "backbone":
                print(import_backbone(a.bundle, roles))
            else:
                model, n = import_caption_model(a.bundle, cfg, roles["referenceEncoder"], tok)
                steps = cfg["encoder"]["steps"] + cfg["encoder"].get("bind_steps", 0)
                _save("encoder", {"model": model.state_dict(), "opt": None, "step": steps, "imported_from": a.bundle})
                print(f"encoder: {n} tensors (the bundle's referenceEncoder: the cold start)")
        except ImportError_ as e:
            raise SystemExit(f"uae.from_bundle: {name} not recovered: {e}")


if __name__ == "__main__":
    main()
