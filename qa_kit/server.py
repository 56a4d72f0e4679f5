"""Servers: ask a running DeepSparse server from the kit, start one for any model (qa_kit.scale fans out over several).

DeepSparse's own server (`deepsparse.server`, FastAPI + uvicorn, from deepsparse[server]) answers
question answering at POST /v2/models/<endpoint name>/infer with JSON `{"question", "context"}`
and returns `{"score", "answer", "start", "end"}`: the top answer only, with the raw
start + end logit score and no probability. GET /config describes its endpoints (task, model,
pipeline kwargs), which is how a `ServerReader` learns the route and checks the task.
`serve()` starts that server on a cached copy of a model, so the server can rewrite model.onnx
without touching the user's folder or the copy the in-process engine uses.
"""
from __future__ import annotations

import atexit
import functools
import heapq
import importlib.util
import itertools
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple, Union
from urllib.parse import urlsplit

from .errors import EngineError, InputError, SourceError, positive_seconds, whole_number
from .model_folder import says_random_weights
from .reading import check_lengths, check_text
from .results import Answer, Answers
from .text import one_line

QA_TASKS = ("question_answering", "qa")  # DeepSparse's name for the task and its alias
PIPELINE_DEFAULTS = {"sequence_length": 128, "doc_stride": 64}  # DeepSparse's QA pipeline, when a server sets none
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
PAIR_HINT = "a number such as 30 or a (connect, read) pair"
MAX_REPLY_BYTES = 16_000_000  # a QA reply is a few hundred bytes, /config a few kB: more is not a DeepSparse server
TOP_ONLY_NOTE = "answered by a DeepSparse server, which gives only its top answer (raw score, no probability)"
ENDPOINT_NAME = "question_answering"  # serve() names its endpoint so: POST /v2/models/question_answering/infer
Timeout = Union[None, float, Tuple[float, float]]


def split_timeout(timeout: Timeout) -> Tuple[float, float]:
    """(connect, reply) seconds: None gives 5 s / 60 s; one number is the reply limit (connect at most 5 s).

    The reply limit is each request's whole time, from its start (connecting included) to the last
    byte of the reply, not a limit on each read: a server dripping a byte at a time, in its headers
    or its body, is cut off when the time runs out. Only connecting can outlast it, up to the
    connect limit, when that is the larger of the two.
    Anything but numbers above 0 (a string, NaN, inf, a bool, a pair of the wrong length) is an
    InputError."""
    if timeout is None:
        return CONNECT_TIMEOUT, READ_TIMEOUT
    if isinstance(timeout, (tuple, list)) and len(timeout) == 2:
        connect, read = (positive_seconds(t, "timeout", PAIR_HINT) for t in timeout)
    elif isinstance(timeout, (tuple, list)):
        raise InputError(f"timeout={timeout!r} must be one number of seconds or a (connect, read) pair.")
    else:
        read = positive_seconds(timeout, "timeout", PAIR_HINT)
        connect = min(CONNECT_TIMEOUT, read)
    return connect, read


