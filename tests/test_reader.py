"""qa_kit.load and Reader.ask on the repo's tiny model: sources, engines, parity with DeepSparse."""
import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import qa_kit
from qa_kit import engines
from conftest import REPO, SHORT, TINY, make_pipeline

BANK_RUN = (REPO / "data" / "texts" / "bank_run.txt").read_text(encoding="utf-8")
SHORT_CONTEXT = "The bank run began on a Monday in March 2023, when depositors withdrew 42 million dollars."
UNICODE_CONTEXT = (
    "Le café de Zoë à Zürich ouvrit en 1898. 東京銀行 was founded in Tokyo. "
    "The fox 🦊 ran past the naïve crowd. Ünïcödé text with emoji 🙂👍🏽 and CJK 水 ends here."
)
QUESTIONS = ["When did the bank run begin?", "How much did depositors withdraw?", "Where was it founded?"]


def folder_digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_offsets_hold(answers):
    for a in answers:
        assert answers.context[a.start:a.end] == a.text


def assert_same_as_pipeline(answers, pipeline):
    expected = pipeline(question=answers.question, context=answers.context)
    best = answers[0]
    assert (best.text, best.start, best.end) == (expected.answer, expected.start, expected.end)
    assert best.score == pytest.approx(expected.score, abs=1e-3)


# ---- parity with deepsparse.Pipeline ---------------------------------------------------------

@pytest.mark.parametrize("context", [SHORT_CONTEXT, UNICODE_CONTEXT, SHORT_CONTEXT * 12], ids=["short", "unicode", "many-windows"])
@pytest.mark.parametrize("question", QUESTIONS)
def test_top_answer_equals_deepsparse_pipeline(tiny_reader, tiny_pipeline, question, context):
    answers = tiny_reader.ask(question, context, top_k=3)
    assert_same_as_pipeline(answers, tiny_pipeline)
    assert_offsets_hold(answers)


def test_long_article_at_default_windows_equals_deepsparse_pipeline(tmp_path_factory):
    reader = qa_kit.load(str(TINY))  # sequence_length 384, doc_stride 128
    pipeline = make_pipeline(tmp_path_factory, sequence_length=384, doc_stride=128)
    for question in QUESTIONS:
        answers = reader.ask(question, BANK_RUN, top_k=5)
        assert len(answers.windows) > 10
        assert_same_as_pipeline(answers, pipeline)
        assert_offsets_hold(answers)


# ---- the result ------------------------------------------------------------------------------

def test_answers_are_ranked_with_probabilities_timings_and_windows(tiny_reader):
    answers = tiny_reader.ask(QUESTIONS[0], SHORT_CONTEXT * 3, top_k=5)
    assert len(answers) == 5
    assert [a.rank for a in answers] == [1, 2, 3, 4, 5]
    scores = [a.score for a in answers]
    assert scores == sorted(scores, reverse=True)
    probabilities = [a.probability for a in answers]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-9
    assert len({(a.start, a.end) for a in answers}) == 5  # no duplicate spans from overlapping windows
    assert set(answers.timings) == {"tokenize", "engine", "decode", "total"}
    assert answers.timings["total"] >= answers.timings["engine"] > 0
    windows = answers.windows
    assert len(windows) > 1 and all(w.start_logits.shape == (SHORT["sequence_length"],) for w in windows)
    frame = answers.to_frame()
    assert list(frame["text"]) == [a.text for a in answers] and list(frame["rank"]) == [1, 2, 3, 4, 5]


def test_random_weight_model_says_so(tiny_reader):
    answers = tiny_reader.ask(QUESTIONS[0], SHORT_CONTEXT)
    assert tiny_reader.random_weights and "random weights" in answers.warning
    assert "random weights" in repr(answers)


def test_a_context_with_no_possible_span_gives_an_empty_result(tiny_reader):
    # A single character: the only spans are one token long and that token may or may not win;
    # with max_answer_length 0 nothing can qualify at all.
    reader = qa_kit.load(str(TINY), max_answer_length=0, **SHORT)
    answers = reader.ask("who?", "x")
    assert len(answers) == 0 and answers.best is None


# ---- engines ---------------------------------------------------------------------------------

