"""ONNX export of the trained reference models into a bundle folder, plus PyTorch parity fixtures.

Layouts: the encoder follows Optimum's vision-encoder-decoder export (encoder_model.onnx,
decoder_model_merged.onnx with past_key_values.{i}.decoder/.encoder.key/.value and use_cache_branch, see
merged_decoder.py), the decoder a diffusers-like layout
(text_encoder/, transformer/, vae_decoder/), the scorer CLIP-like vision and text models.
"""
import hashlib
import json
import os
import shutil
import tempfile
import warnings

import torch

from . import config as C
from .merged_decoder import (decoder_specs, flow_specs, kv_names, merge_cached, parameter_names, rename_initializers,
                             text_kv_names)

OPSET = 17


class _VaeDecode(torch.nn.Module):
    """Flow latents (scaled) -> image in [-1,1]; the latent scaling is folded into the graph."""

    def __init__(self, ae, scale, shift):
        super().__init__()
        self.ae, self.scale, self.shift = ae, scale, shift

    def forward(self, latent_sample):
        return self.ae.decode(latent_sample / self.scale + self.shift).clamp(-1.0, 1.0)


class _TextStates(torch.nn.Module):
    def __init__(self, text):
        super().__init__()
        self.text = text

    def forward(self, input_ids):
        return self.text(input_ids)[0]


def round_to_fp16(module):
    """Rounds every float parameter/buffer to float16 precision in place (so the fp16-stored ONNX weights
    and the PyTorch parity fixtures are the same numbers)."""
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.dtype == torch.float32:
                t.copy_(t.half().float())
    return module


