"""What the kit knows about a model folder: its files (model.onnx, config.json, tokenizer), and what
its config says (the window to read with, random weights), and its tokenizer, each read in one place."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .errors import SourceError

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
