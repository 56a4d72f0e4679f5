"""The benchmark's measuring code: FLOP counting, ratio arithmetic, inputs, the report, and a tiny real run.

Nothing here asserts a speed: only that the numbers are computed right and are all there.
"""
import json
import math

import numpy as np
import pytest

from qa_kit import bench, flops
from conftest import REPO, TINY

ARTICLE = (REPO / "data" / "texts" / "bank_run.txt").read_text(encoding="utf-8")


# ---- FLOP counting --------------------------------------------------------------------------

def small_graph():
    """x[batch, seq, 4] -> MatMul W1[4,5] -> h; h x h^T (activation x activation); Reshape -> Gemm W2[7,5] transB."""
    from onnx import TensorProto, helper, numpy_helper

    w1 = numpy_helper.from_array(np.ones((4, 5), np.float32), "W1")
    w2 = numpy_helper.from_array(np.ones((7, 5), np.float32), "W2")
    shape = numpy_helper.from_array(np.array([-1, 5], np.int64), "flat_shape")
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h"], name="dense"),
        helper.make_node("Transpose", ["h"], ["ht"], perm=[0, 2, 1], name="transpose"),
        helper.make_node("MatMul", ["h", "ht"], ["scores"], name="scores"),
        helper.make_node("Reshape", ["h", "flat_shape"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "W2"], ["y"], transB=1, name="gemm"),
    ]
    graph = helper.make_graph(
        nodes, "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "sequence", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, None)],
        initializer=[w1, w2, shape],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


def test_flops_of_a_hand_built_graph_are_2mnk_per_product(tmp_path):
    import onnx

    path = tmp_path / "small.onnx"
    onnx.save(small_graph(), str(path))
    count = flops.count_flops(path, batch=2, sequence_length=3)
    by_name = {p.name: p for p in count.products}
    assert set(by_name) == {"dense", "scores", "gemm"}
    # MatMul [2,3,4] x [4,5]: 2 * (2*3) * 5 * 4; h x h^T [2,3,5] x [2,5,3]: 2 * 2 * 3*3 * 5; Gemm [6,5] x [5,7]: 2*6*7*5
    assert by_name["dense"].flops == 2 * 2 * 3 * 5 * 4 == 240
    assert by_name["scores"].flops == 2 * 2 * 3 * 3 * 5 == 180
    assert by_name["gemm"].flops == 2 * 6 * 7 * 5 == 420
    assert (by_name["dense"].weight, by_name["scores"].weight, by_name["gemm"].weight) == (True, False, True)
    assert (count.total, count.weights, count.attention) == (840, 660, 180)
    assert count.per_window() == pytest.approx(840 / 2 / 1e9)
    # a ModelProto works too, and the caller's graph is left as it was
    model = small_graph()
    before = model.SerializeToString()
    assert flops.count_flops(model, batch=1, sequence_length=3).total == 120 + 90 + 210
    assert model.SerializeToString() == before


def test_flops_of_the_tiny_bert_match_the_formula():
    # BERT exports hide attention shapes from ONNX shape inference: this exercises the run fallback.
    L, H, I, layers = 384, 64, 128, 2
    count = flops.count_flops(TINY, batch=1, sequence_length=L)
    weights = layers * (4 * 2 * L * H * H + 2 * 2 * L * H * I) + 2 * L * H * 2  # q, k, v, out; up, down; qa head
    attention = layers * 2 * (2 * L * L * H)  # scores and weighted values, all heads together
    assert (count.weights, count.attention) == (weights, attention)
    assert len(count.products) == 17


def test_flop_count_refuses_a_missing_model(tmp_path):
    with pytest.raises(Exception, match="No ONNX model"):
        flops.count_flops(tmp_path)


def test_cpu_info_names_isa_cores_and_vnni():
    info = flops.cpu_info()
    assert info["isa"] in {"avx512", "avx2", "avx", "sse", "unknown"} or info["isa"]
    assert isinstance(info["cores"], int) and info["cores"] >= 1
    assert info["vnni"] in (True, False, None)


def test_dense_roof_is_a_positive_rate():
    assert 0 < flops.dense_roof(size=256, repeats=1) < 1e6


# ---- ratio arithmetic on fake timings -------------------------------------------------------

def test_time_ratio_is_sum_of_medians_over_shared_questions():
    a = {"q1": [1.0, 2.0, 3.0], "q2": [2.0, 2.0, 10.0]}          # medians 2, 2
    b = {"q1": [1.0, 1.0, 1.0], "q2": [1.0, 3.0, 1.0], "q3": [5.0]}  # medians 1, 1; q3 not shared
    assert bench.time_ratio(a, b) == pytest.approx(2.0)
    assert bench.time_ratio(b, a) == pytest.approx(0.5)
    assert math.isnan(bench.time_ratio(a, {"other": [1.0]}))
    assert math.isnan(bench.time_ratio({}, {}))


def test_agreement_and_targets():
    assert bench.span_agreement({"a": (1, 2), "b": (3, 4), "c": None}, {"a": (1, 2), "b": (3, 5), "c": None}) == pytest.approx(2 / 3)
    assert math.isnan(bench.span_agreement({"a": 1}, {"b": 1}))
    assert bench.target_met("kit_over_pipeline_one_window", 1.04) is True
    assert bench.target_met("kit_over_pipeline_one_window", 1.06) is False
    assert bench.target_met("first_over_second_ask", 50.0) is True
    assert bench.target_met("full_over_fast_long_document", 2.9) is False
    assert bench.target_met("fast_agreement", float("nan")) is None
    assert bench.target_met("deepsparse_over_onnxruntime", 0.5) is None  # shown, no target


def fake_records():
    rows = []

    def add(setting, variant, engine, question, repeat, seconds, span, engine_s=None, read=None, exact=None):
        rows.append({"model": "m", "setting": setting, "variant": variant, "engine": engine, "question": question,
                     "repeat": repeat, "seconds": seconds, "tokenize_s": 0.001, "engine_s": engine_s or seconds * 0.9,
                     "decode_s": 0.001, "windows": read, "windows_read": read, "span": span, "answer": "x",
                     "f1": 100.0 if span == (7, 9) else 0.0, "exact": span == (7, 9) if exact is None else exact})

    for r, (k, p, o) in enumerate([(0.10, 0.10, 0.20), (0.12, 0.10, 0.22), (0.50, 0.10, 0.20)]):  # kit medians .12
        for q in ("q1", "q2"):
            add("one_window", "kit", "deepsparse", q, r, k, (1, 2), read=1)
            add("one_window", "pipeline", "deepsparse", q, r, p, (1, 2) if q == "q1" else (5, 6))
            add("one_window", "kit", "onnxruntime", q, r, o, (1, 2), read=1)
    for q, same in (("q1", True), ("q2", True), ("q3", False), ("q4", True)):
        add("long_document", "full", "deepsparse", q, 0, 2.0, (7, 9), engine_s=1.8, read=18, exact=q != "q4")
        add("long_document", "fast", "deepsparse", q, 0, 0.5, (7, 9) if same else (0, 3), read=4)
    add("long_document", "pipeline", "deepsparse", "q1", 0, 1.6, (7, 9))
    add("long_document", "full", "onnxruntime", "q1", 0, 4.0, (7, 9), engine_s=3.6, read=18)
    return rows


def test_summary_ratios_from_a_fake_timing_set():
    count = flops.FlopCount(batch=1, sequence_length=384,
                            products=[flops.Product("p", "MatMul", 384, 384, 384, 10, True)])  # 1.132 GFLOP
    compiles = {"deepsparse": {"first": 8.0, "second": 0.1}}
    block = bench.summarise("m", fake_records(), ["deepsparse", "onnxruntime"], compiles, count, {}, [])
    r = block["ratios"]
    assert r["kit_over_pipeline_one_window"] == pytest.approx(0.24 / 0.20)
    assert r["deepsparse_over_onnxruntime"] == pytest.approx(0.24 / 0.40)
    assert r["kit_over_pipeline_long_document"] == pytest.approx(2.0 / 1.6)  # only q1 had the pipeline
    assert r["deepsparse_over_onnxruntime_long_document"] == pytest.approx(2.0 / 4.0)
    assert r["full_over_fast_long_document"] == pytest.approx(8.0 / 2.0)
    assert r["first_over_second_ask"] == pytest.approx(80.0)
    assert block["fast_agreement"] == pytest.approx(0.75)
    assert (block["fast_agreed"], block["fast_compared"]) == (3, 4)
    # full reading is exactly right on q1-q3; fast reading keeps q1 and q2 of those
    assert (block["fast_kept"], block["full_right"]) == (2, 3) and block["fast_keeps_right"] == pytest.approx(2 / 3)
    assert block["f1"]["full"] == pytest.approx(100.0) and block["f1"]["fast"] == pytest.approx(75.0)
    assert block["identical"]["one_window"] == {"same": 3, "compared": 6}  # q2's pipeline span differs
    assert block["identical"]["long_document"] == {"same": 1, "compared": 1}
    assert block["gflops"]["deepsparse"]["seconds_per_window"] == pytest.approx(0.1)
    assert block["gflops"]["deepsparse"]["gflops"] == pytest.approx(count.per_window() / 0.1)
    assert block["gflops"]["onnxruntime"]["gflops"] == pytest.approx(count.per_window() / 0.2)


def test_report_table_marks_targets_and_identical_answers():
    count = flops.FlopCount(batch=1, sequence_length=384, products=[])
    block = bench.summarise("m", fake_records(), ["deepsparse", "onnxruntime"], {"deepsparse": {"first": 8.0, "second": 0.1}},
                             count, {}, [])
    import pandas as pd

    report = bench.BenchReport(models=[block], records=pd.DataFrame(fake_records()), cpu={"model": "x", "isa": "avx2"},
                               roof_gflops=100.0)
    table = report.table.set_index("measure")
    one = table.loc["kit / deepsparse.Pipeline, one window"]
    assert one["target"] == "<= 1.05" and one["met"] == False  # noqa: E712  (1.2x, and answers differ)
    assert table.loc["first / second question (deepsparse)", "met"] == True  # noqa: E712
    assert table.loc["full / fast reading, long article (deepsparse)", "value"] == pytest.approx(4.0)
    assert table.loc["fast reading: same top answer", "met"] == False  # noqa: E712  (75% < 90%)
    assert "3/4 questions" in table.loc["fast reading: same top answer", "detail"]
    assert table.loc["F1 against gold, long article: fast - full", "value"] == pytest.approx(-25.0)


# ---- inputs ---------------------------------------------------------------------------------

def test_paragraphs_cover_the_text_and_cut_long_ones():
    spans = bench.paragraphs(ARTICLE, longest=400)
    assert all(0 < end - start <= 400 for start, end in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert "".join(ARTICLE[s:e] for s, e in spans).replace(" ", "") == "".join(ARTICLE.split())


def test_one_window_context_holds_the_gold_answer_in_one_window(tiny_reader):
    import qa_kit
    from qa_kit.reading import encode

    reader = qa_kit.load(str(TINY))  # 384-token windows, as the benchmark uses
    for q in bench._load_questions(None, ARTICLE)[:5]:
        text = bench.one_window_context(reader, q, ARTICLE)
        assert text in ARTICLE
        assert encode(reader.tokenizer, q.text, text, 384, 128).n_windows == 1
        start = ARTICLE.index(text)
        assert start <= q.answer_start < start + len(text)


def test_run_refuses_bad_arguments():
    from qa_kit import QAKitError

    with pytest.raises(QAKitError, match="repeats"):
        bench.run(str(TINY), repeats=0, progress=False)
    with pytest.raises(QAKitError, match="Unknown engine"):
        bench.run(str(TINY), engines=("tensorflow",), progress=False)
    with pytest.raises(QAKitError, match="empty"):
        bench.run(str(TINY), context="   ", progress=False)


# ---- a tiny real run ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    """A real run on a copy of the tiny model whose config names its own window (256/64), as demo-minilm's does."""
    import shutil

    model = tmp_path_factory.mktemp("bench") / "tiny-own-window"
    shutil.copytree(TINY, model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "qa_kit_defaults": {"sequence_length": 256, "doc_stride": 64}}))
    return bench.run(str(model), repeats=1, warmup=1, max_questions=3, long_questions=2, progress=False)


