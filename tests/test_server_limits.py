"""Server limits: replies bounded in size and total time, malformed replies as kit errors, and
`qa-kit serve` stopping the DeepSparse server it started on every signal that stops it.

The stand-in servers are stdlib http.server on 127.0.0.1; the slow tests start a real
`qa-kit serve` with the repo's tiny model and signal it.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from qa_kit import server as srv
from qa_kit.errors import EngineError, InputError, QAKitError, SourceError
from conftest import TINY
from test_server import QA_CONFIG, fake, made_then_closed, one_line, qa_fake, start_httpd, stop_httpd  # noqa: F401  (fake is a fixture)

INFER = "/v2/models/question_answering/infer"
CONTEXT = "The harbour bridge opened in 1932."
QA_KIT = Path(sys.executable).with_name("qa-kit")  # the venv's console script


class Raw:
    """A loopback server: /config is a QA server's; a POST gets `reply()`'s (bytes, pause) pieces, raw."""

    def __init__(self, reply):
        config = json.dumps(QA_CONFIG).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(config)))
                self.end_headers()
                self.wfile.write(config)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.close_connection = True
                try:
                    for piece, pause in reply():
                        self.wfile.write(piece)
                        self.wfile.flush()
                        time.sleep(pause)
                except OSError:
                    pass  # the client hung up, as it should

        self.httpd, self.url = start_httpd(Handler)

    def close(self):
        stop_httpd(self.httpd)


@pytest.fixture
def raw():
    yield from made_then_closed(Raw)


def drip(data: bytes, pause: float):
    return lambda: ((data[i:i + 1], pause) for i in range(len(data)))


ANSWER = json.dumps({"answer": "1932", "start": 29, "end": 33, "score": 1.0}).encode()
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(ANSWER)


def timed_ask(reader):
    began = time.monotonic()
    with pytest.raises(QAKitError) as raised:
        reader.ask("When?", CONTEXT)
    return time.monotonic() - began, one_line(raised.value)


# ---------------------------------------------------------------------------------------------
# Time and size


@pytest.mark.parametrize("where", ["body", "headers"])
@pytest.mark.slow
def test_a_dripping_server_is_cut_off_at_the_reply_limit(raw, where):
    reply = (lambda: [(HEAD, 0)] + list(drip(ANSWER, 0.3)())) if where == "body" else drip(HEAD + ANSWER, 0.3)
    reader = srv.ServerReader(raw(reply).url, timeout=(1, 2))
    took, message = timed_ask(reader)
    assert "did not finish its reply within 2 s" in message
    # before: the body was checked only between reads, after connect + reply limit (3 s), and a
    # drip in the headers was never cut off (each byte came within the 2 s read timeout)
    assert 1.9 < took < 2.6, took


@pytest.mark.slow
def test_a_byte_just_inside_each_read_timeout_is_still_cut_off_on_time(raw):
    reply = lambda: [(HEAD, 0), (b"{", 1.5), (b'"', 1.5), (b"a", 1.5)]  # noqa: E731
    took, message = timed_ask(srv.ServerReader(raw(reply).url, timeout=(1, 2)))
    assert "within 2 s" in message and took < 2.6, took


@pytest.mark.slow
def test_the_reader_works_after_a_cut_off(fake):
    answers = {"n": 0}
    f = qa_fake(fake, (200, json.loads(ANSWER), 0))
    reader = srv.ServerReader(f.url, timeout=(1, 1))
    f.routes[("POST", INFER)] = (200, json.loads(ANSWER), 1.5)
    with pytest.raises(EngineError):
        reader.ask("When?", CONTEXT)
    f.routes[("POST", INFER)] = (200, json.loads(ANSWER), 0)
    for _ in range(3):  # a fresh connection each time it is needed; no stray cut-off from the old deadline
        answers["n"] += reader.ask("When?", CONTEXT).best.text == "1932"
        time.sleep(0.4)
    assert answers["n"] == 3


@pytest.mark.parametrize("declared", [True, False])
def test_an_oversized_reply_is_refused_without_reading_it_all(raw, monkeypatch, declared):
    monkeypatch.setattr(srv, "MAX_REPLY_BYTES", 100_000)
    size = 50_000_000
    head = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size if declared
            else b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    reply = lambda: [(head, 0)] + [(b" " * 65536, 0)] * (size // 65536)  # noqa: E731
    reader = srv.ServerReader(raw(reply).url, timeout=(1, 10))
    took, message = timed_ask(reader)
    assert "sent more than the kit's 0.1 MB limit" in message and reader.base_url in message
    assert took < 2, took  # before: the whole 50 MB was read (and a 1 GB body took 5 GB)


def test_the_limits_leave_ordinary_replies_alone(fake):
    reader = srv.ServerReader(qa_fake(fake, (200, json.loads(ANSWER), 0)).url, timeout=(1, 2))
    assert [reader.ask("When?", CONTEXT).best.text for _ in range(5)] == ["1932"] * 5


# ---------------------------------------------------------------------------------------------
# Malformed replies


NESTED = "[" * 100_000 + "]" * 100_000  # json raises RecursionError on this


@pytest.mark.parametrize("body", [
    NESTED,
    '{"answer": "1932", "start": 29, "end": 33, "score": NaN}',
    '{"answer": "1932", "start": 29, "end": 33, "score": Infinity}',
    '{"answer": "1932", "start": 29, "end": 33, "score": 1e400}',
    '{"answer": "1932", "start": 29, "end": 33, "score": 1' + "0" * 400 + "}",  # too big for a float
    '{"answer": "1932", "start": 29, "end": 33, "score": 1, "x": ' + "[" * 5000 + "]" * 5000 + "}",
    "[1, 2]", "42", "null", '"text"',
])
def test_malformed_answers_are_one_line_engine_errors(fake, body):
    reader = srv.ServerReader(qa_fake(fake, (200, body, 0)).url)
    with pytest.raises(EngineError) as raised:
        reader.ask("When?", CONTEXT)
    one_line(raised.value)


def endpoint(**changes):
    return json.dumps({"endpoints": [{**QA_CONFIG["endpoints"][0], **changes}]})


@pytest.mark.parametrize("config", [
    NESTED, "[]", '"text"', "NaN", '{"endpoints": [NaN]}', '{"endpoints": {"a": 1}}',
    endpoint(route=42), endpoint(route=["x"]), endpoint(kwargs=[1, 2]), endpoint(kwargs="x"), endpoint(name=7),
])
def test_malformed_configs_are_one_line_kit_errors(fake, config):
    f = fake({("GET", "/config"): (200, config, 0),
              ("POST", INFER): (200, json.loads(ANSWER), 0), ("POST", "/v2/models/42/infer"): (200, json.loads(ANSWER), 0)})
    try:
        reader = srv.ServerReader(f.url)
    except SourceError as error:
        one_line(error)
        return
    assert isinstance(reader.route, str)  # an odd but usable config still routes somewhere
    try:
        reader.ask("When?", CONTEXT)
    except QAKitError as error:
        one_line(error)


# ---------------------------------------------------------------------------------------------
# Arguments


@pytest.mark.parametrize("timeout", ["3", float("nan"), -1, 0, float("inf"), True, (1, 2, 3), (1, "x"), [None, 2],
                                     (1, float("nan")), (), {"read": 3}])
def test_bad_time_limits_are_one_line_input_errors(timeout):
    with pytest.raises(InputError, match="timeout=") as raised:
        srv.split_timeout(timeout)
    one_line(raised.value)
    with pytest.raises(InputError):
        srv.ServerReader("http://127.0.0.1:9", timeout=timeout)  # refused before any network


def test_good_time_limits_keep_their_meaning():
    import numpy as np

    assert srv.split_timeout(None) == (5.0, 60.0) and srv.split_timeout(2) == (2.0, 2.0)
    assert srv.split_timeout(np.float64(30)) == (5.0, 30.0) and srv.split_timeout([1, 90]) == (1.0, 90.0)


@pytest.mark.parametrize("cores", [-2, 0, 1.5, "2", True])
def test_serve_refuses_bad_core_counts_before_anything_starts(cores):
    began = time.monotonic()
    with pytest.raises(InputError, match="num_cores") as raised:
        srv.serve("tiny-random-bert", port=srv.free_port(), blocking=False, num_cores=cores)
    one_line(raised.value)
    assert time.monotonic() - began < 1


def test_qa_kit_serve_num_cores_minus_two_is_one_line(tmp_path):
    done = subprocess.run([str(QA_KIT), "serve", "--model", "tiny-random-bert", "--num-cores", "-2"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NM_DISABLE_ANALYTICS": "1", "QA_KIT_CACHE": str(tmp_path)})
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert "num_cores=-2" in done.stderr


# ---------------------------------------------------------------------------------------------
# Stopping what serve() started


class Sleeper:
    """A stand-in server process: Python asleep, optionally deaf to Ctrl-C (so only a kill stops it)."""

    def __init__(self, deaf: bool = False):
        code = ("import signal, time\n" + ("signal.signal(signal.SIGINT, signal.SIG_IGN)\n" if deaf else "")
                + "print('up', flush=True)\ntime.sleep(60)")
        self.process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        self.process.stdout.readline()  # its handlers are set

    def __enter__(self):
        return self.process

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()


@pytest.fixture
def signal_me():
    """signal_me(delay, ..., number=): this process gets the signal after each delay (none after the test)."""
    timers = []

    def schedule(*delays, number=signal.SIGTERM):
        for delay in delays:
            timers.append(threading.Timer(delay, os.kill, (os.getpid(), number)))
            timers[-1].start()

    yield schedule
    for timer in timers:
        timer.cancel()


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGINT])
def test_a_stop_signal_stops_the_server_and_restores_the_handlers(signal_me, number):
    seen = []
    before = signal.signal(number, lambda n, f: seen.append(n))  # where the signal would have gone
    try:
        with Sleeper() as child:
            signal_me(0.3, number=number)
            began = time.monotonic()
            assert srv._run_until_stopped(child) == number
            assert child.poll() is not None and time.monotonic() - began < 5
        assert seen == []  # the signal stopped the server, not the handler before
        os.kill(os.getpid(), number)
        time.sleep(0.1)
        assert seen == [number]  # the handler before is back
    finally:
        signal.signal(number, before)


def test_a_second_signal_kills_a_server_that_will_not_stop(signal_me):
    with Sleeper(deaf=True) as child:
        signal_me(0.3, 0.8)
        began = time.monotonic()
        assert srv._run_until_stopped(child) == signal.SIGTERM
        assert child.returncode == -signal.SIGKILL and time.monotonic() - began < 3  # not stop()'s 10 s


def port_answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def children(pid: int) -> list:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def gone_within(seconds: float, port: int, pids: list) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not port_answers(port) and not any(alive(p) for p in pids):
            return True
        time.sleep(0.2)
    return False


def start_serving(tmp_path, command, stdout=subprocess.DEVNULL):
    """Run `command` with its own cache; its stderr (and the server's, which inherits it) goes to a file."""
    if not srv.server_extra_installed():
        pytest.skip("the server extra is not installed")
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1", "QA_KIT_CACHE": str(tmp_path / "cache")}
    with open(tmp_path / "stderr.txt", "w") as errors:  # a pipe would stay open while the server lives
        return subprocess.Popen(command, env=env, stdout=stdout, stderr=errors, text=True)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGKILL])