class Reply:
    """A server's whole reply, read within the kit's size and time limits."""

    def __init__(self, status_code: int, body: bytes):
        self.status_code, self.body = status_code, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON; ValueError for anything that is not plain, finite, not absurdly nested JSON."""
        try:
            return json.loads(self.body, parse_constant=_refuse_constant)
        except RecursionError:  # thousands of nested lists: the parser's stack runs out
            raise ValueError("JSON nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class _Deadline:
    """One request's time limit: when it runs out, the request's socket is shut, which wakes any read
    blocked on it (a timeout on each read alone lets a byte-at-a-time drip go on for ever)."""

    def __init__(self, seconds: float):
        self.ends = time.monotonic() + seconds
        self.expired = False
        self.done = False
        self._socket: Optional[socket.socket] = None
        self._lock = threading.Lock()
        _watchdog.add(self)

    def watch(self, sock: Optional[socket.socket]) -> None:
        """Shut `sock` when the time runs out (at once if it has)."""
        with self._lock:
            if sock is not None and not self.done:
                self._socket = sock
                if self.expired:
                    _shut(sock)

    def expire(self) -> None:
        """The time is up: shut the socket, unless the request is over."""
        with self._lock:
            if not self.done:
                self.expired = True
                if self._socket is not None:
                    _shut(self._socket)

    def cancel(self) -> None:
        """The request is over: after this the socket, which may serve the next request, is never shut."""
        with self._lock:
            self.done = True


class _Watchdog:
    """One daemon thread that expires deadlines as their time comes (a timer thread per request costs ~0.5 ms)."""

    def __init__(self) -> None:
        self._due: List[Tuple[float, int, _Deadline]] = []  # a heap, soonest first
        self._changed = threading.Condition()
        self._count = itertools.count()
        self._thread: Optional[threading.Thread] = None

    def add(self, deadline: _Deadline) -> None:
        """Expire `deadline` when its time comes."""
        with self._changed:
            while self._due and self._due[0][2].done:  # requests over: most often all but the last few
                heapq.heappop(self._due)
            heapq.heappush(self._due, (deadline.ends, next(self._count), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="qa-kit request deadlines")
                self._thread.start()
            if self._due[0][2] is deadline:  # sooner than the one it sleeps for
                self._changed.notify()

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                while self._due and (self._due[0][0] <= now or self._due[0][2].done):
                    heapq.heappop(self._due)[2].expire()
                self._changed.wait(self._due[0][0] - now if self._due else None)


_watchdog = _Watchdog()
if hasattr(os, "register_at_fork"):  # a forked child has no watchdog thread, and maybe a held lock: start afresh
    os.register_at_fork(after_in_child=lambda: globals().update(_watchdog=_Watchdog()))


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


_watching = threading.local()  # .deadline: the request this thread is making now, if any


@functools.lru_cache(maxsize=None)
def _watched_adapter() -> type:
    """A requests adapter whose connections hand their socket to this thread's request deadline.

    Proxied requests keep urllib3's own connections, so only the checks between reads bound them.
    """
    import requests.adapters
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def watched(base: type) -> type:
        class Watched(base):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                _watch(self.sock)

            def getresponse(self):  # a kept-alive connection is not connected again
                _watch(self.sock)
                return super().getresponse()

        return Watched

    class Pool(HTTPConnectionPool):
        ConnectionCls = watched(HTTPConnection)

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = watched(HTTPSConnection)

    class Adapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}

    return Adapter


def _watch(sock: Optional[socket.socket]) -> None:
    deadline = getattr(_watching, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


def _watched_session() -> Any:
    """A requests session whose every request ends by its deadline, however slowly the server sends."""
    import requests

    session = requests.Session()
    adapter = _watched_adapter()()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _base_and_route(url: str) -> Tuple[str, Optional[str]]:
    """Split 'http://host:port[/v2/models/NAME[/infer]]' into the base URL and an endpoint route, if named."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"'{url}' is not a server address: write it as http://HOST:PORT, e.g. http://127.0.0.1:5543.")
    try:
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError:
        raise SourceError(f"'{url}' has a bad port number: write it as http://HOST:PORT.") from None
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    if not path:
        return base, None
    if path.endswith("/infer"):
        return base, path
    if path.startswith("/v2/models/"):
        return base, path + "/infer"
    raise SourceError(f"'{url}' names the path {path}: give the server's address (http://HOST:PORT) "
                      "or an endpoint as /v2/models/NAME/infer.")


