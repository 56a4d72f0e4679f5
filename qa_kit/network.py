"""Network work under a time limit, and readable cache-folder names for what it downloads.

Shared by the SparseZoo (qa_kit.zoo) and Hugging Face Hub (qa_kit.hub) downloads: the SparseZoo
client sets no timeout of its own, so every network call runs where the kit can stop waiting.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from typing import Callable, Optional, TypeVar

from .errors import InputError, SourceError, positive_seconds

DEFAULT_TIMEOUT = 10.0  # seconds a network source may take before we give up
T = TypeVar("T")


def network_timeout(timeout: Optional[float] = None) -> float:
    """The time limit for network sources: the argument, else $QA_KIT_TIMEOUT, else 10 s."""
    if timeout is not None:
        return positive_seconds(timeout, "timeout")
    value = os.environ.get("QA_KIT_TIMEOUT")
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        return positive_seconds(float(value), "QA_KIT_TIMEOUT")
    except ValueError:  # not a number at all (InputError is a ValueError too, and says the same)
        raise InputError(f"QA_KIT_TIMEOUT={value!r} is not a time limit: give seconds above 0, a number such as 30.") from None


def run_with_timeout(work: Callable[[], T], timeout: float, what: str) -> T:
    """Run network work in a daemon thread and give up after `timeout` seconds.

    The SparseZoo client sets no timeout on its requests, so a dropped network would hang the
    caller forever; a thread we can stop waiting for is the only bound we can put on it.
    """
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as error:  # handed to the caller's thread below
            box["error"] = error

    thread = threading.Thread(target=target, name=f"qa-kit {what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise SourceError(
            f"{what} gave no answer within {timeout:g} s (offline?): download the model where there is "
            "a network and pass its local folder, or raise the limit with timeout= or QA_KIT_TIMEOUT."
        )
    if "error" in box:
        raise box["error"]
    return box["value"]


def label_for(source: str) -> str:
    """A short, filesystem-safe name for a source, to make cache folders readable."""
    tail = source.rstrip("/").split("/")[-1].split("?")[0].split("@")[0] or "model"
    if tail.endswith(".onnx"):  # a model file: name the copy after its folder
        tail = source.rstrip("/").split("/")[-2] if source.count("/") else "model"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", tail)[:60] or "model"


def folder_for(name: str) -> str:
    """A cache folder name unique to a whole repo id or stub (hf:alice/x and hf:bob/x differ), still readable."""
    return f"{label_for(name)}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"


__all__ = ["DEFAULT_TIMEOUT", "network_timeout", "run_with_timeout", "label_for", "folder_for"]
