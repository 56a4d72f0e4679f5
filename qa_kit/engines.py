"""Engines: run a QA model's ONNX inputs to start and end logits, on DeepSparse or ONNX Runtime.

An engine is compiled once per (model folder, engine, sequence length, batch size, cores) and kept
in a process-wide cache, so asking a second question, or loading the same model again, never
recompiles. DeepSparse gets its own copy of the graph because it rewrites input shapes in place.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from .cache import CLEAR_HINT, build_entry
from .cores import Cores, CoresLike, resolve_cores
from .errors import EngineError, whole_number
from .text import one_line

ENGINES = ("deepsparse", "onnxruntime")
DEFAULT_BATCH = {"deepsparse": 1, "onnxruntime": 8}
builds: Counter = Counter()  # compiles per engine name, so tests and benchmarks can see recompiles
_cache: Dict[tuple, "Engine"] = {}
_lock = threading.Lock()
_stderr_lock = threading.Lock()
log = logging.getLogger("qa_kit.engines")

ONNX_INT_TYPES = {6: np.int32, 7: np.int64}  # onnx.TensorProto.INT32 / INT64


def graph_io(onnx_path: Path) -> Tuple[List[Tuple[str, type]], List[str]]:
    """The model's real inputs (name, numpy dtype) and output names, read from the graph."""
    import onnx

    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except Exception:
        raise EngineError(f"{onnx_path} is not a readable ONNX model (truncated or corrupt?): "
                          f"{CLEAR_HINT}.") from None
    weights = {init.name for init in model.graph.initializer}
    inputs = [
        (i.name, ONNX_INT_TYPES.get(i.type.tensor_type.elem_type, np.int64))
        for i in model.graph.input if i.name not in weights
    ]
    return inputs, [o.name for o in model.graph.output]


