"""Lever probe (not a product export): split the cross-attention K/V projection out of the merged decoder.

Every decoder step of the shipped export recomputes MatMul(encoder_hidden_states, W_kv) for each layer,
although the encoder states never change during a caption. This writes two graphs under --out:
  cross_kv.onnx        encoder_hidden_states [B,64,128] -> cross_kv.{i} [B,64,2*hidden] (run once per caption)
  decoder_split.onnx   the merged decoder with those MatMul outputs as inputs cross_kv.{i} instead
so bench/levers/cross-kv.ts can time the 48-token KV loop both ways. The real fix belongs in the export
(models/): Optimum's past_key_values.{i}.encoder.key/value, which transformers.js also understands.
Run: /usr/bin/python3 bench/levers/split_cross_kv.py [--bundle public/models/uae-shapes] [--out bench/out/crosskv]
"""
import argparse
import os

import onnx
from onnx import helper, TensorProto

ap = argparse.ArgumentParser()
ap.add_argument("--bundle", default="public/models/uae-shapes")
ap.add_argument("--out", default="bench/out/crosskv")
a = ap.parse_args()

model = onnx.load(os.path.join(a.bundle, "encoder", "decoder_model_merged.onnx"))
g = model.graph
producer = {o: n for n in g.node for o in n.output}
inits = {i.name: i for i in g.initializer}
cross = [n for n in g.node if n.op_type == "MatMul" and "/cross/kv/" in n.name]
assert cross, "no cross-attention K/V MatMul found"

cross_nodes, cross_inits, cross_outputs = [], [], []
for i, mm in enumerate(cross):
    weight = mm.input[1]
    name = f"cross_kv.{i}"
    src = producer.get(weight)
    if src is not None and src.op_type == "Cast":
        cross_nodes.append(helper.make_node("Cast", [src.input[0]], [weight], to=TensorProto.FLOAT))
        cross_inits.append(inits[src.input[0]])
        width = inits[src.input[0]].dims[-1]
    else:
        cross_inits.append(inits[weight])
        width = inits[weight].dims[-1]
    cross_nodes.append(helper.make_node("MatMul", ["encoder_hidden_states", weight], [name]))
    cross_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 64, width]))
    # In the decoder the MatMul's output becomes a graph input of the same shape.
    for n in g.node:
        for k, inp in enumerate(n.input):
            if inp == mm.output[0]:
                n.input[k] = name
    g.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 64, width]))
    g.node.remove(mm)

enc_in = next(x for x in g.input if x.name == "encoder_hidden_states")
if not any("encoder_hidden_states" in n.input for n in g.node):
    g.input.remove(enc_in)
os.makedirs(a.out, exist_ok=True)
onnx.save(model, os.path.join(a.out, "decoder_split.onnx"))
cg = helper.make_graph(cross_nodes, "cross_kv", [helper.make_tensor_value_info("encoder_hidden_states", TensorProto.FLOAT, ["batch", 64, enc_in.type.tensor_type.shape.dim[2].dim_value])], cross_outputs, cross_inits)
cm = helper.make_model(cg, opset_imports=model.opset_import, ir_version=model.ir_version)
onnx.checker.check_model(cm)
onnx.save(cm, os.path.join(a.out, "cross_kv.onnx"))
print(os.path.join(a.out, "decoder_split.onnx"), os.path.join(a.out, "cross_kv.onnx"))
