"""Ask the same questions of several models and line their answers up: a table, a combined
highlight with one colour per model, and charts.

Each model is loaded once (one compiled engine) and asked every question; a model that fails to
load or to answer is reported in its rows' `error` column and the other models' results are kept.
"""
from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import pandas as pd
from tqdm.auto import tqdm

from .errors import InputError
from .reader_protocol import ReadOptions, ReaderLike
from .render import LONG_CONTEXT, PALETTE, Markup, escape_text, frame_table, highlight, warning_html
from .results import Answers
from .scale import Outcome, ask_here, error_text, on_dask, spec_for, worker_spread

COLUMNS = ["question", "model", "answer", "start", "end", "score", "probability", "milliseconds", "error",
           "rank", "question_index", "tokenize_ms", "engine_ms", "decode_ms", "warning", "worker"]
NEIGHBOURHOOD = 120  # characters shown around answers of a long context in notebook views


def _is_pool(model: Any) -> bool:
    """A list or tuple standing for one model: several servers (or readers) that share its questions."""
    return isinstance(model, (list, tuple))


def _label(model: Any) -> str:
    if _is_pool(model):
        return " + ".join(_label(m) for m in model)
    return str(getattr(model, "name", model)) if hasattr(model, "ask") else str(model)


def _model_specs(models: Any) -> List[Tuple[str, Any]]:
    """(label, model) pairs from a list, a dict label -> model, or a single model.

    A model is a source, a loaded reader, or a list of server URLs / readers serving one model.
    """
    if isinstance(models, Mapping):
        pairs = [(str(label), model) for label, model in models.items()]
    else:
        if isinstance(models, str) or hasattr(models, "ask"):
            models = [models]
        pairs = [(_label(m), m) for m in models]
    if not pairs:
        raise InputError("No models to compare: give a list of model sources (or loaded readers).")
    for label, model in pairs:
        if _is_pool(model) and not model:
            raise InputError(f"The model {label!r} is an empty list: give server URLs or readers in it.")
    seen: Dict[str, int] = {}
    labelled = []
    for label, model in pairs:  # the same model twice gets two labels, so rows stay apart
        seen[label] = seen.get(label, 0) + 1
        labelled.append((label if seen[label] == 1 else f"{label} #{seen[label]}", model))
    return labelled


def _questions_and_contexts(questions: Any, context: Any) -> Tuple[List[str], List[str]]:
    questions = [questions] if isinstance(questions, str) else list(questions)
    if not questions:
        raise InputError("No questions to ask: give a question or a list of questions.")
    contexts = [context] * len(questions) if isinstance(context, str) else list(context)
    if len(contexts) != len(questions):
        raise InputError(f"{len(questions)} questions but {len(contexts)} contexts: give one context, or one per question.")
    return questions, contexts


def _rows(index: int, question: str, label: str, answers: Optional[Answers], error: Optional[str],
          worker: Optional[str] = None) -> List[dict]:
    """Table rows for one question asked of one model: one per answer, or one saying why none."""
    base = {"question": question, "model": label, "question_index": index, "error": error,
            "warning": answers.warning if answers is not None else None, "worker": worker or None}
    if answers is not None:
        timings = answers.timings
        base.update({"milliseconds": timings.get("total", float("nan")) * 1000,
                     **{f"{s}_ms": timings.get(s, float("nan")) * 1000 for s in ("tokenize", "engine", "decode")}})
    if answers is None or not len(answers):
        return [base]
    return [{**base, "answer": a.text, "start": a.start, "end": a.end, "score": a.score,
             "probability": a.probability, "rank": a.rank} for a in answers]


