"""Static int8 quantization of an ONNX QA graph, in the format DeepSparse 1.8 accelerates.

Each MatMul with a constant weight becomes QuantizeLinear -> QLinearMatMul -> DequantizeLinear:
activations are uint8 with a scale and zero point calibrated on real windows (their minimum and
maximum), weights are int8, symmetric, one scale per matrix, so a pruned zero stays an exact
zero. The word-embedding table is stored as int8 too (Gather on int8, then DequantizeLinear),
which takes the file from about 88 MB to about 23 MB for demo-minilm. Everything else (layer
norms, softmax, GELU, biases) stays fp32.

Why this format: DeepSparse 1.8 runs QLinearMatMul graphs with its int8 kernels; the same model
with QuantizeLinear/DequantizeLinear pairs around a float MatMul (QDQ) ran at fp32 speed, and
MatMulInteger graphs (dynamic quantization) aborted its compiler (../shared/notes/deepsparse-qa.md).
The functions here are pure (graph in, graph out) but for `observe_ranges`, which runs ONNX
Runtime over the calibration windows.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

INT8_VERSION = 1  # recorded beside a quantized model, so copies made by an older rule are made again
MIN_SIDE = 16  # narrower weights (the QA head: hidden x 2) stay fp32, as in pruning
QUANTIZE_EMBEDDINGS_FROM = 4096  # Gather tables with at least this many rows (the vocabulary) become int8
_FLOAT = 1  # onnx.TensorProto.FLOAT


def weight_matmuls(model, skip: Tuple[str, ...] = ()) -> List[Tuple[int, object, str]]:
    """The MatMul nodes whose right operand is a 2-D float initializer (the dense layers): index, node, weight.

    Nodes whose name contains one of `skip` are left out (they stay fp32).
    """
    initializers = {init.name: init for init in model.graph.initializer}
    found = []
    for index, node in enumerate(model.graph.node):
        if node.op_type != "MatMul" or len(node.input) != 2:
            continue
        init = initializers.get(node.input[1])
        if any(part in node.name for part in skip):
            continue
        if init is not None and len(init.dims) == 2 and init.data_type == _FLOAT and min(init.dims) >= MIN_SIDE:
            found.append((index, node, init.name))
    return found


def tensors_to_observe(model) -> List[str]:
    """The activations whose ranges calibration must measure: each dense layer's input and output."""
    names: List[str] = []
    for _, node, _ in weight_matmuls(model):
        for name in (node.input[0], node.output[0]):
            if name not in names:
                names.append(name)
    return names


def observe_ranges(model, feeds: Iterable[Dict[str, np.ndarray]], percentile: float = 100.0) -> Dict[str, Tuple[float, float]]:
    """The range each activation in `tensors_to_observe` took over the windows.

    With `percentile` below 100, each window contributes its `100 - percentile` and `percentile`
    percentiles instead of its extremes, so a few outliers do not stretch the scale.
    Runs ONNX Runtime on a copy of the graph that also outputs those tensors.
    """
    import onnx
    import onnxruntime as ort

    names = tensors_to_observe(model)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {out.name for out in probe.graph.output}
    for name in names:
        if name not in have:
            probe.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every tensor
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    ranges: Dict[str, Tuple[float, float]] = {}
    for feed in feeds:
        values = session.run(names, {k: v for k, v in feed.items() if k in wanted})
        for name, value in zip(names, values):
            if percentile >= 100.0:
                low, high = float(value.min()), float(value.max())
            else:
                low, high = (float(x) for x in np.percentile(value, [100.0 - percentile, percentile]))
            old = ranges.get(name)
            ranges[name] = (low, high) if old is None else (min(old[0], low), max(old[1], high))
    return ranges


