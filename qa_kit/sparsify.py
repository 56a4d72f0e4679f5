"""Make pruned variants of a model: one-shot magnitude pruning of the weight matrices in its ONNX file.

Every 2-D float weight that feeds a MatMul or Gemm (but the tiny QA head) loses its smallest-magnitude entries, either
one by one (unstructured) or in blocks of 4 consecutive entries along the input dimension (the
layout DeepSparse's int8 VNNI kernels want). The embeddings, biases and layer norms are kept.
The result is a new model folder (graph, config, tokenizer); the source folder is only read.

Be honest about what this shows: pruning a trained model in one shot, without retraining, costs
accuracy, quickly so past 50-70% sparsity. SparseZoo's pruned models keep their accuracy because
they were pruned gradually during training (and distilled); these variants show the *speed*
side of sparsity on your CPU, and the answer agreement beside it shows what one-shot costs.

`quantize` writes a static int8 copy in the format DeepSparse 1.8 accelerates (see qa_kit.int8),
calibrated on texts you give or on the kit's samples; `prune(..., quantize=True)` does both.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import int8
from .cache import copy_atomic, write_atomic, write_text_atomic
from .errors import InputError, SourceError, whole_number

SPARSITY_FILE = "sparsity.json"
PRUNE_VERSION = 2  # recorded in sparsity.json, so variants made by an older rule are made again
MIN_SIDE = 16  # narrower matrices (the QA head: hidden x 2) hold few weights and much accuracy: kept dense
BLOCK_SIZES = (1, 4)
_FLOAT = 1  # onnx.TensorProto.FLOAT
_B_INPUT = {"MatMul": 1, "Gemm": 1}


def _source_folder(source: Union[str, Path]) -> Path:
    """A local model folder for a path, or for any source the kit can resolve (catalog name, stub)."""
    path = Path(source).expanduser()
    if path.is_file() and path.suffix == ".onnx":
        return path.parent
    if path.is_dir():
        return path
    from .sources import resolve

    return resolve(str(source)).model_dir


def _source_and_out(source_dir: Union[str, Path], out_dir: Union[str, Path]):
    """The source folder, its ONNX file, the output folder (never the source) and the loaded graph."""
    import onnx

    from .sources import find_onnx

    source = _source_folder(source_dir)
    onnx_file = find_onnx(source)
    out = Path(out_dir).expanduser()
    if out.resolve() == source.resolve():
        raise InputError(f"out_dir {out} is the source folder: give a new folder, the source is never modified.")
    return source, onnx_file, out, onnx.load(str(onnx_file))


def prunable_weights(model) -> Dict[str, dict]:
    """The 2-D float initializers feeding a MatMul/Gemm as its right operand, with the input axis of each.

    Matrices narrower than MIN_SIDE on a side (the QA head) are left out.

    The input axis is the one summed over: 0 for MatMul's (in, out) weights and Gemm without
    transB, 1 for Gemm with transB (out, in).
    """
    initializers = {init.name: init for init in model.graph.initializer}
    found: Dict[str, dict] = {}
    for node in model.graph.node:
        if node.op_type not in _B_INPUT or len(node.input) <= _B_INPUT[node.op_type]:
            continue
        name = node.input[_B_INPUT[node.op_type]]
        init = initializers.get(name)
        if init is None or len(init.dims) != 2 or init.data_type != _FLOAT or min(init.dims) < MIN_SIDE:
            continue
        trans_b = any(a.name == "transB" and a.i for a in node.attribute) if node.op_type == "Gemm" else False
        found.setdefault(name, {"axis": 1 if trans_b else 0, "shape": list(init.dims), "node": node.name})
    return found


def magnitude_mask(weight: np.ndarray, sparsity: float, block: int = 1, axis: int = 0) -> np.ndarray:
    """A keep-mask (True = keep) zeroing the `sparsity` fraction of entries with the smallest magnitude.

    With `block=4`, entries are grouped in runs of 4 along `axis` (the input dimension) and whole
    groups are kept or dropped by their L2 norm; a short group at the edge counts as a group.
    """
    if block not in BLOCK_SIZES:
        raise InputError(f"block={block!r} is not supported: use 1 (unstructured) or 4 (blocks of 4).")
    if not 0.0 <= sparsity < 1.0:
        raise InputError(f"sparsity={sparsity!r} must be at least 0 and below 1 (0.9 = 90% zeros).")
    w = np.moveaxis(np.asarray(weight, dtype=np.float32), axis, 0)  # input axis first
    rows, cols = w.shape
    groups = -(-rows // block)
    padded = np.zeros((groups * block, cols), dtype=np.float32)
    padded[:rows] = w
    scores = np.sqrt((padded.reshape(groups, block, cols) ** 2).sum(axis=1))  # (groups, cols)
    drop = int(round(sparsity * scores.size))
    keep_groups = np.ones(scores.size, dtype=bool)
    if drop:
        keep_groups[np.argsort(scores, axis=None, kind="stable")[:drop]] = False
    keep = np.repeat(keep_groups.reshape(groups, cols), block, axis=0)[:rows]
    return np.moveaxis(keep, 0, axis)


def measure_sparsity(model_path: Union[str, Path]) -> dict:
    """The fraction of exact zeros in the prunable weights of a model (a folder or .onnx file)."""
    import onnx
    from onnx import numpy_helper

    path = Path(model_path)
    model = onnx.load(str(path / "model.onnx" if path.is_dir() else path))
    targets = prunable_weights(model)
    per_matrix, zeros, total = {}, 0, 0
    for init in model.graph.initializer:
        if init.name in targets:
            values = numpy_helper.to_array(init)
            z = int((values == 0).sum())
            per_matrix[init.name] = z / values.size
            zeros += z
            total += values.size
    return {"sparsity": zeros / total if total else 0.0, "matrices": len(per_matrix), "parameters": total,
            "per_matrix": per_matrix}


def _copy_companions(source: Path, out_dir: Path) -> None:
    from .sources import TOKENIZER_FILES

    for name in ("config.json",) + tuple(TOKENIZER_FILES):
        if (source / name).is_file():
            copy_atomic(source / name, out_dir / name)


def _names_a_file(text: str) -> bool:
    """True when a calibration string is the path of a file (a long sentence is no path: the OS says too long)."""
    try:
        return Path(text).expanduser().is_file()
    except (OSError, ValueError):
        return False


def calibration_feeds(model_dir: Path, texts: Optional[Sequence[str]], windows: int) -> List[Dict[str, np.ndarray]]:
    """Up to `windows` model inputs for calibrating int8 ranges: the kit's sample questions over `texts`.

    `texts` are strings or paths of UTF-8 text files; None means the kit's sample texts.
    Windows have the model's own length and stride, one question per window in turn.
    """
    from .model_folder import load_tokenizer, model_config, model_window
    from .reading import check_text
    from .sources import sample_questions, sample_texts

    samples = sample_texts()
    if texts is None:
        texts = list(samples.values())
    elif isinstance(texts, (str, Path)) or not all(isinstance(t, (str, Path)) for t in texts):
        raise InputError("texts must be a list of strings or text file paths (or None for the kit's samples).")
    read = []
    for number, text in enumerate(texts, 1):
        if isinstance(text, Path) or ("\n" not in text and _names_a_file(text)):
            text = Path(text).expanduser().read_text(encoding="utf-8")
        if not text.strip():
            raise InputError(f"Calibration text {number} is blank: give texts with words in them, or texts=None for the kit's samples.")
        check_text("calibration question", text)  # refuses lone surrogates, naming where
        read.append(text)
    questions = [question for stem in samples for question in sample_questions(stem)]
    tokenizer = load_tokenizer(model_dir)
    length, stride = model_window(model_config(model_dir))
    feeds: List[Dict[str, np.ndarray]] = []
    turn = 0
    while len(feeds) < windows:  # every pass adds at least one window per text
        for text in read:
            if len(feeds) >= windows:
                break
            question = questions[turn % len(questions)]
            turn += 1
            enc = tokenizer(question, text, truncation="only_second", max_length=length, stride=stride,
                            return_overflowing_tokens=True, padding="max_length", return_tensors="np")
            for i in range(min(len(enc["input_ids"]), windows - len(feeds), 4)):
                feeds.append({k: enc[k][i:i + 1].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")})
    return feeds


def quantize(
    source_dir: Union[str, Path],
    out_dir: Union[str, Path],
    texts: Optional[Sequence[Union[str, Path]]] = None,
    windows: int = 128,
    ranges: Optional[Dict[str, Tuple[float, float]]] = None,
    keep_fp32: Sequence[str] = (),
) -> Path:
    """Write a static int8 copy of a model folder to `out_dir` (QLinearMatMul, which DeepSparse accelerates).

    Activation ranges are calibrated on `windows` windows of `texts` (strings or file paths; the
    kit's samples when None), or taken from `ranges` (ONNX tensor name -> (low, high)), as a
    quantization-aware training leaves them. Layers whose ONNX node name contains one of
    `keep_fp32` stay fp32 (`("/output/dense/",)` keeps the outlier-prone output layers of a
    BERT). Pruned zeros stay zero. The source is only read.
    Check the copy's answers against the source (`qa_kit.compare`): int8 costs some accuracy.
    """

    windows = whole_number(windows, "windows", 1)
    source, onnx_file, out, model = _source_and_out(source_dir, out_dir)
    if any(node.op_type in ("QLinearMatMul", "MatMulInteger", "QuantizeLinear") for node in model.graph.node):
        raise InputError(f"{onnx_file} is already quantized: give the fp32 model to quantize.")
    if isinstance(keep_fp32, str) or not all(isinstance(k, str) and k for k in keep_fp32):
        raise InputError("keep_fp32 must be a list of node-name parts, e.g. [\"/output/dense/\"].")
    if not int8.weight_matmuls(model, tuple(keep_fp32)):
        raise SourceError(f"{onnx_file} has no 2-D float weights feeding MatMul nodes, so there is nothing to quantize.")
    given = ranges is not None
    if not given:
        ranges = int8.observe_ranges(model, calibration_feeds(source, texts, windows))
    quantized = int8.quantize_graph(model, ranges, skip=tuple(keep_fp32))
    record = dict(read_sparsity(source)) or {"sparsity": measure_sparsity(source)["sparsity"]}
    record.update({"int8": int8.int8_share(quantized), "int8_version": int8.INT8_VERSION, "int8_source": str(source),
                   "int8_ranges": "given" if given else f"calibrated on {windows} windows"})
    return _write_variant(source, out, quantized, record)


def _write_variant(source: Path, out: Path, model, record: dict) -> Path:
    """Write a made model folder: graph, the source's config and tokenizer, and its sparsity.json record."""
    import onnx

    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "engines", ignore_errors=True)  # DeepSparse copies of an earlier graph would be reused
    write_atomic(out / "model.onnx", lambda temp: onnx.save(model, str(temp)))
    _copy_companions(source, out)
    write_text_atomic(out / SPARSITY_FILE, json.dumps(record, indent=2))
    return out


