"""The caption decoder in Optimum's merged encoder-decoder layout, the flow transformer in the same
layout for its caption states, and stable initializer names.

The boolean input `use_cache_branch` chooses, in one small ONNX If node, where the cross-attention keys and
values come from: false (first step, or teacher forcing with an empty cache): computed from
`encoder_hidden_states` (the image states; for the flow transformer the caption states); true (every later
step): read from `past_key_values.{i}.encoder.key/value`. Either way they are the graph's
`present.{i}.encoder.key/value` outputs, and the rest of the network, outside the If, attends to them: it
exists once, so a session costs what the earlier layout cost. The caption decoder also has the usual
self-attention cache, `past_key_values.{i}.decoder.*` -> `present.{i}.decoder.*`; the flow transformer still
reads `encoder_hidden_states` on every step (pooled and masked).
Initializers the exporter renames (a Linear weight transposed for MatMul becomes `onnx::MatMul_N`) are named
after the PyTorch parameter instead: `<parameter>_t` for a transposed copy (see docs/bundle-format.md).
"""
import copy
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn


def kv_names(n_layers, kind):
    """Flat cache tensor names in graph order: {kind}.{i}.decoder.key/value then .encoder.key/value per layer."""
    return [f"{kind}.{i}.{side}.{kv}" for i in range(n_layers) for side in ("decoder", "encoder") for kv in ("key", "value")]


def text_kv_names(depth, kind):
    """The flow transformer's caption keys/values in graph order: {kind}.{i}.encoder.key/value per block."""
    return [f"{kind}.{i}.encoder.{kv}" for i in range(depth) for kv in ("key", "value")]


class CrossKV(nn.Module):
    """encoder_hidden_states -> every layer's cross-attention key and value [B,H,N,Dh]."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, encoder_hidden_states):
        return tuple(t for layer in self.decoder.layers for t in layer.cross_kv(encoder_hidden_states))


class CachedDecoder(nn.Module):
    """(input_ids, per layer past self K/V and cross K/V) -> logits, then per layer self K/V."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, input_ids, *past_flat):
        n = len(self.decoder.layers)
        past = [(past_flat[4 * i], past_flat[4 * i + 1]) for i in range(n)]
        enc_kv = [(past_flat[4 * i + 2], past_flat[4 * i + 3]) for i in range(n)]
        logits, present = self.decoder(input_ids, None, past, enc_kv)
        return (logits, *[t for kv in present for t in kv])


class FlowTextKV(nn.Module):
    """encoder_hidden_states -> every block's cross-attention key and value of the caption states."""

    def __init__(self, flow):
        super().__init__()
        self.flow = flow

    def forward(self, encoder_hidden_states):
        return tuple(t for kv in self.flow.text_kv(encoder_hidden_states) for t in kv)


