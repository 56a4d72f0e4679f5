"""Count the floating-point work of an ONNX model: its matrix products, at a given batch and sequence length.

A transformer spends nearly all its arithmetic in MatMul and Gemm nodes, so their shapes give a
fair FLOP count (2 per multiply-add; biases, softmax and layer norms are left out). Shapes come
from ONNX shape inference at the asked input shape; where that cannot see through a graph
(BERT exports slice position ids with data-dependent bounds), one ONNX Runtime run on dummy
inputs reports the missing shapes. Products of two activations (attention scores and the
weighted sum of values) are counted apart from products with a weight matrix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from .errors import EngineError

MATMUL_OPS = ("MatMul", "Gemm", "MatMulInteger", "QLinearMatMul")
_B_INPUT = {"MatMul": 1, "Gemm": 1, "MatMulInteger": 1, "QLinearMatMul": 3}  # which input is the right operand


@dataclass(frozen=True)
class Product:
    """One matrix-product node: its name, kind, the (m, n, k) of one product and how many it does."""

    name: str
    op: str
    m: int
    n: int
    k: int
    count: int  # stacked products (batch x heads for attention)
    weight: bool  # True when one operand is a constant weight matrix

    @property
    def flops(self) -> int:
        return 2 * self.m * self.n * self.k * self.count


@dataclass
class FlopCount:
    """Matrix-product FLOPs of a model at one input shape, split into weight and attention products."""

    batch: int
    sequence_length: int
    products: List[Product] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(p.flops for p in self.products)

    @property
    def weights(self) -> int:
        """FLOPs in products with a weight matrix (the dense layers; what pruning can cut)."""
        return sum(p.flops for p in self.products if p.weight)

    @property
    def attention(self) -> int:
        """FLOPs in products of two activations (query x key, scores x values)."""
        return sum(p.flops for p in self.products if not p.weight)

    @property
    def gflops(self) -> float:
        return self.total / 1e9

    def per_window(self) -> float:
        """GFLOP for one window (one sequence) of the model."""
        return self.gflops / max(self.batch, 1)

    def to_dict(self) -> dict:
        return {
            "batch": self.batch, "sequence_length": self.sequence_length, "total": self.total,
            "weights": self.weights, "attention": self.attention, "products": len(self.products),
        }

    def __str__(self) -> str:
        return (f"{self.gflops:.3f} GFLOP at batch {self.batch}, sequence {self.sequence_length}: "
                f"{self.weights / 1e9:.3f} in weight products, {self.attention / 1e9:.3f} in attention "
                f"({len(self.products)} matrix products)")


def _load(model: Union[str, Path, "object"]):
    import onnx

    if isinstance(model, (str, Path)):
        path = Path(model)
        if path.is_dir():
            path = path / "model.onnx"
        if not path.is_file():
            raise EngineError(f"No ONNX model at {path}: give a model folder or its model.onnx.")
        return onnx.load(str(path))
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return copy


def _fix_inputs(model, batch: int, sequence_length: int) -> None:
    """Give every real input a static shape: unknown first axis = batch, unknown second = sequence."""
    weights = {init.name for init in model.graph.initializer}
    for graph_input in model.graph.input:
        if graph_input.name in weights:
            continue
        for axis, dim in enumerate(graph_input.type.tensor_type.shape.dim):
            if not dim.HasField("dim_value") or dim.dim_value <= 0:
                dim.Clear()
                dim.dim_value = batch if axis == 0 else sequence_length


def _known_shapes(model) -> Dict[str, List[int]]:
    """Static shapes ONNX shape inference can find (partial shapes are left out)."""
    from onnx import shape_inference

    del model.graph.value_info[:]  # stale entries from the exporter would block inference
    try:
        inferred = shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # a graph onnx cannot infer is left to the run below
        inferred = model
    shapes: Dict[str, List[int]] = {init.name: list(init.dims) for init in model.graph.initializer}
    for info in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        tensor = info.type.tensor_type
        if not tensor.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        if all(d > 0 for d in dims) or dims == []:
            shapes.setdefault(info.name, dims)
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    shapes[node.output[0]] = list(attr.t.dims)
    return shapes


def _run_for_shapes(model, names: Sequence[str], batch: int, sequence_length: int) -> Dict[str, List[int]]:
    """Run the graph once on dummy inputs with the named tensors exposed, and read their shapes."""
    import onnx
    import onnxruntime

    from .engines import ONNX_INT_TYPES

    weights = {init.name for init in model.graph.initializer}
    existing = {o.name for o in model.graph.output}
    for name in names:
        if name not in existing:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    feeds = {}
    for graph_input in model.graph.input:
        if graph_input.name in weights:
            continue
        tensor = graph_input.type.tensor_type
        shape = [d.dim_value for d in tensor.shape.dim]
        dtype = ONNX_INT_TYPES.get(tensor.elem_type, np.float32)
        feeds[graph_input.name] = np.ones(shape, dtype=dtype) if dtype is not np.float32 else np.zeros(shape, np.float32)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep node outputs
    try:
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        outputs = session.run(list(names), feeds)
    except Exception as error:
        raise EngineError(f"Could not find the shapes of the model's matrix products: {error}".strip()) from error
    return {name: list(value.shape) for name, value in zip(names, outputs)}


def _constants(model) -> set:
    """Names of tensors that do not depend on the inputs (weights, and nodes computed only from them)."""
    constant = {init.name for init in model.graph.initializer}
    for node in model.graph.node:  # nodes are stored in topological order
        if node.op_type == "Constant" or (node.input and all(i in constant or i == "" for i in node.input)):
            constant.update(node.output)
    return constant


def _product(node, shapes: Dict[str, List[int]], constant: set) -> Optional[Product]:
    a_name, b_name = node.input[0], node.input[_B_INPUT[node.op_type]]
    a, b = shapes.get(a_name), shapes.get(b_name)
    if a is None or b is None:
        return None
    if node.op_type == "Gemm":
        attrs = {attr.name: attr.i for attr in node.attribute if attr.name in ("transA", "transB")}
        m, k = (a[1], a[0]) if attrs.get("transA") else (a[0], a[1])
        n = b[0] if attrs.get("transB") else b[1]
        count = 1
    else:
        if len(a) < 1 or len(b) < 1:
            return None
        k = a[-1]
        m = a[-2] if len(a) >= 2 else 1
        n = b[-1] if len(b) >= 2 else 1
        stacked = np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2])) if len(a) > 2 or len(b) > 2 else ()
        count = int(math.prod(stacked))
    weight = a_name in constant or b_name in constant
    return Product(name=node.name or node.output[0], op=node.op_type, m=int(m), n=int(n), k=int(k), count=count, weight=weight)


def count_flops(model: Union[str, Path, "object"], batch: int = 1, sequence_length: int = 384) -> FlopCount:
    """FLOPs of every MatMul/Gemm in an ONNX model (a path, folder or ModelProto) at this input shape."""
    if batch < 1 or sequence_length < 1:
        raise ValueError(f"batch={batch} and sequence_length={sequence_length} must both be 1 or more.")
    proto = _load(model)
    _fix_inputs(proto, batch, sequence_length)
    shapes = _known_shapes(proto)
    nodes = [n for n in proto.graph.node if n.op_type in MATMUL_OPS]
    missing = sorted({name for n in nodes for name in (n.input[0], n.input[_B_INPUT[n.op_type]]) if name not in shapes})
    if missing:
        shapes.update(_run_for_shapes(proto, missing, batch, sequence_length))
    constant = _constants(proto)
    products = [p for p in (_product(n, shapes, constant) for n in nodes) if p is not None]
    return FlopCount(batch=batch, sequence_length=sequence_length, products=products)


# ---------------------------------------------------------------------------------------------
# the machine: what it is and how fast it multiplies dense matrices


def cpu_info() -> dict:
    """The CPU the numbers were measured on: model, ISA (avx2/avx512), cores, VNNI, from /proc/cpuinfo and DeepSparse."""
    import os
    import platform

    info: dict = {"model": platform.processor() or platform.machine(), "isa": "unknown", "vnni": None,
                  "cores": None, "threads": os.cpu_count(), "available_cores": None}
    try:
        info["available_cores"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        info["available_cores"] = os.cpu_count()
    flags: set = set()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and info["model"] in ("", platform.machine(), platform.processor()):
            info["model"] = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    if flags:
        info["isa"] = "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "avx" if "avx" in flags else "sse"
        info["vnni"] = bool({"avx512_vnni", "avx_vnni", "avx512vnni"} & flags)
    try:
        os.environ.setdefault("NM_DISABLE_ANALYTICS", "1")
        from deepsparse.cpu import cpu_architecture

        arch = cpu_architecture()
        info["cores"] = int(arch.num_cores)
        info["deepsparse_isa"] = str(arch.isa)
        info["deepsparse_vnni"] = bool(arch.vnni)
        if info["vnni"] is None:
            info["vnni"] = bool(arch.vnni)
        if info["isa"] == "unknown":
            info["isa"] = str(arch.isa)
    except Exception:  # deepsparse missing or not on x86: /proc/cpuinfo is enough
        info["cores"] = info["available_cores"]
    try:
        info["load_average"] = round(os.getloadavg()[0], 2)  # other work on the machine skews timings
    except (AttributeError, OSError):
        info["load_average"] = None
    return info


def dense_roof(size: int = 2048, repeats: int = 3) -> float:
    """The machine's dense float32 GFLOP/s: the best of a few numpy (BLAS) products of size x size matrices."""
    import time

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b  # warm up: threads started, pages touched
    best = float("inf")
    for _ in range(max(repeats, 1)):
        began = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - began)
    return 2 * size ** 3 / best / 1e9
