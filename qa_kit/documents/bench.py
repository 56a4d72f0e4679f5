"""The library measured: passage recall, answer exact match and F1 per retrieval method, index and query speed.

    from qa_kit.documents.bench import library_report
    print(library_report())      # the sample library (data/library) and its questions

A passage counts as found when it is from the question's gold file and holds a gold answer
(white space and case aside). These are measurements printed for a person to read, not tests.
"""
from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..errors import InputError
from ..metrics import exact_match, f1
from ..paths import DATA_DIR
from .retrieve import METHODS

SAMPLE_LIBRARY = DATA_DIR / "library"
SAMPLE_QUESTIONS = DATA_DIR / "library_questions.json"


def load_questions(path: Path = SAMPLE_QUESTIONS) -> List[dict]:
    """A library question set: dicts with question, answers (gold spans) and file (the gold file's name)."""
    try:
        questions = json.loads(Path(path).read_text(encoding="utf-8"))["questions"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"{path} is not a library question set ({type(error).__name__}): give a JSON file "
                         'with {"questions": [{"question", "answers", "file"}]}.') from None
    return questions


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


def holds_answer(row: dict, question: dict) -> bool:
    """True when a retrieved passage is from the gold file and holds one of the gold answers."""
    return Path(row["file"]).name == question["file"] and any(_squash(a) in _squash(row["text"]) for a in question["answers"])


@dataclass
class LibraryReport:
    """Figures per method (recall@1, recall@5, EM, F1) plus index and query speed."""

    methods: Dict[str, Dict[str, float]]
    files: int
    megabytes: float
    index_seconds: float
    latency: Dict[str, float] = field(default_factory=dict)  # seconds, warm: retrieve and whole ask, median
    scale: Dict[str, float] = field(default_factory=dict)  # the same at `scale_files` files
    cores: str = ""
    questions: int = 0

    def frame(self) -> Any:
        """The per-method figures as a DataFrame (percentages)."""
        import pandas as pd

        return pd.DataFrame(self.methods).T

    def __str__(self) -> str:
        lines = [f"library: {self.files} files, {self.megabytes:.3f} MB, {self.questions} questions; {self.cores}",
                 f"{'method':<8} {'recall@1':>9} {'recall@5':>9} {'EM':>6} {'F1':>6}"]
        for method, row in self.methods.items():
            lines.append(f"{method:<8} {row['recall@1']:>8.1f}% {row['recall@5']:>8.1f}% {row['EM']:>6.1f} {row['F1']:>6.1f}")
        lines.append(f"index: {self.index_seconds:.1f} s, {self.index_seconds / max(self.megabytes, 1e-9):.0f} s per MB "
                     "(first run, encoder compile included)")
        if self.scale:
            mb = self.scale["megabytes"]
            lines.append(f"index at {int(self.scale['files'])} files: {self.scale['index_seconds']:.1f} s for {mb:.3f} MB, "
                         f"{self.scale['index_seconds'] / max(mb, 1e-9):.0f} s per MB (engines warm)")
        for name, figures in (("query", self.latency), (f"query at {int(self.scale.get('files', 0))} files", self.scale)):
            if figures:
                lines.append(f"{name}: retrieve {figures['retrieve'] * 1000:.0f} ms, ask {figures['ask'] * 1000:.0f} ms "
                             "(median, warm)")
        return "\n".join(lines)


def _timed_asks(lib: Any, questions: List[dict], repeats: int = 1) -> Dict[str, float]:
    retrieve, ask = [], []
    for _ in range(repeats):
        for q in questions:
            result = lib.ask(q["question"])
            retrieve.append(result.timings["retrieve"])
            ask.append(result.timings["total"])
    return {"retrieve": statistics.median(retrieve), "ask": statistics.median(ask)}


def library_report(folder: Path = SAMPLE_LIBRARY, questions: Path = SAMPLE_QUESTIONS, *, reader: Any = None,
                   passages: int = 3, scale_files: Optional[int] = 100, progress: bool = True) -> LibraryReport:
    """Index `folder` afresh (in a temporary file), ask every question with each retrieval method, time it all.

    With `scale_files`, the folder's files are also copied (under new names) into a temporary
    folder of that many files, indexed, and timed asking again: the latency of a bigger library.
    """
    from ..library import Library

    asked = load_questions(questions)
    with tempfile.TemporaryDirectory(prefix="qa-kit-library-") as scratch:
        lib = Library(folder, Path(scratch) / "index.sqlite", reader=reader)
        began = time.perf_counter()
        report = lib.index(progress=progress)
        index_seconds = time.perf_counter() - began
        methods: Dict[str, Dict[str, float]] = {}
        for method in METHODS:
            r1 = r5 = em = f = 0.0
            for q in asked:
                found = lib.search(q["question"], max(5, passages), method)
                r1 += any(holds_answer(row, q) for row in found[:1])
                r5 += any(holds_answer(row, q) for row in found[:5])
                answer = lib.ask(q["question"], top_k=1, passages=passages, method=method).best
                text = answer.text if answer is not None else ""
                em += exact_match(text, q["answers"])
                f += f1(text, q["answers"])
            n = len(asked)
            methods[method] = {"recall@1": 100 * r1 / n, "recall@5": 100 * r5 / n, "EM": 100 * em / n, "F1": 100 * f / n}
        latency = _timed_asks(lib, asked[:20])
        files = len(lib.files())
        megabytes = report.bytes / 1e6
        scale: Dict[str, float] = {}
        if scale_files:
            scale = _scaled(Path(folder), Path(scratch), scale_files, lib, asked[:20], progress)
        cores = f"{lib.reader.cores}" if hasattr(lib.reader, "cores") else ""
        lib.store.close()
    return LibraryReport(methods, files, megabytes, index_seconds, latency, scale, cores, len(asked))


def _scaled(folder: Path, scratch: Path, count: int, small: Any, questions: List[dict], progress: bool) -> Dict[str, float]:
    from ..library import Library
    from .parse import find_files

    originals, _ = find_files(folder)
    big = scratch / "scaled"
    big.mkdir()
    for i in range(count):
        source = originals[i % len(originals)]
        shutil.copyfile(source, big / f"{i // len(originals)}-{source.name}")
    lib = Library(big, scratch / "scaled.sqlite", reader=small.reader, encoder=small.encoder)
    report = lib.index(progress=progress)
    figures = _timed_asks(lib, questions)
    figures.update(files=float(len(lib.files())), index_seconds=report.seconds, megabytes=report.bytes / 1e6)
    lib.store.close()
    return figures
