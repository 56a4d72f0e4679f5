"""Servers: a real DeepSparse server on 127.0.0.1 with the tiny model, and fake ones for each failure.

The real server answers must equal the in-process reader's top answer at the server's own window
settings; the fakes (stdlib http.server) stand in for a server of another task, one that answers
nonsense, one that is too slow and one that breaks.
"""
import hashlib
import json
import math
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import qa_kit
from qa_kit import EngineError, InputError, SourceError
from qa_kit import scale
from qa_kit import server as srv
from conftest import SHORT, TINY

LONG = ("The harbour bridge opened in 1932 after nine years of work. " * 3 +
        "Ada Lovelace wrote the first program for the analytical engine in 1843. "
        "The river floods every spring, and the town moved its market to the hill. " * 3)
CASES = [
    ("When did the bridge open?", "The harbour bridge opened in 1932 after nine years of work."),
    ("Who wrote the first program?", "Ada Lovelace wrote the first program for the analytical engine in 1843."),
    ("Where did the market move?", LONG),  # several 64-token windows
    ("Qui a écrit ?", "Ada a écrit le programme à Londres, près du fleuve."),
]


def one_line(error: BaseException) -> str:
    message = str(error)
    assert "\n" not in message and len(message) < 300, message
    return message


# ---------------------------------------------------------------------------------------------
# Fake servers: stdlib HTTP on 127.0.0.1, one behaviour per test


QA_CONFIG = {"endpoints": [{"name": "question_answering", "route": None, "task": "question_answering",
                            "model": "/nowhere/model", "kwargs": {}}]}


class Fake:
    """A tiny HTTP server whose answers are set per path: {(method, path): (status, body, delay)}."""

    def __init__(self, routes):
        self.routes = routes
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, body, delay = fake.routes.get((method, self.path), (404, {"detail": "Not Found"}, 0))
                time.sleep(delay)
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

        self.httpd, self.url = start_httpd(Handler)

    def close(self):
        stop_httpd(self.httpd)


def start_httpd(handler):
    """Serve a request handler class on a free loopback port, in a daemon thread, quietly."""
    handler.log_message = lambda self, *args: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def stop_httpd(httpd):
    httpd.shutdown()
    httpd.server_close()


def made_then_closed(server_class):
    """A fixture's body: hand the test a maker of `server_class` stand-ins, and close them all after it."""
    made = []

    def make(*args):
        made.append(server_class(*args))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.fixture
def fake():
    yield from made_then_closed(Fake)


def qa_fake(fake, infer):
    return fake({("GET", "/config"): (200, QA_CONFIG, 0), ("POST", "/v2/models/question_answering/infer"): infer})


def test_a_dead_url_fails_fast_with_one_line():
    url = f"http://127.0.0.1:{srv.free_port()}"
    began = time.perf_counter()
    with pytest.raises(SourceError) as caught:
        qa_kit.load(url)
    assert time.perf_counter() - began < 3
    message = one_line(caught.value)
    assert url in message and "qa-kit serve" in message


def test_a_server_of_another_task_is_named(fake):
    config = {"endpoints": [{"name": "sentiment", "route": None, "task": "text_classification", "model": "m"}]}
    f = fake({("GET", "/config"): (200, config, 0)})
    with pytest.raises(SourceError) as caught:
        qa_kit.load(f.url)
    message = one_line(caught.value)
    assert "text_classification" in message and "question_answering" in message


def test_a_web_server_that_is_not_deepsparse(fake):
    f = fake({("GET", "/"): (200, "<html>hello</html>", 0)})
    with pytest.raises(SourceError) as caught:
        qa_kit.load(f.url)
    assert "not a DeepSparse server" in one_line(caught.value)


def test_a_config_that_is_not_json(fake):
    f = fake({("GET", "/config"): (200, "<html>login</html>", 0)})
    with pytest.raises(SourceError) as caught:
        qa_kit.load(f.url)
    assert "not JSON" in one_line(caught.value)