class CachedFlow(nn.Module):
    """(sample, timestep, encoder_hidden_states, every block's caption K/V) -> velocity."""

    def __init__(self, flow):
        super().__init__()
        self.flow = flow

    def forward(self, sample, timestep, encoder_hidden_states, *kv_flat):
        kv = [(kv_flat[2 * i], kv_flat[2 * i + 1]) for i in range(len(kv_flat) // 2)]
        return self.flow(sample, timestep, encoder_hidden_states, kv)


def decoder_specs(dec, n_tok):
    """{"main": spec, "kv": spec}, spec = (wrapper, args, input names, output names, dynamic axes): the decoder
    reading its cross K/V as inputs, and the graph computing them from the image states."""
    n = len(dec.layers)
    enc = torch.zeros(2, n_tok, dec.tok.weight.shape[1])
    past = kv_names(n, "past_key_values")
    present = kv_names(n, "present")
    enc_present = [p for p in present if ".encoder." in p]
    args = [torch.zeros(2, dec.heads, n_tok if ".encoder." in p else 4, dec.head_dim) for p in past]
    dyn = {"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
    for name in past + present:
        dyn[name] = {0: "batch", 2: "encoder_sequence" if ".encoder." in name else "past_sequence"}
    main = (CachedDecoder(dec), (torch.ones(2, 3, dtype=torch.int64), *args), ["input_ids"] + past,
            ["logits"] + [p for p in present if ".decoder." in p], dyn)
    kv = (CrossKV(dec), (enc,), ["encoder_hidden_states"], enc_present,
          dict({p: dyn[p] for p in enc_present}, encoder_hidden_states={0: "batch"}))
    return {"main": main, "kv": kv}


def flow_specs(flow, hp, max_len):
    """{"main": spec, "kv": spec} of the flow transformer (as decoder_specs)."""
    c, s, d = hp["latent_channels"], hp["latent_size"], hp["text_dim"]
    cross = flow.blocks[0].cross
    base = (torch.zeros(2, c, s, s), torch.full((2,), 0.5), torch.zeros(2, max_len, d))
    names = ["sample", "timestep", "encoder_hidden_states"]
    past, present = text_kv_names(len(flow.blocks), "past_key_values"), text_kv_names(len(flow.blocks), "present")
    kv_args = [torch.zeros(2, cross.heads, max_len, cross.head_dim) for _ in past]
    dyn = {n: {0: "batch"} for n in names + ["out_sample"] + past + present}
    main = (CachedFlow(flow), (*base, *kv_args), names + past, ["out_sample"], dyn)
    kv = (FlowTextKV(flow), (base[2],), ["encoder_hidden_states"], present,
          {n: {0: "batch"} for n in ["encoder_hidden_states"] + present})
    return {"main": main, "kv": kv}


def parameter_names(wrapper, export):
    """{initializer name: parameter name} of `export(module, path)`'s graph: the module is exported once
    with distinct random weights and every initializer is matched to the parameter it holds, as is or
    transposed (then named `<parameter>_t`)."""
    import onnx
    from onnx import numpy_helper
    probe = copy.deepcopy(wrapper)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in probe.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.onnx")
        export(probe, path)
        inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    names = {}
    for pname, p in probe.named_parameters():
        v = p.detach().numpy()
        for iname, arr in inits.items():
            if arr.shape == v.shape and np.array_equal(arr, v):
                names[iname] = pname
            elif v.ndim == 2 and arr.shape == v.T.shape and np.array_equal(arr, v.T):
                names[iname] = pname + "_t"
    return names


def rename_initializers(model, names):
    """Renames initializers (and every reference to them) of an onnx ModelProto in place. Weights the exporter
    deduplicated (equal values, e.g. LayerNorms that barely trained: an Identity of the kept one) become
    initializers again under their own name first, so every parameter has its named initializer."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes = []
    for node in g.node:
        if node.op_type == "Identity" and node.input[0] in inits and node.output[0] not in inits:
            copy_ = copy.deepcopy(inits[node.input[0]])
            copy_.name = node.output[0]
            g.initializer.append(copy_)
        else:
            nodes.append(node)
    del g.node[:]
    g.node.extend(nodes)
    for init in g.initializer:
        init.name = names.get(init.name, init.name)
    for node in g.node:
        node.input[:] = [names.get(x, x) for x in node.input]


def _as_branch(g, prefix, shared):
    """Turns an exported graph into an If branch: initializers move to `shared` (renamed on a clash with
    another value), values the branch defines get `prefix`, inputs become outer-scope references."""
    from onnx import helper, numpy_helper
    rename = {}
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if init.name in shared and not np.array_equal(numpy_helper.to_array(shared[init.name]), arr):
            rename[init.name] = prefix + init.name
            init.name = prefix + init.name
        shared.setdefault(init.name, init)
    del g.initializer[:]
    for node in g.node:
        rename.update({o: prefix + o for o in node.output if o})
    for node in g.node:
        node.name = prefix + node.name
        node.input[:] = [rename.get(x, x) for x in node.input]
        node.output[:] = [rename.get(x, x) for x in node.output]
    produced = {o for node in g.node for o in node.output}
    for out in g.output:
        src = rename.get(out.name, out.name)
        if src not in produced:  # an input passed straight through: a branch output must be its own value
            g.node.append(helper.make_node("Identity", [src], [prefix + out.name + "/passthrough"],
                                           name=prefix + out.name + "/Identity"))
            src = prefix + out.name + "/passthrough"
        out.name = src
    del g.input[:]
    del g.value_info[:]
    return g


def merge_cached(main, kv, inputs, outputs, name):
    """One ModelProto: `main` (an exported graph reading the cross K/V as inputs past_key_values.*.encoder.*)
    preceded by If(use_cache_branch, then=those inputs, else=`kv`, the graph computing them), whose outputs
    present.*.encoder.* replace the inputs in `main`; `inputs` and `outputs` are the merged graph's
    ValueInfoProtos. Both graphs' initializers move to the outer graph."""
    from onnx import helper
    kv_out = [o.name for o in kv.graph.output]
    reads = {p.replace("present", "past_key_values"): p for p in kv_out}
    shared = {}
    for init in main.graph.initializer:
        shared[init.name] = init
    else_g = _as_branch(kv.graph, "compute_kv/", shared)
    then_g = helper.make_graph(
        [helper.make_node("Identity", [past], [f"reuse_kv/{present}"], name=f"reuse_kv/{present}")
         for past, present in reads.items()], "reuse_kv", [],
        [helper.make_tensor_value_info(f"reuse_kv/{present}", o.type.tensor_type.elem_type, None)
         for present, o in zip(reads.values(), kv.graph.output)])
    else_g.name = "compute_kv"
    if_node = helper.make_node("If", ["use_cache_branch"], kv_out, name="cross_kv_if", then_branch=then_g,
                               else_branch=else_g)
    nodes = []
    for node in main.graph.node:
        node.input[:] = [reads.get(x, x) for x in node.input]
        nodes.append(node)
    graph = helper.make_graph([if_node] + nodes, name, inputs, outputs, initializer=list(shared.values()))
    model = helper.make_model(graph, opset_imports=main.opset_import, producer_name=main.producer_name,
                              producer_version=main.producer_version)
    model.ir_version = main.ir_version
    return model
