"""The benchmark's fresh process: load a model with an empty cache, ask once, then ask warm.

Run as `python -m qa_kit.bench_child ARGS_JSON` by `qa_kit.bench.measure_compile`; it prints one
line, `QA_KIT_BENCH {...}`, with seconds for the imports (transformers and the engine; qa_kit's
own package is imported before this module runs), the load, the first question and each warm one.
"""
from __future__ import annotations

import importlib
import json
import sys
import time
from typing import List


def main(argv: List[str]) -> None:
    """Measure one model on one engine as the JSON in argv[0] says, and print the result line."""
    args = json.loads(argv[0])
    began = time.perf_counter()
    for name in ("qa_kit", "transformers", "numpy", "deepsparse" if args["engine"] == "deepsparse" else "onnxruntime"):
        importlib.import_module(name)
    import qa_kit
    imported = time.perf_counter()
    reader = qa_kit.load(args["model"], engine=args["engine"], sequence_length=args["sequence_length"],
                         doc_stride=args["doc_stride"], num_cores=args["num_cores"])
    loaded = time.perf_counter()
    reader.ask(args["questions"][0], args["contexts"][0])
    first = time.perf_counter()
    warm = []
    for q, c in zip(args["questions"][1:], args["contexts"][1:]):
        t = time.perf_counter()
        reader.ask(q, c)
        warm.append(time.perf_counter() - t)
    print("QA_KIT_BENCH " + json.dumps({"import": imported - began, "load": loaded - imported,
                                        "first_ask": first - loaded, "warm": warm,
                                        "compile": reader.engine.compile_seconds}))


if __name__ == "__main__":
    main(sys.argv[1:])
