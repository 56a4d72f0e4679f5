"""What a model source string means, and how it becomes a local model folder the kit may run.

Sources: a local folder (model.onnx + config.json + tokenizer files), a single .onnx file in such
a folder, a `zoo:` SparseZoo stub, an `hf:` Hugging Face repo (ONNX at its root or in `onnx/`),
or a short name from the kit's catalog (data/catalog.csv). Every source ends as a *cached copy*
under one cache folder: DeepSparse rewrites model.onnx in place, so the user's own files are only
ever read. Network sources run under a time limit, so an offline machine fails fast, never hangs.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, TypeVar

from .cache import build_entry, cache_dir, file_sha256
from .errors import InputError, SourceError, positive_seconds

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_TIMEOUT = 10.0  # seconds a network source may take before we give up
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
    "vocab.json", "merges.txt", "added_tokens.json", "spiece.model",
)
T = TypeVar("T")


@dataclass(frozen=True)
class ResolvedModel:
    """A source turned into a private local folder holding model.onnx, config.json and a tokenizer."""

    source: str  # what the user asked for
    model_dir: Path  # the cached copy the kit runs (never the user's folder)
    origin: str  # where it came from: a local path, a stub, a repo
    kind: str  # "path", "zoo", "hf" or "catalog"


def sample_texts(folder: Path = DATA_DIR / "texts") -> Dict[str, str]:
    """The kit's sample texts by file stem (data/texts/*.txt), read as UTF-8."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))}


def sample_questions(stem: str, folder: Path = DATA_DIR / "questions") -> List[str]:
    """The questions of a sample text's SQuAD-style set, in order (empty when it has none)."""
    path = folder / f"{stem}.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [qa["question"] for article in data["data"] for para in article["paragraphs"] for qa in para["qas"]]


def default_model() -> str:
    """The catalog name notebooks and the Explorer start with: the real demo model when it ships."""
    if (DATA_DIR / "models" / "demo-minilm" / "model.onnx").is_file():
        return "demo-minilm"
    return "tiny-random-bert"


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


def source_kind(source: str) -> str:
    """Classify a source string: "zoo", "hf", "url", "path" or "catalog"."""
    from .stubs import kind_of

    return kind_of(source)


def resolve(source: str, *, timeout: Optional[float] = None) -> ResolvedModel:
    """Turn any source string into a private cached model folder (downloading if needed)."""
    if not isinstance(source, str) or not source.strip():
        raise SourceError("The model source is empty: give a local folder, a zoo: stub, an hf: repo or a catalog name.")
    source = source.strip()
    kind = source_kind(source)
    if kind == "catalog":
        return _resolve_catalog(source, timeout)
    if kind == "zoo":
        folder = _download_zoo(source, network_timeout(timeout))
    elif kind == "hf":
        folder = _download_hf(source, network_timeout(timeout))
    elif kind == "url":
        raise SourceError(f"'{source}' is a server URL, not a model folder: ask it through a server reader instead.")
    else:
        folder = Path(source).expanduser()
    model_dir = private_copy(folder, label=_label_for(source))
    return ResolvedModel(source=source, model_dir=model_dir, origin=str(folder), kind=kind)


def _resolve_catalog(name: str, timeout: Optional[float]) -> ResolvedModel:
    from .stubs import catalog_source

    target = catalog_source(name)
    if target is None:
        raise SourceError(
            f"'{name}' is neither an existing path nor a name in the kit's catalog: "
            "see qa_kit.stubs.catalog() for names, or give a folder, zoo: stub or hf: repo."
        )
    if not re.match(r"^(zoo:|hf:|https?://)", target):
        target = str(DATA_DIR / target)  # local catalog entries are relative to data/
    resolved = resolve(target, timeout=timeout)
    return ResolvedModel(source=name, model_dir=resolved.model_dir, origin=resolved.origin, kind="catalog")


def _label_for(source: str) -> str:
    """A short, filesystem-safe name for a source, to make cache folders readable."""
    tail = source.rstrip("/").split("/")[-1].split("?")[0] or "model"
    if tail.endswith(".onnx"):  # a model file: name the copy after its folder
        tail = source.rstrip("/").split("/")[-2] if source.count("/") else "model"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", tail)[:60] or "model"


def _folder_for(name: str) -> str:
    """A cache folder name unique to a whole repo id or stub (hf:alice/x and hf:bob/x differ), still readable."""
    return f"{_label_for(name)}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def find_onnx(folder: Path) -> Path:
    """The model file of a folder: model.onnx, onnx/model.onnx, or the folder's only .onnx file."""
    for candidate in (folder / "model.onnx", folder / "onnx" / "model.onnx"):
        if candidate.is_file():
            return candidate
    found = sorted(folder.glob("*.onnx")) or sorted((folder / "onnx").glob("*.onnx"))
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(f.name for f in found)
        raise SourceError(f"{folder} holds several ONNX files ({names}): pass the one to run as a file path.")
    raise SourceError(f"No ONNX model in {folder}: it needs model.onnx (or onnx/model.onnx) beside config.json and tokenizer files.")