class ServerReader:
    """A DeepSparse server asked like a Reader: `ask(question, context)` gives its top answer."""

    engine_name = "server"
    model_dir = None  # the model lives with the server, not in the kit's cache

    def __init__(self, url: str, timeout: Timeout = None):
        self.source = url.strip()
        self.origin = self.source
        self.base_url, wanted_route = _base_and_route(self.source)
        self.connect_timeout, self.read_timeout = split_timeout(timeout)
        self._local = threading.local()  # one HTTP session per thread: sessions are not shared across threads
        config = self._get_json("/config")
        endpoint = _pick_endpoint(self.source, config, wanted_route)
        self.endpoint_name = str(endpoint.get("name") or ENDPOINT_NAME)
        self.route = wanted_route or _infer_route(endpoint)
        self.task = endpoint.get("task")
        self.model_path = str(endpoint.get("model") or "")
        kwargs = endpoint.get("kwargs") or {}
        if not isinstance(kwargs, dict):
            raise SourceError(f"{self.source} answered /config with endpoint settings (kwargs) that are not an object: "
                              "it is not a DeepSparse server, or a version the kit does not know.")
        self.sequence_length = kwargs.get("sequence_length", PIPELINE_DEFAULTS["sequence_length"])
        self.doc_stride = kwargs.get("doc_stride", PIPELINE_DEFAULTS["doc_stride"])
        self.random_weights = _says_random_weights(self.model_path)

    @property
    def name(self) -> str:
        """The name the user gave (the server's URL)."""
        return self.source

    @property
    def url(self) -> str:
        """The full address questions are posted to."""
        return self.base_url + self.route

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _watched_session()
        return session

    def _request(self, method: str, path: str, payload: Optional[dict] = None) -> Reply:
        """One HTTP call, whole within the reply limit and MAX_REPLY_BYTES; network failures become one-line kit errors."""
        deadline = _Deadline(self.read_timeout)
        _watching.deadline = deadline  # the session's connections hand their socket to it
        try:
            response = self._session().request(method, self.base_url + path, json=payload, stream=True,
                                               timeout=(self.connect_timeout, self.read_timeout),
                                               headers={"Accept-Encoding": "identity"})
            with response:
                return Reply(response.status_code, self._read_body(response, path, deadline))
        except Exception as error:
            if isinstance(error, EngineError):  # the body's own limits, already said
                raise
            if deadline.expired:
                raise self._too_slow() from None
            kit_error = self._network_error(error, path)
            if kit_error is None:
                raise
            raise kit_error from None
        finally:
            deadline.cancel()
            _watching.deadline = None

    def _read_body(self, response: Any, path: str, deadline: "_Deadline") -> bytes:
        """The reply's body as it comes, stopped past MAX_REPLY_BYTES or the deadline."""
        declared = response.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > MAX_REPLY_BYTES:
            raise self._too_big(path)
        body = bytearray()
        while True:
            chunk = response.raw.read1(1 << 16, decode_content=True)  # what has come, not a full block
            if deadline.expired:
                raise self._too_slow()
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > MAX_REPLY_BYTES:
                raise self._too_big(path)

    def _too_big(self, path: str) -> EngineError:
        return EngineError(f"The server at {self.base_url} sent more than the kit's {MAX_REPLY_BYTES / 1e6:g} MB limit "
                           f"for {path}: that is not a question-answering reply; check the address.")

    def _too_slow(self) -> EngineError:
        return EngineError(f"The server at {self.base_url} did not finish its reply within {self.read_timeout:g} s: "
                           "it is busy, stuck or sending very slowly; try again, or allow longer with timeout=(5, 300).")

    def _network_error(self, error: Exception, path: str) -> Optional[Exception]:
        """The kit error for a failure of requests or urllib3, or None for anything else."""
        import requests
        import urllib3.exceptions

        if isinstance(error, requests.exceptions.ConnectTimeout):
            return SourceError(f"The server at {self.base_url} did not accept a connection within "
                               f"{self.connect_timeout:g} s: check the address, or that the server is up.")
        if isinstance(error, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError)):
            return EngineError(f"The server at {self.base_url} gave no answer within {self.read_timeout:g} s: it is "
                               "busy or stuck; try again, or allow longer with timeout=(5, 300).")
        if isinstance(error, (requests.exceptions.ConnectionError, urllib3.exceptions.ProtocolError, OSError)):
            return SourceError(f"Nothing answers at {self.base_url} (connection refused or dropped): start a server "
                               "with `qa-kit serve --model MODEL --port PORT`, or check the address.")
        if isinstance(error, (requests.exceptions.RequestException, urllib3.exceptions.HTTPError)):
            return SourceError(f"Could not reach {self.base_url + path} ({type(error).__name__}): check the address.")
        return None

    def _get_json(self, path: str) -> Any:
        response = self._request("GET", path)
        if response.status_code == 404:
            raise SourceError(f"{self.base_url} has no {path} page (HTTP 404), so it is not a DeepSparse server: "
                              "give the address of one started with `deepsparse.server` or `qa-kit serve`.")
        if response.status_code != 200:
            raise SourceError(f"{self.base_url}{path} answered HTTP {response.status_code}: "
                              "check that the address is a DeepSparse server and that it is healthy.")
        try:
            return response.json()
        except ValueError:
            raise SourceError(f"{self.base_url}{path} answered something that is not JSON ({one_line(response.text)}): "
                              "it is not a DeepSparse server.") from None

    def ask(self, question: str, context: str, top_k: int = 1, **ignored: Any) -> Answers:
        """Post the question to the server; its top answer comes back as the kit's usual result."""
        check_text(question, context)
        top_k = whole_number(top_k, "top_k")
        began = time.perf_counter()
        response = self._request("POST", self.route, {"question": question, "context": context})
        returned = time.perf_counter()
        answer = self._parse(response, context)
        note = TOP_ONLY_NOTE if top_k == 1 else f"top_k={top_k} was asked, but {TOP_ONLY_NOTE}"
        warning = None
        if self.random_weights:
            from .model_folder import RANDOM_WEIGHTS_NOTE

            warning = RANDOM_WEIGHTS_NOTE
        done = time.perf_counter()
        return Answers(
            question=question, context=context, answers=[answer], model=self.source, engine=self.engine_name,
            timings={"engine": returned - began, "total": done - began}, warning=warning, note=note,
        )

    def _parse(self, response, context: str) -> Answer:
        """The server's JSON as an Answer, after checking it is the QA schema and fits the context."""
        where = f"The server at {self.base_url}"
        if response.status_code == 500:
            raise EngineError(f"{where} failed on this question (HTTP 500): DeepSparse's pipeline does this when no span "
                              "of the context qualifies (a tiny context or random weights); see the server's log.")
        if response.status_code in (404, 405):
            raise EngineError(f"{where} has no {self.route} route (HTTP {response.status_code}): its endpoints changed; "
                              "load the reader again.")
        if response.status_code != 200:
            raise EngineError(f"{where} refused the question (HTTP {response.status_code}: {one_line(response.text)}): "
                              "check it serves question_answering.")
        try:
            body = response.json()
        except ValueError:
            raise EngineError(f"{where} answered something that is not JSON ({one_line(response.text)}): "
                              "is it a question-answering server?") from None
        fields = {"answer": str, "start": int, "end": int, "score": (int, float)}
        if not isinstance(body, dict) or any(not isinstance(body.get(k), t) or isinstance(body.get(k), bool)
                                             for k, t in fields.items()) or not _finite(body["score"]):
            raise EngineError(f"{where} answered {one_line(response.text)}, not a question-answering result "
                              "(answer, start, end and a finite score): is it serving another task?")
        start, end = body["start"], body["end"]
        if not (0 <= start <= end <= len(context)) or context[start:end] != body["answer"]:
            raise EngineError(f"{where} answered {body['answer']!r} at [{start}:{end}], which is not that span of the "
                              "context sent: the server is not reading what the kit sent.")
        return Answer(text=body["answer"], start=start, end=end, score=float(body["score"]),
                      probability=math.nan, rank=1, window=0)

    def __repr__(self) -> str:
        return (f"ServerReader({self.source!r}, route={self.route!r}, model={self.model_path!r}, "
                f"sequence_length={self.sequence_length}, doc_stride={self.doc_stride})")