def fp16_storage(path, min_elements=256):
    """Stores large float32 initializers as float16 followed by a Cast to float32 (halves the file; ORT
    folds the casts when it loads the graph, so inference still runs in float32)."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    m = onnx.load(path)
    g = m.graph
    casts, keep = [], []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if init.data_type == TensorProto.FLOAT and arr.size >= min_elements:
            keep.append(numpy_helper.from_array(arr.astype(np.float16), init.name + "__fp16"))
            casts.append(helper.make_node("Cast", [init.name + "__fp16"], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "__cast"))
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def _torch_export(module, args, path, inputs, outputs, dynamic):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # uae.layers.reshape0's symbolic under torch 1.13
        warnings.filterwarnings("ignore", message=".*_graph_op. is deprecated", category=FutureWarning)
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)


def _export(module, args, path, inputs, outputs, dynamic):
    _torch_export(module, args, path, inputs, outputs, dynamic)
    fp16_storage(path)


def merged_decoder_io(dec, n_tok):
    """(inputs, outputs) of the merged caption decoder: [{name, dtype, shape}] in graph order."""
    f32, n = "float32", len(dec.layers)
    kv = {"decoder": ["batch", dec.heads, "past_sequence", dec.head_dim],
          "encoder": ["batch", dec.heads, "encoder_sequence", dec.head_dim]}
    present = {"decoder": ["batch", dec.heads, "total_sequence", dec.head_dim], "encoder": kv["encoder"]}
    inputs = ([{"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]},
               {"name": "encoder_hidden_states", "dtype": f32, "shape": ["batch", n_tok, dec.tok.weight.shape[1]]}]
              + [{"name": p, "dtype": f32, "shape": kv[p.split(".")[2]]} for p in kv_names(n, "past_key_values")]
              + [{"name": "use_cache_branch", "dtype": "bool", "shape": [1]}])
    outputs = ([{"name": "logits", "dtype": f32, "shape": ["batch", "sequence", dec.tok.weight.shape[0]]}]
               + [{"name": p, "dtype": f32, "shape": present[p.split(".")[2]]} for p in kv_names(n, "present")])
    return inputs, outputs


def _export_merged(specs, io, path, name):
    """Exports the `main` and `kv` graphs of `specs` (uae.merged_decoder), names their weights after the
    parameters, splices them into one graph with inputs/outputs `io` and writes it to `path` with float16
    storage."""
    import onnx
    from onnx import helper, TensorProto
    graphs = {}
    for key, (wrapper, args, ins, outs, dyn) in specs.items():
        def export(module, p, args=args, ins=ins, outs=outs, dyn=dyn):
            _torch_export(module, args, p, ins, outs, dyn)
        names = parameter_names(wrapper, export)
        with tempfile.TemporaryDirectory() as tmp:
            export(wrapper, os.path.join(tmp, "graph.onnx"))
            m = onnx.load(os.path.join(tmp, "graph.onnx"))
        rename_initializers(m, names)
        missing = set(names.values()) - {i.name for i in m.graph.initializer}
        if missing:
            raise RuntimeError(f"weights of the probe export not found in the export: {sorted(missing)[:4]}")
        graphs[key] = m
    types = {"float32": TensorProto.FLOAT, "int64": TensorProto.INT64, "bool": TensorProto.BOOL}
    ins, outs = ([helper.make_tensor_value_info(t["name"], types[t["dtype"]], t["shape"]) for t in spec]
                 for spec in io)
    merged = merge_cached(graphs["main"], graphs["kv"], ins, outs, name)
    onnx.checker.check_model(merged)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(merged, path)
    fp16_storage(path)


def export_merged_decoder(dec, n_tok, path):
    """Writes the caption decoder in the merged encoder-decoder layout (uae.merged_decoder) to `path`."""
    _export_merged(decoder_specs(dec, n_tok), merged_decoder_io(dec, n_tok), path, "decoder_model_merged")


def flow_transformer_io(flow, hp):
    """(inputs, outputs) of the merged flow transformer: [{name, dtype, shape}] in graph order."""
    c, s, d = hp["latent_channels"], hp["latent_size"], hp["text_dim"]
    cross = flow.blocks[0].cross
    kv = ["batch", cross.heads, "text_sequence", cross.head_dim]
    lat, f32 = ["batch", c, s, s], "float32"
    inputs = ([{"name": "sample", "dtype": f32, "shape": lat}, {"name": "timestep", "dtype": f32, "shape": ["batch"]},
               {"name": "encoder_hidden_states", "dtype": f32, "shape": ["batch", C.MAX_LEN, d]}]
              + [{"name": n, "dtype": f32, "shape": kv} for n in text_kv_names(len(flow.blocks), "past_key_values")]
              + [{"name": "use_cache_branch", "dtype": "bool", "shape": [1]}])
    outputs = ([{"name": "out_sample", "dtype": f32, "shape": lat}]
               + [{"name": n, "dtype": f32, "shape": kv} for n in text_kv_names(len(flow.blocks), "present")])
    return inputs, outputs


def export_flow_transformer(flow, hp, path):
    """Writes the flow transformer with its caption K/V computed once per sampling run (uae.merged_decoder)."""
    _export_merged(flow_specs(flow, hp, C.MAX_LEN), flow_transformer_io(flow, hp), path, "transformer")


def export_caption_model(model, out_dir, prefix, vision_path=None):
    """Writes <prefix>/encoder_model.onnx (unless vision_path names a shared one) and
    <prefix>/decoder_model_merged.onnx; returns (io specs, role)."""
    dec = model.decoder
    dim = dec.tok.weight.shape[1]
    px = torch.zeros(2, 3, C.IMAGE_SIZE, C.IMAGE_SIZE)
    if vision_path is None:
        vision_path = f"{prefix}/encoder_model.onnx"
        _export(model.vision, (px,), os.path.join(out_dir, vision_path), ["pixel_values"], ["last_hidden_state"],
                {"pixel_values": {0: "batch"}, "last_hidden_state": {0: "batch"}})
    n_tok = model.vision.stem.pos.shape[1]
    export_merged_decoder(dec, n_tok, os.path.join(out_dir, prefix, "decoder_model_merged.onnx"))
    dec_in, dec_out = merged_decoder_io(dec, n_tok)
    io = {
        vision_path: {
            "inputs": [{"name": "pixel_values", "dtype": "float32", "shape": ["batch", 3, C.IMAGE_SIZE, C.IMAGE_SIZE]}],
            "outputs": [{"name": "last_hidden_state", "dtype": "float32", "shape": ["batch", n_tok, dim]}]},
        f"{prefix}/decoder_model_merged.onnx": {"inputs": dec_in, "outputs": dec_out},
    }
    role = {"vision": vision_path, "decoder": f"{prefix}/decoder_model_merged.onnx",
            "numLayers": len(dec.layers), "numHeads": dec.heads, "headDim": dec.head_dim,
            "maxTokens": C.MAX_LEN}
    return io, role


def export_decoder(flow_model, ae, scale, shift, hp, out_dir):
    """Writes decoder/{text_encoder,transformer,vae_decoder}/model.onnx; returns io specs and role."""
    c, s, d = hp["latent_channels"], hp["latent_size"], hp["text_dim"]
    ids = torch.ones(2, C.MAX_LEN, dtype=torch.int64)
    _export(_TextStates(flow_model.text), (ids,), os.path.join(out_dir, "decoder/text_encoder/model.onnx"),
            ["input_ids"], ["last_hidden_state"], {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}})
    x = torch.zeros(2, c, s, s)
    export_flow_transformer(flow_model.flow, hp, os.path.join(out_dir, "decoder/transformer/model.onnx"))
    _export(_VaeDecode(ae, scale, shift), (x,), os.path.join(out_dir, "decoder/vae_decoder/model.onnx"),
            ["latent_sample"], ["sample"], {"latent_sample": {0: "batch"}, "sample": {0: "batch"}})
    f32 = "float32"
    lat = ["batch", c, s, s]
    io = {
        "decoder/text_encoder/model.onnx": {
            "inputs": [{"name": "input_ids", "dtype": "int64", "shape": ["batch", C.MAX_LEN]}],
            "outputs": [{"name": "last_hidden_state", "dtype": f32, "shape": ["batch", C.MAX_LEN, d]}]},
        "decoder/transformer/model.onnx": dict(zip(("inputs", "outputs"), flow_transformer_io(flow_model.flow, hp))),
        "decoder/vae_decoder/model.onnx": {
            "inputs": [{"name": "latent_sample", "dtype": f32, "shape": lat}],
            "outputs": [{"name": "sample", "dtype": f32, "shape": ["batch", 3, C.IMAGE_SIZE, C.IMAGE_SIZE]}]},
    }
    role = {"textEncoder": "decoder/text_encoder/model.onnx", "transformer": "decoder/transformer/model.onnx",
            "vaeDecoder": "decoder/vae_decoder/model.onnx", "latentShape": [c, s, s], "maxTokens": C.MAX_LEN,
            "guidanceScale": hp.get("guidance", 1.0), "sdeNoiseLevel": 0.7}
    return io, role


def export_scorer(scorer, hp, out_dir):
    """Writes scorer/{vision_model,text_model}.onnx; returns io specs and role."""
    px = torch.zeros(2, 3, C.IMAGE_SIZE, C.IMAGE_SIZE)
    ids = torch.ones(2, C.MAX_LEN, dtype=torch.int64)
    _export(scorer.image, (px,), os.path.join(out_dir, "scorer/vision_model.onnx"), ["pixel_values"],
            ["image_embeds"], {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}})
    _export(scorer.text, (ids,), os.path.join(out_dir, "scorer/text_model.onnx"), ["input_ids"],
            ["text_embeds"], {"input_ids": {0: "batch"}, "text_embeds": {0: "batch"}})
    e = hp["embed"]
    io = {
        "scorer/vision_model.onnx": {
            "inputs": [{"name": "pixel_values", "dtype": "float32", "shape": ["batch", 3, C.IMAGE_SIZE, C.IMAGE_SIZE]}],
            "outputs": [{"name": "image_embeds", "dtype": "float32", "shape": ["batch", e]}]},
        "scorer/text_model.onnx": {
            "inputs": [{"name": "input_ids", "dtype": "int64", "shape": ["batch", C.MAX_LEN]}],
            "outputs": [{"name": "text_embeds", "dtype": "float32", "shape": ["batch", e]}]},
    }
    return io, {"vision": "scorer/vision_model.onnx", "text": "scorer/text_model.onnx", "embedDim": e}


def file_entry(root, rel):
    """{path, bytes, sha256} of a bundle file."""
    p = os.path.join(root, rel)
    h = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return {"path": rel, "bytes": os.path.getsize(p), "sha256": h}


def refresh_entry(bundle_dir, rel):
    """Re-hashes bundle file `rel` (rewritten in place, e.g. the model card) in the bundle's manifest.json."""
    mpath = os.path.join(bundle_dir, "manifest.json")
    m = json.load(open(mpath))
    m["files"] = [file_entry(bundle_dir, rel) if f["path"] == rel else f for f in m["files"]]
    with open(mpath, "w") as f:
        json.dump(m, f, indent=1)


