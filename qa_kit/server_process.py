"""A DeepSparse server's life: `serve()` starts one on a cached copy of a model, `stop()` ends it.

The server is DeepSparse's own (`deepsparse.server`, from the kit's `server` extra), run as a
child process with a config for one question-answering endpoint; it gets its own copy of the model
(one per port), since it rewrites model.onnx. Ask it with `qa_kit.server.ServerReader`.
"""
from __future__ import annotations

import atexit
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, List, Optional

from .errors import EngineError, InputError, whole_number
from .reading import check_lengths
from .text import one_line

ENDPOINT_NAME = "question_answering"  # serve() names its endpoint so: POST /v2/models/question_answering/infer

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