def _pick_endpoint(url: str, config: Any, wanted_route: Optional[str]) -> dict:
    """The server's question-answering endpoint (the one the URL names, else the first)."""
    endpoints = config.get("endpoints") if isinstance(config, dict) else None
    if not isinstance(endpoints, list) or not all(isinstance(e, dict) for e in endpoints):
        raise SourceError(f"{url} answered /config without a list of endpoints: it is not a DeepSparse server "
                          "(or a version the kit does not know).")
    def task(e: dict) -> str:
        return str(e.get("task", "")).lower().replace("-", "_")

    if wanted_route:
        endpoints = [e for e in endpoints if _infer_route(e) == wanted_route]
        if not endpoints:
            raise SourceError(f"{url} names an endpoint this server does not have: leave the path out to use its "
                              "question-answering endpoint.")
    qa = [e for e in endpoints if task(e) in QA_TASKS]
    if not qa:
        tasks = ", ".join(sorted({task(e) or "?" for e in endpoints})) or "nothing"
        raise SourceError(f"The server at {url} serves {tasks}, not question_answering: point the kit at a "
                          "question-answering server, or start one with `qa-kit serve --model MODEL`.")
    return qa[0]


def _infer_route(endpoint: dict) -> str:
    """The route questions are posted to for one /config endpoint: from its route, else its name."""
    route = endpoint.get("route")
    if route:
        return f"/v2/models/{str(route).strip('/')}/infer"
    return f"/v2/models/{endpoint.get('name') or ENDPOINT_NAME}/infer"