def test_qa_kit_serve_stops_its_server_when_stopped(tmp_path, number):
    port = srv.free_port()
    parent = start_serving(tmp_path, [str(QA_KIT), "serve", "--model", "tiny-random-bert", "--port", str(port),
                                      "--sequence-length", "64", "--doc-stride", "16"])
    servers = []
    try:
        srv.wait_ready(f"http://127.0.0.1:{port}", 90)
        servers = children(parent.pid)
        assert servers, "qa-kit serve started no server process"
        parent.send_signal(number)
        parent.wait(30)
        errors = (tmp_path / "stderr.txt").read_text()
        # before: SIGTERM, SIGHUP and SIGKILL left DeepSparse's server answering on the port
        assert gone_within(15, port, servers), f"{signal.Signals(number).name} left the server running"
        if number != signal.SIGKILL:
            assert parent.returncode == 0, errors
            assert errors.strip().splitlines()[-1] == f"qa-kit: {signal.Signals(number).name}: the server is stopped"
            assert list((tmp_path / "cache" / "served").iterdir()) == []  # its model copy is gone
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in servers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_server_started_without_blocking_dies_with_its_parent(tmp_path):
    port = srv.free_port()
    code = ("import sys, time; from qa_kit import server; "
            f"p = server.serve(sys.argv[1], port={port}, blocking=False, sequence_length=64, doc_stride=16); "
            "print(p.pid, flush=True); time.sleep(120)")
    parent = start_serving(tmp_path, [sys.executable, "-c", code, str(TINY)], stdout=subprocess.PIPE)
    server_pid = None
    try:
        server_pid = int(parent.stdout.readline())
        assert port_answers(port)
        parent.kill()  # no atexit, no handler: only the parent-death signal can stop the server
        parent.communicate(timeout=10)
        assert gone_within(15, port, [server_pid]), "the server outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.communicate()
        if server_pid and alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)
