"""What the kit knows about a model folder: its files (model.onnx, config.json, tokenizer), and what
its config says (the window to read with, random weights), and its tokenizer, each read in one place."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Optional, Tuple

from .errors import InputError, SourceError, whole_number
from .text import one_line

DEFAULT_SEQUENCE_LENGTH, DEFAULT_DOC_STRIDE = 384, 128  # the window when neither the caller nor the model says
RANDOM_WEIGHTS_NOTE = "this model has random weights: its answers mean nothing (it exists to test the kit)"

TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
    "vocab.json", "merges.txt", "added_tokens.json", "spiece.model",
)


def find_onnx_or_none(folder: Path) -> Optional[Path]:
    """The model file of a folder: model.onnx, onnx/model.onnx, or the folder's only .onnx file; None if it has none."""
    for candidate in (folder / "model.onnx", folder / "onnx" / "model.onnx"):
        if candidate.is_file():
            return candidate
    found = sorted(folder.glob("*.onnx")) or sorted((folder / "onnx").glob("*.onnx"))
    if len(found) > 1:
        names = ", ".join(f.name for f in found)
        raise SourceError(f"{folder} holds several ONNX files ({names}): pass the one to run as a file path.")
    return found[0] if found else None


def find_onnx(folder: Path) -> Path:
    """The model file of a folder, or a SourceError saying what a model folder needs."""
    found = find_onnx_or_none(folder)
    if found is None:
        raise SourceError(f"No ONNX model in {folder}: it needs model.onnx (or onnx/model.onnx) beside config.json and "
                          "tokenizer files, or PyTorch weights (model.safetensors) to export.")
    return found


def check_onnx(onnx_file: Path) -> None:
    """Refuse a file that is not a whole ONNX model, naming it (the engines' own errors do not)."""
    import onnx

    try:
        model = onnx.load(str(onnx_file), load_external_data=False)
    except Exception:
        raise SourceError(f"{onnx_file} is not a readable ONNX model (truncated or corrupt?): export or copy it again.") from None
    if not model.graph.node:
        raise SourceError(f"{onnx_file} holds no ONNX graph: export the model again.")


_importing = threading.Lock()  # transformers' lazy imports fail when two threads import at once


def load_tokenizer(model_dir: Path):
    """The model's own fast tokenizer (offsets are needed to map tokens back to characters)."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    with _importing:
        from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), use_fast=True, local_files_only=True)
    except Exception as error:
        raise SourceError(f"Could not load the tokenizer in {model_dir}: {error}".strip()) from error
    if not tokenizer.is_fast:
        raise SourceError(f"The tokenizer in {model_dir} is not a fast tokenizer: save tokenizer.json beside the model.")
    return tokenizer


def model_config(model_dir: Path) -> dict:
    """The model folder's config.json (the kit reads its window and random-weights flag from it)."""
    path = Path(model_dir) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise SourceError(f"{path} is not readable JSON ({one_line(error, 120)}): save the model's config.json again.") from None
    if not isinstance(config, dict) or not isinstance(config.get("qa_kit_defaults", {}), dict):
        raise SourceError(f"{path} must hold a JSON object (with qa_kit_defaults an object, if any): save the model's config again.")
    return config


def _whole_number(config: dict, key: str, default: int) -> int:
    value = config.get("qa_kit_defaults", {}).get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SourceError(f"config.json's qa_kit_defaults.{key} is {value!r}, not a whole number of tokens: fix or remove it.")
    return value


def model_window(config: dict, sequence_length: Optional[int] = None,
                 doc_stride: Optional[int] = None) -> Tuple[int, int]:
    """The window to read with: what the caller gave, else what the model's config.json asks for
    under "qa_kit_defaults" (demo-minilm was trained on short windows), else 384 and 128."""
    if sequence_length is None:
        sequence_length = _whole_number(config, "sequence_length", DEFAULT_SEQUENCE_LENGTH)
    if doc_stride is None:
        doc_stride = _whole_number(config, "doc_stride", DEFAULT_DOC_STRIDE)
    return check_lengths(sequence_length, doc_stride)


def check_lengths(sequence_length: int, doc_stride: int) -> Tuple[int, int]:
    """Validate window arguments that do not depend on the question; return them as ints."""
    sequence_length = whole_number(sequence_length, "sequence_length", 1)
    if sequence_length < 16:
        raise InputError(f"sequence_length={sequence_length!r} is too small: use 16 or more (384 is usual).")
    if sequence_length > 512:
        raise InputError(f"sequence_length={sequence_length} is over 512, the most BERT-style models can read.")
    doc_stride = whole_number(doc_stride, "doc_stride", 0)
    if doc_stride >= sequence_length:
        raise InputError(f"doc_stride={doc_stride} must be smaller than sequence_length={sequence_length} (128 for 384 is usual).")
    return sequence_length, doc_stride


def says_random_weights(config: dict) -> bool:
    """True when a model's config.json marks its weights as random (its answers mean nothing)."""
    return bool(config.get("qa_kit_random_weights", False))


__all__ = ["TOKENIZER_FILES", "find_onnx", "find_onnx_or_none", "check_onnx", "load_tokenizer", "model_config",
           "model_window", "check_lengths", "says_random_weights", "RANDOM_WEIGHTS_NOTE", "DEFAULT_SEQUENCE_LENGTH", "DEFAULT_DOC_STRIDE"]