def private_copy(path: Path, *, label: str = "model") -> Path:
    """Copy a model (folder or .onnx file) into the cache once; return the copy's folder.

    The copy is keyed on the content of its files (SHA-256, computed once per file version), so
    replacing the user's weights makes a fresh copy even when size and time stay the same, and
    loading the same model again costs nothing. The copy is built whole or not at all.
    """
    path = Path(path)
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as error:  # a symlink loop, a name too long
        raise SourceError(f"Model path {path} cannot be read ({error.strerror}): give a real folder.") from None
    if not exists:
        raise SourceError(f"Model path {path} does not exist: give a folder with model.onnx, config.json and tokenizer files.")
    if is_file:
        if path.suffix != ".onnx":
            raise SourceError(f"{path} is not an .onnx file: give the model folder or its model.onnx.")
        onnx_file, folder = path, path.parent
    else:
        folder = path
        onnx_file = find_onnx(folder)
    if not (folder / "config.json").is_file():
        raise SourceError(f"{folder} has no config.json: save the model's config beside {onnx_file.name}.")
    tokenizer_files = [folder / name for name in TOKENIZER_FILES if (folder / name).is_file()]
    if not any(f.name in ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model") for f in tokenizer_files):
        raise SourceError(f"{folder} has no tokenizer (tokenizer.json or vocab.txt): save the model's tokenizer beside it.")
    # ONNX models over 2 GB keep their weights in external data files beside the graph.
    external = [f for f in onnx_file.parent.glob("*.data")] + [f for f in onnx_file.parent.glob("*.onnx_data")]
    files = {"model.onnx": onnx_file, "config.json": folder / "config.json"}
    files.update({f.name: f for f in tokenizer_files})
    files.update({f.name: f for f in external})

    try:
        digest = hashlib.sha256()
        for name, file in sorted(files.items()):
            digest.update(f"{name}:{file_sha256(file)}\n".encode())
    except OSError as error:
        raise SourceError(f"Could not read the model in {folder} ({error.strerror}): check its files can be read.") from None

    def fill(staging: Path) -> None:
        check_onnx(onnx_file)  # a truncated or corrupt model is named now, not as an engine's protobuf error
        for name, file in files.items():
            shutil.copyfile(file, staging / name)

    return build_entry(cache_dir() / "models" / f"{label}-{digest.hexdigest()[:16]}", fill)


def check_onnx(onnx_file: Path) -> None:
    """Refuse a file that is not a whole ONNX model, naming it (the engines' own errors do not)."""
    import onnx

    try:
        model = onnx.load(str(onnx_file), load_external_data=False)
    except Exception:
        raise SourceError(f"{onnx_file} is not a readable ONNX model (truncated or corrupt?): export or copy it again.") from None
    if not model.graph.node:
        raise SourceError(f"{onnx_file} holds no ONNX graph: export the model again.")


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


def _offline_error(what: str, error: BaseException) -> SourceError:
    reason = type(error).__name__
    return SourceError(
        f"Could not fetch {what} ({reason}): this machine seems to be offline or the name is wrong; "
        "download the model where there is a network and pass its local folder instead."
    )


def _download_zoo(stub: str, timeout: float) -> Path:
    """Download a SparseZoo stub's deployment folder (model.onnx, config, tokenizer)."""
    from .stubs import parse

    stub = str(parse(stub))  # a malformed stub fails here, naming the bad part; adds a missing zoo:
    download_root = cache_dir() / "zoo"

    def fetch() -> Path:
        from sparsezoo import Model

        return Path(Model(stub, download_path=str(download_root / _folder_for(stub))).deployment.path)

    try:
        return run_with_timeout(fetch, timeout, f"SparseZoo for '{stub}'")
    except SourceError:
        raise
    except Exception as error:
        raise _offline_error(f"'{stub}' from SparseZoo", error) from error


def _download_hf(source: str, timeout: float) -> Path:
    """Download a Hugging Face repo's ONNX export (root or onnx/ subfolder) with its tokenizer."""
    repo = source[len("hf:"):].strip("/")
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?", repo):
        raise SourceError(f"'{source}' is not a Hugging Face repo id: write it as hf:OWNER/NAME.")

    def fetch() -> Path:
        from huggingface_hub import snapshot_download

        patterns = ["*.json", "*.txt", "*.model", "model.onnx", "onnx/*.json", "onnx/model.onnx", "*.onnx", "onnx/*.onnx"]
        folder = Path(snapshot_download(repo_id=repo, cache_dir=str(cache_dir() / "hf"), allow_patterns=patterns))
        onnx_dir = folder / "onnx"
        # Exports that keep the graph in onnx/ often keep config and tokenizer at the root:
        # assemble one flat folder so the rest of the kit sees the usual layout.
        if not (folder / "model.onnx").is_file() and onnx_dir.is_dir():
            def fill(flat: Path) -> None:
                shutil.copyfile(find_onnx(onnx_dir), flat / "model.onnx")
                for name in ("config.json",) + TOKENIZER_FILES:
                    for where in (onnx_dir / name, folder / name):
                        if where.is_file():
                            shutil.copyfile(where, flat / name)
                            break

            return build_entry(cache_dir() / "hf-flat" / _folder_for(f"{repo}@{folder.name}"), fill)
        return folder

    try:
        return run_with_timeout(fetch, timeout, f"the Hugging Face Hub for '{source}'")
    except SourceError:
        raise
    except Exception as error:
        raise _offline_error(f"'{source}' from the Hugging Face Hub", error) from error
