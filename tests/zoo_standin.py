"""A loopback stand-in for the SparseZoo API, enough for sparsezoo 1.8's `Model(stub)` to work.

SparseZoo was retired in June 2025, so tests cannot rely on api.neuralmagic.com. This serves, on
127.0.0.1 and a free port, what the sparsezoo client asks for:

- `POST /v2/graphql` with `{"query": "{ models (domain: \\"nlp\\", ...) { ... } }"}`: the reply is
  `{"data": {"models": [...]}}` with camelCase fields, one model for a stub it serves and an empty
  list for any other (the client then raises "No matching models found");
- `HEAD` and `GET /files/<model id>/<name>` for each file of a served model (the client needs a
  HEAD with Content-Length > 0; without an Accept-Ranges header it then fetches one plain GET).

Like the real zoo, a served model lists its files loose and, with `tarball=True` (the default),
also as `deployment.tar.gz`, which the client downloads and unpacks into `deployment/`. With
loose files only, sparsezoo 1.8 downloads the deployment files into the model folder itself while
`Model.deployment.path` names a `deployment/` folder that does not exist.

Modes: "serve" (the default), "forbidden" (403 to every request), "stall" (the GraphQL POST
sleeps for `stall_s` seconds, or until `stop()`, before answering) and "errors" (a GraphQL
reply with an "errors" list). It records every request, so a test can prove the kit reached it.
Point the client at it with SPARSEZOO_API_URL=<url> before sparsezoo is imported (it reads the
variable at import), which in practice means running the kit in a subprocess.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Optional, Tuple

# The files of a model folder the stand-in offers, and the type the zoo gave each: "framework"
# files become the client's "training" folder, and config.json, tokenizer.json and
# tokenizer_config.json are copied from there into "deployment" beside model.onnx.
FILE_TYPES = {
    "model.onnx": "onnx",
    "config.json": "framework",
    "tokenizer.json": "framework",
    "tokenizer_config.json": "framework",
    "special_tokens_map.json": "framework",
    "vocab.txt": "framework",
}
MODES = ("serve", "forbidden", "stall", "errors")
_ARGUMENT = re.compile(r'(\w+): "([^"]*)"')


def stub_of_query(query: str) -> Optional[str]:
    """The stub a GraphQL `models` query asks for, rebuilt from its arguments (None if it names none).

    Path-style stubs arrive as domain, task, architecture, subArchitecture, framework, repo,
    sourceDataset and sparseTag; name-style stubs as repoName (the whole stub).
    """
    args = dict(_ARGUMENT.findall(query))
    if "repoName" in args:
        name = args["repoName"]
        return name if name.startswith("zoo:") else "zoo:" + name
    keys = ("domain", "task", "architecture", "framework", "repo", "sourceDataset", "sparseTag")
    if not all(k in args for k in keys):
        return None
    arch = args["architecture"] + (f"-{args['subArchitecture']}" if args.get("subArchitecture") else "")
    return (f"zoo:{args['domain']}/{args['task']}/{arch}/{args['framework']}/{args['repo']}/"
            f"{args['sourceDataset']}/{args['sparseTag']}")


class ZooStandIn:
    """The stand-in server; use as a context manager, or call start() and stop()."""

    def __init__(self, models: Optional[Dict[str, Path]] = None, mode: str = "serve", stall_s: float = 60.0,
                 tarball: bool = True):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.models = {stub: Path(folder) for stub, folder in (models or {}).items()}
        self.mode = mode
        self.stall_s = stall_s
        self.tarball = tarball
        self._tarballs: Dict[str, Path] = {}  # stub -> its deployment.tar.gz, made at start()
        self._scratch: Optional[tempfile.TemporaryDirectory] = None
        self.requests: List[Tuple[str, str]] = []  # (method, path) in arrival order
        self.queries: List[str] = []  # GraphQL query bodies received
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- life cycle
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "ZooStandIn":
        if self.tarball and self.models:
            self._scratch = tempfile.TemporaryDirectory(prefix="zoo-standin-")
            for stub in self.models:
                self._tarballs[stub] = self._make_tarball(stub, Path(self._scratch.name))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="zoo stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # lets a stalled handler go
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def __enter__(self) -> "ZooStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what it has seen
    def seen(self, method: str, path_part: str = "") -> int:
        """How many `method` requests whose path contains `path_part` arrived."""
        with self._lock:
            return sum(1 for m, p in self.requests if m == method and path_part in p)

    # -- what it answers
    def _model_id(self, stub: str) -> str:
        return "standin-" + hashlib.sha256(stub.encode()).hexdigest()[:12]

    def _files(self, stub: str) -> Dict[str, Path]:
        """The files a served model lists: the folder's model files, and its deployment.tar.gz if made."""
        folder = self.models[stub]
        files = {name: folder / name for name in FILE_TYPES if (folder / name).is_file()}
        if stub in self._tarballs:
            files["deployment.tar.gz"] = self._tarballs[stub]
        return files

    def _make_tarball(self, stub: str, scratch: Path) -> Path:
        """deployment.tar.gz for a served model (stored uncompressed: the client opens any tar)."""
        target = scratch / self._model_id(stub) / "deployment.tar.gz"
        target.parent.mkdir(parents=True)
        folder = self.models[stub]
        with tarfile.open(target, "w") as tar:
            for name in FILE_TYPES:
                if (folder / name).is_file():
                    tar.add(folder / name, arcname=f"deployment/{name}")
        return target

    def reply_for(self, query: str) -> dict:
        """The GraphQL reply sparsezoo 1.8 expects for a `models` query."""
        stub = stub_of_query(query)
        if stub not in self.models:
            return {"data": {"models": []}}
        model_id = self._model_id(stub)
        files = self._files(stub)
        entries = [{"displayName": name, "downloadUrl": f"{self.url}/files/{model_id}/{name}",
                    "fileSize": path.stat().st_size, "fileType": FILE_TYPES.get(name, "deployment"),
                    "modelId": model_id}
                   for name, path in files.items()]
        size = files["model.onnx"].stat().st_size if "model.onnx" in files else 0
        return {"data": {"models": [{
            "modelId": model_id, "modelOnnxSizeCompressedBytes": size, "files": entries,
            "benchmarkResults": [], "trainingResults": [],
            "repoName": stub.rsplit("/", 1)[-1], "repoNamespace": "standin",
        }]}}

    def file_for(self, path: str) -> Optional[Path]:
        """The served file behind a /files/<model id>/<name> path, or None."""
        match = re.fullmatch(r"/files/([\w-]+)/([\w.-]+)", path.split("?", 1)[0])
        if not match:
            return None
        for stub in self.models:
            if self._model_id(stub) == match.group(1):
                return self._files(stub).get(match.group(2))
        return None

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _record(self) -> None:
                with standin._lock:
                    standin.requests.append((self.command, self.path))

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):  # the client gave up first
                        self.close_connection = True

            def _forbidden(self) -> bool:
                if standin.mode == "forbidden":
                    self._send(403, b'{"message": "Forbidden"}')
                    return True
                return False

            def do_POST(self) -> None:
                self._record()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    query = json.loads(raw or b"{}").get("query", "")
                except ValueError:
                    query = ""
                with standin._lock:
                    standin.queries.append(query)
                if self._forbidden():
                    return
                if self.path.split("?", 1)[0] != "/v2/graphql":
                    return self._send(404, b'{"message": "Not Found"}')
                if standin.mode == "stall" and standin._stopping.wait(standin.stall_s):
                    self.close_connection = True  # stopped while stalling: the client has gone
                    return
                if standin.mode == "errors":
                    reply = {"errors": [{"message": "stand-in: this query is refused"}], "data": None}
                else:
                    reply = standin.reply_for(query)
                self._send(200, json.dumps(reply).encode())

            def _file(self) -> None:
                self._record()
                if self._forbidden():
                    return
                file = standin.file_for(self.path)
                if file is None:
                    return self._send(404, b'{"message": "Not Found"}')
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(file.stat().st_size))
                self.end_headers()
                if self.command == "GET":
                    try:
                        with open(file, "rb") as f:
                            shutil.copyfileobj(f, self.wfile)
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True

            do_GET = _file
            do_HEAD = _file

        return Handler