@pytest.mark.slow
def test_the_benchmark_reads_at_the_models_own_window(tiny_report):
    assert (tiny_report.settings["sequence_length"], tiny_report.settings["doc_stride"]) == (256, 64)
    assert tiny_report.models[0]["window"] == [256, 64]
    assert "sequence_length 256, doc_stride 64" in str(tiny_report)


@pytest.mark.slow
def test_the_fast_reading_curve_agrees_with_the_measured_fast_reads(tiny_report):
    """The curve is decoded from the full reads' logits; at the benchmark's size it must match the real fast reads."""
    curve = tiny_report.fast_curve.set_index("max_windows")
    size = tiny_report.models[0]["max_windows"]
    assert size == tiny_report.settings["max_windows"] == 6  # fast reading's default at 256 tokens
    assert list(curve.index) == sorted(set(bench.CURVE_SIZES) | {size})
    assert curve.loc[size, "agreement"] == pytest.approx(tiny_report.fast_agreement)
    windows = tiny_report.records.query("setting == 'long_document' and variant == 'fast'")["windows"].max()
    assert curve.loc[size, "share_read"] == pytest.approx(size / windows, rel=0.2)
    assert (curve["share_read"].diff().dropna() >= 0).all()  # reading more never reads less


def test_the_curve_decodes_exactly_what_fast_reading_gives(tiny_reader):
    questions = ["When did the run begin?", "Who bought the bank?", "How much was withdrawn on Thursday?"]
    full = [(tiny_reader.ask(q, ARTICLE[:6000]), ["Monday"]) for q in questions]
    full[0] = (full[0][0], [full[0][0].best.text])  # counted as exactly right: its own answer is the gold one
    rows = {r["max_windows"]: r for r in bench.fast_reading_curve(tiny_reader, full, sizes=[1, 2, 1000])}
    for size in (1, 2):
        fast = [tiny_reader.ask(q, ARTICLE[:6000], fast=True, max_windows=size) for q in questions]
        same = [bench.best_span(f) == bench.best_span(answers) for f, (answers, _) in zip(fast, full)]
        assert rows[size]["agreement"] == pytest.approx(sum(same) / len(same))
        assert rows[size]["keeps_right"] == float(same[0])  # random weights: "Monday" is never the answer
        assert rows[size]["share_read"] == pytest.approx(np.mean([size / len(a.windows) for a, _ in full]))
    assert rows[1000]["agreement"] == 1.0 and rows[1000]["share_read"] == 1.0  # every window read: full reading
    assert rows[1000]["keeps_right"] == 1.0
    # reading on while unsure: the curve reads on exactly as ask does
    sure = float(np.median([a.best.score for a, _ in full]))
    rows = {r["max_windows"]: r for r in bench.fast_reading_curve(tiny_reader, full, sizes=[1, 2], confident_score=sure)}
    for size in (1, 2):
        fast = [tiny_reader.ask(q, ARTICLE[:6000], fast=True, max_windows=size, confident_score=sure) for q in questions]
        assert rows[size]["share_read"] == pytest.approx(np.mean([sum(w.read for w in f.windows) / len(f.windows) for f in fast]))
        same = [bench.best_span(f) == bench.best_span(answers) for f, (answers, _) in zip(fast, full)]
        assert rows[size]["agreement"] == pytest.approx(sum(same) / len(same))
    assert math.isnan(bench.fast_reading_curve(tiny_reader, [], sizes=[1])[0]["agreement"])  # nothing to compare


