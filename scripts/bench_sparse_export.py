"""Does a pruned PyTorch checkpoint stay fast through `qa-kit export`? Dense and pruned, side by side.

demo-minilm's weights are read back into a PyTorch model, copied once pruned by magnitude (the
encoder's Linear layers, single weights), both checkpoints exported with the kit's exporter, and
DeepSparse times one window of each, interleaved, on the same cores. Prints medians and the ratio:

    .venv/bin/python scripts/bench_sparse_export.py [--sparsity 0.8] [--repeats 30] [--cores 1]

Needs the export extra (torch). Timing belongs here, printed, not in a test: the test suite checks
only that the zeros survive the export (tests/test_hub.py).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NM_DISABLE_ANALYTICS", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))


def pruned_copy(model, sparsity: float):
    """The model with the smallest `sparsity` share of each encoder Linear's weights set to zero."""
    import copy

    import torch

    pruned = copy.deepcopy(model)
    with torch.no_grad():
        for name, module in pruned.named_modules():
            if "encoder.layer" in name and isinstance(module, torch.nn.Linear):
                weight = module.weight
                cut = weight.abs().flatten().kthvalue(max(1, int(sparsity * weight.numel()))).values
                weight.mul_((weight.abs() > cut).to(weight.dtype))
    return pruned


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparsity", type=float, default=0.8)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--cores", type=int, default=1)
    args = parser.parse_args(argv)

    import qa_kit
    from qa_kit.export import export_checkpoint
    from qa_kit.sparsify import measure_sparsity
    from train_sparse_twin import dense_from_onnx
    from transformers import AutoTokenizer

    demo = REPO / "data" / "models" / "demo-minilm"
    question = "Who founded Corrow Valley Bank?"
    context = (REPO / "data" / "texts" / "bank_run.txt").read_text(encoding="utf-8")[:600]
    with tempfile.TemporaryDirectory() as tmp:
        dense = dense_from_onnx(demo)
        readers = {}
        for label, model in (("dense", dense), (f"pruned {args.sparsity:.0%}", pruned_copy(dense, args.sparsity))):
            checkpoint, onnx_dir = Path(tmp) / f"{label}-pt", Path(tmp) / f"{label}-onnx"
            model.save_pretrained(str(checkpoint))
            AutoTokenizer.from_pretrained(str(demo)).save_pretrained(str(checkpoint))
            onnx_dir.mkdir()
            export_checkpoint(checkpoint, onnx_dir)
            readers[label] = qa_kit.load(str(onnx_dir), engine="deepsparse", num_cores=args.cores,
                                         sequence_length=160, doc_stride=80)
            print(f"{label}: exported, weight sparsity {measure_sparsity(onnx_dir)['sparsity']:.1%}")
        times = {label: [] for label in readers}
        feeds = {label: first_window(r, question, context) for label, r in readers.items()}
        for _ in range(3):  # warm up
            for reader in readers.values():
                reader.ask(question, context)
        for _ in range(args.repeats):  # interleaved, so both see the same machine
            for label, reader in readers.items():
                began = time.perf_counter()
                reader.engine.run(feeds[label])
                times[label].append((time.perf_counter() - began) * 1000)
        medians = {label: statistics.median(t) for label, t in times.items()}
        dense_ms, (sparse_label, sparse_ms) = medians["dense"], list(medians.items())[1]
        print(f"DeepSparse, {args.cores} core(s), one 160-token window, median of {args.repeats}:")
        print(f"  dense            {dense_ms:7.1f} ms")
        print(f"  {sparse_label:<16} {sparse_ms:7.1f} ms")
        print(f"  dense / pruned   {dense_ms / sparse_ms:7.2f}x")
    return 0


def first_window(reader, question: str, context: str):
    """The engine's inputs for the first window of this question, made once, outside the timing."""
    from qa_kit.reading import encode

    features = encode(reader.tokenizer, question, context, reader.sequence_length, reader.doc_stride).features
    return {name: array[:1] for name, array in features.items()}


if __name__ == "__main__":
    raise SystemExit(main())
