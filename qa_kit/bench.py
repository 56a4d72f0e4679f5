"""Benchmark: where a question's time goes, and how the kit compares, measured in one interleaved run.

`run()` loads a model on each engine and, on a long article and on one-window paragraphs of it,
times every variant question by question in rotating order (so drifting machine load hits all
variants alike), after a warm-up, and keeps medians:

- stage times (tokenize, engine, decode) and end to end, per question;
- DeepSparse against ONNX Runtime on the same model;
- the kit against `deepsparse.Pipeline` on a throwaway copy of the same model, with whether the
  two give the identical top answer;
- load and first question in a fresh process (so the engine really compiles) against a warm one;
- fast reading (BM25-picked windows) against reading every window, and how often they agree;
- the engine's achieved GFLOP/s (FLOPs counted from the graph) against a numpy float32 roof;
- the CPU it ran on.

Time ratios are (sum over questions of each question's median time) of A over the same for B,
over the questions both were timed on. Targets are shown beside the numbers, never asserted.
`sparsity_sweep()` charts speed against one-shot pruning sparsity on both engines.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from .errors import InputError
from .results import Answers

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_CONTEXT = DATA_DIR / "texts" / "bank_run.txt"
DEFAULT_QUESTIONS = DATA_DIR / "questions" / "bank_run.json"
FORMAT_VERSION = 1

# measure key -> (comparison, target value, what it means)
TARGETS: Dict[str, Tuple[str, float, str]] = {
    "kit_over_pipeline_one_window": ("<=", 1.05, "at most 5% over deepsparse.Pipeline, identical answers"),
    "kit_over_pipeline_long_document": ("<=", 1.05, "at most 5% over deepsparse.Pipeline, identical answers"),
    "first_over_second_ask": (">=", 50.0, "a warm question at least 50x cheaper than the first"),
    "full_over_fast_long_document": (">=", 3.0, "fast reading at least 3x faster than reading every window"),
    "fast_agreement": (">=", 0.90, "fast reading gives the same top answer on at least 90% of questions"),
}
RATIO_KEYS = (
    "kit_over_pipeline_one_window", "kit_over_pipeline_long_document", "deepsparse_over_onnxruntime",
    "deepsparse_over_onnxruntime_long_document", "first_over_second_ask", "full_over_fast_long_document",
)
STAGES = ("tokenize", "engine", "decode")
CURVE_SIZES = (1, 2, 4, 6, 8, 12, 16)  # fast-reading sizes (max_windows) the agreement curve is worked out for
SETTLE_SECONDS = 0.05  # pause (not timed) when consecutive calls switch engine


# ---------------------------------------------------------------------------------------------
# arithmetic on timings (pure, tested on fake numbers)


def medians(times: Dict[str, Sequence[float]]) -> Dict[str, float]:
    """Each question's median time over its repeats."""
    return {q: float(statistics.median(ts)) for q, ts in times.items() if len(ts)}


def time_ratio(numerator: Dict[str, Sequence[float]], denominator: Dict[str, Sequence[float]]) -> float:
    """Sum of per-question medians of A over that of B, on the questions both were timed on (nan if none)."""
    a, b = medians(numerator), medians(denominator)
    shared = sorted(set(a) & set(b))
    bottom = sum(b[q] for q in shared)
    if not shared or bottom <= 0:
        return float("nan")
    return sum(a[q] for q in shared) / bottom


def agreement(answers: Dict[str, Any], reference: Dict[str, Any]) -> float:
    """Fraction of shared questions whose top answers are equal (nan if no question is shared)."""
    shared = [q for q in answers if q in reference]
    if not shared:
        return float("nan")
    return sum(answers[q] == reference[q] for q in shared) / len(shared)


def target_met(key: str, value: Optional[float]) -> Optional[bool]:
    """Whether a measure meets its target; None when it has no target or was not measured."""
    if key not in TARGETS or value is None or not math.isfinite(value):
        return None
    op, goal, _ = TARGETS[key]
    return value <= goal if op == "<=" else value >= goal


# ---------------------------------------------------------------------------------------------
# inputs: the question set, the long context, and a one-window paragraph per question


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answer_start: int = -1  # where a gold answer starts in the long context, if known
    golds: Tuple[str, ...] = ()


def _load_questions(questions: Any, context: str) -> List[Question]:
    from .evaluate import Example, load_squad

    if questions is None:
        questions = DEFAULT_QUESTIONS
    if isinstance(questions, (str, os.PathLike)) and Path(questions).is_file():
        questions = load_squad(questions)
    elif isinstance(questions, dict):
        questions = load_squad(questions)
    if isinstance(questions, str):
        questions = [questions]
    out: List[Question] = []
    for i, q in enumerate(questions):
        if isinstance(q, Example):
            start = q.answer_starts[0] if q.answer_starts and q.context == context else -1
            out.append(Question(q.id, q.question, start, tuple(q.answers)))
        elif isinstance(q, str) and q.strip():
            out.append(Question(f"q{i + 1:02d}", q))
        else:
            raise InputError(f"Question {i} is a {type(q).__name__}: give question strings, a SQuAD file or Examples.")
    if not out:
        raise InputError("The question set is empty: give at least one question.")
    return out


def paragraphs(text: str, longest: int = 900) -> List[Tuple[int, int]]:
    """(start, end) of the text's paragraphs (blank-line separated), long ones cut at sentence ends."""
    import re

    spans: List[Tuple[int, int]] = []
    for match in re.finditer(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*$)", text, flags=re.S):
        start, end = match.span()
        while end - start > longest:
            cut = text.rfind(". ", start, start + longest)
            cut = cut + 1 if cut > start else start + longest
            spans.append((start, cut))
            start = cut
            while start < end and text[start].isspace():
                start += 1
        if end > start:
            spans.append((start, end))
    return spans