def test_load_routes_a_url_to_a_server_reader_and_answers_like_a_reader(fake):
    context = "Ada ran home."
    f = qa_fake(fake, (200, {"score": 3.5, "answer": "Ada", "start": 0, "end": 3}, 0))
    reader = qa_kit.load(f.url + "/")
    assert isinstance(reader, srv.ServerReader)
    assert (reader.engine_name, reader.model_dir, reader.random_weights) == ("server", None, False)
    assert reader.name == f.url + "/" and reader.url == f.url + "/v2/models/question_answering/infer"
    assert (reader.sequence_length, reader.doc_stride) == (128, 64)  # the pipeline's defaults: the config sets none
    answers = reader.ask("Who ran?", context, top_k=3, fast=True)
    assert isinstance(answers, qa_kit.Answers) and len(answers) == 1
    best = answers.best
    assert (best.text, best.start, best.end, best.score, best.rank) == ("Ada", 0, 3, 3.5, 1)
    assert math.isnan(best.probability)  # a server gives no probability
    assert "only its top answer" in answers.note and "top_k=3" in answers.note
    assert set(answers.timings) == {"engine", "total"} and answers.timings["total"] >= answers.timings["engine"] > 0
    assert "only its top answer" in repr(answers) and "only its top answer" in answers._repr_html_()
    assert reader.ask("Who ran?", context).warning is None  # top_k=1 asks nothing the server cannot give


def test_the_note_is_escaped_in_html(fake):
    f = qa_fake(fake, (200, {"score": 1.0, "answer": "<b>", "start": 4, "end": 7}, 0))
    answers = qa_kit.load(f.url).ask("What?", "tag <b> here")
    answers.note = "<script>x</script>"
    page = answers._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("body, words", [
    ({"labels": ["positive"], "scores": [0.9]}, "not a question-answering result"),
    ({"score": 1.0, "answer": "Bob", "start": 0, "end": 3}, "not that span"),
    ({"score": 1.0, "answer": "Ada", "start": 0, "end": 99}, "not that span"),
    ({"score": "high", "answer": "Ada", "start": 0, "end": 3}, "not a question-answering result"),
    ("not json at all", "not JSON"),
])
def test_an_unexpected_answer_is_an_engine_error(fake, body, words):
    reader = qa_kit.load(qa_fake(fake, (200, body, 0)).url)
    with pytest.raises(EngineError) as caught:
        reader.ask("Who ran?", "Ada ran home.")
    assert words in one_line(caught.value)


@pytest.mark.parametrize("status, words", [(500, "HTTP 500"), (422, "HTTP 422"), (404, "no /v2/models")])
def test_a_failing_server_is_an_engine_error(fake, status, words):
    reader = qa_kit.load(qa_fake(fake, (status, {"detail": "boom"}, 0)).url)
    with pytest.raises(EngineError) as caught:
        reader.ask("Who ran?", "Ada ran home.")
    assert words in one_line(caught.value)


def test_a_slow_server_hits_the_read_timeout(fake):
    f = qa_fake(fake, (200, {"score": 1.0, "answer": "Ada", "start": 0, "end": 3}, 3.0))
    reader = srv.ServerReader(f.url, timeout=(1, 0.5))
    began = time.perf_counter()
    with pytest.raises(EngineError) as caught:
        reader.ask("Who ran?", "Ada ran home.")
    assert time.perf_counter() - began < 2.5
    message = one_line(caught.value)
    assert "0.5 s" in message and "timeout=" in message


def test_a_url_may_name_the_endpoint(fake):
    config = {"endpoints": [
        {"name": "sentiment", "route": None, "task": "text_classification", "model": "m"},
        {"name": "pruned", "route": "/pruned/", "task": "qa", "model": "m", "kwargs": {"sequence_length": 256}},
    ]}
    f = fake({("GET", "/config"): (200, config, 0),
              ("POST", "/v2/models/pruned/infer"): (200, {"score": 2.0, "answer": "Ada", "start": 0, "end": 3}, 0)})
    assert qa_kit.load(f.url).route == "/v2/models/pruned/infer"  # the first QA endpoint, by its route
    reader = qa_kit.load(f.url + "/v2/models/pruned/infer")
    assert reader.sequence_length == 256 and reader.ask("Who?", "Ada ran.").best.text == "Ada"
    with pytest.raises(SourceError) as caught:
        qa_kit.load(f.url + "/v2/models/sentiment")
    assert "text_classification" in one_line(caught.value)
    with pytest.raises(SourceError):
        qa_kit.load(f.url + "/v2/models/missing/infer")


@pytest.mark.parametrize("url", ["http://", "http://127.0.0.1:99999", "http://127.0.0.1:5543/predict"])
def test_bad_addresses_are_refused(url):
    with pytest.raises(SourceError) as caught:
        srv.ServerReader(url)
    one_line(caught.value)


