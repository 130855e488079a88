"""The merged exports (uae.merged_decoder): the caption decoder and the flow transformer with one small If
choosing where the cross-attention keys/values come from, every weight named after its parameter, and those
names enough to read the weights back."""
import os

import pytest

torch = pytest.importorskip("torch") if os.environ.get("CI") != "true" else __import__("torch")
onnx = pytest.importorskip("onnx") if os.environ.get("CI") != "true" else __import__("onnx")

from uae.encoder import CaptionModel  # noqa: E402
from uae.export import export_caption_model, round_to_fp16  # noqa: E402
from uae.from_bundle import import_by_name  # noqa: E402

CFG = {"dim": 32, "heads": 2, "layers": 2, "vision_layers": 1, "vocab": 11, "max_len": 12}


@pytest.fixture(autouse=True)
def float32_default():
    """The exports are float32 graphs: another test module may have left torch's default dtype at float64."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_default_dtype(before)


def test_merged_decoder_names_its_weights_and_reads_back(tmp_path):
    torch.manual_seed(0)
    model = CaptionModel(CFG)
    with torch.no_grad():  # distinct values everywhere, as trained weights have (no deduplicated initializers)
        for p in model.parameters():
            p.copy_(torch.randn(p.shape) * 0.1)
    round_to_fp16(model)
    io, role = export_caption_model(model, str(tmp_path), "encoder")
    path = os.path.join(str(tmp_path), role["decoder"])
    g = onnx.load(path).graph
    assert [n.op_type for n in g.node].count("If") == 1  # only the source of the cross K/V is a branch
    assert [i.name for i in g.input] == [t["name"] for t in io[role["decoder"]]["inputs"]]
    assert [o.name for o in g.output] == [t["name"] for t in io[role["decoder"]]["outputs"]]
    names = [i.name[:-len("__fp16")] if i.name.endswith("__fp16") else i.name for i in g.initializer]
    assert all(n.startswith("decoder.") for n in names), [n for n in names if not n.startswith("decoder.")]
    assert "decoder.layers.0.cross.kv.weight_t" in names
    fresh = CaptionModel(CFG)
    assert import_by_name(fresh.decoder, "decoder.", path) == len(list(fresh.decoder.parameters()))
    for (k, a), b in zip(model.decoder.state_dict().items(), fresh.decoder.state_dict().values()):
        assert torch.equal(a, b), k


def test_flow_transformer_names_its_weights_and_reads_back(tmp_path):
    from uae.export import export_flow_transformer, flow_transformer_io
    from uae.flow_decoder import FlowTransformer
    hp = {"latent_channels": 2, "latent_size": 4, "patch": 2, "dim": 16, "heads": 2, "depth": 2, "text_dim": 8}
    torch.manual_seed(1)
    flow = FlowTransformer(hp)
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(torch.randn(p.shape) * 0.1)
    round_to_fp16(flow)
    path = str(tmp_path / "transformer.onnx")
    export_flow_transformer(flow, hp, path)
    g = onnx.load(path).graph
    inputs, outputs = flow_transformer_io(flow, hp)
    assert [i.name for i in g.input] == [t["name"] for t in inputs]
    assert [o.name for o in g.output] == ["out_sample", "present.0.encoder.key", "present.0.encoder.value",
                                          "present.1.encoder.key", "present.1.encoder.value"]
    fresh = FlowTransformer(hp)
    assert import_by_name(fresh, "flow.", path) == len(list(fresh.parameters()))
    for (k, a), b in zip(flow.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), k


def _ops(path):
    """Op types of a graph and of its If branches."""
    g = onnx.load(path).graph
    out = [n.op_type for n in g.node]
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                out += [m.op_type for m in a.g.node]
    return out


def test_exports_compute_no_reshape_targets(tmp_path):
    """Reshapes are exported with constant targets (uae.layers.reshape0, issue 21): the flow transformer and the
    vision encoder run no Shape op, where a plain trace has one per reshape; the caption decoder keeps only the
    two that read its past length; the batch stays free."""
    from uae.export import export_flow_transformer, _export
    from uae.flow_decoder import FlowTransformer
    from uae.layers import VisionEncoder
    hp = {"latent_channels": 2, "latent_size": 4, "patch": 2, "dim": 16, "heads": 2, "depth": 2, "text_dim": 8}
    torch.manual_seed(1)
    path = str(tmp_path / "transformer.onnx")
    export_flow_transformer(FlowTransformer(hp), hp, path)
    assert "Shape" not in _ops(path)
    dyn = {"pixel_values": {0: "batch"}, "last_hidden_state": {0: "batch"}}
    vpath = str(tmp_path / "vision.onnx")
    _export(VisionEncoder(16, 2, 1), (torch.zeros(2, 3, 64, 64),), vpath, ["pixel_values"], ["last_hidden_state"], dyn)
    assert "Shape" not in _ops(vpath)
    assert onnx.load(vpath).graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    model = CaptionModel(CFG)
    _, role = export_caption_model(model, str(tmp_path), "encoder")
    assert _ops(os.path.join(str(tmp_path), role["decoder"])).count("Shape") <= 2


def test_reshape0_is_reshape():
    """Eager reshape0 is torch's reshape with ONNX's 0 = keep that dimension."""
    from uae.layers import reshape0
    x = torch.arange(2 * 3 * 8, dtype=torch.float32).reshape(2, 3, 8)
    assert torch.equal(reshape0(x, (0, -1, 2, 4)), x.reshape(2, 3, 2, 4))
    assert torch.equal(reshape0(x.reshape(2, 3, 2, 4), (0, -1, 8)), x)