def _finite(value: Any) -> bool:
    """True for an int or float (not a bool) that is a finite number as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int with hundreds of digits
        return False


def _says_random_weights(model_path: str) -> bool:
    """True when the served model is on this machine and its config.json marks random weights."""
    if not model_path or model_path.startswith(("zoo:", "hf:")):
        return False
    folder = Path(model_path)
    folder = folder.parent if folder.suffix == ".onnx" else folder
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and says_random_weights(config)


# ---------------------------------------------------------------------------------------------
# Starting a server


_started: List[subprocess.Popen] = []  # servers started here without blocking: stopped when Python exits


def server_extra_installed() -> bool:
    """True when DeepSparse's server dependencies (the kit's `server` extra) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("fastapi", "uvicorn"))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for tests and notebooks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _check_port(host: str, port: int) -> None:
    if not isinstance(port, int) or not 0 < port < 65536:
        raise InputError(f"port={port!r} must be a whole number from 1 to 65535.")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            raise InputError(f"Port {port} on {host} is taken (is a server already running there?): "
                             "pick another with --port.") from None


def served_copy(model_dir: Path, port: int) -> Path:
    """A copy of the kit's cached model folder for one server (one per port: the server rewrites model.onnx)."""
    from .sources import cache_dir

    target = cache_dir() / "served" / f"{Path(model_dir).name}-port{port}"
    staging = target.with_name(target.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for file in Path(model_dir).iterdir():
        if file.is_file():  # the model, config and tokenizer; not the in-process engines' own copies
            shutil.copyfile(file, staging / file.name)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def server_config(model_path: Path, sequence_length: int, doc_stride: int, num_cores: Optional[int]) -> dict:
    """The `deepsparse.server --config_file` settings for one question-answering endpoint."""
    return {
        "num_cores": num_cores,
        # Several servers sharing a machine must not pin their threads to the same cores.
        "engine_thread_pinning": "none" if num_cores else "core",
        "loggers": {},
        "endpoints": [{
            "task": "question_answering", "name": ENDPOINT_NAME, "model": str(model_path), "batch_size": 1,
            "kwargs": {"sequence_length": sequence_length, "doc_stride": doc_stride},
        }],
    }


def serve(
    model: str,
    port: int = 5543,
    host: str = "127.0.0.1",
    blocking: bool = True,
    *,
    sequence_length: Optional[int] = None,
    doc_stride: Optional[int] = None,
    num_cores: Optional[int] = None,
    timeout: Optional[float] = None,
    ready_timeout: float = 120.0,
) -> Optional[subprocess.Popen]:
    """Start DeepSparse's own QA server on a cached copy of `model` (catalog name, folder or stub).

    The window is the one load() would use: the given sizes, else the model's own defaults.

    `blocking=True` runs it in the foreground until Ctrl-C, SIGTERM, SIGHUP or SIGQUIT (the
    `qa-kit serve` command), then stops it and returns; otherwise it waits until the server answers
    and returns the process, with `.url` and `.log_path` set; stop it with `stop(process)` (it is
    also stopped when Python exits). On Linux the server is also sent SIGTERM if this process
    dies, even by SIGKILL (when started from the main thread).
    """
    from .model_folder import model_config, model_window
    from .sources import resolve

    if num_cores is not None:  # checked before anything starts: the server would print a traceback
        num_cores = whole_number(num_cores, "num_cores")
    if not server_extra_installed():
        raise EngineError("DeepSparse's server needs FastAPI and uvicorn: install the kit's server extra "
                          "(pip install -e '.[server]').")
    if sequence_length is not None and doc_stride is not None:
        check_lengths(sequence_length, doc_stride)  # before any download
    _check_port(host, port)
    resolved = resolve(model, timeout=timeout)
    sequence_length, doc_stride = model_window(model_config(resolved.model_dir), sequence_length, doc_stride)
    folder = served_copy(resolved.model_dir, port)
    config_file = folder / "server-config.yaml"  # JSON is YAML, and needs no YAML writer
    config_file.write_text(json.dumps(server_config(folder, sequence_length, doc_stride, num_cores), indent=2))
    command = [sys.executable, "-m", "deepsparse.server.cli", "--config_file", str(config_file),
               "--host", host, "--port", str(port)]
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1", "TOKENIZERS_PARALLELISM": "false"}
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    if blocking:
        print(f"qa-kit: serving {model} at {url}/v2/models/{ENDPOINT_NAME}/infer (docs: {url}/docs); Ctrl-C stops it",
              file=sys.stderr, flush=True)
        process = subprocess.Popen(command, env=env, preexec_fn=_parent_death_hook())
        process.served_dir = folder  # type: ignore[attr-defined]
        stopped_by = _run_until_stopped(process)
        if stopped_by is not None:
            print(f"qa-kit: {signal.Signals(stopped_by).name}: the server is stopped", file=sys.stderr, flush=True)
        elif process.returncode not in (0, -signal.SIGINT, 128 + signal.SIGINT):
            raise EngineError(f"DeepSparse's server stopped with exit code {process.returncode}: see its messages above.")
        return None
    log_path = folder.with_name(folder.name + ".log")  # kept after the copy is removed
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=_parent_death_hook())
    process.url = url  # type: ignore[attr-defined]
    process.log_path = log_path  # type: ignore[attr-defined]
    process.served_dir = folder  # type: ignore[attr-defined]
    _started.append(process)
    try:
        wait_ready(url, ready_timeout, process)
    except BaseException:
        stop(process)
        raise
    return process


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name))