@pytest.mark.slow
def test_tiny_run_has_every_ratio_finite(tiny_report):
    data = tiny_report.to_dict()
    for key in ("kit_over_pipeline_one_window", "kit_over_pipeline_long_document", "deepsparse_over_onnxruntime",
                "first_over_second_ask", "full_over_fast_long_document"):
        assert key in data["ratios"] and math.isfinite(data["ratios"][key]) and data["ratios"][key] > 0, key
    if bench._available_cores() > 1:  # DeepSparse on one core against all, measured on multi-core machines
        assert data["ratios"]["deepsparse_one_core_over_all_cores"] > 0
    assert 0.0 <= data["fast_agreement"] <= 1.0
    assert data["cpu"]["isa"] and data["roof_gflops"] > 0
    assert json.loads(json.dumps(data)) == data  # plain JSON, no NaN


@pytest.mark.slow
def test_tiny_run_answers_match_the_pipeline(tiny_report):
    # the kit reproduces deepsparse.Pipeline's top answer, so the "identical answers" column must say so
    for setting in ("one_window", "long_document"):
        same = tiny_report.models[0]["identical"][setting]
        assert same["compared"] > 0 and same["same"] == same["compared"], setting


@pytest.mark.slow
def test_fast_reading_reads_fewer_windows_in_the_record(tiny_report):
    long = tiny_report.records[tiny_report.records["setting"] == "long_document"]
    fast = long[long["variant"] == "fast"].set_index("question")
    full = long[(long["variant"] == "full") & (long["engine"] == "deepsparse")].set_index("question")
    assert len(fast) == 3 and (fast["windows_read"] <= 6).all()  # the reader's fast_windows at 256 tokens
    assert (full["windows_read"] > 10).all()
    # the same question cut into the same windows, of which fast reading read only a few
    assert (fast["windows"] == full.loc[fast.index, "windows_read"]).all()