def prune(
    source_dir: Union[str, Path],
    out_dir: Union[str, Path],
    sparsity: float = 0.5,
    block: int = 1,
    quantize: bool = False,
) -> Path:
    """Write a magnitude-pruned copy of a model folder to `out_dir` and return it.

    Each weight matrix feeding a MatMul/Gemm is pruned to `sparsity` (0.5 = half its entries
    zero), one entry at a time (`block=1`) or in blocks of 4 along the input dimension
    (`block=4`). The achieved sparsity is written to `out_dir/sparsity.json` and also given by
    `measure_sparsity(out_dir)`. `quantize=True` then makes the copy int8 (see `quantize`).
    """
    from onnx import numpy_helper

    if block not in BLOCK_SIZES:
        raise InputError(f"block={block!r} is not supported: use 1 (unstructured) or 4 (blocks of 4).")
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0.0 <= sparsity < 1.0:
        raise InputError(f"sparsity={sparsity!r} must be a number at least 0 and below 1 (0.9 = 90% zeros).")
    source, onnx_file, out, model = _source_and_out(source_dir, out_dir)
    targets = prunable_weights(model)
    if not targets:
        raise SourceError(f"{onnx_file} has no 2-D float weights feeding MatMul/Gemm nodes, so there is nothing to prune.")
    per_matrix: Dict[str, float] = {}
    zeros = total = 0
    for init in model.graph.initializer:
        if init.name not in targets:
            continue
        values = numpy_helper.to_array(init).astype(np.float32)
        pruned = np.where(magnitude_mask(values, float(sparsity), block, targets[init.name]["axis"]), values, 0.0)
        pruned = pruned.astype(np.float32)
        init.CopyFrom(numpy_helper.from_array(pruned, init.name))
        z = int((pruned == 0).sum())
        per_matrix[init.name] = z / pruned.size
        zeros += z
        total += pruned.size
    if quantize:
        model = int8.quantize_graph(model, int8.observe_ranges(model, calibration_feeds(source, None, 128)))
    report = {
        "version": PRUNE_VERSION, "source": str(source), "asked": float(sparsity), "block": block, "sparsity": zeros / total,
        "parameters": total, "matrices": len(per_matrix), "per_matrix": per_matrix,
        "note": "one-shot magnitude pruning without retraining: expect lower accuracy than a model pruned while training",
        "int8": int8.int8_share(model) if quantize else None, "int8_version": int8.INT8_VERSION if quantize else None,
    }
    return _write_variant(source, out, model, report)


def read_sparsity(model_dir: Union[str, Path]) -> dict:
    """The record `prune` left in a folder (asked and achieved sparsity, block), or {} if none."""
    path = Path(model_dir) / SPARSITY_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def prune_many(source_dir: Union[str, Path], out_root: Union[str, Path], sparsities: Iterable[float], block: int = 1) -> List[Path]:
    """Pruned variants at several sparsities, each in `out_root/s<percent>-b<block>`."""
    return [prune(source_dir, Path(out_root) / f"s{round(s * 100):02d}-b{block}", s, block) for s in sparsities]