PR_SET_PDEATHSIG = 1  # Linux prctl(2): the signal a process gets when the thread that started it ends


def _parent_death_hook() -> Optional[Callable[[], None]]:
    """A preexec_fn that has Linux send the server SIGTERM when this process dies, even by SIGKILL.

    None off Linux, and off the main thread: Linux sends the signal when the *thread* that started
    the child ends, and only the main thread lives as long as the process (atexit still stops those).
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child, just forked, only calls it
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the call above: no signal would come
            os.kill(os.getpid(), signal.SIGTERM)

    return die_with_parent


class _Stopping(BaseException):
    """Raised by a stop signal to end the wait for the server (not an error: the server is then stopped)."""


def _run_until_stopped(process: subprocess.Popen) -> Optional[int]:
    """Wait for the server to end, or stop it on SIGINT, SIGTERM, SIGHUP or SIGQUIT; the signal, or None.

    A second signal while stopping kills the server at once. The previous handlers come back after;
    off the main thread (which alone can take signals) this only waits and stops.
    """
    arrived: List[int] = []
    waiting = [True]

    def on_signal(number: int, _frame: Any) -> None:
        arrived.append(number)
        if waiting[0]:
            waiting[0] = False
            raise _Stopping
        process.kill()  # asked again, or while stopping: wait no longer

    main = threading.current_thread() is threading.main_thread()
    previous = {number: signal.signal(number, on_signal) for number in STOP_SIGNALS} if main else {}
    try:
        try:
            process.wait()
            waiting[0] = False
        except _Stopping:
            pass
        stop(process)
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
    return arrived[0] if arrived else None


def wait_ready(url: str, timeout: float = 120.0, process: Optional[subprocess.Popen] = None) -> None:
    """Poll GET /v2/health/ready until the server answers, for at most `timeout` seconds."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise EngineError(f"The server for {url} stopped while starting (exit code {process.returncode}): "
                              f"{_last_log_line(process)}")
        try:
            with requests.get(f"{url}/v2/health/ready", timeout=(1, 2), stream=True) as response:  # body unread
                if response.status_code == 200:
                    return
        except requests.exceptions.RequestException:
            pass
        time.sleep(0.25)
    raise EngineError(f"The server at {url} was not ready within {timeout:g} s: see its log, or allow longer "
                      "with ready_timeout=.")