@pytest.mark.slow
def test_every_call_was_timed_with_stages(tiny_report):
    one = tiny_report.records[tiny_report.records["setting"] == "one_window"]
    assert len(one) == 3 * 3  # 3 questions x (kit deepsparse, kit onnxruntime, pipeline) x 1 repeat
    kit = one[one["variant"] == "kit"]
    assert (kit["seconds"] >= kit["tokenize_s"] + kit["engine_s"] + kit["decode_s"] - 1e-6).all()
    compile_ds = tiny_report.models[0]["compile"]["deepsparse"]
    assert compile_ds["first"] > compile_ds["second"] > 0


@pytest.mark.slow
def test_save_and_load_round_trip(tiny_report, tmp_path):
    path = tiny_report.save(tmp_path / "bench.json")
    again = bench.BenchReport.load(path)
    assert again.to_dict() == tiny_report.to_dict()
    assert again.table.equals(tiny_report.table)
    assert again.stages.equals(tiny_report.stages)
    with pytest.raises(ValueError, match="No benchmark report"):
        bench.BenchReport.load(tmp_path / "missing.json")


@pytest.mark.slow
def test_report_shows_itself(tiny_report):
    from matplotlib.figure import Figure

    text = str(tiny_report)
    assert "kit / deepsparse.Pipeline, one window" in text and "CPU:" in text and "random weights" in text
    page = tiny_report._repr_html_()
    assert "<table" in page and "<script" not in page
    from qa_kit.charts import Chart

    chart = tiny_report.chart()
    assert isinstance(chart, Figure) and isinstance(chart, Chart) and chart._repr_png_().startswith(b"\x89PNG")
    assert len(chart.axes) == 4 and "fast reading by size" in chart.axes[3].get_title(loc="left")
    assert "fast reading by size" in text and "fast reading by size" in page
    assert tiny_report.stages["windows read"].isna().any()  # the pipeline reports no windows read...
    assert "NaN" not in text and "NaN" not in page  # ...which shows as a blank


