"""What a model source string means, and how it becomes a local model folder the kit may run.

Sources: a local folder (model.onnx + config.json + tokenizer files), a single .onnx file in such
a folder, a `zoo:` SparseZoo stub, an `hf:` Hugging Face repo (ONNX at its root or in `onnx/`, or
a PyTorch checkpoint, exported to ONNX once; a local checkpoint folder is exported the same way),
or a short name from the kit's catalog (data/catalog.csv). Every source ends as a *cached copy*
under one cache folder: DeepSparse rewrites model.onnx in place, so the user's own files are only
ever read. Network sources run under a time limit, so an offline machine fails fast, never hangs.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from .cache import build_entry, cache_dir, file_sha256
from .errors import SourceError
from .hub import download_hf, hub_files
from .model_folder import TOKENIZER_FILES, check_onnx, find_onnx, find_onnx_or_none
from .network import DEFAULT_TIMEOUT, label_for, network_timeout, run_with_timeout
from .paths import DATA_DIR, MODELS_DIR, QUESTIONS_DIR, TEXTS_DIR
from .zoo import ZOO_RETIRED, download_zoo


@dataclass(frozen=True)
class ResolvedModel:
    """A source turned into a private local folder holding model.onnx, config.json and a tokenizer."""

    source: str  # what the user asked for
    model_dir: Path  # the cached copy the kit runs (never the user's folder)
    origin: str  # where it came from: a local path, a stub, a repo
    kind: str  # "path", "zoo", "hf" or "catalog"


def sample_texts(folder: Path = TEXTS_DIR) -> Dict[str, str]:
    """The kit's sample texts by file stem (data/texts/*.txt), read as UTF-8."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))}


def sample_questions(stem: str, folder: Path = QUESTIONS_DIR) -> List[str]:
    """The questions of a sample text's SQuAD-style set, in order (empty when it has none)."""
    path = folder / f"{stem}.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [qa["question"] for article in data["data"] for para in article["paragraphs"] for qa in para["qas"]]


def default_model() -> str:
    """The catalog name notebooks and the Explorer start with: the real demo model when it ships."""
    if (MODELS_DIR / "demo-minilm" / "model.onnx").is_file():
        return "demo-minilm"
    return "tiny-random-bert"


def source_kind(source: str) -> str:
    """Classify a source string: "zoo", "hf", "url", "path" or "catalog"."""
    from .catalog import kind_of

    return kind_of(source)


def resolve(source: str, *, timeout: Optional[float] = None, revision: Optional[str] = None) -> ResolvedModel:
    """Turn any source string into a private cached model folder (downloading, or exporting a
    PyTorch checkpoint to ONNX, if needed). `revision` pins an hf: repo to a branch, tag or commit."""
    if not isinstance(source, str) or not source.strip():
        raise SourceError("The model source is empty: give a local folder, a zoo: stub, an hf: repo or a catalog name.")
    source = source.strip()
    kind = source_kind(source)
    if revision is not None and kind not in ("hf", "catalog"):
        raise SourceError(f"revision= pins a Hugging Face repo; '{source}' is not one (write hf:OWNER/NAME).")
    if kind == "catalog":
        return _resolve_catalog(source, timeout, revision)
    if kind == "zoo":
        folder = download_zoo(source, network_timeout(timeout))
    elif kind == "hf":
        folder = download_hf(source, network_timeout(timeout), revision)
    elif kind == "url":
        raise SourceError(f"'{source}' is a server URL, not a model folder: ask it through a server reader instead.")
    else:
        folder = _local_checkpoint(Path(source).expanduser())
    model_dir = private_copy(folder, label=label_for(source))
    return ResolvedModel(source=source, model_dir=model_dir, origin=str(folder), kind=kind)


def _local_checkpoint(path: Path) -> Path:
    """A local folder as it is, or, when it is a PyTorch checkpoint with no ONNX file, its ONNX
    export (made once into the cache, keyed on the checkpoint's files)."""
    from .export import export_checkpoint, is_checkpoint

    try:
        plain = not path.is_dir() or find_onnx_or_none(path) is not None or not is_checkpoint(path)
    except OSError:
        return path  # private_copy names the problem
    if plain:
        return path
    digest = hashlib.sha256()
    for file in sorted(f for f in path.iterdir() if f.is_file()):
        digest.update(f"{file.name}:{file_sha256(file)}\n".encode())
    target = cache_dir() / "exported" / f"{label_for(str(path))}-{digest.hexdigest()[:16]}"
    return build_entry(target, lambda out: export_checkpoint(path, out, origin=str(path)))


def _resolve_catalog(name: str, timeout: Optional[float], revision: Optional[str] = None) -> ResolvedModel:
    from .catalog import catalog_source

    target = catalog_source(name)
    if target is None:
        raise SourceError(
            f"'{name}' is neither an existing path nor a name in the kit's catalog: "
            "see qa_kit.stubs.catalog() for names, or give a folder, zoo: stub or hf: repo."
        )
    if not re.match(r"^(zoo:|hf:|https?://)", target):
        target = str(DATA_DIR / target)  # local catalog entries are relative to data/
    resolved = resolve(target, timeout=timeout, revision=revision)
    return ResolvedModel(source=name, model_dir=resolved.model_dir, origin=resolved.origin, kind="catalog")


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


__all__ = ["ResolvedModel", "resolve", "private_copy", "source_kind", "default_model", "sample_texts", "sample_questions",
           "network_timeout", "run_with_timeout", "DEFAULT_TIMEOUT", "TOKENIZER_FILES", "find_onnx", "find_onnx_or_none",
           "check_onnx", "hub_files", "ZOO_RETIRED", "cache_dir"]
