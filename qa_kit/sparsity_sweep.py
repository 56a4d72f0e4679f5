"""Speed against sparsity: one-shot pruned variants of a model timed on each engine and precision.

`sparsity_sweep()` makes each variant with qa_kit.sparsify (kept in the cache and reused), times
every question from its one-window paragraph with the variants interleaved, and compares each
variant's answers with the dense model's; `sweep_chart()` draws the result.
"""
from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence, Union

import pandas as pd

from .bench_inputs import Progress, load_questions, one_window_context, read_context, rotate
from .bench_summary import median_of, span_agreement, time_ratio
from .errors import InputError


def _pruned_folder(source: Path, out_root: Path, sparsity: float, block: int, precision: str = "fp32") -> Path:
    """A pruned (and, for "int8", quantized) variant in `out_root`, made once and reused while the source is unchanged."""
    from .int8 import INT8_VERSION
    from .sparsify import PRUNE_VERSION, prune, quantize, read_sparsity

    int8 = precision == "int8"
    folder = out_root / f"{source.name}-s{round(sparsity * 100):02d}-b{block}{'-int8' if int8 else ''}"
    record = read_sparsity(folder)
    if sparsity == 0:  # the dense model's int8 copy
        fresh = record.get("int8_source") == str(source)
    else:
        fresh = (record.get("version") == PRUNE_VERSION and record.get("source") == str(source)
                 and record.get("asked") == float(sparsity) and record.get("block") == block)
    fresh = (fresh and (not int8 or record.get("int8_version") == INT8_VERSION) and (folder / "model.onnx").is_file()
             and (folder / "model.onnx").stat().st_mtime >= (source / "model.onnx").stat().st_mtime)
    if fresh:
        return folder
    return quantize(source, folder) if sparsity == 0 else prune(source, folder, sparsity, block, quantize=int8)


