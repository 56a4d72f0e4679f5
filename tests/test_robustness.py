"""Bad input a user can give: each is a one-line kit error, and text never shifts an answer."""
import json
import os
import random
import shutil
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import qa_kit
from qa_kit import reading
from qa_kit.errors import EngineError, InputError, QAKitError, SourceError
from conftest import REPO, SHORT, TINY

CONTEXT = "The harbour bridge opened in 1932 after nine years of work."


def cli(*args, stdin=None, env=None):
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "qa_kit.cli", *args], input=stdin, capture_output=True,
                          env=env, timeout=120)


def one_kit_line(done, words: str, status: int = 2) -> None:
    stderr = done.stderr.decode("utf-8", "replace") if isinstance(done.stderr, bytes) else done.stderr
    assert done.returncode == status, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("qa-kit:")]
    assert len(lines) == 1 and words in lines[0], stderr
    assert "Traceback" not in stderr


@pytest.fixture
def model_copy(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(TINY, folder)
    return folder


# --- offsets never shift ------------------------------------------------------------------------

@pytest.mark.parametrize("context", ["The bridge opened in \ud800 1932.", "The bridge opened in 1932.\udcff"])
def test_a_lone_surrogate_is_refused_not_answered_wrong(tiny_reader, context):
    with pytest.raises(InputError, match="lone surrogate"):
        tiny_reader.ask("When did it open?", context)
    with pytest.raises(InputError, match="question holds"):
        tiny_reader.ask("When \udc80 did it open?", CONTEXT)


@pytest.mark.parametrize("context", ["The bridge 😀 opened in 1932.", "The bridge\u0301 opened in 1932.",
                                     "Ünïcödé: the bridge opened in 1932.", "\ufeffThe bridge opened\u00a0in 1932."])
def test_offsets_hold_on_unusual_but_valid_text(demo_reader, context):
    best = demo_reader.ask("When did the bridge open?", context).best
    assert context[best.start:best.end] == best.text == "1932"


@pytest.mark.slow
def test_the_cli_refuses_bytes_that_are_not_utf8_from_every_door(tmp_path):
    bad = b"The bridge opened in \xe9 1932."
    path = tmp_path / "latin1.txt"
    path.write_bytes(bad)
    one_kit_line(cli("ask", "-q", "When?", "-f", str(path)), "not UTF-8 text (byte 0xe9 at offset 21)")
    one_kit_line(cli("ask", "-q", "When?", "-f", "-", stdin=bad), "standard input is not UTF-8")
    # an argument's bad bytes reach Python as lone surrogates
    one_kit_line(cli("ask", "-q", "When?", "-c", os.fsdecode(bad)), "lone surrogate")


def test_a_server_reader_checks_text_the_same_way():
    from qa_kit.server import ServerReader

    reader = ServerReader.__new__(ServerReader)  # no server needed: the check comes before any request
    with pytest.raises(InputError, match="lone surrogate"):
        reader.ask("When?", "opened in \ud800 1932.")


# --- every failure is a kit error ------------------------------------------------------------------

def test_a_truncated_model_is_named_through_the_cli(model_copy):
    data = (model_copy / "model.onnx").read_bytes()
    (model_copy / "model.onnx").write_bytes(data[: len(data) // 3])
    done = cli("ask", "-m", str(model_copy), "-q", "When?", "-c", CONTEXT)
    one_kit_line(done, "is not a readable ONNX model")
    assert str(model_copy / "model.onnx") in done.stderr.decode()


@pytest.mark.parametrize("config, words", [
    ("not json {", "is not readable JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"qa_kit_defaults": 3}', "must hold a JSON object"),
    ('{"model_type": "bert", "qa_kit_defaults": {"sequence_length": "big"}}', "not a whole number"),
    ('{"model_type": "bert", "qa_kit_defaults": {"doc_stride": 1.5}}', "not a whole number"),
])
def test_a_bad_config_is_a_source_error_naming_the_file(model_copy, config, words):
    (model_copy / "config.json").write_text(config)
    with pytest.raises(SourceError, match=words):
        qa_kit.load(str(model_copy))


def test_a_symlink_loop_is_a_source_error(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(SourceError):
        qa_kit.load(str(loop))
    one_kit_line(cli("ask", "-m", str(loop), "-q", "When?", "-c", CONTEXT), "loop")


def failing_model(folder):
    """A model that loads but fails when run: it reshapes each window into 7 rows, which 64 tokens cannot fill."""
    import onnx
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    nodes = [helper.make_node("Cast", ["input_ids"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Constant", [], ["shape"], value=helper.make_tensor("s", TensorProto.INT64, [2], [7, -1])),
             helper.make_node("Reshape", ["f", "shape"], ["start_logits"]),
             helper.make_node("Identity", ["start_logits"], ["end_logits"])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("start_logits", "end_logits")]
    model = helper.make_model(helper.make_graph(nodes, "fails", inputs, outputs), opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save(model, str(folder / "model.onnx"))


def test_an_onnx_runtime_run_error_is_an_engine_error(model_copy):
    failing_model(model_copy)
    reader = qa_kit.load(str(model_copy), engine="onnxruntime", **SHORT)
    with pytest.raises(EngineError) as raised:
        reader.ask("When?", CONTEXT)
    assert "\n" not in str(raised.value) and "onnxruntime failed running" in str(raised.value)


@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan", "inf"])
def test_a_bad_time_limit_is_named(monkeypatch, value):
    from qa_kit.sources import network_timeout

    monkeypatch.setenv("QA_KIT_TIMEOUT", value)
    with pytest.raises(InputError, match="QA_KIT_TIMEOUT"):
        network_timeout()
    monkeypatch.delenv("QA_KIT_TIMEOUT")
    with pytest.raises(InputError, match="timeout="):
        qa_kit.load("zoo:nlp/question_answering/distilbert-none/pytorch/huggingface/squad/base-none",
                    timeout=value if value != "abc" else True)


def test_an_unexpected_error_in_the_cli_is_one_line(tmp_path):
    # a kit bug, simulated: the command must still say one line and how to see more
    script = ("import sys, qa_kit.cli as c\n"
              "def boom(args): raise RuntimeError('simulated\\nbug')\n"
              "c.cmd_cache = boom\nsys.exit(c.main(['cache']))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    one_kit_line(done, "QA_KIT_DEBUG=1", status=1)


# --- small ones ---------------------------------------------------------------------------------------

def test_whole_numbers_are_taken_in_any_whole_form_and_nothing_else(tiny_reader):
    assert len(tiny_reader.ask("When?", CONTEXT, top_k=np.int64(3))) == 3
    assert len(tiny_reader.ask("When?", CONTEXT, top_k=3.0)) == 3
    for bad in (True, 0, 2.5, "3", None):
        with pytest.raises(InputError, match="top_k"):
            tiny_reader.ask("When?", CONTEXT, top_k=bad)
    assert qa_kit.load(str(TINY), sequence_length=64.0, doc_stride=np.int32(16)).sequence_length == 64
    with pytest.raises(InputError, match="whole number"):
        qa_kit.load(str(TINY), sequence_length=64.5, doc_stride=16)
    with pytest.raises(InputError, match="num_cores"):
        qa_kit.load(str(TINY), num_cores=0, **SHORT)


@pytest.mark.parametrize("path, words", [("/tmp", "is a folder"), ("/dev/null", "context is empty")])
def test_context_files_that_are_not_text_files(path, words):
    one_kit_line(cli("ask", "-m", "tiny-random-bert", "-q", "When?", "-f", path), words)


def test_bench_refuses_zero_cores():
    one_kit_line(cli("bench", "--num-cores", "0", "-m", "tiny-random-bert"), "num_cores=0")


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly():
    shell = (f"{sys.executable} -m qa_kit.cli stub explain "
             "zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/pruned90-none | head -c 1 >/dev/null")
    done = subprocess.run(["bash", "-c", f"for i in 1 2 3 4 5; do {shell}; done"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NM_DISABLE_ANALYTICS": "1"})
    assert "BrokenPipe" not in done.stderr and "Traceback" not in done.stderr


# --- huge texts -------------------------------------------------------------------------------------

def test_segments_cover_the_text_at_white_space_and_overlap(monkeypatch):
    monkeypatch.setattr(reading, "SEGMENT_CHARS", 1000)
    monkeypatch.setattr(reading, "SEGMENT_OVERLAP", 100)
    text = " ".join(f"word{i}" for i in range(2000))
    cuts = reading.segments(text)
    assert cuts[0][0] == 0 and cuts[-1][1] == len(text) and len(cuts) > 10
    for (a, b), (c, d) in zip(cuts, cuts[1:]):
        assert b - c >= 100 and a < c < b and text[b] == " " and text[c] == " "
        assert b - a <= 1000


def test_an_answer_at_a_segment_cut_is_found_whole(demo_reader, monkeypatch):
    monkeypatch.setattr(reading, "SEGMENT_CHARS", 3000)
    monkeypatch.setattr(reading, "SEGMENT_OVERLAP", 400)
    filler = open(REPO / "data" / "texts" / "bank_run.txt", encoding="utf-8").read()
    head = filler[:filler.rindex(" ", 0, 2975)]
    fact = " The lighthouse keeper was named Oswin Tarrabee. "
    text = head + fact + filler[:2900] + filler[:2900]
    cuts = reading.segments(text)
    assert len(cuts) >= 3 and len(head) < cuts[0][1] < len(head) + len(fact)  # the first cut splits the fact
    best = demo_reader.ask("What was the lighthouse keeper named?", text).best
    assert best.text == "Oswin Tarrabee" and text[best.start:best.end] == best.text


def old_decode(context, start_logits, end_logits, offsets, top_k, n_best_size=20, max_answer_length=15):
    """The decoder as it was before memory was bounded: one dict of every span, then a sort."""
    spans = {}
    for w in range(offsets.shape[0]):
        si = np.argsort(start_logits[w])[-1: -n_best_size - 1: -1]
        ei = np.argsort(end_logits[w])[-1: -n_best_size - 1: -1]
        s, e = (a.ravel() for a in np.meshgrid(si, ei, indexing="ij"))
        ok = (offsets[w, s, 0] != -1) & (offsets[w, e, 0] != -1) & (e >= s) & (e - s + 1 <= max_answer_length)
        s, e = s[ok], e[ok]
        for a, b, score in zip(offsets[w, s, 0].tolist(), offsets[w, e, 1].tolist(),
                               (start_logits[w, s] + end_logits[w, e]).tolist()):
            if (a, b) not in spans or score > spans[(a, b)][0]:
                spans[(a, b)] = (score, w)
    keys = list(spans)
    scores = np.array([spans[k][0] for k in keys])
    order = np.argsort(-scores, kind="stable")
    p = np.exp(scores - scores.max())
    p /= p.sum()
    return [(keys[i], spans[keys[i]][0], spans[keys[i]][1], p[i]) for i in order[:top_k]]


def random_windows(n_windows, length=32, stride=12, seed=0):
    rng = np.random.default_rng(seed)
    offsets = np.full((n_windows, length, 2), -1, dtype=np.int64)
    for w in range(n_windows):
        tokens = np.arange(w * stride, w * stride + length - 4)
        offsets[w, 3:length - 1, 0] = tokens * 5
        offsets[w, 3:length - 1, 1] = tokens * 5 + 4
    # coarse logits make ties, which must keep the first-seen order
    start = rng.integers(0, 6, (n_windows, length)).astype(np.float32)
    end = rng.integers(0, 6, (n_windows, length)).astype(np.float32)
    return "x" * (5 * (n_windows * stride + length)), start, end, offsets


@pytest.mark.parametrize("seed", range(5))
def test_bounded_decoding_gives_what_one_dict_of_every_span_gave(seed):
    context, start, end, offsets = random_windows(200, seed=seed)
    got = reading.decode(context, start, end, offsets, top_k=10)
    want = old_decode(context, start, end, offsets, top_k=10)
    assert [((a.start, a.end), a.score, a.window) for a in got] == [(k, s, w) for k, s, w, _ in want]
    assert [a.probability for a in got] == pytest.approx([p for *_, p in want], rel=1e-9)


@pytest.mark.slow
def test_decoding_memory_does_not_grow_with_the_number_of_windows():
    def peak(n):
        context, start, end, offsets = random_windows(n, seed=1)
        tracemalloc.start()
        reading.decode(context, start, end, offsets, top_k=3)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    small, large = peak(300), peak(3000)
    assert large < 2 * small, (small, large)


def test_a_long_text_shows_progress_and_keeps_no_logits_unless_asked(tiny_reader, capsys, monkeypatch):
    from qa_kit import reader as reader_module

    monkeypatch.setattr(reader_module, "KEEP_LOGITS_WINDOWS", 20)
    monkeypatch.setattr(reader_module, "PROGRESS_WINDOWS", 20)
    text = " ".join(["The harbour bridge opened in 1932 after nine years of work."] * 60)
    answers = tiny_reader.ask("When?", text)
    assert len(answers.windows) > 20 and all(w.start_logits is None for w in answers.windows)
    assert "reading" in capsys.readouterr().err
    kept = tiny_reader.ask("When?", text, keep_logits=True, progress=False)
    assert all(w.start_logits is not None for w in kept.windows)
    assert "reading" not in capsys.readouterr().err
    assert [a.text for a in kept] == [a.text for a in answers]