def one_window_context(reader, question: Question, context: str) -> str:
    """The paragraph holding the gold answer (else the one BM25 likes best), cut to fit one window."""
    from .ranking import pick_windows
    from .reading import encode

    spans = paragraphs(context) or [(0, len(context))]
    holding = [s for s in spans if s[0] <= question.answer_start < s[1]]
    if holding:
        start, end = holding[0]
    else:
        start, end = spans[pick_windows(question.text, [context[a:b] for a, b in spans], 1)[0]]
    # keep the gold answer inside while trimming a paragraph too long for one window
    keep_from = question.answer_start if holding else start
    keep_to = keep_from + max([len(g) for g in question.golds] + [1]) if holding else start + 1
    while end - start > 40 and encode(reader.tokenizer, question.text, context[start:end],
                                      reader.sequence_length, reader.doc_stride).n_windows > 1:
        step = max((end - start) // 8, 1)
        if keep_from - start > end - keep_to:  # trim the side with more text beyond the answer
            space = context.find(" ", start + step, keep_from)
            start = space + 1 if space > 0 else min(start + step, keep_from)
        else:
            space = context.rfind(" ", keep_to, end - step)
            end = space if space > 0 else max(end - step, keep_to)
    return context[start:end]


# ---------------------------------------------------------------------------------------------
# measuring


def _best_span(answers) -> Optional[Tuple[int, int]]:
    best = answers.best if hasattr(answers, "best") else None
    return (best.start, best.end) if best is not None else None


def _time_kit(reader, question: str, context: str, **options) -> dict:
    began = time.perf_counter()
    answers = reader.ask(question, context, **options)
    seconds = time.perf_counter() - began
    best = answers.best
    return {
        "seconds": seconds, **{f"{s}_s": answers.timings.get(s, float("nan")) for s in STAGES},
        "windows": len(answers.windows), "windows_read": sum(1 for w in answers.windows if w.read),
        "span": _best_span(answers), "answer": best.text if best else None, "answers": answers,
    }


def _time_pipeline(pipeline, question: str, context: str) -> dict:
    began = time.perf_counter()
    try:
        output = pipeline(question=question, context=context)
        span, text = (int(output.start), int(output.end)), output.answer
    except IndexError:  # DeepSparse's pipeline raises this when no span qualifies
        span, text = None, None
    seconds = time.perf_counter() - began
    try:
        times = dict(pipeline.timer_manager.latest.times)
    except Exception:
        times = {}
    return {
        "seconds": seconds, "tokenize_s": times.get("pre_process", float("nan")),
        "engine_s": times.get("engine_forward", float("nan")), "decode_s": times.get("post_process", float("nan")),
        "windows": None, "windows_read": None, "span": span, "answer": text,
    }


def _make_pipeline(model_dir: Path, workdir: Path, sequence_length: int, doc_stride: int, num_cores: Optional[int] = None):
    """DeepSparse's own QA pipeline on a throwaway copy of the model (it rewrites model.onnx in place)."""
    from .sources import TOKENIZER_FILES

    os.environ.setdefault("NM_DISABLE_ANALYTICS", "1")
    from deepsparse import Pipeline

    folder = workdir / "pipeline-model"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "config.json") + tuple(TOKENIZER_FILES):
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, folder / name)
    return Pipeline.create(task="question-answering", model_path=str(folder),
                           sequence_length=sequence_length, doc_stride=doc_stride, num_cores=num_cores)


_COMPILE_SCRIPT = r"""
import json, os, sys, time
args = json.loads(sys.argv[1])
began = time.perf_counter()
import qa_kit, transformers, numpy
if args["engine"] == "deepsparse":
    import deepsparse
else:
    import onnxruntime
imported = time.perf_counter()
reader = qa_kit.load(args["model"], engine=args["engine"], sequence_length=args["sequence_length"], doc_stride=args["doc_stride"], num_cores=args["num_cores"])
loaded = time.perf_counter()
reader.ask(args["questions"][0], args["contexts"][0])
first = time.perf_counter()
warm = []
for q, c in zip(args["questions"][1:], args["contexts"][1:]):
    t = time.perf_counter(); reader.ask(q, c); warm.append(time.perf_counter() - t)
print("QA_KIT_BENCH " + json.dumps({"import": imported - began, "load": loaded - imported,
      "first_ask": first - loaded, "warm": warm, "compile": reader.engine.compile_seconds}))
"""