def sparsity_sweep(
    model: Optional[str] = None,
    sparsities: Sequence[float] = (0.0, 0.5, 0.7, 0.9),
    block: int = 1,
    engines: Sequence[str] = ("deepsparse", "onnxruntime"),
    *,
    precisions: Sequence[str] = ("fp32",),
    context: Union[None, str, Path] = None,
    questions: Any = None,
    repeats: int = 3,
    max_questions: Optional[int] = 10,
    sequence_length: int = 384,
    doc_stride: int = 128,
    out_root: Union[None, str, Path] = None,
    num_cores: Optional[int] = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Speed of one-shot pruned variants on each engine and precision, with answer agreement against the dense model.

    `precisions` is any of "fp32" and "int8" (`qa_kit.sparsify.quantize`'s static int8, which
    DeepSparse accelerates; the sample texts calibrate it). Each variant is made by
    `qa_kit.sparsify.prune` (kept under `out_root`, by default
    the kit's cache, and reused). Every question is read from its one-window paragraph, variants
    interleaved; `ms_per_window` is the median engine time, `speedup` is against the dense model
    on the same engine (`best_ms_per_window`, the fastest single run, is steadier on a busy
    machine, where DeepSparse's times jump several-fold whenever another process takes a core),
    `agreement` is the fraction of questions whose top answer equals the
    dense model's, `f1` is SQuAD F1 against the gold answers where known. One-shot pruning
    without retraining loses accuracy fast; SparseZoo's pruned models were retrained to keep it.
    """
    from . import engines as engine_module
    from .metrics import f1 as squad_f1
    from .model_folder import load_tokenizer
    from .reading import decode, encode
    from .sources import cache_dir, default_model, resolve

    engines = [engine_module.check_engine_name(e) for e in engines]
    precisions = list(dict.fromkeys(precisions))
    if not precisions or any(p not in ("fp32", "int8") for p in precisions):
        raise InputError(f"precisions={precisions!r}: give \"fp32\", \"int8\" or both.")
    sparsities = sorted({float(s) for s in sparsities} | {0.0})
    text, _ = read_context(context)
    question_list = load_questions(questions, text)[: max_questions or None]
    dense = resolve(model or default_model()).model_dir
    root = Path(out_root) if out_root else cache_dir() / "sparsified"
    folders = {(s, p): dense if (s, p) == (0.0, "fp32") else _pruned_folder(dense, root, s, block, p)
               for s in sparsities for p in precisions}
    tokenizer = load_tokenizer(dense)

    shim = SimpleNamespace(tokenizer=tokenizer, sequence_length=sequence_length, doc_stride=doc_stride)
    encoded = {}
    for q in question_list:
        paragraph = one_window_context(shim, q, text)
        encoded[q.id] = (paragraph, encode(tokenizer, q.text, paragraph, sequence_length, doc_stride))
    # engines built outside the kit's cache, so the variants' memory is freed when the sweep ends
    classes = {"deepsparse": engine_module.DeepSparseEngine, "onnxruntime": engine_module.OnnxRuntimeEngine}
    built = {(s, p, e): classes[e](folders[(s, p)], sequence_length, 1, num_cores)
             for s in sparsities for p in precisions for e in engines}
    variants = list(built)
    times: Dict[tuple, Dict[str, List[float]]] = {v: {} for v in variants}
    spans: Dict[tuple, Dict[str, Any]] = {v: {} for v in variants}
    texts: Dict[tuple, Dict[str, str]] = {v: {} for v in variants}
    bar = Progress((repeats + 1) * len(question_list) * len(variants), progress, "sparsity sweep")
    for r in range(repeats + 1):  # the first round warms up
        for i, q in enumerate(question_list):
            paragraph, enc = encoded[q.id]
            for variant in rotate(variants, r + i):
                began = time.perf_counter()
                start, end = built[variant].run(enc.features)
                seconds = time.perf_counter() - began
                bar.step()
                if r == 0:
                    best = decode(paragraph, start, end, enc.offsets, top_k=1)
                    spans[variant][q.id] = (best[0].start, best[0].end) if best else None
                    texts[variant][q.id] = best[0].text if best else ""
                else:
                    times[variant].setdefault(q.id, []).append(seconds / enc.n_windows)
    bar.close()
    rows = []
    reference = (0.0, precisions[0], engines[0])  # dense in the first precision asked (fp32 unless only int8)
    for s, p, e in variants:
        achieved = 0.0 if s == 0 else _achieved(folders[(s, p)])
        golds = [q for q in question_list if q.golds]
        v = (s, p, e)
        rows.append({
            "sparsity": s, "achieved": achieved, "block": block if s else 0, "precision": p, "engine": e,
            "ms_per_window": median_of(times[v]) * 1000,
            "best_ms_per_window": min((t for ts in times[v].values() for t in ts), default=float("nan")) * 1000,
            "speedup": time_ratio(times[(0.0, precisions[0], e)], times[v]),
            "agreement": span_agreement(spans[v], spans[reference]),
            "f1": (100 * sum(squad_f1(texts[v][q.id], list(q.golds)) for q in golds) / len(golds)) if golds else float("nan"),
            "model_dir": str(folders[(s, p)]),
        })
    del built
    return pd.DataFrame(rows)


def _achieved(folder: Path) -> float:
    from .sparsify import measure_sparsity, read_sparsity

    record = read_sparsity(folder)
    return float(record["sparsity"]) if "sparsity" in record else measure_sparsity(folder)["sparsity"]


def sweep_chart(frame: pd.DataFrame) -> Any:
    """Speed-up against sparsity per engine, and the answer agreement and F1 beside it (a matplotlib Figure)."""
    from matplotlib.figure import Figure

    if frame.empty:
        raise InputError("The sweep is empty: run sparsity_sweep() first.")
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    speed, quality = fig.subplots(1, 2)
    if "precision" not in frame:
        frame = frame.assign(precision="fp32")
    for n, ((engine, precision), rows) in enumerate(frame.groupby(["engine", "precision"], sort=False)):
        rows = rows.sort_values("sparsity")
        speed.plot(rows["sparsity"] * 100, rows["speedup"], marker="o" if precision == "fp32" else "^",
                   linestyle="-" if precision == "fp32" else "--", label=f"{engine} {precision}")
        for x, y, ms in zip(rows["sparsity"] * 100, rows["speedup"], rows["ms_per_window"]):
            speed.annotate(f"{ms:.0f} ms", (x, y), textcoords="offset points", xytext=(0, 6 if n % 2 == 0 else -12),
                           fontsize=7, ha="center")
    speed.axhline(1.0, color="#999999", linewidth=0.8)
    speed.set_xlabel("sparsity of the weight matrices (%)")
    speed.set_ylabel("speed-up over the dense model")
    speed.set_title("speed (engine time per window)", fontsize=10)
    speed.legend(fontsize=8)
    for precision, first in frame[frame["engine"] == frame["engine"].iloc[0]].groupby("precision", sort=False):
        first = first.sort_values("sparsity")
        style = "-" if precision == "fp32" else "--"
        quality.plot(first["sparsity"] * 100, first["agreement"] * 100, marker="o", linestyle=style, color="#2a9d8f",
                     label=f"same answer as dense, {precision} (%)")
        if first["f1"].notna().any():
            quality.plot(first["sparsity"] * 100, first["f1"], marker="s", linestyle=style, color="#e76f51",
                         label=f"F1 against gold, {precision}")
    quality.set_ylim(0, 105)
    quality.set_xlabel("sparsity of the weight matrices (%)")
    quality.set_title("answers after one-shot pruning (no retraining)", fontsize=10)
    quality.legend(fontsize=8)
    block = int(frame["block"].max())
    fig.suptitle(f"one-shot magnitude pruning, {'unstructured' if block <= 1 else f'blocks of {block}'}: "
                 "SparseZoo's pruned models were retrained and keep their accuracy; these were not", fontsize=9)
    return fig