def test_onnxruntime_and_deepsparse_give_the_same_answers(tiny_reader):
    ort = qa_kit.load(str(TINY), engine="onnxruntime", **SHORT)
    for context in (SHORT_CONTEXT, UNICODE_CONTEXT, SHORT_CONTEXT * 8):
        a, b = tiny_reader.ask(QUESTIONS[1], context, top_k=3), ort.ask(QUESTIONS[1], context, top_k=3)
        assert [(x.start, x.end) for x in a] == [(x.start, x.end) for x in b]
        assert [x.score for x in a] == pytest.approx([x.score for x in b], abs=1e-3)
        assert b.engine == "onnxruntime"


def test_onnxruntime_threads_do_not_spin_between_runs():
    """Spinning ORT threads would slow a DeepSparse engine run next to them (compare, bench)."""
    ort = qa_kit.load(str(TINY), engine="onnxruntime", **SHORT)
    options = ort.engine._session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_a_second_question_or_a_second_load_does_not_recompile(tiny_reader):
    tiny_reader.ask(QUESTIONS[0], SHORT_CONTEXT)
    before = dict(engines.builds)
    tiny_reader.ask(QUESTIONS[1], UNICODE_CONTEXT)
    again = qa_kit.load(str(TINY), num_cores=tiny_reader.cores.count, **SHORT)  # auto may pick another cached engine
    again.ask(QUESTIONS[2], SHORT_CONTEXT)
    assert dict(engines.builds) == before
    assert again.engine is tiny_reader.engine
    assert qa_kit.load(str(TINY), **SHORT).engine.model_dir == tiny_reader.model_dir  # auto: compiled already, too
    assert dict(engines.builds) == before


def test_batched_windows_give_the_same_answers_as_one_at_a_time(tiny_reader):
    batched = qa_kit.load(str(TINY), batch_size=4, **SHORT)
    context = SHORT_CONTEXT * 7  # a window count that leaves a short last batch
    a, b = tiny_reader.ask(QUESTIONS[0], context, top_k=3), batched.ask(QUESTIONS[0], context, top_k=3)
    assert len(a.windows) % 4 != 0
    assert [(x.start, x.end) for x in a] == [(x.start, x.end) for x in b]
    np.testing.assert_allclose(a.windows[-1].start_logits, b.windows[-1].start_logits, atol=1e-4)


