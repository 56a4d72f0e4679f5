"""One-shot pruning: the asked sparsity is reached, blocks are whole, the source is untouched, the model still answers."""
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

import qa_kit
from qa_kit import sparsify
from conftest import SHORT, TINY

CONTEXT = "The bank run began on a Monday in March 2023, when depositors withdrew 42 million dollars."


def folder_digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def weights(folder):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(folder / "model.onnx"))
    targets = sparsify.prunable_weights(model)
    return {i.name: (numpy_helper.to_array(i), targets[i.name]["axis"]) for i in model.graph.initializer if i.name in targets}


@pytest.mark.parametrize("block", [1, 4])
@pytest.mark.parametrize("sparsity", [0.5, 0.9])
def test_prune_reaches_the_asked_sparsity_and_still_answers(tmp_path, sparsity, block):
    before = folder_digest(TINY)
    out = sparsify.prune(TINY, tmp_path / "pruned", sparsity=sparsity, block=block)
    assert folder_digest(TINY) == before  # the source folder is only read
    measured = sparsify.measure_sparsity(out)
    assert measured["sparsity"] == pytest.approx(sparsity, abs=0.01)
    assert measured["matrices"] == 12  # 2 layers x (q, k, v, out, up, down); the 64 x 2 QA head stays dense
    assert all(abs(s - sparsity) <= 0.01 for s in measured["per_matrix"].values())
    record = json.loads((out / "sparsity.json").read_text())
    assert record["asked"] == sparsity and record["block"] == block
    assert record["sparsity"] == pytest.approx(measured["sparsity"])
    for name in ("config.json", "tokenizer.json", "vocab.txt"):
        assert (out / name).read_bytes() == (TINY / name).read_bytes()
    if block == 4:
        for name, (w, axis) in weights(out).items():
            rows = np.moveaxis(w, axis, 0)
            usable = rows.shape[0] // 4 * 4
            groups = rows[:usable].reshape(usable // 4, 4, -1)
            zero = groups == 0
            # a block is all zero or has no zero at all (random weights are never exactly 0)
            assert np.all(zero.all(axis=1) | ~zero.any(axis=1)), name
    reader = qa_kit.load(str(out), **SHORT)
    answers = reader.ask("When did the bank run begin?", CONTEXT, top_k=3)
    assert len(answers) >= 1
    assert all(CONTEXT[a.start:a.end] == a.text for a in answers)


def test_pruning_keeps_the_largest_weights():
    w = np.array([[0.1, -5.0], [3.0, 0.2], [-0.05, 1.0], [4.0, -0.3]], dtype=np.float32)
    keep = sparsify.magnitude_mask(w, 0.5)
    assert keep.tolist() == [[False, True], [True, False], [False, True], [True, False]]


def test_blocks_run_along_the_input_axis():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((8, 6)).astype(np.float32)  # MatMul weight: (in=8, out=6)
    keep = sparsify.magnitude_mask(w, 0.5, block=4, axis=0)
    assert keep.reshape(2, 4, 6).all(axis=1).sum() + (~keep.reshape(2, 4, 6)).all(axis=1).sum() == 12
    assert keep.mean() == pytest.approx(0.5)
    wt = np.ascontiguousarray(w.T)  # Gemm transB weight: (out=6, in=8)
    keep_t = sparsify.magnitude_mask(wt, 0.5, block=4, axis=1)
    assert np.array_equal(keep_t, keep.T)  # the same blocks, whichever way the matrix is stored


def test_prune_refuses_what_it_cannot_do(tmp_path):
    with pytest.raises(qa_kit.InputError, match="block"):
        sparsify.prune(TINY, tmp_path / "b", 0.5, block=2)
    with pytest.raises(qa_kit.InputError, match="sparsity"):
        sparsify.prune(TINY, tmp_path / "s", 1.0)
    with pytest.raises(qa_kit.InputError, match="source folder"):
        sparsify.prune(TINY, TINY, 0.5)
    assert not any(tmp_path.iterdir())


def test_zero_sparsity_keeps_every_weight(tmp_path):
    out = sparsify.prune(TINY, tmp_path / "dense", 0.0)
    for name, (w, _) in weights(out).items():
        assert np.array_equal(w, weights(TINY)[name][0])


def test_pruning_again_replaces_stale_deepsparse_copies(tmp_path):
    out = sparsify.prune(TINY, tmp_path / "p", 0.5)
    stale = out / "engines" / "deepsparse-b1-s64" / "model.onnx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old graph")
    sparsify.prune(TINY, out, 0.7)
    assert not stale.exists()
    assert sparsify.measure_sparsity(out)["sparsity"] == pytest.approx(0.7, abs=0.01)


def test_sparsity_sweep_on_the_tiny_model(tmp_path):
    from matplotlib.figure import Figure

    from qa_kit import bench

    frame = bench.sparsity_sweep(str(TINY), sparsities=(0.5,), block=4, repeats=1, max_questions=2,
                                 out_root=tmp_path, progress=False)
    assert sorted(frame["sparsity"]) == [0.0, 0.0, 0.5, 0.5]
    assert set(frame["engine"]) == {"deepsparse", "onnxruntime"}
    dense = frame[frame["sparsity"] == 0]
    assert (dense["agreement"] == 1.0).all()
    assert list(dense["speedup"]) == pytest.approx([1.0, 1.0])
    pruned = frame[frame["sparsity"] == 0.5]
    assert (pruned["achieved"].sub(0.5).abs() <= 0.01).all()
    assert all(math.isfinite(v) and v > 0 for v in frame["ms_per_window"])
    assert (frame["best_ms_per_window"] <= frame["ms_per_window"]).all()
    assert isinstance(bench.sweep_chart(frame), Figure)
    made = [p for p in tmp_path.iterdir() if p.name.endswith("-s50-b4")]
    assert len(made) == 1 and (made[0] / "model.onnx").is_file()
    assert set(pruned["model_dir"]) == {str(made[0])}


@pytest.mark.slow
def test_sparsity_sweep_shows_fp32_and_int8(tmp_path):
    from qa_kit import bench

    frame = bench.sparsity_sweep(str(TINY), sparsities=(0.5,), block=4, precisions=("fp32", "int8"), repeats=1,
                                 max_questions=2, out_root=tmp_path, progress=False)
    assert len(frame) == 8  # 2 sparsities x 2 precisions x 2 engines
    assert set(zip(frame["sparsity"], frame["precision"])) == {(0.0, "fp32"), (0.0, "int8"), (0.5, "fp32"), (0.5, "int8")}
    reference = frame[(frame["sparsity"] == 0) & (frame["precision"] == "fp32")]
    assert (reference["agreement"] == 1.0).all() and list(reference["speedup"]) == pytest.approx([1.0, 1.0])
    int8_dirs = set(frame[frame["precision"] == "int8"]["model_dir"])
    assert len(int8_dirs) == 2 and all(d.endswith("-int8") for d in int8_dirs)
    assert all("QLinearMatMul" in (Path(d) / "model.onnx").read_bytes().decode("latin-1") for d in int8_dirs)
    with pytest.raises(qa_kit.InputError, match="precisions"):
        bench.sparsity_sweep(str(TINY), precisions=("int4",), out_root=tmp_path, progress=False)
