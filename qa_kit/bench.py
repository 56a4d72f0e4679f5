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
- the engine's achieved GFLOP/s (FLOPs counted from the graph) beside numpy's float32 matmul (a reference);
- the CPU it ran on.

Time ratios are (sum over questions of each question's median time) of A over the same for B,
over the questions both were timed on. Targets are shown beside the numbers, never asserted.
How it measures is a `BenchOptions` (or the same names as keywords of `run()`). The inputs (question
set, long context, one-window paragraphs) are in qa_kit.bench_inputs; the arithmetic on the records
and the report (`BenchReport`) in qa_kit.bench_report; speed against one-shot pruning sparsity
(`sparsity_sweep()`, importable from here) in qa_kit.sparsity_sweep.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import pandas as pd

from .bench_inputs import (DEFAULT_CONTEXT, DEFAULT_QUESTIONS, Progress, Question, load_questions,
                           one_window_context, paragraphs, read_context, rotate)
from .bench_report import (RATIO_KEYS, TARGETS, BenchReport, ModelSummary, median_of, medians, summarise,
                           span_agreement, target_met, time_ratio)
from .calibrate import best_span, fast_reading_curve
from .errors import InputError, whole_number
from .paths import IMPORT_ROOT, MODELS_DIR
from .reader_protocol import ReaderLike
from .results import Answers
from .sparsity_sweep import sparsity_sweep, sweep_chart

__all__ = [  # what bench measures, and the names of its report, inputs and sweep, importable from here as before
    "run", "BenchOptions", "default_models", "server_scaling", "measure_compile", "SPARSE_TWIN", "STAGES", "CURVE_SIZES",
    "BenchReport", "ModelSummary", "RATIO_KEYS", "TARGETS", "span_agreement", "median_of", "medians", "summarise",
    "target_met", "time_ratio", "best_span", "fast_reading_curve", "DEFAULT_CONTEXT", "DEFAULT_QUESTIONS", "Question",
    "paragraphs", "one_window_context", "sparsity_sweep", "sweep_chart",
]
_load_questions = load_questions  # its old name

STAGES = ("tokenize", "engine", "decode")
CURVE_SIZES = (1, 2, 4, 6, 8, 12, 16)  # fast-reading sizes (max_windows) the agreement curve is worked out for
SETTLE_SECONDS = 0.05  # pause (not timed) when consecutive calls switch engine


# ---------------------------------------------------------------------------------------------
# measuring


def _time_kit(reader: ReaderLike, question: str, context: str, **options: Any) -> dict:
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
    from .engines import native_output_aside
    from .sources import TOKENIZER_FILES

    os.environ.setdefault("NM_DISABLE_ANALYTICS", "1")
    from deepsparse import Pipeline

    folder = workdir / "pipeline-model"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "config.json") + tuple(TOKENIZER_FILES):
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, folder / name)
    pipeline_log = logging.getLogger("deepsparse.pipeline")  # "Could not create v2 ... trying legacy": not ours to show
    level = pipeline_log.level
    pipeline_log.setLevel(logging.ERROR)
    try:
        with native_output_aside():  # the engine's copyright banner, as the kit's own engines keep it
            return Pipeline.create(task="question-answering", model_path=str(folder),
                                   sequence_length=sequence_length, doc_stride=doc_stride, num_cores=num_cores)
    finally:
        pipeline_log.setLevel(level)


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


