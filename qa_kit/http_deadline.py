"""HTTP requests that end by a deadline, however slowly the server sends (one watchdog thread for all).

A timeout on each read lets a server dripping a byte at a time go on for ever; here each request
gets a `Deadline`, and when it runs out the request's socket is shut, which wakes any read blocked
on it. `watched_session()` is a requests session whose connections hand their socket to the
deadline of the request this thread is making (`with Deadline(seconds):` around the request).
"""
from __future__ import annotations

import functools
import heapq
import itertools
import os
import socket
import threading
import time
from typing import Any, List, Optional, Tuple


class Deadline:
    """One request's time limit: when it runs out, the request's socket is shut, which wakes any read
    blocked on it (a timeout on each read alone lets a byte-at-a-time drip go on for ever)."""

    def __init__(self, seconds: float):
        self.ends = time.monotonic() + seconds
        self.expired = False
        self.done = False
        self._socket: Optional[socket.socket] = None
        self._lock = threading.Lock()
        _watchdog.add(self)

    def __enter__(self) -> "Deadline":
        """Make this the deadline of the request this thread is about to make."""
        _watching.deadline = self
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cancel()
        _watching.deadline = None

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
        self._due: List[Tuple[float, int, Deadline]] = []  # a heap, soonest first
        self._changed = threading.Condition()
        self._count = itertools.count()
        self._thread: Optional[threading.Thread] = None

    def add(self, deadline: Deadline) -> None:
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


def watched_session() -> Any:
    """A requests session whose every request ends by its deadline, however slowly the server sends."""
    import requests

    session = requests.Session()
    adapter = _watched_adapter()()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