def _last_log_line(process: subprocess.Popen) -> str:
    path = getattr(process, "log_path", None)
    try:
        lines = [line for line in Path(path).read_text(errors="replace").splitlines() if line.strip()]
    except (OSError, TypeError):
        return "see its output above."
    return one_line(lines[-1], 200) if lines else "it wrote nothing."


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a server started by `serve(..., blocking=False)`: politely first, then by force; drop its model copy."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly on Ctrl-C
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    if process in _started:
        _started.remove(process)
    served = getattr(process, "served_dir", None)
    if served is not None:  # the server's own copy of the model: a fresh one is made for each start
        shutil.rmtree(served, ignore_errors=True)


@atexit.register
def _stop_all() -> None:
    for process in list(_started):
        stop(process, timeout=5.0)


# ---------------------------------------------------------------------------------------------
# The `qa-kit serve` command


def add_serve_arguments(parser: Any) -> None:
    """The options of `qa-kit serve`, for the CLI's sub-parser."""
    from .sources import default_model

    parser.add_argument("--model", "-m", default=None, help="catalog name, folder, .onnx file, zoo: stub or hf: repo "
                        f"(default: the kit's default model, {default_model()})")
    parser.add_argument("--port", "-p", type=int, default=5543, help="port to listen on; ask it with "
                        "qa_kit.load('http://127.0.0.1:PORT') or qa-kit ask -m http://127.0.0.1:PORT")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for the whole network)")
    parser.add_argument("--sequence-length", type=int, default=None, help="tokens per window (default: the model's own, else 384)")
    parser.add_argument("--doc-stride", type=int, default=None, help="tokens windows overlap by (default: the model's own, else 128)")
    parser.add_argument("--cores", "--num-cores", dest="num_cores", type=int, default=None, metavar="N",
                        help="cores for the engine (default: all of them: a server is meant to have the machine)")


def cmd_serve(args: Any) -> int:
    """Run `qa-kit serve`: DeepSparse's server in the foreground until Ctrl-C or another stop signal."""
    from .sources import default_model

    serve(args.model or default_model(), port=args.port, host=args.host, blocking=True,
          sequence_length=args.sequence_length, doc_stride=args.doc_stride, num_cores=args.num_cores)
    return 0