def test_inputs_and_timeouts_are_checked(fake):
    reader = qa_kit.load(qa_fake(fake, (200, {}, 0)).url)
    with pytest.raises(InputError):
        reader.ask("", "Ada ran home.")
    with pytest.raises(InputError):
        reader.ask("Who?", "Ada ran home.", top_k=0)
    assert srv.split_timeout(None) == (5.0, 60.0)
    assert srv.split_timeout(2) == (2.0, 2.0) and srv.split_timeout(30) == (5.0, 30.0)
    assert srv.split_timeout((1, 90)) == (1.0, 90.0)
    with pytest.raises(InputError):
        srv.split_timeout(0)


def test_serve_refuses_a_taken_port_before_any_work():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(InputError) as caught:
            srv._check_port("127.0.0.1", port)
    assert str(port) in one_line(caught.value)


def test_the_serve_command_options():
    import argparse

    from qa_kit.cli_serve import add_serve_arguments

    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    args = parser.parse_args(["--model", "tiny-random-bert", "--port", "6000"])
    # no window given: serve() uses the model's own, as load() does
    assert (args.model, args.port, args.host, args.sequence_length, args.doc_stride) == ("tiny-random-bert", 6000, "127.0.0.1", None, None)


# ---------------------------------------------------------------------------------------------
# A real DeepSparse server with the repo's tiny model


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def require_server_extra():
    for name in ("fastapi", "uvicorn"):
        pytest.importorskip(name, reason="the server extra is not installed (pip install -e '.[server]')")


@pytest.fixture(scope="module")
def served():
    require_server_extra()
    before = digest(TINY / "model.onnx")
    process = srv.serve(str(TINY), port=srv.free_port(), blocking=False, ready_timeout=90, **SHORT)
    try:
        yield process, before
    finally:
        srv.stop(process)


@pytest.fixture(scope="module")
def local_twin(served):
    """The in-process reader at the server's own window settings."""
    reader = srv.ServerReader(served[0].url)
    return qa_kit.load(str(TINY), sequence_length=reader.sequence_length, doc_stride=reader.doc_stride)


def assert_same(got, want):
    assert (got.text, got.start, got.end) == (want.text, want.start, want.end)
    assert got.score == pytest.approx(want.score, abs=1e-3)


@pytest.mark.slow
def test_a_real_server_answers_like_the_kit(served, local_twin):
    process, _ = served
    reader = qa_kit.load(process.url)
    assert (reader.sequence_length, reader.doc_stride) == (SHORT["sequence_length"], SHORT["doc_stride"])
    assert reader.task == "question_answering" and reader.random_weights  # the tiny model says so in its config
    for question, context in CASES:
        answers = reader.ask(question, context)
        assert_same(answers.best, local_twin.ask(question, context).best)
        assert context[answers.best.start:answers.best.end] == answers.best.text
        assert "random weights" in answers.warning and answers.timings["engine"] > 0


@pytest.mark.slow
def test_concurrent_questions_are_all_answered_right(served, local_twin):
    process, _ = served
    questions = [f"{q} ({i})" for i in range(4) for q, _ in CASES]
    contexts = [c for _ in range(4) for _, c in CASES]
    got = scale.fan_out([process.url, srv.ServerReader(process.url)], questions, contexts, max_workers=16)
    assert len(got) == 16
    for answers, question, context in zip(got, questions, contexts):
        assert answers.question == question
        assert_same(answers.best, local_twin.ask(question, context).best)


@pytest.mark.slow
def test_evaluate_spreads_questions_over_several_servers(served, local_twin):
    process, _ = served
    gold = "1932"
    squad = {"version": "1.1", "data": [{"title": "cases", "paragraphs": [
        {"context": c, "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": gold, "answer_start": 0}]}]}
        for i, (q, c) in enumerate(CASES * 3)]}]}
    spread = qa_kit.evaluate([process.url, srv.ServerReader(process.url)], squad)
    alone = qa_kit.evaluate(local_twin, squad, progress=False)
    assert list(spread.frame["prediction"]) == list(alone.frame["prediction"])
    assert list(spread.frame["id"]) == [f"q{i}" for i in range(len(CASES) * 3)]  # question order kept
    assert (spread.exact_match, spread.f1) == (alone.exact_match, alone.f1)
    assert spread.model == process.url and "random weights" in spread.warning