def _frame(rows: List[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("start", "end", "rank", "question_index"):
        frame[column] = frame[column].astype("Int64")
    for column in ("score", "probability", "milliseconds", "tokenize_ms", "engine_ms", "decode_ms"):
        frame[column] = frame[column].astype("float64")
    return frame


@dataclass
class Comparison:
    """Every question asked of every model: `.frame`, `.answers[model][question]`, views."""

    questions: List[str]
    contexts: List[str]
    models: List[str]  # labels, in the order given
    frame: pd.DataFrame
    answers: Dict[str, List[Optional[Answers]]]
    errors: Dict[str, str] = field(default_factory=dict)  # model -> why it could not load
    warnings: Dict[str, str] = field(default_factory=dict)  # model -> note shown with its answers
    wall_seconds: Optional[float] = None  # the whole run, start to end (loads included)

    @property
    def throughput(self) -> Optional[float]:
        """Questions asked per second over the whole run (every model's count), None when not timed."""
        asked = int(self.frame[self.frame["worker"].notna()].drop_duplicates(["model", "question_index"]).shape[0])
        return asked / self.wall_seconds if self.wall_seconds else None

    def workers(self) -> pd.DataFrame:
        """Per worker: questions answered (all models), seconds busy, share, questions per busy second."""
        asked = self.frame[self.frame["worker"].notna() & self.frame["error"].isna()]
        asked = asked.drop_duplicates(["model", "question_index"])
        return worker_spread(pd.DataFrame({"worker": asked["worker"], "seconds": asked["milliseconds"] / 1000}),
                             self.wall_seconds)

    def colors(self) -> Dict[str, Tuple[str, str]]:
        """One (background, stripe) colour pair per model, the same in every view."""
        return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(self.models)}

    def notes_html(self, question_index: Optional[int] = None) -> str:
        """Warnings (random weights) and failures, as banners to show above any answers."""
        parts = [warning_html(f"{m}: {w}") for m, w in self.warnings.items()]
        failures = self.frame[self.frame["error"].notna()]
        if question_index is not None:
            failures = failures[failures["question_index"] == question_index]
        for model, message in dict(zip(failures["model"], failures["error"])).items():
            parts.append(f'<div class="qa-kit-error" style="background:#fee2e2;color:#7f1d1d;border-left:6px solid #dc2626;'
                         f'padding:4px 10px;margin:4px 0">{escape_text(model)} failed: {escape_text(message)}</div>')
        return "".join(parts)

    def highlight(self, question_index: int = 0, *, window: Optional[int] = None, notes: bool = True) -> Markup:
        """HTML of one question's context with each model's best answer marked in its colour.

        `notes=True` puts the models' warnings (random weights) and failures above the text.
        """
        if not 0 <= question_index < len(self.questions):
            raise InputError(f"question_index={question_index} is out of range: there are {len(self.questions)} questions.")
        spans = []
        for model in self.models:
            answers = self.answers[model][question_index]
            if answers is not None and answers.best is not None:
                best = answers.best
                spans.append({"start": best.start, "end": best.end, "label": model, "score": best.score,
                              "probability": best.probability, "rank": best.rank})
        title = f"Q{question_index + 1}: {self.questions[question_index]}"
        body = highlight(self.contexts[question_index], spans, labels_colors=self.colors(), window=window, title=title)
        return Markup((self.notes_html(question_index) if notes else "") + body)

    def chart(self):
        """Agreement, score and latency per model (a matplotlib Figure)."""
        from .charts import comparison_chart

        return comparison_chart(self.frame)

    def timings_chart(self):
        """Mean time per stage per model (a matplotlib Figure)."""
        from .charts import timings_chart

        return timings_chart(self.frame)

    def save_csv(self, path: Union[str, Path]) -> Path:
        """Write the table to a CSV file."""
        from .report import save_csv

        return save_csv(self, path)

    def save_html(self, path: Union[str, Path], title: Optional[str] = None) -> Path:
        """Write a standalone HTML report: highlights, table and charts, viewable offline."""
        from .report import save_html

        return save_html(self, path, title=title)

    def table_html(self) -> str:
        """The main columns of the table, escaped."""
        return frame_table(self.frame, ["question", "model", "answer", "start", "end", "score", "probability",
                                        "milliseconds", "error"])

    def _repr_html_(self) -> str:
        window = NEIGHBOURHOOD if max(map(len, self.contexts)) > LONG_CONTEXT else None
        heads = "".join(f"<div>{self.highlight(i, window=window)}</div>" for i in range(len(self.questions)))
        summary = f"{len(self.questions)} questions × {len(self.models)} models"
        spread = self.workers()
        if len(spread) > 1 and self.throughput:
            summary += f", {self.throughput:.1f} questions/s on {len(spread)} workers"
        summary = html.escape(summary)
        return f'<div class="qa-kit-comparison"><div style="opacity:0.75">{summary}</div>{self.table_html()}{heads}</div>'


def _ask_here(specs: List[Tuple[str, Any]], questions: List[str], contexts: List[str], top_k: int,
              loader: Callable[..., ReaderLike], options: ReadOptions, errors: Dict[str, str],
              progress: bool) -> Dict[str, List[Outcome]]:
    """Each model loaded here once and asked every question; a load failure goes to `errors`."""
    outcomes: Dict[str, List[Outcome]] = {}
    with tqdm(total=len(specs) * len(questions), desc="compare", unit=" question", disable=not progress) as bar:
        for label, model in specs:
            bar.set_postfix_str(label[-40:])
            try:
                members = model if _is_pool(model) else [model]
                pool = [m if hasattr(m, "ask") else loader(m, **options.as_kwargs()) for m in members]
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:  # noqa: BLE001 (tokenizer panics are BaseExceptions)
                errors[label] = error_text(error)
                outcomes[label] = [Outcome(None, errors[label], "") for _ in questions]
                bar.update(len(questions))
                continue
            outcomes[label] = ask_here(pool, questions, contexts, top_k, on_done=lambda _: bar.update(1))
    return outcomes


def _ask_on_cluster(client: Any, specs: List[Tuple[str, Any]], questions: List[str], contexts: List[str],
                    top_k: int, batch_size: Optional[int], options: ReadOptions, errors: Dict[str, str],
                    progress: bool) -> Dict[str, List[Outcome]]:
    """Every model's questions on a Dask cluster at once; a model that cannot load there goes to `errors`."""
    shipped = [spec_for(model, **options.as_kwargs()) for _, model in specs]  # a reader that cannot travel is refused first
    runs = on_dask(client, shipped, questions, contexts, top_k, batch_size=batch_size, progress=progress,
                   desc="compare")
    for (label, _), run in zip(specs, runs):
        if run.load_error is not None:
            errors[label] = run.load_error
    return {label: run.outcomes for (label, _), run in zip(specs, runs)}


def compare(
    questions: Union[str, Sequence[str]],
    context: Union[str, Sequence[str]],
    models: Any,
    top_k: int = 1,
    *,
    engine: str = "deepsparse",
    sequence_length: Optional[int] = None,
    doc_stride: Optional[int] = None,
    num_cores: Any = None,
    progress: bool = True,
    loader: Optional[Callable[..., ReaderLike]] = None,
    client: Any = None,
    batch_size: Optional[int] = None,
) -> Comparison:
    """Ask every question of every model (sources, a dict label -> source, or loaded readers).

    One reader (one compiled engine) per model. A model given as a list of server URLs or readers
    serving it has its questions spread over them at once by threads; a single server also gets
    concurrent requests. With `client` (a dask.distributed Client) the other models run on the
    cluster's workers, `batch_size` questions a task, each worker loading each model once (a
    reader travels as its source and options). `context` is one text for all questions or one per
    question. A model that fails to load or answer gets its message in the `error` column, and
    the `worker` column says who answered. `num_cores` goes to `qa_kit.load` (a number, "all",
    or "auto": the cores no other work is using; on a worker, by default its thread count).
    """
    questions, contexts = _questions_and_contexts(questions, context)
    specs = _model_specs(models)
    if loader is None:
        from .reader import load as loader
    options = ReadOptions(engine, sequence_length, doc_stride, num_cores)
    began = time.perf_counter()
    errors: Dict[str, str] = {}
    outcomes: Dict[str, List[Outcome]] = {}
    if client is not None:
        remote = [(label, model) for label, model in specs if not _is_pool(model)]
        outcomes.update(_ask_on_cluster(client, remote, questions, contexts, top_k, batch_size, options, errors,
                                        progress))
    local = [(label, model) for label, model in specs if label not in outcomes]
    if local:
        outcomes.update(_ask_here(local, questions, contexts, top_k, loader, options, errors, progress))
    rows: List[dict] = []
    results: Dict[str, List[Optional[Answers]]] = {}
    warnings: Dict[str, str] = {}
    for label, _ in specs:
        results[label] = [o.answers for o in outcomes[label]]
        for i, outcome in enumerate(outcomes[label]):
            if outcome.answers is not None and outcome.answers.warning:
                warnings[label] = outcome.answers.warning
            rows.extend(_rows(i, questions[i], label, outcome.answers, outcome.error, outcome.worker))
    return Comparison(questions=questions, contexts=contexts, models=[label for label, _ in specs],
                      frame=_frame(rows), answers=results, errors=errors, warnings=warnings,
                      wall_seconds=time.perf_counter() - began)
