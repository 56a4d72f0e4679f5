"""Server limits: replies bounded in size and total time, malformed replies as kit errors, and
`qa-kit serve` stopping the DeepSparse server it started on every signal that stops it."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qa_kit import server as srv
from qa_kit.errors import EngineError, InputError, QAKitError
from test_server import QA_CONFIG, one_line, qa_fake, fake  # noqa: F401  (fake is a fixture)

INFER = "/v2/models/question_answering/infer"
CONTEXT = "The harbour bridge opened in 1932."


class Streaming:
    """A loopback server whose infer route sends `size` bytes, `step` bytes every `pause` seconds."""

    def __init__(self, size: int, step: int, pause: float):
        config = json.dumps(QA_CONFIG).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(config)))
                self.end_headers()
                self.wfile.write(config)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                sent = 0
                try:
                    while sent < size:
                        self.wfile.write(b" " * min(step, size - sent))
                        self.wfile.flush()
                        sent += step
                        time.sleep(pause)
                except OSError:
                    pass  # the client hung up, as it should

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_dripping_server_is_cut_off_at_the_total_limit():
    drip = Streaming(size=1000, step=1, pause=0.3)  # each byte comes well within a read timeout
    try:
        reader = srv.ServerReader(drip.url, timeout=(1, 2))
        began = time.monotonic()
        with pytest.raises(EngineError) as raised:
            reader.ask("When?", CONTEXT)
        took = time.monotonic() - began
    finally:
        drip.close()
    assert "did not finish its reply within 2 s" in one_line(raised.value)
    assert took < 4.5, took  # before: one byte per read kept it waiting for the whole 300 s drip


def test_an_oversized_reply_is_refused_without_reading_it_all(monkeypatch):
    monkeypatch.setattr(srv, "MAX_REPLY_BYTES", 100_000)
    big = Streaming(size=50_000_000, step=1 << 16, pause=0)
    try:
        reader = srv.ServerReader(big.url, timeout=(1, 10))
        with pytest.raises(EngineError) as raised:
            reader.ask("When?", CONTEXT)
    finally:
        big.close()
    assert "sent more than 0.1 MB" in one_line(raised.value)


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,  # json raises RecursionError on this
    '{"answer": "1932", "start": 29, "end": 33, "score": NaN}',
    '{"answer": "1932", "start": 29, "end": 33, "score": Infinity}',
])
def test_malformed_answers_are_one_line_kit_errors(fake, body):
    reader = srv.ServerReader(qa_fake(fake, (200, body, 0)).url)
    with pytest.raises(EngineError) as raised:
        reader.ask("When?", CONTEXT)
    one_line(raised.value)


def test_a_deeply_nested_config_is_a_kit_error(fake):
    f = fake({("GET", "/config"): (200, "[" * 100_000 + "]" * 100_000, 0)})
    with pytest.raises(QAKitError) as raised:
        srv.ServerReader(f.url)
    one_line(raised.value)


@pytest.mark.parametrize("timeout", ["3", float("nan"), -1, 0, float("inf"), True, (1, 2, 3), (1, "x"), [None, 2]])
def test_bad_time_limits_are_input_errors(timeout):
    with pytest.raises(InputError, match="timeout="):
        srv.split_timeout(timeout)


def test_serve_refuses_bad_core_counts_before_anything_starts():
    for bad in (-2, 0, 1.5):
        with pytest.raises(InputError, match="num_cores"):
            srv.serve("tiny-random-bert", port=srv.free_port(), blocking=False, num_cores=bad)


def port_answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def deepsparse_children(port: int) -> list:
    found = subprocess.run(["pgrep", "-f", f"deepsparse.server.cli.*--port {port}"], capture_output=True, text=True)
    return found.stdout.split()


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_qa_kit_serve_stops_its_server_when_stopped(tmp_path, how):
    if not srv.server_extra_installed():
        pytest.skip("the server extra is not installed")
    port = srv.free_port()
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1", "QA_KIT_CACHE": str(tmp_path / "cache")}
    parent = subprocess.Popen([sys.executable, "-m", "qa_kit.cli", "serve", "--model", "tiny-random-bert",
                               "--port", str(port), "--sequence-length", "64", "--doc-stride", "16"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        srv.wait_ready(f"http://127.0.0.1:{port}", 90)
        assert deepsparse_children(port)
        parent.send_signal(how)
        parent.wait(30)
        deadline = time.monotonic() + 20
        while (port_answers(port) or deepsparse_children(port)) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not port_answers(port), f"{how!r} left the server listening"
        assert not deepsparse_children(port), f"{how!r} left the server process running"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in deepsparse_children(port):
            os.kill(int(pid), signal.SIGKILL)