def write_manifest(out_dir, bundle_id, name, description, io, roles, tok_path, extra_files=()):
    """Copies the tokenizer, hashes every file and writes manifest.json (schema uae-bundle/1)."""
    shutil.copyfile(tok_path, os.path.join(out_dir, "tokenizer.json"))
    tok = json.load(open(tok_path))
    vocab = tok["model"]["vocab"]
    for key in ("encoder", "referenceEncoder"):
        if key in roles:
            roles[key].update({"bosId": vocab["[BOS]"], "eosId": vocab["[EOS]"], "padId": vocab["[PAD]"]})
    paths = sorted(set(list(io.keys()) + ["tokenizer.json"] + list(extra_files)))
    manifest = {
        "schema": "uae-bundle/1", "id": bundle_id, "name": name, "version": "1.0.0",
        "description": description, "tokenizer": "tokenizer.json",
        "files": [file_entry(out_dir, p) for p in paths],
        "io": io,
        "preprocessing": {"image": {"width": C.IMAGE_SIZE, "height": C.IMAGE_SIZE, "channels": 3,
                                    "layout": "NCHW", "scale": 1 / 255, "mean": [0.5] * 3, "std": [0.5] * 3,
                                    "resize": "cover"}},
        "defaults": {"flowSteps": 12, "maxTokens": C.MAX_LEN, "loops": 3, "groupSize": 8,
                     "temperature": 1.0, "topP": 1.0, "seed": 0},
        "roles": roles,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest
