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
`sparsity_sweep()` charts speed against one-shot pruning sparsity on both engines. The arithmetic
on the records and the report (`BenchReport`) are in qa_kit.bench_report.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from .bench_report import (  # noqa: F401  (the report's names, importable from here too)
    RATIO_KEYS, TARGETS, BenchReport, agreement, median_of, medians, summarise, target_met, time_ratio,
)
from .calibrate import best_span, fast_reading_curve  # noqa: F401  (the curve, importable from here too)
from .errors import InputError, whole_number
from .paths import IMPORT_ROOT, MODELS_DIR, QUESTIONS_DIR, TEXTS_DIR
from .results import Answers

DEFAULT_CONTEXT = TEXTS_DIR / "bank_run.txt"
DEFAULT_QUESTIONS = QUESTIONS_DIR / "bank_run.json"
STAGES = ("tokenize", "engine", "decode")
CURVE_SIZES = (1, 2, 4, 6, 8, 12, 16)  # fast-reading sizes (max_windows) the agreement curve is worked out for
SETTLE_SECONDS = 0.05  # pause (not timed) when consecutive calls switch engine


# ---------------------------------------------------------------------------------------------
# inputs: the question set, the long context, and a one-window paragraph per question


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answer_start: int = -1  # where a gold answer starts in the long context, if known
    golds: Tuple[str, ...] = ()


def _load_questions(questions: Any, context: str) -> List[Question]:
    from .squad import Example, load_squad

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


def _time_kit(reader, question: str, context: str, **options) -> dict:
    began = time.perf_counter()
    answers = reader.ask(question, context, **options)
    seconds = time.perf_counter() - began
    best = answers.best
    return {
        "seconds": seconds, **{f"{s}_s": answers.timings.get(s, float("nan")) for s in STAGES},
        "windows": len(answers.windows), "windows_read": sum(1 for w in answers.windows if w.read),
        "span": best_span(answers), "answer": best.text if best else None, "answers": answers,
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
        root = str(IMPORT_ROOT)  # the child imports this same copy of the kit
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        done = subprocess.run([sys.executable, "-m", "qa_kit.bench_child", json.dumps(args)], env=env,
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
                 warmup: int, max_windows: Optional[int], sequence_length: Optional[int], doc_stride: Optional[int], long_questions: int,
                 long_repeats: int, compile_check: bool, progress: bool,
                 num_cores: Optional[int] = None, confident_score: Optional[float] = None) -> Tuple[dict, List[dict]]:
    from .reader import load
    from .flops import count_flops
    from .reader import check_confident_score

    notes: List[str] = []
    readers, load_seconds = {}, {}
    for engine in engines:
        began = time.perf_counter()
        readers[engine] = load(model, engine=engine, sequence_length=sequence_length, doc_stride=doc_stride,
                               num_cores=num_cores)
        load_seconds[engine] = time.perf_counter() - began
    first = readers[engines[0]]
    sequence_length, doc_stride = first.sequence_length, first.doc_stride  # the model's own when not given
    max_windows = max_windows or first.fast_windows  # fast reading's own default for that window
    if confident_score is not None:  # else the model's own (from its config), as ask() uses
        for reader in readers.values():
            reader.confident_score = check_confident_score(confident_score)
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
                                            "question": q.id, "repeat": r - warmup, **result, **_scores(result, q)})
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
                                        "question": q.id, "repeat": r, **result, **_scores(result, q)})
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
    block = summarise(model, records, engines, compiles, flops, load_seconds, notes)
    if cores:
        block["cores"] = cores
        block["ratios"]["deepsparse_one_core_over_all_cores"] = cores["one_core"] / cores["all_cores"]
    block["random_weights"] = bool(getattr(first, "random_weights", False))
    block["window"] = [sequence_length, doc_stride]
    block["max_windows"] = max_windows
    block["confident_score"] = first.confident_score
    block["fast_curve"] = fast_reading_curve(first, full_reads, sizes=sorted(set(CURVE_SIZES) | {max_windows}),
                                             confident_score=first.confident_score)
    return block, records


