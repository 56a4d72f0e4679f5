"""A loopback stand-in of the Hugging Face Hub's file API, for the real `huggingface_hub` client.

It answers the two calls a download makes (shapes in ../shared/notes/sparsezoo-after-2025.md):
`GET /api/models/{repo}[/revision/{rev}]` (the commit and its files, with sizes) and
`HEAD`/`GET /{repo}/resolve/{rev}/{file}` (the file, with the commit, ETag and length headers).
Repos are served from memory; `refuse`, `stall` and `hang` make it misbehave as real servers do.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Optional, Set
from urllib.parse import unquote, urlparse


class Hub:
    """Repos by id, each with commits (newest last) of {path: bytes}; `requests` logs what was asked."""

    def __init__(self) -> None:
        self.repos: Dict[str, List[Dict[str, bytes]]] = {}
        self.refuse: Set[str] = set()  # repos answered 403
        self.stall: float = 0.0  # seconds to sit on every request before answering
        self.hang: Set[str] = set()  # file paths whose GET sends half the file, then nothing for a minute
        self.requests: List[str] = []
        self._server: Optional[ThreadingHTTPServer] = None

    def add(self, repo: str, files: Dict[str, bytes]) -> str:
        """Add a commit to `repo` (creating it); returns the commit's sha."""
        self.repos.setdefault(repo, []).append(dict(files))
        return self.sha(repo, len(self.repos[repo]) - 1)

    def add_folder(self, repo: str, folder: Path, under: str = "", only: Optional[List[str]] = None) -> str:
        files = {f"{under}{p.name}": p.read_bytes() for p in sorted(Path(folder).iterdir())
                 if p.is_file() and not p.name.startswith(".") and (only is None or p.name in only)}
        return self.add(repo, files)

    def sha(self, repo: str, index: int) -> str:
        return hashlib.sha1(f"{repo}#{index}".encode()).hexdigest()

    def commit(self, repo: str, revision: Optional[str]) -> Optional[int]:
        commits = self.repos.get(repo)
        if not commits:
            return None
        if revision in (None, "main"):
            return len(commits) - 1
        return next((i for i in range(len(commits)) if self.sha(repo, i) == revision), None)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "Hub":
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                hub._answer(self, body=False)

            def do_GET(self) -> None:
                hub._answer(self, body=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------ the two endpoints
    def _answer(self, request: BaseHTTPRequestHandler, body: bool) -> None:
        path = unquote(urlparse(request.path).path)
        self.requests.append(f"{request.command} {path}")
        if self.stall:
            time.sleep(self.stall)
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"]:
            repo = "/".join(parts[2:4])
            revision = parts[5] if len(parts) > 5 and parts[4] == "revision" else None
            return self._info(request, repo, revision)
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._file(request, "/".join(parts[:2]), parts[3], "/".join(parts[4:]), body)
        self._error(request, 404, "")

    def _info(self, request: BaseHTTPRequestHandler, repo: str, revision: Optional[str]) -> None:
        if repo in self.refuse:
            return self._error(request, 403, "")
        index = self.commit(repo, revision)
        if index is None:
            return self._error(request, 404, "RepoNotFound" if repo not in self.repos else "RevisionNotFound")
        files = self.repos[repo][index]
        info = {"id": repo, "modelId": repo, "sha": self.sha(repo, index), "private": False,
                "siblings": [{"rfilename": name, "size": len(data)} for name, data in sorted(files.items())]}
        payload = json.dumps(info).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def _file(self, request: BaseHTTPRequestHandler, repo: str, revision: str, name: str, body: bool) -> None:
        if repo in self.refuse:
            return self._error(request, 403, "")
        index = self.commit(repo, revision)
        if index is None:
            return self._error(request, 404, "RepoNotFound" if repo not in self.repos else "RevisionNotFound")
        data = self.repos[repo][index].get(name)
        if data is None:
            return self._error(request, 404, "EntryNotFound")
        request.send_response(200)
        request.send_header("X-Repo-Commit", self.sha(repo, index))
        request.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if not body:
            return
        if name in self.hang:  # promise the whole file, send half, then go quiet (a dropped network)
            request.wfile.write(data[: len(data) // 2])
            request.wfile.flush()
            time.sleep(60)
            return
        request.wfile.write(data)

    def _error(self, request: BaseHTTPRequestHandler, status: int, code: str) -> None:
        request.send_response(status)
        if code:
            request.send_header("X-Error-Code", code)
        request.send_header("Content-Length", "0")
        request.end_headers()