def _bench_model(model: str, context: str, questions: List[Question], options: "BenchOptions") -> Tuple[ModelSummary, List[dict]]:
    """One model measured on every engine: its summary and every timed call."""
    engines, repeats, warmup, max_windows = list(options.engines), options.repeats, options.warmup, options.max_windows
    sequence_length, doc_stride, num_cores = options.sequence_length, options.doc_stride, options.num_cores
    long_questions, long_repeats, confident_score = options.long_questions, options.long_repeats, options.confident_score
    compile_check, progress = options.compile_check, options.progress
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
        bar = Progress(steps + (len(engines) if compile_check else 0) + 1, progress, f"bench {model}")

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
                    for kind, engine in rotate(variants, r + i):
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
                    for kind, engine in rotate(runs, r + i):
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
        block.cores = cores
        block.ratios["deepsparse_one_core_over_all_cores"] = cores["one_core"] / cores["all_cores"]
    block.random_weights = bool(getattr(first, "random_weights", False))
    block.window = [sequence_length, doc_stride]
    block.max_windows = max_windows
    block.confident_score = first.confident_score
    block.fast_curve = fast_reading_curve(first, full_reads, sizes=sorted(set(CURVE_SIZES) | {max_windows}),
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
        for name, engine in rotate([("one_core", single), ("all_cores", reader.engine)], r):
            began = time.perf_counter()
            engine.run(feeds)
            if r:  # the first round warms up
                times[name].append(time.perf_counter() - began)
    return {name: float(statistics.median(ts)) for name, ts in times.items()}


# ---------------------------------------------------------------------------------------------
# the entry points


@dataclass(frozen=True)
class BenchOptions:
    """How `run()` measures: engines, repeats, the window, fast reading, the compile check, cores and progress."""

    engines: Sequence[str] = ("deepsparse", "onnxruntime")
    repeats: int = 3
    warmup: int = 1
    max_windows: Optional[int] = None
    confident_score: Optional[float] = None
    sequence_length: Optional[int] = None
    doc_stride: Optional[int] = None
    long_questions: int = 4
    long_repeats: int = 1
    max_questions: Optional[int] = None
    compile_check: bool = True
    num_cores: Optional[int] = None
    progress: bool = True

    def checked(self) -> "BenchOptions":
        """These options with the engines' names checked; InputError for an engine, count or score the bench refuses."""
        from .engines import check_engine_name
        from .reader import check_confident_score

        engines = [check_engine_name(e) for e in self.engines]
        if not engines:
            raise InputError("Give at least one model and one engine to benchmark.")
        for name, value, least in (("repeats", self.repeats, 1), ("warmup", self.warmup, 0),
                                   ("max_windows", 1 if self.max_windows is None else self.max_windows, 1),
                                   ("long_questions", self.long_questions, 0), ("long_repeats", self.long_repeats, 1)):
            whole_number(value, name, least)
        if self.confident_score is not None:
            check_confident_score(self.confident_score)
        if self.num_cores is not None:
            whole_number(self.num_cores, "num_cores")
        return dataclasses.replace(self, engines=engines)


def run(
    models: Union[None, str, Sequence[str]] = None,
    *,
    context: Union[None, str, Path] = None,
    questions: Any = None,
    options: Optional[BenchOptions] = None,
    **settings: Any,
) -> BenchReport:
    """Benchmark models on a long text and its question set: stages, engines, pipeline, compile, fast reading, GFLOP/s.

    Defaults: the sample bank-run article and its 20 SQuAD questions. One-window timings take
    `repeats` runs of every question after `warmup`; the long article is read fully and fast on
    every question once (`long_repeats`), and by the pipeline and the other engines on the first
    `long_questions` only, since each such read costs a full pass over ~18 windows.
    `num_cores` goes to every engine and the pipeline (None: all cores); on a small machine
    that other work keeps busy, 1 core can be faster than 2 for both engines. The window is the
    one load() picks (the model's own, else 384/128) unless `sequence_length`/`doc_stride` say.
    `settings` are BenchOptions' fields by name (repeats=, engines=, ...), over `options` when both are given.
    Fast reading reads `max_windows` windows first and reads on below `confident_score` (None:
    each model's own, as ask() does; -inf: never reads on).
    """
    from .flops import cpu_info, dense_roof

    if models is None:
        models = default_models()
    elif isinstance(models, str):
        models = [models]
    models = list(models)
    options = dataclasses.replace(options or BenchOptions(), **settings).checked()
    if not models:
        raise InputError("Give at least one model and one engine to benchmark.")
    text, context_name = read_context(context)
    question_list = load_questions(questions, text)
    try:
        load_before = round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        load_before = None
    if options.max_questions is not None:
        question_list = question_list[: max(1, int(options.max_questions))]
    blocks, records = [], []
    for model in models:
        block, recs = _bench_model(model, text, question_list, options)
        blocks.append(block)
        records.extend(recs)
    window = blocks[0].window  # what the first model was read at (its own unless given)
    settings = {"repeats": options.repeats, "warmup": options.warmup, "max_windows": blocks[0].max_windows,
                "confident_score": blocks[0].confident_score, "sequence_length": window[0],
                "doc_stride": window[1], "long_questions": min(options.long_questions, len(question_list)),
                "long_repeats": options.long_repeats, "questions": len(question_list), "context": context_name,
                "context_chars": len(text), "engines": list(options.engines), "load_average_before": load_before,
                "num_cores": options.num_cores}
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
    text, _ = read_context(context)
    asked = [q.text for q in load_questions(questions, text)]
    started = []
    try:
        for _ in range(servers):
            started.append(server.serve(model or default_model(), port=server.free_port(), blocking=False,
                                        sequence_length=sequence_length, doc_stride=doc_stride, num_cores=1))
        return scale.throughput([p.url for p in started], asked, text)
    finally:
        for process in started:
            server.stop(process)