@pytest.mark.slow
def test_compare_spreads_a_servers_questions_and_matches_the_kit(served, local_twin):
    from qa_kit.compare import compare

    process, _ = served
    questions, contexts = [q for q, _ in CASES] * 2, [c for _, c in CASES] * 2
    result = compare(questions, contexts, {"served": [process.url, process.url], "kit": local_twin}, progress=False)
    assert result.frame["error"].isna().all()
    for i in range(len(questions)):
        assert_same(result.answers["served"][i].best, result.answers["kit"][i].best)
    assert "top answer" in result.answers["served"][0].note


@pytest.mark.slow
def test_serve_reads_at_the_models_own_window(tmp_path):
    """Like load(), serve() takes the window a model's config asks for under qa_kit_defaults."""
    require_server_extra()
    import shutil

    model = tmp_path / "tiny-with-defaults"
    shutil.copytree(TINY, model)
    config = json.loads((model / "config.json").read_text())
    config["qa_kit_defaults"] = {"sequence_length": 96, "doc_stride": 32}
    (model / "config.json").write_text(json.dumps(config))
    process = srv.serve(str(model), port=srv.free_port(), blocking=False, ready_timeout=90)
    try:
        reader = qa_kit.load(process.url)
        assert (reader.sequence_length, reader.doc_stride) == (96, 32)
        assert (qa_kit.load(str(model)).sequence_length, qa_kit.load(str(model)).doc_stride) == (96, 32)
    finally:
        srv.stop(process)


@pytest.mark.slow
def test_the_benchmark_compares_one_server_with_two():
    require_server_extra()
    from qa_kit import bench

    copies = Path(os.environ["QA_KIT_CACHE"]) / "served"
    folders = lambda: {p for p in copies.glob("*") if p.is_dir()}  # noqa: E731  (logs stay, for reading)
    before = folders() if copies.is_dir() else set()
    scaling = bench.server_scaling(str(TINY), servers=2, context=LONG,
                                   questions=[q for q, _ in CASES] * 2, **SHORT)
    assert scaling["servers"] == 2 and scaling["questions"] == 2 * len(CASES)
    assert scaling["one_server_qps"] > 0 and scaling["all_servers_qps"] > 0
    assert scaling["speedup"] == pytest.approx(scaling["all_servers_qps"] / scaling["one_server_qps"])
    assert folders() == before  # both servers stopped and their model copies removed


@pytest.mark.slow
def test_the_server_runs_its_own_copy(served):
    process, before = served
    assert digest(TINY / "model.onnx") == before  # the user's model is never touched
    assert process.served_dir.parent.name == "served" and (process.served_dir / "model.onnx").is_file()
    with pytest.raises(InputError):  # its port is taken now
        srv.serve(str(TINY), port=int(process.url.rsplit(":", 1)[1]), blocking=False)


@pytest.mark.slow
def test_after_stopping_the_url_fails_fast(served):
    process, _ = served
    reader = qa_kit.load(process.url)
    srv.stop(process)
    assert process.poll() is not None and not process.served_dir.exists()
    began = time.perf_counter()
    with pytest.raises(SourceError) as caught:
        reader.ask("When did the bridge open?", CASES[0][1])
    assert time.perf_counter() - began < 3
    assert "Nothing answers" in one_line(caught.value)
    with pytest.raises(SourceError):
        qa_kit.load(process.url)


@pytest.mark.slow
def test_serve_in_the_foreground_stops_cleanly_on_ctrl_c(tmp_path):
    """The `qa-kit serve` path: serve(blocking=True) runs until Ctrl-C, then stops the server and exits 0."""
    require_server_extra()
    import os
    import signal
    import subprocess
    import sys

    port = srv.free_port()
    code = ("import sys; from qa_kit import server; "
            f"server.serve(sys.argv[1], port={port}, blocking=True, sequence_length=64, doc_stride=16)")
    env = {**os.environ, "QA_KIT_CACHE": str(tmp_path)}
    parent = subprocess.Popen([sys.executable, "-c", code, str(TINY)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        srv.wait_ready(f"http://127.0.0.1:{port}", 90)
        reader = qa_kit.load(f"http://127.0.0.1:{port}")
        assert reader.sequence_length == 64 and len(reader.ask(*CASES[0])) == 1
        parent.send_signal(signal.SIGINT)
        output, _ = parent.communicate(timeout=20)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode == 0, output
    assert f"127.0.0.1:{port}/v2/models/question_answering/infer" in output
    assert list((tmp_path / "served").iterdir()) == []  # its model copy is gone
    with pytest.raises(SourceError):
        qa_kit.load(f"http://127.0.0.1:{port}")