@pytest.mark.parametrize("engine", ["deepsparse", "onnxruntime"])
def test_one_reader_asked_from_several_threads_answers_as_if_asked_in_turn(engine):
    """fan_out and compare share a reader between threads: its tokenizer and engine must hold up."""
    reader = qa_kit.load(str(TINY), engine=engine, **SHORT)
    cases = [(q, c) for q in QUESTIONS for c in (SHORT_CONTEXT, UNICODE_CONTEXT, SHORT_CONTEXT * 6)] * 3
    in_turn = [reader.ask(q, c, top_k=2) for q, c in cases]
    got = [None] * len(cases)

    def ask(i):
        got[i] = reader.ask(*cases[i], top_k=2)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(cases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for a, b in zip(got, in_turn):
        assert [(x.start, x.end) for x in a] == [(x.start, x.end) for x in b]
        assert [x.score for x in a] == pytest.approx([x.score for x in b], abs=1e-4)


def test_unknown_engine_is_refused():
    with pytest.raises(qa_kit.QAKitError, match="Unknown engine 'tensorrt'"):
        qa_kit.load(str(TINY), engine="tensorrt")


# ---- sources ---------------------------------------------------------------------------------

def test_the_users_folder_is_left_byte_for_byte_unchanged(tmp_path):
    user = tmp_path / "my model"
    import shutil

    shutil.copytree(TINY, user)
    before = folder_digest(user)
    for engine in ("deepsparse", "onnxruntime"):
        reader = qa_kit.load(str(user), engine=engine, sequence_length=96, doc_stride=32)
        reader.ask(QUESTIONS[0], SHORT_CONTEXT)
        assert user not in reader.model_dir.parents and reader.model_dir != user
    assert folder_digest(user) == before


def test_a_single_onnx_file_and_its_folder_and_the_catalog_name_load_the_same_model(tiny_reader):
    by_file = qa_kit.load(str(TINY / "model.onnx"), **SHORT)
    by_name = qa_kit.load("tiny-random-bert", **SHORT)
    assert by_file.model_dir == tiny_reader.model_dir == by_name.model_dir
    assert by_name.source == "tiny-random-bert"
    expected = tiny_reader.ask(QUESTIONS[0], SHORT_CONTEXT)[0]
    for reader in (by_file, by_name):
        assert reader.ask(QUESTIONS[0], SHORT_CONTEXT)[0] == expected


def test_a_folder_with_the_model_in_an_onnx_subfolder_loads(tmp_path, tiny_reader):
    import shutil

    folder = tmp_path / "export"
    shutil.copytree(TINY, folder)
    (folder / "onnx").mkdir()
    (folder / "model.onnx").rename(folder / "onnx" / "model.onnx")
    reader = qa_kit.load(str(folder), **SHORT)
    assert reader.ask(QUESTIONS[0], SHORT_CONTEXT)[0] == tiny_reader.ask(QUESTIONS[0], SHORT_CONTEXT)[0]


@pytest.mark.parametrize("remove, message", [
    ("model.onnx", "No ONNX model"), ("config.json", "no config.json"), ("tokenizer", "no tokenizer"),
])
def test_an_incomplete_folder_says_what_is_missing(tmp_path, remove, message):
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(TINY, folder)
    names = ["tokenizer.json", "vocab.txt"] if remove == "tokenizer" else [remove]
    for name in names:
        (folder / name).unlink()
    with pytest.raises(qa_kit.SourceError, match=message):
        qa_kit.load(str(folder))


@pytest.mark.parametrize("source, message", [
    ("", "empty"), ("no-such-model-name", "catalog"), ("./does/not/exist", "does not exist"),
])
def test_bad_sources_fail_with_a_clear_message(source, message):
    with pytest.raises(qa_kit.SourceError, match=message):
        qa_kit.load(source)


def test_the_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_KIT_CACHE", str(tmp_path / "elsewhere"))
    reader = qa_kit.load(str(TINY), **SHORT)
    assert (tmp_path / "elsewhere") in reader.model_dir.parents


# ---- network sources, offline ----------------------------------------------------------------

@pytest.mark.parametrize("source, names", [
    ("zoo:nlp/question_answering/distilbert-none/pytorch/huggingface/squad/base-none", "SparseZoo"),
    ("hf:distilbert/distilbert-base-cased-distilled-squad", "Hugging Face Hub"),
])
def test_network_sources_fail_fast_and_clearly_offline(source, names):
    began = time.perf_counter()
    with pytest.raises(qa_kit.SourceError) as raised:
        qa_kit.load(source, timeout=8)
    assert time.perf_counter() - began < 10
    message = str(raised.value)
    assert source in message and names in message and "local folder" in message


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers: a network that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("source, variable", [
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none", "SPARSEZOO_API_URL"),
    ("hf:someone/some-qa-model", "HF_ENDPOINT"),
])
@pytest.mark.slow
def test_a_network_that_hangs_is_cut_off_at_the_timeout(silent_server, tmp_path, source, variable):
    # The clients read their endpoints at import time, so this runs in a fresh interpreter.
    code = (
        "import sys, time, qa_kit\n"
        "t = time.perf_counter()\n"
        f"try:\n    qa_kit.load({source!r}, timeout=2)\n"
        "except qa_kit.SourceError as e:\n    print(round(time.perf_counter() - t, 1), e)\n"
    )
    env = {**__import__("os").environ, variable: silent_server, "QA_KIT_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60).stdout
    seconds, message = out.split(" ", 1)
    assert 1.9 <= float(seconds) < 5, out
    assert "within 2 s" in message and source in message


# ---- fast reading ----------------------------------------------------------------------------

def test_fast_reading_reads_only_the_best_windows_and_marks_the_rest_skipped():
    reader = qa_kit.load(str(TINY))
    question = "Who bought the bank?"
    full = reader.ask(question, BANK_RUN, top_k=3)
    fast = reader.ask(question, BANK_RUN, top_k=3, fast=True, max_windows=3)
    read = [w.index for w in fast.windows if w.read]
    assert len(fast.windows) == len(full.windows) > 3 and len(read) == 3
    assert all(w.start_logits is None for w in fast.windows if not w.read)
    assert all(a.window in read for a in fast)
    assert_offsets_hold(fast)
    # the windows it read hold the same logits as when every window is read
    for index in read:
        np.testing.assert_allclose(fast.windows[index].start_logits, full.windows[index].start_logits, atol=1e-4)
    # the chosen windows are the ones sharing most words with the question
    from qa_kit.ranking import window_scores

    scores = window_scores(question, [BANK_RUN[w.char_start:w.char_end] for w in full.windows])
    assert min(scores[read]) >= max(np.delete(scores, read))


def test_fast_reading_reads_about_1536_tokens_unless_told(tiny_reader):
    from qa_kit.reader import fast_window_count

    assert [fast_window_count(n) for n in (384, 192, 256, 64, 2048)] == [4, 8, 6, 24, 2]
    assert tiny_reader.fast_windows == 24  # 64-token windows
    fast = tiny_reader.ask("Who bought the bank?", BANK_RUN, fast=True)
    assert len(fast.windows) > 24 and sum(w.read for w in fast.windows) == 24


def test_fast_reading_on_a_short_text_is_the_same_as_full_reading(tiny_reader):
    a = tiny_reader.ask(QUESTIONS[0], SHORT_CONTEXT, top_k=3)
    b = tiny_reader.ask(QUESTIONS[0], SHORT_CONTEXT, top_k=3, fast=True, max_windows=4)
    assert list(a) == list(b) and all(w.read for w in b.windows)


def test_unsure_fast_reading_reads_on_in_rounds_but_never_past_half(tiny_reader):
    from qa_kit.ranking import rank_windows

    question = "Who bought the bank?"
    exact = tiny_reader.ask(question, BANK_RUN, fast=True, max_windows=5, confident_score=float("-inf"))
    total = len(exact.windows)
    assert sum(w.read for w in exact.windows) == 5 and exact.note is None  # -inf: never reads on
    unsure = tiny_reader.ask(question, BANK_RUN, fast=True, max_windows=5, confident_score=1e9)  # nothing scores that
    order = rank_windows(question, [BANK_RUN[w.char_start:w.char_end] for w in unsure.windows])
    assert total > 20 and sorted(w.index for w in unsure.windows if w.read) == sorted(order[: total // 2])
    assert f"read {total // 2} of {total} windows and stopped there" in unsure.note
    assert "1000000000.0" in unsure.note and f"the best scored {unsure.best.score:.1f}" in unsure.note
    # a short text is read whole in one round, whatever the score
    short = tiny_reader.ask(QUESTIONS[0], SHORT_CONTEXT, fast=True, max_windows=4, confident_score=1e9)
    assert all(w.read for w in short.windows) and short.note is None


@pytest.mark.parametrize("bad", ["high", True, float("nan"), None])
def test_a_confident_score_must_be_a_number(tiny_reader, bad):
    if bad is None:  # None means "the reader's own", which for the tiny model is: never read on
        assert tiny_reader.confident_score is None
        return
    with pytest.raises(qa_kit.InputError, match="confident_score=.* must be a number"):
        tiny_reader.ask(QUESTIONS[0], SHORT_CONTEXT, fast=True, confident_score=bad)


@pytest.mark.slow
def test_the_demo_model_reads_on_only_when_its_first_answer_is_unsure(demo_reader):
    """Real weights: a confident first answer stops fast reading at its first windows; an unsure one
    makes it read on until an answer reaches the confident score, or to half the text and says so."""
    sure_score = demo_reader.confident_score
    first_windows = demo_reader.fast_windows
    config = json.loads((REPO / "data" / "models" / "demo-minilm" / "config.json").read_text())
    assert sure_score == config["qa_kit_defaults"]["fast_confident_score"] and first_windows == 10
    sure = "How long did Ruth Calloway wait before she reached a teller?"
    first = demo_reader.ask(sure, BANK_RUN, fast=True, confident_score=float("-inf"))
    fast = demo_reader.ask(sure, BANK_RUN, fast=True)
    assert first.best.score >= sure_score and sum(w.read for w in fast.windows) == first_windows
    assert fast.best == first.best and fast.note is None
    unsure = "What was the deposit insurance limit?"
    first = demo_reader.ask(unsure, BANK_RUN, fast=True, confident_score=float("-inf"))
    full = demo_reader.ask(unsure, BANK_RUN)
    # a score the later windows reach: it reads on in rounds until one does
    reached = demo_reader.ask(unsure, BANK_RUN, fast=True, confident_score=13.0)
    read = sum(w.read for w in reached.windows)
    assert first.best.score < 13.0 <= reached.best.score
    assert first_windows < read <= len(reached.windows) // 2
    assert (reached.best.start, reached.best.end) == (full.best.start, full.best.end)  # what reading everything finds
    assert f"read {read} of {len(reached.windows)} windows" in reached.note and "so it read on" in reached.note
    # the model's own score, calibrated on generated documents, is not reached here: half the text, and it says so
    own = demo_reader.ask(unsure, BANK_RUN, fast=True)
    assert first.best.score < own.best.score < sure_score
    assert sum(w.read for w in own.windows) == len(own.windows) // 2 and own.best == reached.best
    assert "stopped there: no answer reached" in own.note


def test_a_model_may_name_its_confident_score(tmp_path):
    import shutil

    folder = tmp_path / "sure-at-7"
    shutil.copytree(TINY, folder)
    config = json.loads((folder / "config.json").read_text())
    config["qa_kit_defaults"] = {"fast_confident_score": 7}
    (folder / "config.json").write_text(json.dumps(config))
    assert qa_kit.load(str(folder)).confident_score == 7.0
    # calibrated at the model's own window: at another one, raw scores differ, so it does not apply
    assert qa_kit.load(str(folder), sequence_length=128, doc_stride=32).confident_score is None
    config["qa_kit_defaults"] = {"fast_confident_score": "seven"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(qa_kit.InputError, match="confident_score='seven'"):
        qa_kit.load(str(folder), sequence_length=128, doc_stride=32)


def test_a_model_may_name_the_window_it_reads_best_at(tmp_path):
    import shutil

    folder = tmp_path / "prefers-short"
    shutil.copytree(TINY, folder)
    config = json.loads((folder / "config.json").read_text())
    config["qa_kit_defaults"] = {"sequence_length": 96, "doc_stride": 32}
    (folder / "config.json").write_text(json.dumps(config))
    assert (qa_kit.load(str(folder)).sequence_length, qa_kit.load(str(folder)).doc_stride) == (96, 32)
    assert qa_kit.load(str(TINY)).sequence_length == 384  # no preference: the usual 384/128
    explicit = qa_kit.load(str(folder), sequence_length=128, doc_stride=0)
    assert (explicit.sequence_length, explicit.doc_stride) == (128, 0)


def test_load_reports_its_slow_steps_in_order():
    steps = []
    qa_kit.load(str(TINY), on_step=steps.append, **SHORT)
    assert steps == ["fetch", "compile"]
    steps.clear()
    with pytest.raises(qa_kit.SourceError):  # nothing listens there: the step is told, then the error
        qa_kit.load("http://127.0.0.1:9/", on_step=steps.append, timeout=1)
    assert steps == ["connect"]


@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.slow
def test_deepsparse_banner_is_kept_out_of_the_way_unless_verbose(tmp_path, verbose):
    # The native library prints it to the process's stderr on its first compile: a fresh interpreter.
    code = ("import qa_kit\n"
            f"r = qa_kit.load({str(TINY)!r}, sequence_length=64, doc_stride=16)\n"
            "print(r.ask('Where was Ada born?', 'Ada was born in London.')[0].text != '')\n")
    env = {**__import__("os").environ, "QA_KIT_CACHE": str(tmp_path)}
    env.pop("QA_KIT_VERBOSE", None)
    if verbose:
        env["QA_KIT_VERBOSE"] = "1"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "True", done.stderr[-2000:]
    assert ("Neuralmagic" in done.stderr) == verbose, done.stderr[-2000:]