def _scores(result: dict, question: Question) -> dict:
    """SQuAD F1 (0-100) and exact match of a run's top answer, when the question has gold answers."""
    from .metrics import exact_match, f1

    if not question.golds:
        return {"f1": None, "exact": None}
    answer, golds = result["answer"] or "", list(question.golds)
    return {"f1": 100.0 * f1(answer, golds), "exact": bool(exact_match(answer, golds))}


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
    max_windows: Optional[int] = None,
    confident_score: Optional[float] = None,
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
    Fast reading reads `max_windows` windows first and reads on below `confident_score` (None:
    each model's own, as ask() does; -inf: never reads on).
    """
    from .engines import check_engine_name
    from .reader import check_confident_score
    from .flops import cpu_info, dense_roof

    if models is None:
        models = default_models()
    elif isinstance(models, str):
        models = [models]
    models = list(models)
    engines = [check_engine_name(e) for e in engines]
    if not models or not engines:
        raise InputError("Give at least one model and one engine to benchmark.")
    for name, value, least in (("repeats", repeats, 1), ("warmup", warmup, 0), ("max_windows", 1 if max_windows is None else max_windows, 1),
                               ("long_questions", long_questions, 0), ("long_repeats", long_repeats, 1)):
        whole_number(value, name, least)
    if confident_score is not None:
        check_confident_score(confident_score)
    if num_cores is not None:
        whole_number(num_cores, "num_cores")
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
            long_repeats=long_repeats, compile_check=compile_check, progress=progress, num_cores=num_cores,
            confident_score=confident_score)
        blocks.append(block)
        records.extend(recs)
    window = blocks[0]["window"]  # what the first model was read at (its own unless given)
    settings = {"repeats": repeats, "warmup": warmup, "max_windows": blocks[0]["max_windows"],
                "confident_score": blocks[0]["confident_score"], "sequence_length": window[0],
                "doc_stride": window[1], "long_questions": min(long_questions, len(question_list)),
                "long_repeats": long_repeats, "questions": len(question_list), "context": context_name,
                "context_chars": len(text), "engines": list(engines), "load_average_before": load_before,
                "num_cores": num_cores}
    return BenchReport(models=blocks, records=pd.DataFrame(records), cpu=cpu_info(), roof_gflops=dense_roof(),
                       settings=settings, created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))


SPARSE_TWIN = "demo-minilm-sparse-quant"


def default_models() -> List[str]:
    """What a bench measures when not told: the default model and, beside demo-minilm, its sparse int8 twin."""
    from .sources import default_model

    first = default_model()
    twin = MODELS_DIR / SPARSE_TWIN / "model.onnx"
    return [first, SPARSE_TWIN] if first == "demo-minilm" and twin.is_file() else [first]


# ---------------------------------------------------------------------------------------------
# one DeepSparse server against several


def server_scaling(model: Optional[str] = None, *, servers: int = 2, context: Union[None, str, Path] = None,
                   questions: Any = None, sequence_length: Optional[int] = None,
                   doc_stride: Optional[int] = None) -> Dict[str, float]:
    """Questions per second on one DeepSparse server against `servers` of them, one core each, here.

    Starts the servers (the `server` extra), asks the question set through each arrangement with
    qa_kit.scale.throughput (threads, two requests in flight per server), and stops them again.
    """
    from . import scale, server
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
        return scale.throughput([p.url for p in started], asked, text)
    finally:
        for process in started:
            server.stop(process)


# ---------------------------------------------------------------------------------------------
# speed against sparsity


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
    text, _ = _read_context(context)
    question_list = _load_questions(questions, text)[: max_questions or None]
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
            "agreement": agreement(spans[v], spans[reference]),
            "f1": (100 * sum(squad_f1(texts[v][q.id], list(q.golds)) for q in golds) / len(golds)) if golds else float("nan"),
            "model_dir": str(folders[(s, p)]),
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