def activation_scale(low: float, high: float) -> Tuple[float, int]:
    """Scale and uint8 zero point mapping [low, high] (widened to hold 0) onto 0..255."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / 255.0 or 1.0
    return scale, int(np.clip(round(-low / scale), 0, 255))


def weight_to_int8(weight: np.ndarray) -> Tuple[np.ndarray, float]:
    """A float matrix as int8 in -127..127 with one symmetric scale; zeros stay zeros."""
    peak = float(np.abs(weight).max())
    scale = peak / 127.0 if peak > 0 else 1.0
    return np.clip(np.rint(weight / scale), -127, 127).astype(np.int8), scale


def quantize_graph(model, ranges: Dict[str, Tuple[float, float]], embeddings: bool = True, skip: Tuple[str, ...] = ()):
    """A new graph with every dense layer as QLinearMatMul (and the vocabulary table as int8).

    `ranges` comes from `observe_ranges`. The opset imports are left as they are (the default
    domain only) and the IR version too, as DeepSparse 1.8 refuses newer ones.
    """
    import onnx
    from onnx import helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    initializers = {init.name: init for init in graph.initializer}
    missing = [name for _, node, _ in weight_matmuls(out, skip) for name in (node.input[0], node.output[0])
               if name not in ranges]
    if missing:
        raise ValueError(f"no calibrated range for {len(missing)} tensors, e.g. {missing[0]}")
    new_inits: List[object] = []
    drop: set = set()
    quantized_inputs: Dict[str, Tuple[str, str, str]] = {}  # float tensor -> (uint8 tensor, scale, zero point)

    def constant(name: str, value: np.ndarray) -> str:
        new_inits.append(numpy_helper.from_array(value, name))
        return name

    def int8_table(name: str, values: np.ndarray) -> Tuple[str, str, str]:
        """A float weight as int8 constants: the table, its scale and its zero point (0); the float one is dropped."""
        table, scale = weight_to_int8(values)
        drop.add(name)
        return (constant(f"{name}_quantized", table), constant(f"{name}_scale", np.array(scale, dtype=np.float32)),
                constant(f"{name}_zero_point", np.array(0, dtype=np.int8)))

    def scale_point(name: str) -> Tuple[str, str]:
        scale, zero = activation_scale(*ranges[name])
        return (constant(f"{name}_scale", np.array(scale, dtype=np.float32)),
                constant(f"{name}_zero_point", np.array(zero, dtype=np.uint8)))

    replacements: Dict[int, List[object]] = {}  # node index -> the nodes that take its place
    for index, node, weight_name in weight_matmuls(out, skip):
        x, y = node.input[0], node.output[0]
        before = []
        if x not in quantized_inputs:
            xs, xz = scale_point(x)
            quantized_inputs[x] = (f"{x}_quantized", xs, xz)
            before.append(helper.make_node("QuantizeLinear", [x, xs, xz], [f"{x}_quantized"], name=f"{x}_QuantizeLinear"))
        xq, xs, xz = quantized_inputs[x]
        wq, ws, wz = int8_table(weight_name, numpy_helper.to_array(initializers[weight_name]))
        ys, yz = scale_point(y)
        replacements[index] = before + [
            helper.make_node("QLinearMatMul", [xq, xs, xz, wq, ws, wz, ys, yz], [f"{y}_quantized"], name=f"{node.name}_quant"),
            helper.make_node("DequantizeLinear", [f"{y}_quantized", ys, yz], [y], name=f"{y}_DequantizeLinear"),
        ]
    if embeddings:
        for index, node in enumerate(graph.node):
            init = initializers.get(node.input[0]) if node.op_type == "Gather" else None
            if init is None or init.data_type != _FLOAT or len(init.dims) != 2 or init.dims[0] < QUANTIZE_EMBEDDINGS_FROM:
                continue
            tq, ts, tz = int8_table(init.name, numpy_helper.to_array(init))
            rows = node.output[0]
            replacements[index] = [
                helper.make_node("Gather", [tq, node.input[1]], [f"{rows}_quantized"], name=f"{node.name}_quant",
                                 **{a.name: helper.get_attribute_value(a) for a in node.attribute}),
                helper.make_node("DequantizeLinear", [f"{rows}_quantized", ts, tz], [rows], name=f"{rows}_DequantizeLinear"),
            ]
    nodes = []
    for index, node in enumerate(graph.node):
        nodes.extend(replacements.get(index, [node]))
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [init for init in graph.initializer if init.name not in drop]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    return out


def int8_share(model) -> Optional[Dict[str, float]]:
    """How many int8 weights a quantized graph holds and what fraction of the dense layers' are zero."""
    from onnx import numpy_helper

    layer_weights = {node.input[3] for node in model.graph.node if node.op_type == "QLinearMatMul"}
    if not layer_weights:
        return None
    zeros = total = 0
    all_int8 = 0
    for init in model.graph.initializer:
        if init.data_type == 3:  # INT8
            size = int(np.prod(init.dims))
            all_int8 += size
            if init.name in layer_weights:
                values = numpy_helper.to_array(init)
                zeros += int((values == 0).sum())
                total += values.size
    return {"int8_weights": all_int8, "layer_weights": total, "layer_zeros": zeros / total if total else 0.0}
