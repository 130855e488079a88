"""ONNX export of the trained reference models into a bundle folder, plus PyTorch parity fixtures.

Layouts: the encoder follows Optimum's vision-encoder-decoder export (encoder_model.onnx,
decoder_model_merged.onnx with past_key_values.{i}.key/.value), the decoder a diffusers-like layout
(text_encoder/, transformer/, vae_decoder/), the scorer CLIP-like vision and text models.
"""
import hashlib
import json
import os
import shutil

import torch

from . import config as C

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


class _MergedDecoder(torch.nn.Module):
    """Flat-argument wrapper of CaptionDecoder for export."""

    def __init__(self, dec):
        super().__init__()
        self.dec = dec

    def forward(self, input_ids, encoder_hidden_states, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, present = self.dec(input_ids, encoder_hidden_states, past)
        flat = []
        for k, v in present:
            flat += [k, v]
        return (logits, *flat)


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


def _export(module, args, path, inputs, outputs, dynamic):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)
    fp16_storage(path)


def merged_decoder_spec(dec, n_tok):
    """Example arguments, input and output names and dynamic axes of the merged caption decoder's export."""
    past = []
    names_in, names_out = ["input_ids", "encoder_hidden_states"], ["logits"]
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
    args, names_in, names_out, dyn = merged_decoder_spec(dec, n_tok)
    dec_path = os.path.join(out_dir, prefix, "decoder_model_merged.onnx")
    _export(_MergedDecoder(dec), args, dec_path, names_in, names_out, dyn)
    f32 = "float32"
    kv_shape = ["batch", dec.heads, "past_sequence", dec.head_dim]
    io = {
        vision_path: {
            "inputs": [{"name": "pixel_values", "dtype": f32, "shape": ["batch", 3, C.IMAGE_SIZE, C.IMAGE_SIZE]}],
            "outputs": [{"name": "last_hidden_state", "dtype": f32, "shape": ["batch", n_tok, dim]}]},
        f"{prefix}/decoder_model_merged.onnx": {
            "inputs": [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]},
                       {"name": "encoder_hidden_states", "dtype": f32, "shape": ["batch", n_tok, dim]}]
            + [{"name": n, "dtype": f32, "shape": kv_shape} for n in names_in[2:]],
            "outputs": [{"name": "logits", "dtype": f32, "shape": ["batch", "sequence", dec.tok.weight.shape[0]]}]
            + [{"name": n, "dtype": f32, "shape": ["batch", dec.heads, "total_sequence", dec.head_dim]}
               for n in names_out[1:]]},
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
    t = torch.full((2,), 0.5)
    ctx = torch.zeros(2, C.MAX_LEN, d)
    _export(flow_model.flow, (x, t, ctx), os.path.join(out_dir, "decoder/transformer/model.onnx"),
            ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
            {"sample": {0: "batch"}, "timestep": {0: "batch"}, "encoder_hidden_states": {0: "batch"},
             "out_sample": {0: "batch"}})
    _export(_VaeDecode(ae, scale, shift), (x,), os.path.join(out_dir, "decoder/vae_decoder/model.onnx"),
            ["latent_sample"], ["sample"], {"latent_sample": {0: "batch"}, "sample": {0: "batch"}})
    f32 = "float32"
    lat = ["batch", c, s, s]
    io = {
        "decoder/text_encoder/model.onnx": {
            "inputs": [{"name": "input_ids", "dtype": "int64", "shape": ["batch", C.MAX_LEN]}],
            "outputs": [{"name": "last_hidden_state", "dtype": f32, "shape": ["batch", C.MAX_LEN, d]}]},
        "decoder/transformer/model.onnx": {
            "inputs": [{"name": "sample", "dtype": f32, "shape": lat},
                       {"name": "timestep", "dtype": f32, "shape": ["batch"]},
                       {"name": "encoder_hidden_states", "dtype": f32, "shape": ["batch", C.MAX_LEN, d]}],
            "outputs": [{"name": "out_sample", "dtype": f32, "shape": lat}]},
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