@pytest.mark.slow
def test_cli_bench_prints_json_with_ratios(monkeypatch, tiny_report):
    from qa_kit.cli_bench import cli_bench

    seen = {}

    def fake_run(models, **kwargs):
        seen.update(kwargs, models=models)
        return tiny_report

    monkeypatch.setattr(bench, "run", fake_run)
    out = json.loads(cli_bench([str(TINY)], None, True, 2, progress=False))
    assert set(bench.RATIO_KEYS) <= set(out["ratios"]) and "fast_agreement" in out
    assert seen["models"] == [str(TINY)] and seen["repeats"] == 2
    assert "CPU:" in cli_bench(None, None, False, 1, progress=False)
    with pytest.raises(ValueError, match="does not exist"):
        cli_bench(None, "/no/such/file.txt", False, 1)


@pytest.mark.slow
def test_two_models_side_by_side(tmp_path):
    from qa_kit import sparsify

    int8_copy = sparsify.quantize(TINY, tmp_path / "tiny-int8", windows=4)
    report = bench.run([str(TINY), str(int8_copy)], repeats=1, warmup=0, max_questions=2, long_questions=1,
                       compile_check=False, progress=False)
    table = report.side_by_side
    assert list(table["model"]) == [str(TINY), str(int8_copy)]
    first = table.iloc[0]
    assert first["speedup_over_first"] == 1.0 and first["agreement_with_first"] == 1.0
    for column in ("ms_per_window_deepsparse", "ms_per_window_onnxruntime", "ms_per_question_long"):
        assert (table[column] > 0).all(), column
    assert table["deepsparse_speedup_over_onnxruntime"].iloc[1] == pytest.approx(
        table["ms_per_window_onnxruntime"].iloc[1] / table["ms_per_window_deepsparse"].iloc[1])
    assert "models side by side" in str(report) and "models side by side" in report._repr_html_()
    assert "models side by side" not in str(bench.BenchReport(models=report.models[:1], records=report.records))
