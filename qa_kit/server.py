"""Asking a running DeepSparse server from the kit: `ServerReader` (starting one: qa_kit.server_process; scale-out: qa_kit.scale).

DeepSparse's own server (`deepsparse.server`, FastAPI + uvicorn, from deepsparse[server]) answers
question answering at POST /v2/models/<endpoint name>/infer with JSON `{"question", "context"}`
and returns `{"score", "answer", "start", "end"}`: the top answer only, with the raw
start + end logit score and no probability. GET /config describes its endpoints (task, model,
pipeline kwargs), which is how a `ServerReader` learns the route and checks the task.
`serve()` (in qa_kit.server_process, importable from here) starts that server on a cached copy of
a model, so the server can rewrite model.onnx without touching the user's folder or the in-process copy.
"""
from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path
from typing import Any, Optional, Tuple, Union
from urllib.parse import urlsplit

from .errors import EngineError, InputError, SourceError, positive_seconds, whole_number
from .http_deadline import Deadline, watched_session
from .model_folder import says_random_weights
from .reading import check_text
from .results import Answer, Answers
from .server_process import (ENDPOINT_NAME, STOP_SIGNALS, _check_port, _run_until_stopped, free_port, serve,
                             served_copy, server_config, server_extra_installed, stop, wait_ready)
from .text import one_line

__all__ = [  # the client, and starting a server (qa_kit.server_process), importable from here as before
    "ServerReader", "Reply", "split_timeout", "Timeout", "MAX_REPLY_BYTES", "TOP_ONLY_NOTE", "QA_TASKS",
    "ENDPOINT_NAME", "STOP_SIGNALS", "serve", "stop", "wait_ready", "free_port", "served_copy", "server_config",
    "server_extra_installed", "_check_port", "_run_until_stopped",
]

QA_TASKS = ("question_answering", "qa")  # DeepSparse's name for the task and its alias
PIPELINE_DEFAULTS = {"sequence_length": 128, "doc_stride": 64}  # DeepSparse's QA pipeline, when a server sets none
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
PAIR_HINT = "a number such as 30 or a (connect, read) pair"
MAX_REPLY_BYTES = 16_000_000  # a QA reply is a few hundred bytes, /config a few kB: more is not a DeepSparse server
TOP_ONLY_NOTE = "answered by a DeepSparse server, which gives only its top answer (raw score, no probability)"
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
            session = self._local.session = watched_session()
        return session

    def _request(self, method: str, path: str, payload: Optional[dict] = None) -> Reply:
        """One HTTP call, whole within the reply limit and MAX_REPLY_BYTES; network failures become one-line kit errors."""
        with Deadline(self.read_timeout) as deadline:  # the session's connections hand their socket to it
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

    def _read_body(self, response: Any, path: str, deadline: Deadline) -> bytes:
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