class Engine:
    """A compiled model: `run(feeds)` takes (windows, sequence_length) arrays, returns start/end logits."""

    name = "engine"

    def __init__(self, model_dir: Path, sequence_length: int, batch_size: int, cores: Union[Cores, CoresLike]):
        self.model_dir = Path(model_dir)
        self.sequence_length = sequence_length
        self.batch_size = batch_size
        self.cores = cores if isinstance(cores, Cores) else resolve_cores(cores)  # how many, of how many, and why
        self.num_cores = self.cores.count
        self.inputs, outputs = graph_io(self.model_dir / "model.onnx")
        self.input_names = [name for name, _ in self.inputs]
        self._start_end = _start_end_positions(outputs)
        began = time.perf_counter()
        self._build()
        self.compile_seconds = time.perf_counter() - began
        builds[self.name] += 1

    def _build(self) -> None:
        raise NotImplementedError

    def _forward(self, arrays: List[np.ndarray]) -> List[np.ndarray]:
        raise NotImplementedError

    def run(self, feeds: Dict[str, np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
        """Run every window through the model, `batch_size` at a time; return (start, end) logits."""
        missing = [name for name in self.input_names if name not in feeds]
        if missing:
            raise EngineError(f"The model wants inputs {missing} that the tokenizer did not give: is this a QA model?")
        arrays = [np.ascontiguousarray(feeds[name], dtype=dtype) for name, dtype in self.inputs]
        total = arrays[0].shape[0]
        starts, ends = [], []
        for first in range(0, total, self.batch_size):
            chunk = [a[first:first + self.batch_size] for a in arrays]
            try:
                outputs = self._forward(chunk)
            except Exception as error:  # a model whose graph fails at run time, inputs it cannot take
                raise EngineError(f"{self.name} failed running {self.model_dir.name}: {_error_line(error)}; "
                                  "check it is a question-answering model exported for these inputs.") from None
            s, e = (outputs[i][: chunk[0].shape[0]] for i in self._start_end)
            starts.append(s)
            ends.append(e)
        return np.concatenate(starts), np.concatenate(ends)


def _error_line(error: BaseException) -> str:
    """An engine's error on one line, clipped (ONNX Runtime's run through several lines)."""
    return one_line(error, 200) or type(error).__name__


def _start_end_positions(outputs: List[str]) -> Tuple[int, int]:
    """Which outputs hold start and end logits: by name when named so, else the first two."""
    lower = [o.lower() for o in outputs]
    start = next((i for i, o in enumerate(lower) if "start" in o), 0)
    end = next((i for i, o in enumerate(lower) if "end" in o), 1)
    if len(outputs) < 2:
        raise EngineError(f"The model has outputs {outputs}, not start and end logits: give a question-answering model.")
    return start, end


class DeepSparseEngine(Engine):
    """Neural Magic's DeepSparse: static shapes, so a short last batch is padded and trimmed."""

    name = "deepsparse"

    def _build(self) -> None:
        os.environ.setdefault("NM_DISABLE_ANALYTICS", "1")
        from deepsparse import Engine as NativeEngine

        # Given input shapes, DeepSparse rewrites them into the file it compiles, in place and not
        # atomically (another process reading it then sees half a file). So the kit writes a copy
        # with the shapes fixed, whole or not at all, and DeepSparse is given no shapes to write.
        shape = [self.batch_size, self.sequence_length]
        entry = build_entry(self.model_dir / "engines" / f"deepsparse-b{shape[0]}-s{shape[1]}",
                            lambda folder: _write_static_shapes(self.model_dir / "model.onnx", folder / "model.onnx",
                                                                self.input_names, shape))
        try:
            with native_output_aside():
                self._native = NativeEngine(str(entry / "model.onnx"), batch_size=self.batch_size, num_cores=self.num_cores)
        except Exception as error:
            raise EngineError(f"DeepSparse could not compile {self.model_dir.name}: {_error_line(error)}") from None

    def _forward(self, arrays: List[np.ndarray]) -> List[np.ndarray]:
        short = self.batch_size - arrays[0].shape[0]
        if short:  # pad the last batch with copies of its last row; their outputs are dropped
            arrays = [np.concatenate([a, np.repeat(a[-1:], short, axis=0)]) for a in arrays]
        return self._native.run(arrays, val_inp=False)


@contextlib.contextmanager
def native_output_aside() -> Iterator[None]:
    """Keep what native code writes to the process's stderr while compiling out of the user's way.

    DeepSparse's library prints a copyright banner there on its first compile, which a notebook
    shows as an error-coloured box and a terminal before every answer. It is logged at debug
    level instead ("qa_kit.engines"), written back if the compile fails, and left alone with
    QA_KIT_VERBOSE=1. One redirect at a time (a second compile meanwhile goes unredirected).
    """
    if os.environ.get("QA_KIT_VERBOSE") or not _stderr_lock.acquire(blocking=False):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            failed = True
            try:
                yield
                failed = False
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                said = sink.read().decode("utf-8", errors="replace").strip()
                if said:
                    log.debug("native output while compiling: %s", said)
                    if failed:
                        print(said, file=sys.stderr)
    finally:
        _stderr_lock.release()


def _write_static_shapes(source: Path, target: Path, input_names: List[str], shape: List[int]) -> None:
    """Save a copy of an ONNX model whose named inputs have this fixed shape (DeepSparse compiles static shapes)."""
    import onnx

    model = onnx.load(str(source), load_external_data=False)
    names = set(input_names)
    for graph_input in model.graph.input:
        if graph_input.name in names:
            for dim, size in zip(graph_input.type.tensor_type.shape.dim, shape):
                dim.dim_value = size
    onnx.save(model, str(target))


class OnnxRuntimeEngine(Engine):
    """ONNX Runtime on the CPU, with the batch and sequence axes made dynamic in memory."""

    name = "onnxruntime"

    def _build(self) -> None:
        import onnx
        import onnxruntime

        model = onnx.load(str(self.model_dir / "model.onnx"))
        names = set(self.input_names)
        for graph_input in model.graph.input:
            if graph_input.name in names:
                dims = graph_input.type.tensor_type.shape.dim
                dims[0].dim_param, dims[1].dim_param = "batch", "sequence"
        options = onnxruntime.SessionOptions()
        if self.num_cores:
            options.intra_op_num_threads = self.num_cores
        options.log_severity_level = 3
        # Idle ONNX Runtime threads spin on the cores for a while after each run: measured here, a
        # DeepSparse run right after took 52 ms instead of 28 ms, while ORT itself gained nothing.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = onnxruntime.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:
            raise EngineError(f"ONNX Runtime could not load {self.model_dir.name}: {_error_line(error)}") from None

    def _forward(self, arrays: List[np.ndarray]) -> List[np.ndarray]:
        return self._session.run(None, dict(zip(self.input_names, arrays)))


_CLASSES = {"deepsparse": DeepSparseEngine, "onnxruntime": OnnxRuntimeEngine}


def check_engine_name(engine: str) -> str:
    """Return the engine name, or raise an EngineError naming the choices."""
    if engine not in _CLASSES:
        raise EngineError(f"Unknown engine {engine!r}: choose one of {', '.join(ENGINES)}.")
    return engine


def get_engine(
    model_dir: Path,
    engine: str = "deepsparse",
    sequence_length: int = 384,
    batch_size: Optional[int] = None,
    num_cores: Union[CoresLike, Cores] = None,
) -> Engine:
    """A compiled engine for this model folder, built on first use and cached for the process.

    `num_cores`: a whole number, "all", or "auto" (the default, see qa_kit.cores): the cores that
    no other work is using now, or the cores of this model's engine compiled already.
    """
    check_engine_name(engine)
    batch_size = whole_number(batch_size or DEFAULT_BATCH[engine], "batch_size")
    cores = num_cores if isinstance(num_cores, Cores) else resolve_cores(num_cores)
    key = (str(Path(model_dir).resolve()), engine, sequence_length, batch_size, cores.count)
    with _lock:  # two threads asking at once must not compile twice
        if key not in _cache and cores.reason == "auto":
            # "auto" takes a compiled engine of this model on other cores over seconds of compiling
            key = next((k for k in reversed(list(_cache)) if k[:4] == key[:4]), key)
        if key not in _cache:
            _cache[key] = _CLASSES[engine](Path(model_dir), sequence_length, batch_size, cores)
        return _cache[key]


def clear_cache() -> None:
    """Forget every compiled engine (frees their memory once nothing else holds them)."""
    with _lock:
        _cache.clear()