def measure_compile(model: str, engine: str, questions: Sequence[str], contexts: Sequence[str],
                    sequence_length: int = 384, doc_stride: int = 128, timeout: float = 600,
                    num_cores: Optional[int] = None) -> dict:
    """Load + first question in a fresh process with an empty cache (a real compile), then warm questions.

    Imports are timed apart and not counted: `first` is load (copy, tokenizer, compile) plus the
    first question; `second` is the question after it.
    """
    if len(questions) < 2:
        raise InputError("measure_compile needs at least two questions: the first and a warm one.")
    args = {"model": model, "engine": engine, "questions": list(questions), "contexts": list(contexts),
            "sequence_length": sequence_length, "doc_stride": doc_stride, "num_cores": num_cores}
    with tempfile.TemporaryDirectory(prefix="qa-kit-bench-cache-") as cache:
        env = dict(os.environ, QA_KIT_CACHE=cache, NM_DISABLE_ANALYTICS="1", TOKENIZERS_PARALLELISM="false")
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        done = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT, json.dumps(args)], env=env,
                              capture_output=True, text=True, timeout=timeout)
    lines = [l for l in done.stdout.splitlines() if l.startswith("QA_KIT_BENCH ")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InputError(f"The fresh-process compile check for {model} on {engine} failed: {tail[0]}")
    result = json.loads(lines[-1][len("QA_KIT_BENCH "):])
    result["first"] = result["load"] + result["first_ask"]
    result["second"] = result["warm"][0]
    result["warm_median"] = float(statistics.median(result["warm"]))
    return result


class _Progress:
    def __init__(self, total: int, enabled: bool, label: str):
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=label, unit="run")

    def step(self, what: str = "") -> None:
        if self.bar is not None:
            if what:
                self.bar.set_postfix_str(what, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _rotate(items: List[Any], by: int) -> List[Any]:
    by %= max(len(items), 1)
    return items[by:] + items[:by]


def _bench_model(model: str, context: str, questions: List[Question], engines: Sequence[str], *, repeats: int,
                 warmup: int, max_windows: int, sequence_length: Optional[int], doc_stride: Optional[int], long_questions: int,
                 long_repeats: int, compile_check: bool, progress: bool,
                 num_cores: Optional[int] = None) -> Tuple[dict, List[dict]]:
    from . import load
    from .flops import count_flops

    notes: List[str] = []
    readers, load_seconds = {}, {}
    for engine in engines:
        began = time.perf_counter()
        readers[engine] = load(model, engine=engine, sequence_length=sequence_length, doc_stride=doc_stride,
                               num_cores=num_cores)
        load_seconds[engine] = time.perf_counter() - began
    first = readers[engines[0]]
    sequence_length, doc_stride = first.sequence_length, first.doc_stride  # the model's own when not given
    short = {q.id: one_window_context(first, q, context) for q in questions}
    timed_long = questions[: max(long_questions, 0)]
    records: List[dict] = []
    full_reads: List[Tuple[Answers, Sequence[str]]] = []  # every question's full read of the long article
    with tempfile.TemporaryDirectory(prefix="qa-kit-bench-") as work:
        pipeline = None
        if "deepsparse" in engines:
            began = time.perf_counter()
            pipeline = _make_pipeline(readers["deepsparse"].model_dir, Path(work), sequence_length, doc_stride, num_cores)
            load_seconds["pipeline"] = time.perf_counter() - began

        # one-window variants: the kit on every engine, and DeepSparse's pipeline
        variants: List[Tuple[str, str]] = [("kit", e) for e in engines]
        if pipeline is not None:
            variants.append(("pipeline", "deepsparse"))
        long_variants = [("full", engines[0]), ("fast", engines[0])]
        long_timed = [("pipeline", "deepsparse")] if pipeline is not None else []
        long_timed += [("full", e) for e in engines[1:]]
        steps = (warmup + repeats) * len(questions) * len(variants) + len(questions) * len(long_variants) * long_repeats \
            + len(timed_long) * len(long_timed) * long_repeats
        bar = _Progress(steps + (len(engines) if compile_check else 0) + 1, progress, f"bench {model}")

        last_engine = [None]

        def call(kind: str, engine: str, q: Question, text: str) -> dict:
            # ONNX Runtime's idle threads spin for a while after a run and slow a DeepSparse run
            # started at once (and the other way round): let them settle when the engine changes.
            if last_engine[0] not in (None, engine):
                time.sleep(SETTLE_SECONDS)
            last_engine[0] = engine
            if kind == "pipeline":
                return _time_pipeline(pipeline, q.text, text)
            fast = kind == "fast"
            return _time_kit(readers[engine], q.text, text, fast=fast, max_windows=max_windows)

        try:
            for r in range(warmup + repeats):
                for i, q in enumerate(questions):
                    for kind, engine in _rotate(variants, r + i):
                        result = call(kind, engine, q, short[q.id])
                        result.pop("answers", None)
                        bar.step(f"one window {kind} {engine}")
                        if r >= warmup:
                            records.append({"model": model, "setting": "one_window", "variant": kind, "engine": engine,
                                            "question": q.id, "repeat": r - warmup, **result, "f1": _f1(result, q)})
            # the long article: fast and full reading on every question (agreement), the pipeline
            # and the other engines on the first `long_questions` (they cost a full read each)
            timed_ids = {q.id for q in timed_long}
            for r in range(long_repeats):
                for i, q in enumerate(questions):
                    runs = list(long_variants) + (long_timed if q.id in timed_ids else [])
                    for kind, engine in _rotate(runs, r + i):
                        result = call(kind, engine, q, context)
                        answers = result.pop("answers", None)
                        if (kind, engine, r) == ("full", engines[0], 0):
                            full_reads.append((answers, q.golds))
                        bar.step(f"long {kind} {engine}")
                        records.append({"model": model, "setting": "long_document", "variant": kind, "engine": engine,
                                        "question": q.id, "repeat": r, **result, "f1": _f1(result, q)})
        finally:
            pipeline = None  # frees DeepSparse's compiled copy before the compile check runs
        cores = {}
        if "deepsparse" in engines and num_cores is None and _available_cores() > 1:
            cores = _compare_cores(readers["deepsparse"], first.tokenizer, questions[0].text, short[questions[0].id],
                                   sequence_length, doc_stride, repeats + warmup)
            bar.step("DeepSparse on 1 core")
        compiles = {}
        if compile_check:
            qs = [q.text for q in questions[:3]] if len(questions) > 1 else [questions[0].text] * 2
            cs = [short[q.id] for q in questions[:3]] if len(questions) > 1 else [short[questions[0].id]] * 2
            for engine in engines:
                try:
                    compiles[engine] = measure_compile(model, engine, qs, cs, sequence_length, doc_stride,
                                                       num_cores=num_cores)
                except (InputError, subprocess.TimeoutExpired) as error:
                    notes.append(str(error))
                bar.step(f"compile {engine}")
        bar.close()

    flops = count_flops(first.model_dir, batch=1, sequence_length=sequence_length)
    block = _summarise(model, records, engines, compiles, flops, load_seconds, notes)
    if cores:
        block["cores"] = cores
        block["ratios"]["deepsparse_one_core_over_all_cores"] = cores["one_core"] / cores["all_cores"]
    block["random_weights"] = bool(getattr(first, "random_weights", False))
    block["window"] = [sequence_length, doc_stride]
    block["fast_curve"] = fast_reading_curve(first, full_reads, sizes=sorted(set(CURVE_SIZES) | {max_windows}))
    return block, records


def fast_reading_curve(reader, full_reads: Sequence[Tuple[Answers, Sequence[str]]],
                       sizes: Sequence[int] = CURVE_SIZES) -> List[dict]:
    """Fast reading at each size (max_windows), worked out from full reads: agreement, F1, windows read.

    The engine reads every window on its own, so decoding a full read's logits of the windows that
    fast reading would pick gives exactly what ask(fast=True, max_windows=k) gives, with no engine
    run. `full_reads` holds (full-read Answers, gold answers) pairs.
    """
    from .evaluate import f1
    from .ranking import pick_windows
    from .reading import decode, encode

    prepared = []  # per question: the full read, its golds, window texts and token offsets (tokenized once)
    for full, golds in full_reads:
        texts = [full.context[w.char_start:w.char_end] for w in full.windows]
        offsets = encode(reader.tokenizer, full.question, full.context, reader.sequence_length, reader.doc_stride).offsets
        prepared.append((full, golds, texts, offsets))
    rows = []
    for size in sizes:
        agreed, scores, shares = 0, [], []
        for full, golds, texts, offsets in prepared:
            read = pick_windows(full.question, texts, size)
            found = decode(full.context, np.stack([full.windows[i].start_logits for i in read]),
                           np.stack([full.windows[i].end_logits for i in read]), offsets[read],
                           n_best_size=reader.n_best_size, max_answer_length=reader.max_answer_length)
            agreed += ((found[0].start, found[0].end) if found else None) == _best_span(full)
            shares.append(len(read) / len(texts))
            if golds:
                scores.append(100.0 * f1(found[0].text if found else "", list(golds)))
        rows.append({"max_windows": size, "agreement": agreed / len(prepared) if prepared else float("nan"),
                     "share_read": float(np.mean(shares)) if shares else float("nan"),
                     "f1": float(np.mean(scores)) if scores else float("nan")})
    return rows


def _f1(result: dict, question: Question) -> Optional[float]:
    """SQuAD F1 (0-100) of a run's top answer against the gold answers, when the question has them."""
    from .evaluate import f1

    return 100.0 * f1(result["answer"] or "", list(question.golds)) if question.golds else None


def _mean_f1(records: List[dict], setting: str, variant: str, engine: str) -> float:
    """Mean F1 over questions (each question's first run), nan when no gold answers are known."""
    firsts: Dict[str, float] = {}
    for r in records:
        if (r["setting"], r["variant"], r["engine"]) == (setting, variant, engine) and r.get("f1") is not None:
            firsts.setdefault(r["question"], float(r["f1"]))
    return sum(firsts.values()) / len(firsts) if firsts else float("nan")


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _compare_cores(reader, tokenizer, question: str, context: str, sequence_length: int, doc_stride: int,
                   rounds: int) -> dict:
    """Engine time for one window on DeepSparse with one core against all cores, alternating runs.

    On a small machine that other work keeps busy, DeepSparse's threads wait on each other
    whenever one loses its core, and one core can beat two; this shows it on the user's machine.
    """
    from .engines import DeepSparseEngine
    from .reading import encode

    feeds = encode(tokenizer, question, context, sequence_length, doc_stride).features
    single = DeepSparseEngine(reader.model_dir, sequence_length, reader.engine.batch_size, 1)  # outside the kit's cache
    times: Dict[str, List[float]] = {"one_core": [], "all_cores": []}
    for r in range(max(rounds, 2) + 1):
        for name, engine in _rotate([("one_core", single), ("all_cores", reader.engine)], r):
            began = time.perf_counter()
            engine.run(feeds)
            if r:  # the first round warms up
                times[name].append(time.perf_counter() - began)
    return {name: float(statistics.median(ts)) for name, ts in times.items()}


def _times(records: List[dict], setting: str, variant: str, engine: str, key: str = "seconds") -> Dict[str, List[float]]:
    out: Dict[str, List[float]] = {}
    for r in records:
        if r["setting"] == setting and r["variant"] == variant and r["engine"] == engine:
            value = r.get(key)
            if value is not None and math.isfinite(value):
                out.setdefault(r["question"], []).append(value)
    return out


def _spans(records: List[dict], setting: str, variant: str, engine: str) -> Dict[str, Any]:
    """First recorded top span per question (tuples, so JSON lists compare after a reload)."""
    out: Dict[str, Any] = {}
    for r in records:
        if r["setting"] == setting and r["variant"] == variant and r["engine"] == engine and r["question"] not in out:
            out[r["question"]] = tuple(r["span"]) if r["span"] is not None else None
    return out


def _pairs_identical(records: List[dict], setting: str, variant: str, engine: str) -> Tuple[int, int]:
    """How many (question, repeat) runs of the kit gave the pipeline's exact top span, and how many were compared."""
    kit = {(r["question"], r["repeat"]): r["span"] for r in records
           if r["setting"] == setting and r["variant"] == variant and r["engine"] == engine}
    pipe = {(r["question"], r["repeat"]): r["span"] for r in records
            if r["setting"] == setting and r["variant"] == "pipeline"}
    shared = [k for k in kit if k in pipe]
    same = sum((tuple(kit[k]) if kit[k] is not None else None) == (tuple(pipe[k]) if pipe[k] is not None else None)
               for k in shared)
    return same, len(shared)


def _median_of(times: Dict[str, Sequence[float]]) -> float:
    values = list(medians(times).values())
    return float(statistics.median(values)) if values else float("nan")


def _summarise(model: str, records: List[dict], engines: Sequence[str], compiles: dict, flops,
               load_seconds: dict, notes: List[str]) -> dict:
    """Ratios, agreement, identical answers and GFLOP/s for one model, from its records."""
    main = engines[0]
    ratios: Dict[str, float] = {k: float("nan") for k in RATIO_KEYS}
    identical = {}
    if "deepsparse" in engines:
        for setting in ("one_window", "long_document"):
            variant = "kit" if setting == "one_window" else "full"
            ratios[f"kit_over_pipeline_{setting}"] = time_ratio(
                _times(records, setting, variant, "deepsparse"), _times(records, setting, "pipeline", "deepsparse"))
            same, compared = _pairs_identical(records, setting, variant, "deepsparse")
            identical[setting] = {"same": same, "compared": compared}
        if "onnxruntime" in engines:
            ratios["deepsparse_over_onnxruntime"] = time_ratio(
                _times(records, "one_window", "kit", "deepsparse"), _times(records, "one_window", "kit", "onnxruntime"))
            ratios["deepsparse_over_onnxruntime_long_document"] = time_ratio(
                _times(records, "long_document", "full", "deepsparse"), _times(records, "long_document", "full", "onnxruntime"))
    ratios["full_over_fast_long_document"] = time_ratio(
        _times(records, "long_document", "full", main), _times(records, "long_document", "fast", main))
    fast_spans = _spans(records, "long_document", "fast", main)
    full_spans = _spans(records, "long_document", "full", main)
    fast_agreement = agreement(fast_spans, full_spans)
    if main in compiles:
        c = compiles[main]
        ratios["first_over_second_ask"] = c["first"] / c["second"] if c["second"] > 0 else float("nan")
    gflops = {}
    per_window = flops.per_window()
    for engine in engines:
        engine_s = _times(records, "long_document", "full", engine, "engine_s")
        read = _times(records, "long_document", "full", engine, "windows_read")
        per = {q: [e / max(w, 1) for e, w in zip(engine_s[q], read.get(q, []))] for q in engine_s}
        seconds = _median_of(per)
        gflops[engine] = {"seconds_per_window": seconds, "gflops": per_window / seconds if seconds > 0 else float("nan")}
    return {
        "model": model, "engines": list(engines), "ratios": ratios, "fast_agreement": fast_agreement,
        "fast_agreed": sum(fast_spans[q] == full_spans.get(q) for q in fast_spans if q in full_spans),
        "fast_compared": sum(1 for q in fast_spans if q in full_spans),
        "f1": {"full": _mean_f1(records, "long_document", "full", main), "fast": _mean_f1(records, "long_document", "fast", main),
               "one_window": _mean_f1(records, "one_window", "kit", main)},
        "identical": identical, "compile": compiles, "load_seconds": load_seconds,
        "flops": {**flops.to_dict(), "gflop_per_window": per_window}, "gflops": gflops, "notes": notes,
    }


# ---------------------------------------------------------------------------------------------
# the report


def _finite(x: Any) -> Optional[float]:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def _ms(x: Optional[float]) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x * 1000:.1f} ms" if x < 10 else f"{x:.1f} s"


