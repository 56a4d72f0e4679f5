"""Static int8 copies (qa_kit.sparsify.quantize): the graph DeepSparse accelerates, zeros kept, answers kept, bad input refused."""
import hashlib
import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import qa_kit
from qa_kit import int8, sparsify
from conftest import DEMO, SHORT, TINY

QUESTION, CONTEXT = "Who founded the bank?", "The bank was founded by Anna Novak in Lyon in 1901, and it grew quickly."


def folder_digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def ops(folder):
    return [n.op_type for n in onnx.load(str(folder / "model.onnx")).graph.node]


@pytest.fixture(scope="module")
def tiny_int8(tmp_path_factory):
    before = folder_digest(TINY)
    out = sparsify.quantize(TINY, tmp_path_factory.mktemp("int8") / "tiny-int8", windows=8)
    assert folder_digest(TINY) == before  # the source is only read
    return out


@pytest.fixture(scope="module")
def demo_int8(tmp_path_factory):
    return sparsify.quantize(DEMO, tmp_path_factory.mktemp("int8") / "demo-int8", windows=24)


def test_every_dense_layer_becomes_qlinearmatmul(tiny_int8):
    source = onnx.load(str(TINY / "model.onnx"))
    quantized = onnx.load(str(tiny_int8 / "model.onnx"))
    assert ops(tiny_int8).count("QLinearMatMul") == len(int8.weight_matmuls(source)) > 0
    assert int8.weight_matmuls(quantized) == []  # no float weight matrix is left behind
    assert [(o.domain, o.version) for o in quantized.opset_import] == [(o.domain, o.version) for o in source.opset_import]
    assert quantized.ir_version == source.ir_version  # DeepSparse 1.8 refuses newer IR versions and extra domains
    record = json.loads((tiny_int8 / "sparsity.json").read_text())
    assert record["int8"]["layer_weights"] > 0 and record["int8_ranges"] == "calibrated on 8 windows"
    assert (tiny_int8 / "tokenizer.json").is_file() and (tiny_int8 / "config.json").is_file()


def test_int8_runs_on_both_engines_close_to_fp32(tiny_int8):
    fp32 = qa_kit.load(str(TINY), engine="onnxruntime", **SHORT).ask(QUESTION, CONTEXT, top_k=5, keep_logits=True)
    for engine in ("deepsparse", "onnxruntime"):
        got = qa_kit.load(str(tiny_int8), engine=engine, **SHORT).ask(QUESTION, CONTEXT, top_k=5, keep_logits=True)
        a, b = np.asarray(fp32.windows[0].start_logits), np.asarray(got.windows[0].start_logits)
        assert a.shape == b.shape
        assert np.corrcoef(a, b)[0, 1] > 0.98, engine


def test_pruned_zeros_stay_zero_in_int8(tmp_path):
    out = sparsify.prune(TINY, tmp_path / "p50-int8", 0.5, block=4, quantize=True)
    model = onnx.load(str(out / "model.onnx"))
    layer_weights = {n.input[3] for n in model.graph.node if n.op_type == "QLinearMatMul"}
    arrays = [numpy_helper.to_array(i) for i in model.graph.initializer if i.name in layer_weights]
    assert arrays and all(a.dtype == np.int8 for a in arrays)
    assert np.mean([float((a == 0).mean()) for a in arrays]) >= 0.5
    record = sparsify.read_sparsity(out)
    assert record["int8"]["layer_zeros"] >= 0.5 and record["asked"] == 0.5


@pytest.mark.slow
def test_demo_int8_is_small_and_answers_like_the_dense_model(demo_int8):
    size = (demo_int8 / "model.onnx").stat().st_size
    assert size < 0.3 * (DEMO / "model.onnx").stat().st_size  # int8 layers and vocabulary table: about 23 of 90 MB
    dense = qa_kit.load(str(DEMO)).ask(QUESTION, CONTEXT)
    for engine in ("deepsparse", "onnxruntime"):
        got = qa_kit.load(str(demo_int8), engine=engine).ask(QUESTION, CONTEXT)
        assert got.best.text == dense.best.text == "Anna Novak", engine


def test_calibration_on_the_users_texts(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("The harbour was dredged in 1911. " * 40, encoding="utf-8")
    long_line = "A long paragraph given as a string, on one line, longer than any file name may be. " * 8
    out = sparsify.quantize(TINY, tmp_path / "own", texts=[text, "A second text, given as a string.", long_line],
                            windows=5)
    assert "calibrated on 5 windows" in (out / "sparsity.json").read_text()


def test_given_ranges_must_cover_every_layer(tmp_path):
    with pytest.raises(ValueError, match="no calibrated range"):
        sparsify.quantize(TINY, tmp_path / "r", ranges={"not-a-tensor": (0.0, 1.0)})


@pytest.mark.parametrize("kwargs, message", [
    ({"texts": "one string, not a list"}, "list of strings"),
    ({"texts": ["   "]}, "blank"),
    ({"windows": 0}, "windows=0"),
])
def test_bad_calibration_input_is_one_kit_error(tmp_path, kwargs, message):
    with pytest.raises(qa_kit.InputError, match=message):
        sparsify.quantize(TINY, tmp_path / "bad", **kwargs)
    assert not (tmp_path / "bad").exists()


def test_refuses_its_own_source_and_quantized_models(tmp_path, tiny_int8):
    with pytest.raises(qa_kit.InputError, match="source folder"):
        sparsify.quantize(TINY, TINY)
    with pytest.raises(qa_kit.InputError, match="already quantized"):
        sparsify.quantize(tiny_int8, tmp_path / "twice")


def test_activation_scale_holds_zero_and_the_range():
    scale, zero = int8.activation_scale(-1.0, 3.0)
    assert scale == pytest.approx(4 / 255) and zero == round(1 / scale)
    scale, zero = int8.activation_scale(0.5, 2.0)  # widened to hold 0
    assert zero == 0 and scale == pytest.approx(2 / 255)
    q, s = int8.weight_to_int8(np.array([[0.0, -2.0], [1.0, 0.0]], dtype=np.float32))
    assert q.tolist() == [[0, -127], [64, 0]] and s == pytest.approx(2 / 127)


def test_layers_kept_in_fp32(tmp_path):
    out = sparsify.quantize(TINY, tmp_path / "mixed", windows=4, keep_fp32=["/output/dense/"])
    model = onnx.load(str(out / "model.onnx"))
    kept = [n.name for _, n, _ in int8.weight_matmuls(model)]
    assert kept and all("/output/dense/" in name for name in kept)
    assert ops(out).count("QLinearMatMul") == len(int8.weight_matmuls(onnx.load(str(TINY / "model.onnx")))) - len(kept)
    with pytest.raises(qa_kit.InputError, match="keep_fp32"):
        sparsify.quantize(TINY, tmp_path / "bad", keep_fp32="/output/dense/")
