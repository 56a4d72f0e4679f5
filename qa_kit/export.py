"""PyTorch question-answering checkpoints (a Hub repo or a local folder) as ONNX model folders.

Most QA readers on the Hugging Face Hub, Neural Magic's pruned oBERT models among them, are
PyTorch checkpoints. The engines run ONNX, so such a checkpoint is exported once (opset 14, IR 7,
what onnx 1.14 and DeepSparse 1.8 read), into the cache or a folder the user names. Zeros in the
weights stay exact zeros, so a pruned checkpoint stays sparse. Needs torch: the `export` extra.
"""
from __future__ import annotations

import inspect
import json
import shutil
import warnings
from pathlib import Path
from typing import Any, List

from .errors import SourceError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
OPSET = 14  # the newest opset DeepSparse 1.8 compiles every BERT-family op of
IR_VERSION = 7  # onnx 1.14 (pinned by deepsparse) and DeepSparse read IR 7
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
INSTALL_HINT = "pip install 'qa-kit[export]' (CPU torch 2.13)"


def is_checkpoint(folder: Path) -> bool:
    """True for a transformers checkpoint folder: config.json beside PyTorch weights."""
    folder = Path(folder)
    return (folder / "config.json").is_file() and any((folder / name).is_file() for name in WEIGHT_FILES)


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise SourceError(f"This model is a PyTorch checkpoint, and exporting it to ONNX needs torch: {INSTALL_HINT}.") from None
    return torch


def load_checkpoint(folder: Path) -> Any:
    """The checkpoint as a transformers QA model, refused when any weight would be random (no QA head)."""
    _torch()
    from transformers import AutoModelForQuestionAnswering

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model, info = AutoModelForQuestionAnswering.from_pretrained(str(folder), output_loading_info=True)
    except (ValueError, KeyError, OSError) as error:  # an architecture with no QA head, unreadable weights
        first = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise SourceError(f"{folder} could not be read as a question-answering checkpoint ({first}).") from None
    missing = [key for key in info.get("missing_keys", []) if not key.endswith("position_ids")]
    if missing:
        what = "its question-answering head" if any("qa_outputs" in key for key in missing) else f"{len(missing)} weights"
        raise SourceError(f"{folder} lacks {what} ({missing[0]}, ...): it would answer at random; "
                          "pick a checkpoint fine-tuned for extractive QA (SQuAD).")
    return model.eval()


def _input_names(model: Any, tokenizer: Any) -> List[str]:
    """The inputs the model takes and its tokenizer gives (DistilBERT and RoBERTa have no token types)."""
    takes = inspect.signature(model.forward).parameters
    gives = set(getattr(tokenizer, "model_input_names", INPUT_NAMES))
    return [name for name in INPUT_NAMES if name in takes and name in gives]


def export_checkpoint(folder: Path, out: Path, origin: str = "") -> Path:
    """Write model.onnx, config.json and the tokenizer of the checkpoint in `folder` into `out` (which
    exists); `origin` (a repo and commit, a path) is recorded in the config."""
    torch = _torch()
    import onnx
    from transformers import AutoTokenizer

    folder, out = Path(folder), Path(out)
    model = load_checkpoint(folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), use_fast=True)
    except (ValueError, OSError) as error:
        raise SourceError(f"{folder} has no usable tokenizer ({type(error).__name__}): save the model's tokenizer beside it.") from None
    names = _input_names(model, tokenizer)
    sample = tokenizer(["Who wrote it?"], ["Anna wrote it in 1990."], return_tensors="pt", return_token_type_ids=True)

    class QAOutputs(torch.nn.Module):  # the two logits as plain outputs, inputs by name
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: Any) -> Any:
            result = self.inner(**dict(zip(names, inputs)))
            return result.start_logits, result.end_logits

    axes = {0: "batch", 1: "sequence"}
    graph_path = out / "model.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(QAOutputs(model), tuple(sample[name] for name in names), str(graph_path),
                          input_names=names, output_names=["start_logits", "end_logits"],
                          dynamic_axes={name: axes for name in names + ["start_logits", "end_logits"]},
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    graph = onnx.load(str(graph_path))
    graph.ir_version = min(graph.ir_version, IR_VERSION)
    onnx.checker.check_model(graph)
    onnx.save(graph, str(graph_path))
    model.config.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    for extra in ("vocab.txt", "merges.txt", "vocab.json"):  # slow-tokenizer files, if the checkpoint had them
        if (folder / extra).is_file() and not (out / extra).is_file():
            shutil.copyfile(folder / extra, out / extra)
    config_path = out / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["qa_kit_export"] = {"from": origin or str(folder), "opset": OPSET, "torch": torch.__version__}
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out