@dataclass(eq=False)
class BenchReport:
    """What `bench.run` measured: per-model summaries, every timed call, the CPU and the machine's roof."""

    models: List[dict]
    records: pd.DataFrame
    cpu: dict = field(default_factory=dict)
    roof_gflops: float = float("nan")
    settings: dict = field(default_factory=dict)
    created: str = ""

    @property
    def ratios(self) -> Dict[str, float]:
        """The first model's time ratios (see the module docstring for how they are taken)."""
        return dict(self.models[0]["ratios"]) if self.models else {}

    @property
    def fast_agreement(self) -> float:
        return float(self.models[0]["fast_agreement"]) if self.models else float("nan")

    # -- tables --------------------------------------------------------------------------------
    @property
    def stages(self) -> pd.DataFrame:
        """Median stage and end-to-end times (ms) per model, setting, variant and engine."""
        if self.records.empty:
            return pd.DataFrame()
        frame = self.records.copy()
        columns = ["tokenize_s", "engine_s", "decode_s", "seconds"]
        frame["windows_read"] = pd.to_numeric(frame["windows_read"], errors="coerce")
        per_question = frame.groupby(["model", "setting", "variant", "engine", "question"], sort=False)[
            columns + ["windows_read"]].median()
        table = per_question.groupby(level=[0, 1, 2, 3], sort=False).median()
        table[columns] *= 1000
        table = table.rename(columns={"tokenize_s": "tokenize ms", "engine_s": "engine ms", "decode_s": "decode ms",
                                      "seconds": "total ms", "windows_read": "windows read"})
        table["questions"] = per_question.groupby(level=[0, 1, 2, 3], sort=False).size()
        table = table.reset_index()
        order = {"kit": 0, "full": 1, "fast": 2, "pipeline": 3}
        table["_order"] = [(order.get(v, 9), e) for v, e in zip(table["variant"], table["engine"])]
        table = table.sort_values(["model", "setting", "_order"], key=lambda c: c if c.name != "setting" else c.map(
            {"one_window": 0, "long_document": 1}), kind="stable")
        return table.drop(columns="_order").reset_index(drop=True)

    @property
    def table(self) -> pd.DataFrame:
        """One row per measure and model: value, unit, target and whether it is met, with the numbers behind it."""
        rows = []
        for block in self.models:
            rows.extend(_rows_for(block, self.records, self.roof_gflops))
        return pd.DataFrame(rows, columns=["model", "measure", "value", "unit", "target", "met", "detail"])

    @property
    def fast_curve(self) -> pd.DataFrame:
        """Fast reading at each size on the long article, from the full reads: agreement, F1, share of windows read."""
        rows = [{"model": b["model"], **row} for b in self.models for row in b.get("fast_curve", [])]
        return pd.DataFrame(rows, columns=["model", "max_windows", "share_read", "agreement", "f1"]).astype(
            {"share_read": float, "agreement": float, "f1": float})

    # -- saving --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready: `ratios` and `fast_agreement` of the first model, then everything measured."""
        def clean(x: Any) -> Any:
            if isinstance(x, float):
                return x if math.isfinite(x) else None
            if isinstance(x, dict):
                return {str(k): clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            if hasattr(x, "item"):  # numpy scalars
                return clean(x.item())
            return x

        targets = {k: {"op": op, "value": goal, "means": means,
                       "met": target_met(k, self.fast_agreement if k == "fast_agreement" else self.ratios.get(k))}
                   for k, (op, goal, means) in TARGETS.items()}
        return clean({
            "format": FORMAT_VERSION, "created": self.created, "cpu": self.cpu, "roof_gflops": self.roof_gflops,
            "settings": self.settings, "ratios": self.ratios, "fast_agreement": self.fast_agreement,
            "targets": targets, "models": self.models, "records": self.records.to_dict(orient="records"),
        })

    def save(self, path: Union[str, Path]) -> Path:
        """Write the report as JSON (reload it with `BenchReport.load`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict) -> "BenchReport":
        def restore(x: Any) -> Any:
            if x is None:
                return float("nan")
            if isinstance(x, dict):
                return {k: restore(v) for k, v in x.items()}
            return x

        models = []
        for block in data.get("models", []):
            block = dict(block)
            block["ratios"] = {k: (float("nan") if v is None else v) for k, v in block.get("ratios", {}).items()}
            if block.get("fast_agreement") is None:
                block["fast_agreement"] = float("nan")
            block["gflops"] = restore(block.get("gflops", {}))
            block["f1"] = restore(block.get("f1", {}))
            models.append(block)
        records = pd.DataFrame(data.get("records", []))
        if "span" in records:
            records["span"] = [tuple(s) if isinstance(s, list) else s for s in records["span"]]
        for column in ("tokenize_s", "engine_s", "decode_s", "seconds"):
            if column in records:
                records[column] = records[column].astype(float)
        roof = data.get("roof_gflops")
        return cls(models=models, records=records, cpu=data.get("cpu", {}),
                   roof_gflops=float("nan") if roof is None else float(roof),
                   settings=data.get("settings", {}), created=data.get("created", ""))

    @classmethod
    def load(cls, path: Union[str, Path]) -> "BenchReport":
        """Read a report saved with `save`."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"No benchmark report at {path}: give a file written by BenchReport.save().")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise InputError(f"{path} is not a benchmark report (bad JSON: {error.msg}); give a file written by BenchReport.save().") from None
        return cls.from_dict(data)

    # -- showing -------------------------------------------------------------------------------
    def cpu_line(self) -> str:
        c = self.cpu
        vnni = {True: "VNNI", False: "no VNNI"}.get(c.get("vnni"), "VNNI unknown")
        return f"CPU: {c.get('model', '?')}, {c.get('isa', '?')}, {vnni}, {c.get('cores', '?')} cores ({c.get('available_cores', '?')} available)"

    def busy_note(self) -> Optional[str]:
        """A warning when other work kept the machine busy while measuring (timings are then inflated and noisy)."""
        loads = [x for x in (self.settings.get("load_average_before"), self.cpu.get("load_average")) if x is not None]
        cores = self.cpu.get("available_cores") or self.cpu.get("cores")
        if loads and cores and max(loads) > cores * 0.75 + 0.5:
            return (f"the machine was busy while measuring (load average up to {max(loads):.1f} on {cores} cores): "
                    "times are inflated and noisy; run again on an idle machine for figures to quote")
        return None

    def __str__(self) -> str:
        lines = [self.cpu_line(), f"dense float32 roof (numpy matmul): {self.roof_gflops:.0f} GFLOP/s", ""]
        if self.busy_note():
            lines.insert(1, f"warning: {self.busy_note()}")
        table = self.table.copy()
        table["value"] = [_fmt(v, u) for v, u in zip(table["value"], table["unit"])]
        table["met"] = [{True: "yes", False: "NO"}.get(m, "") for m in table["met"]]
        lines.append(table.drop(columns=["unit"]).to_string(index=False, max_colwidth=70))
        stages = self.stages
        if not stages.empty:
            lines += ["", "median per question (ms):", stages.to_string(index=False, float_format=lambda x: f"{x:.1f}")]
        curve = self.fast_curve
        if not curve.empty:
            lines += ["", _CURVE_TITLE + ":", curve.to_string(index=False, float_format=lambda x: f"{x:.2f}")]
        for block in self.models:
            if block.get("random_weights"):
                lines.append(f"note: {block['model']} has random weights: its answers mean nothing, only the timings count")
            lines += [f"note: {n}" for n in block.get("notes", [])]
        lines.append(_settings_line(self.settings))
        return "\n".join(lines)

    def __repr__(self) -> str:
        names = ", ".join(b["model"] for b in self.models)
        return f"BenchReport(models=[{names}], records={len(self.records)}, created={self.created!r})"

    def _repr_html_(self) -> str:
        table = self.table.copy()
        table["value"] = [_fmt(v, u) for v, u in zip(table["value"], table["unit"])]
        table["met"] = [{True: "yes", False: "NO"}.get(m, "") for m in table["met"]]
        parts = [f"<p><b>{html.escape(self.cpu_line())}</b>; dense float32 roof {self.roof_gflops:.0f} GFLOP/s</p>"]
        if self.busy_note():
            parts.append(f"<p><i>warning: {html.escape(self.busy_note())}</i></p>")
        parts.append(table.drop(columns=["unit"]).to_html(index=False, escape=True))
        stages = self.stages
        if not stages.empty:
            parts += ["<p>median per question (ms)</p>",
                      stages.to_html(index=False, escape=True, float_format=lambda x: f"{x:.1f}")]
        curve = self.fast_curve
        if not curve.empty:
            parts += [f"<p>{html.escape(_CURVE_TITLE)}</p>",
                      curve.to_html(index=False, escape=True, float_format=lambda x: f"{x:.2f}")]
        parts.append(f"<p><i>{html.escape(_settings_line(self.settings))}</i></p>")
        return "\n".join(parts)

    def chart(self, model: Optional[str] = None):
        """Stage times on one window and on the long article, GFLOP/s against the roof, and fast reading by size
        (a matplotlib Figure that shows itself in a notebook)."""
        return _bench_figure(self, model)


_CURVE_TITLE = ("fast reading by size on the long article, worked out from the full reads (share of windows read, "
                "agreement with full reading, F1 against gold)")
_STAGE_COLOURS = {"tokenize": "#e9c46a", "engine": "#2a9d8f", "decode": "#e76f51"}


def _bench_figure(report: BenchReport, model: Optional[str] = None):
    from .charts import Chart

    if not report.models:
        raise InputError("The report holds no model: run the benchmark first.")
    block = next((b for b in report.models if b["model"] == model), None) if model else report.models[0]
    if block is None:
        raise InputError(f"The report has no model {model!r}: choose one of {[b['model'] for b in report.models]}.")
    stages = report.stages
    stages = stages[stages["model"] == block["model"]] if not stages.empty else stages
    curve = report.fast_curve
    curve = curve[curve["model"] == block["model"]]
    fig = Chart(figsize=(17 if len(curve) else 13, 4.2), layout="constrained")
    axes = fig.subplots(1, 4 if len(curve) else 3, width_ratios=[1, 1.2, 0.8, 1][: 4 if len(curve) else 3])
    for ax, setting, title in ((axes[0], "one_window", "one window (ms per question)"),
                               (axes[1], "long_document", "long article (ms per question)")):
        rows = stages[stages["setting"] == setting] if not stages.empty else stages
        labels = [f"{r.variant} {r.engine}" for r in rows.itertuples()]
        left = [0.0] * len(labels)
        for stage, colour in _STAGE_COLOURS.items():
            values = [0.0 if not math.isfinite(v) else v for v in rows[f"{stage} ms"]] if len(rows) else []
            ax.barh(labels, values, left=left, color=colour, label=stage)
            left = [a + b for a, b in zip(left, values)]
        for y, (total, shown) in enumerate(zip(rows["total ms"] if len(rows) else [], left)):
            ax.text(max(total, shown), y, f" {total:.0f}", va="center", fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("ms")
        ax.margins(x=0.15)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    gflops = block.get("gflops", {})
    names = list(gflops)
    values = [g.get("gflops") if g.get("gflops") is not None and math.isfinite(g.get("gflops")) else 0.0 for g in gflops.values()]
    axes[2].bar(names, values, color="#264653")
    if math.isfinite(report.roof_gflops):
        axes[2].axhline(report.roof_gflops, color="#555555", linestyle="--", linewidth=1)
        axes[2].text(-0.4, report.roof_gflops, f" numpy roof {report.roof_gflops:.0f}", va="bottom", fontsize=8)
        axes[2].set_ylim(0, max([report.roof_gflops] + values) * 1.2)
    axes[2].set_title("achieved GFLOP/s (engine stage)", fontsize=10)
    if len(curve):
        ax = axes[3]
        sizes = [str(k) for k in curve["max_windows"]]
        ax.plot(sizes, curve["agreement"] * 100, marker="o", color="#2a9d8f", label="same answer as full reading")
        ax.plot(sizes, curve["f1"], marker="s", color="#e76f51", label="F1 against gold")
        ax.plot(sizes, curve["share_read"] * 100, marker=".", linestyle=":", color="#555555", label="windows read")
        ax.set_ylim(0, 105)
        ax.set_xlabel("fast reading: windows read (max_windows)")
        ax.set_ylabel("%")
        ax.set_title("fast reading by size, long article", fontsize=10)
        ax.legend(fontsize=7, loc="center right")
    r = block["ratios"]
    fig.suptitle(f"{block['model']}: kit/pipeline {_fmt(r.get('kit_over_pipeline_one_window'), 'x')} (one window), "
                 f"{_fmt(r.get('kit_over_pipeline_long_document'), 'x')} (long); fast reading "
                 f"{_fmt(r.get('full_over_fast_long_document'), 'x')} faster, agreement {_fmt(block.get('fast_agreement'), 'fraction')}"
                 .replace("$", r"\$"), fontsize=10)
    return fig


def _fmt(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if unit == "x":
        return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"
    if unit == "fraction":
        return f"{value:.0%}"
    return f"{value:.1f} {unit}"


def _settings_line(s: dict) -> str:
    if not s:
        return ""
    return (f"settings: sequence_length {s.get('sequence_length')}, doc_stride {s.get('doc_stride')}, "
            f"{s.get('num_cores') or 'all'} cores per engine, "
            f"{s.get('questions')} questions x {s.get('repeats')} repeats (+{s.get('warmup')} warm-up) on one window; "
            f"long article ({s.get('context_chars')} chars): fast/full on every question, pipeline and other engines on "
            f"{s.get('long_questions')} x {s.get('long_repeats')}; fast reading reads {s.get('max_windows')} windows")


def _rows_for(block: dict, records: pd.DataFrame, roof: float) -> List[dict]:
    model, r = block["model"], block["ratios"]
    recs = records[records["model"] == model].to_dict(orient="records") if not records.empty else []
    rows: List[dict] = []

    def median_ms(setting: str, variant: str, engine: str, key: str = "seconds") -> Optional[float]:
        return _finite(_median_of(_times(recs, setting, variant, engine, key)))

    def add(measure: str, key: str, value: Any, unit: str, detail: str) -> None:
        target = TARGETS.get(key)
        rows.append({"model": model, "measure": measure, "value": _finite(value), "unit": unit,
                     "target": f"{target[0]} {target[1]:g}" if target else "",
                     "met": target_met(key, _finite(value)), "detail": detail})

    for setting, label, variant in (("one_window", "one window", "kit"), ("long_document", "long article", "full")):
        same = block.get("identical", {}).get(setting)
        if same is None:
            continue
        key = f"kit_over_pipeline_{setting}"
        detail = (f"kit {_ms(median_ms(setting, variant, 'deepsparse'))}, pipeline {_ms(median_ms(setting, 'pipeline', 'deepsparse'))} "
                  f"per question; identical answers {same['same']}/{same['compared']}")
        add(f"kit / deepsparse.Pipeline, {label}", key, r.get(key), "x", detail)
        if same["same"] != same["compared"] and rows[-1]["met"]:
            rows[-1]["met"] = False  # the target asks for identical answers too
    if math.isfinite(r.get("deepsparse_over_onnxruntime", float("nan"))):
        add("DeepSparse / ONNX Runtime, one window", "deepsparse_over_onnxruntime", r["deepsparse_over_onnxruntime"], "x",
            f"{_ms(median_ms('one_window', 'kit', 'deepsparse'))} vs {_ms(median_ms('one_window', 'kit', 'onnxruntime'))} per question")
    if math.isfinite(r.get("deepsparse_over_onnxruntime_long_document", float("nan"))):
        add("DeepSparse / ONNX Runtime, long article", "deepsparse_over_onnxruntime_long_document",
            r["deepsparse_over_onnxruntime_long_document"], "x",
            f"{_ms(median_ms('long_document', 'full', 'deepsparse'))} vs {_ms(median_ms('long_document', 'full', 'onnxruntime'))} per question")
    cores = block.get("cores")
    if cores:
        add("DeepSparse 1 core / all cores, one window", "deepsparse_one_core_over_all_cores",
            r.get("deepsparse_one_core_over_all_cores"), "x",
            f"engine {_ms(cores['one_core'])} on 1 core vs {_ms(cores['all_cores'])} on all; below 1: load(..., num_cores=1) is faster here")
    engines = block.get("engines", [])
    main = engines[0] if engines else "deepsparse"
    compile_info = block.get("compile", {}).get(main)
    if compile_info:
        add(f"first / second question ({main})", "first_over_second_ask", r.get("first_over_second_ask"), "x",
            f"load + first {_ms(compile_info['first'])} (engine compile {_ms(compile_info.get('compile'))}) in a fresh "
            f"process, second {_ms(compile_info['second'])}")
    add(f"full / fast reading, long article ({main})", "full_over_fast_long_document", r.get("full_over_fast_long_document"), "x",
        f"full {_ms(median_ms('long_document', 'full', main))} ({_fmt_n(median_ms('long_document', 'full', main, 'windows_read'))} windows), "
        f"fast {_ms(median_ms('long_document', 'fast', main))} ({_fmt_n(median_ms('long_document', 'fast', main, 'windows_read'))} windows)")
    add("fast reading: same top answer", "fast_agreement", block.get("fast_agreement"), "fraction",
        f"{block.get('fast_agreed', 0)}/{block.get('fast_compared', 0)} questions")
    f1s = {k: _finite(v) for k, v in block.get("f1", {}).items()}
    if f1s.get("full") is not None and f1s.get("fast") is not None:
        add("F1 against gold, long article: fast - full", "", f1s["fast"] - f1s["full"], "points",
            f"fast {f1s['fast']:.1f}, full {f1s['full']:.1f}"
            + (f", one window {f1s['one_window']:.1f}" if f1s.get("one_window") is not None else "")
            + " (agreement counts both-wrong pairs as disagreements too)")
    flops = block.get("flops", {})
    for engine, g in block.get("gflops", {}).items():
        value = _finite(g.get("gflops"))
        share = f", {value / roof:.0%} of the roof" if value and roof and math.isfinite(roof) else ""
        add(f"engine GFLOP/s ({engine})", "", value, "GFLOP/s",
            f"{flops.get('gflop_per_window', float('nan')):.2f} GFLOP per window "
            f"({flops.get('weights', 0) / 1e9:.2f} weights, {flops.get('attention', 0) / 1e9:.2f} attention) "
            f"in {_ms(g.get('seconds_per_window'))}{share}")
    return rows


def _fmt_n(x: Optional[float]) -> str:
    return "?" if x is None else f"{x:g}"


# ---------------------------------------------------------------------------------------------
# the entry points


def _read_context(context: Union[None, str, Path]) -> Tuple[str, str]:
    if context is None:
        return DEFAULT_CONTEXT.read_text(encoding="utf-8"), DEFAULT_CONTEXT.name
    if isinstance(context, Path):
        if not context.is_file():
            raise InputError(f"Context file {context} does not exist: give a text file.")
        return context.read_text(encoding="utf-8"), context.name
    if not isinstance(context, str) or not context.strip():
        raise InputError("The context is empty: give the text to read (or leave it out for the sample article).")
    return context, "given text"


def run(
    models: Union[None, str, Sequence[str]] = None,
    *,
    context: Union[None, str, Path] = None,
    questions: Any = None,
    engines: Sequence[str] = ("deepsparse", "onnxruntime"),
    repeats: int = 3,
    warmup: int = 1,
    max_windows: int = 4,
    sequence_length: Optional[int] = None,
    doc_stride: Optional[int] = None,
    long_questions: int = 4,
    long_repeats: int = 1,
    max_questions: Optional[int] = None,
    compile_check: bool = True,
    num_cores: Optional[int] = None,
    progress: bool = True,
) -> BenchReport:
    """Benchmark models on a long text and its question set: stages, engines, pipeline, compile, fast reading, GFLOP/s.

    Defaults: the sample bank-run article and its 20 SQuAD questions. One-window timings take
    `repeats` runs of every question after `warmup`; the long article is read fully and fast on
    every question once (`long_repeats`), and by the pipeline and the other engines on the first
    `long_questions` only, since each such read costs a full pass over ~18 windows.
    `num_cores` goes to every engine and the pipeline (None: all cores); on a small machine
    that other work keeps busy, 1 core can be faster than 2 for both engines. The window is the
    one load() picks (the model's own, else 384/128) unless `sequence_length`/`doc_stride` say.
    """
    from .engines import check_engine_name
    from .flops import cpu_info, dense_roof
    from .sources import default_model

    if models is None:
        models = [default_model()]
    elif isinstance(models, str):
        models = [models]
    models = list(models)
    engines = [check_engine_name(e) for e in engines]
    if not models or not engines:
        raise InputError("Give at least one model and one engine to benchmark.")
    for name, value, least in (("repeats", repeats, 1), ("warmup", warmup, 0), ("max_windows", max_windows, 1),
                               ("long_questions", long_questions, 0), ("long_repeats", long_repeats, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InputError(f"{name}={value!r} must be a whole number, {least} or more.")
    text, context_name = _read_context(context)
    question_list = _load_questions(questions, text)
    try:
        load_before = round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        load_before = None
    if max_questions is not None:
        question_list = question_list[: max(1, int(max_questions))]
    blocks, records = [], []
    for model in models:
        block, recs = _bench_model(
            model, text, question_list, engines, repeats=repeats, warmup=warmup, max_windows=max_windows,
            sequence_length=sequence_length, doc_stride=doc_stride, long_questions=long_questions,
            long_repeats=long_repeats, compile_check=compile_check, progress=progress, num_cores=num_cores)
        blocks.append(block)
        records.extend(recs)
    window = blocks[0]["window"]  # what the first model was read at (its own unless given)
    settings = {"repeats": repeats, "warmup": warmup, "max_windows": max_windows, "sequence_length": window[0],
                "doc_stride": window[1], "long_questions": min(long_questions, len(question_list)),
                "long_repeats": long_repeats, "questions": len(question_list), "context": context_name,
                "context_chars": len(text), "engines": list(engines), "load_average_before": load_before,
                "num_cores": num_cores}
    return BenchReport(models=blocks, records=pd.DataFrame(records), cpu=cpu_info(), roof_gflops=dense_roof(),
                       settings=settings, created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))


def cli_bench(models: Optional[Sequence[str]] = None, context_file: Optional[str] = None, as_json: bool = False,
              repeats: int = 3, *, num_cores: Optional[int] = None, progress: bool = True, servers: int = 0) -> str:
    """What `qa-kit bench [--model M ...] [--context-file F] [--json] [--repeats N] [--num-cores C]` prints."""
    context = None
    if context_file:
        context = Path(context_file)
        if not context.is_file():
            raise InputError(f"Context file {context} does not exist: give a text file.")
    if servers:  # only the server comparison: it needs the server extra and starts its own servers
        scaling = server_scaling(models[0] if models else None, servers=servers, context=context)
        if as_json:
            return json.dumps(scaling, indent=2)
        return (f"{scaling['questions']} questions: one server {scaling['one_server_qps']:.2f} q/s, "
                f"{scaling['servers']} servers {scaling['all_servers_qps']:.2f} q/s "
                f"({scaling['speedup']:.2f}x), one core per server")
    report = run(list(models) if models else None, context=context, repeats=repeats, num_cores=num_cores,
                 progress=progress)
    if as_json:
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    return str(report)


# ---------------------------------------------------------------------------------------------
# one DeepSparse server against several


def server_scaling(model: Optional[str] = None, *, servers: int = 2, context: Union[None, str, Path] = None,
                   questions: Any = None, sequence_length: Optional[int] = None,
                   doc_stride: Optional[int] = None) -> Dict[str, float]:
    """Questions per second on one DeepSparse server against `servers` of them, one core each, here.

    Starts the servers (the `server` extra), asks the question set through each arrangement with
    qa_kit.server.throughput (threads, two requests in flight per server), and stops them again.
    """
    from . import server
    from .sources import default_model

    if not isinstance(servers, int) or servers < 2:
        raise InputError(f"servers={servers!r}: give 2 or more to compare one server against several.")
    text, _ = _read_context(context)
    asked = [q.text for q in _load_questions(questions, text)]
    started = []
    try:
        for _ in range(servers):
            started.append(server.serve(model or default_model(), port=server.free_port(), blocking=False,
                                        sequence_length=sequence_length, doc_stride=doc_stride, num_cores=1))
        return server.throughput([p.url for p in started], asked, text)
    finally:
        for process in started:
            server.stop(process)


# ---------------------------------------------------------------------------------------------
# speed against sparsity


def _pruned_folder(source: Path, out_root: Path, sparsity: float, block: int) -> Path:
    """A pruned variant in `out_root`, made once and reused while the source model is unchanged."""
    from .sparsify import PRUNE_VERSION, prune, read_sparsity

    folder = out_root / f"{source.name}-s{round(sparsity * 100):02d}-b{block}"
    record = read_sparsity(folder)
    fresh = (record.get("version") == PRUNE_VERSION and record.get("source") == str(source) and record.get("asked") == float(sparsity)
             and record.get("block") == block and (folder / "model.onnx").is_file()
             and (folder / "model.onnx").stat().st_mtime >= (source / "model.onnx").stat().st_mtime)
    return folder if fresh else prune(source, folder, sparsity, block)


def sparsity_sweep(
    model: Optional[str] = None,
    sparsities: Sequence[float] = (0.0, 0.5, 0.7, 0.9),
    block: int = 1,
    engines: Sequence[str] = ("deepsparse", "onnxruntime"),
    *,
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
    """Speed of one-shot pruned variants on each engine, with answer agreement against the dense model.

    Each sparsity's model is made by `qa_kit.sparsify.prune` (kept under `out_root`, by default
    the kit's cache, and reused). Every question is read from its one-window paragraph, variants
    interleaved; `ms_per_window` is the median engine time, `speedup` is against the dense model
    on the same engine (`best_ms_per_window`, the fastest single run, is steadier on a busy
    machine, where DeepSparse's times jump several-fold whenever another process takes a core),
    `agreement` is the fraction of questions whose top answer equals the
    dense model's, `f1` is SQuAD F1 against the gold answers where known. One-shot pruning
    without retraining loses accuracy fast; SparseZoo's pruned models were retrained to keep it.
    """
    from . import engines as engine_module
    from .evaluate import f1 as squad_f1
    from .reader import load_tokenizer
    from .reading import decode, encode
    from .sources import cache_dir, default_model, resolve

    engines = [engine_module.check_engine_name(e) for e in engines]
    sparsities = sorted({float(s) for s in sparsities} | {0.0})
    text, _ = _read_context(context)
    question_list = _load_questions(questions, text)[: max_questions or None]
    dense = resolve(model or default_model()).model_dir
    root = Path(out_root) if out_root else cache_dir() / "sparsified"
    folders = {s: dense if s == 0 else _pruned_folder(dense, root, s, block) for s in sparsities}
    tokenizer = load_tokenizer(dense)

    shim = SimpleNamespace(tokenizer=tokenizer, sequence_length=sequence_length, doc_stride=doc_stride)
    encoded = {}
    for q in question_list:
        paragraph = one_window_context(shim, q, text)
        encoded[q.id] = (paragraph, encode(tokenizer, q.text, paragraph, sequence_length, doc_stride))
    # engines built outside the kit's cache, so the variants' memory is freed when the sweep ends
    classes = {"deepsparse": engine_module.DeepSparseEngine, "onnxruntime": engine_module.OnnxRuntimeEngine}
    built = {(s, e): classes[e](folders[s], sequence_length, 1, num_cores) for s in sparsities for e in engines}
    variants = list(built)
    times: Dict[tuple, Dict[str, List[float]]] = {v: {} for v in variants}
    spans: Dict[tuple, Dict[str, Any]] = {v: {} for v in variants}
    texts: Dict[tuple, Dict[str, str]] = {v: {} for v in variants}
    bar = _Progress((repeats + 1) * len(question_list) * len(variants), progress, "sparsity sweep")
    for r in range(repeats + 1):  # the first round warms up
        for i, q in enumerate(question_list):
            paragraph, enc = encoded[q.id]
            for variant in _rotate(variants, r + i):
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
    for s, e in variants:
        achieved = 0.0 if s == 0 else _achieved(folders[s])
        golds = [q for q in question_list if q.golds]
        rows.append({
            "sparsity": s, "achieved": achieved, "block": block if s else 0, "engine": e,
            "ms_per_window": _median_of(times[(s, e)]) * 1000,
            "best_ms_per_window": min((t for ts in times[(s, e)].values() for t in ts), default=float("nan")) * 1000,
            "speedup": time_ratio(times[(0.0, e)], times[(s, e)]),
            "agreement": agreement(spans[(s, e)], spans[(0.0, engines[0])]),
            "f1": (100 * sum(squad_f1(texts[(s, e)][q.id], list(q.golds)) for q in golds) / len(golds)) if golds else float("nan"),
            "model_dir": str(folders[s]),
        })
    del built
    return pd.DataFrame(rows)


def _achieved(folder: Path) -> float:
    from .sparsify import measure_sparsity, read_sparsity

    record = read_sparsity(folder)
    return float(record["sparsity"]) if "sparsity" in record else measure_sparsity(folder)["sparsity"]


def sweep_chart(frame: pd.DataFrame):
    """Speed-up against sparsity per engine, and the answer agreement and F1 beside it (a matplotlib Figure)."""
    from matplotlib.figure import Figure

    if frame.empty:
        raise InputError("The sweep is empty: run sparsity_sweep() first.")
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    speed, quality = fig.subplots(1, 2)
    for n, (engine, rows) in enumerate(frame.groupby("engine", sort=False)):
        rows = rows.sort_values("sparsity")
        speed.plot(rows["sparsity"] * 100, rows["speedup"], marker="o", label=engine)
        for x, y, ms in zip(rows["sparsity"] * 100, rows["speedup"], rows["ms_per_window"]):
            speed.annotate(f"{ms:.0f} ms", (x, y), textcoords="offset points", xytext=(0, 6 if n % 2 == 0 else -12),
                           fontsize=7, ha="center")
    speed.axhline(1.0, color="#999999", linewidth=0.8)
    speed.set_xlabel("sparsity of the weight matrices (%)")
    speed.set_ylabel("speed-up over the dense model")
    speed.set_title("speed (engine time per window)", fontsize=10)
    speed.legend(fontsize=8)
    first = frame[frame["engine"] == frame["engine"].iloc[0]].sort_values("sparsity")
    quality.plot(first["sparsity"] * 100, first["agreement"] * 100, marker="o", color="#2a9d8f", label="same answer as dense (%)")
    if first["f1"].notna().any():
        quality.plot(first["sparsity"] * 100, first["f1"], marker="s", color="#e76f51", label="F1 against gold")
    quality.set_ylim(0, 105)
    quality.set_xlabel("sparsity of the weight matrices (%)")
    quality.set_title("answers after one-shot pruning (no retraining)", fontsize=10)
    quality.legend(fontsize=8)
    block = int(frame["block"].max())
    fig.suptitle(f"one-shot magnitude pruning, {'unstructured' if block <= 1 else f'blocks of {block}'}: "
                 "SparseZoo's pruned models were retrained and keep their accuracy; these were not", fontsize=9)
    return fig
