"""Score a reader on a SQuAD v1.1 question set: exact match and token F1, overall and per question.

The scoring is the official SQuAD v1.1 scorer's: both answers are normalised (lower case, then
punctuation removed, then the articles a/an/the removed, then whitespace collapsed), exact match
asks for equal normalised strings, F1 compares the bags of normalised tokens and is 0 when they
share none (even when both are empty: "a" against "the" has exact match 1 and F1 0), and each
question takes its best score over its gold answers, metric by metric. Overall scores are
percentages, as the official scorer prints. A question with no gold answer, which v1.1 cannot
score, is scored as SQuAD v2 scores an unanswerable one: only an answer that normalises to "" is right.
"""
from __future__ import annotations

import html
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import pandas as pd

from .errors import EngineError, InputError
from .reader_protocol import ReadOptions, ReaderLike
from .render import frame_table
from .metrics import exact_match, f1, normalize_answer  # the scorer's and the reader's names, importable from here too
from .scale import Outcome, ask_here, on_dask, spec_for, worker_spread
from .squad import Example, load_squad
from .text import one_line, plain_for_matplotlib

DatasetLike = Union[str, "os.PathLike[str]", Dict[str, Any], Sequence["Example"]]


def _title_of(examples: List[Example], otherwise: str) -> str:
    """The examples' title when they share one; 'N texts' when they come from several."""
    titles = list(dict.fromkeys(e.title for e in examples if e.title))
    return titles[0] if len(titles) == 1 else f"{len(titles)} texts" if titles else otherwise


def _examples_and_name(dataset: DatasetLike) -> "tuple[List[Example], str]":
    if isinstance(dataset, (str, os.PathLike)):
        return load_squad(dataset), Path(dataset).stem
    if isinstance(dataset, dict):
        examples = load_squad(dataset)
        return examples, _title_of(examples, "dataset")
    if isinstance(dataset, Sequence) and all(isinstance(e, Example) for e in dataset):
        examples = list(dataset)
        return examples, _title_of(examples, "examples")
    raise InputError(f"Cannot evaluate on a {type(dataset).__name__}; give a SQuAD file path, "
                     "a SQuAD dict or a list of Examples.")


# ---------------------------------------------------------------------------------------------
# the report


_EM_COLOUR, _PARTIAL_COLOUR, _MISS_COLOUR = "#2a9d8f", "#e9c46a", "#e76f51"


def _shorten(s: str, width: int) -> str:
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 3] + "..."


@dataclass(eq=False)  # comparing DataFrames with == has no single truth value
class EvalReport:
    """The scores of one reader on one question set: overall, per question, as text, HTML and a chart."""

    frame: pd.DataFrame  # id, question, prediction, golds, exact_match, f1, seconds, worker, error (scores in percent)
    model: str = ""
    engine: str = ""
    dataset: str = ""
    top_k: int = 1
    warning: Optional[str] = None  # e.g. the reader's note that its weights are random
    wall_seconds: Optional[float] = None  # the whole run, start to end (loads included)
    load_seconds: Dict[str, float] = field(default_factory=dict)  # Dask worker -> seconds it spent loading the model

    @property
    def exact_match(self) -> float:
        """Exact match over all questions, in percent (0-100)."""
        return float(self.frame["exact_match"].mean()) if len(self.frame) else 0.0

    @property
    def f1(self) -> float:
        """Mean best-over-golds token F1, in percent (0-100)."""
        return float(self.frame["f1"].mean()) if len(self.frame) else 0.0

    @property
    def exact_match_at_k(self) -> Optional[float]:
        """Percent of questions where any of the top-k answers matches exactly; None when top_k is 1."""
        if self.top_k == 1 or "exact_match_at_k" not in self.frame:
            return None
        return float(self.frame["exact_match_at_k"].mean())

    @property
    def seconds(self) -> float:
        """Total time spent in reader.ask, in seconds."""
        return float(self.frame["seconds"].sum())

    @property
    def failed(self) -> int:
        """How many questions got an error instead of answers (their rows say which)."""
        return int(self.frame["error"].notna().sum()) if "error" in self.frame else 0

    @property
    def throughput(self) -> Optional[float]:
        """Questions per second over the whole run (wall time, loads included); None when not timed."""
        return len(self.frame) / self.wall_seconds if self.wall_seconds else None

    def workers(self) -> pd.DataFrame:
        """Per worker: questions answered, seconds busy, share, questions per busy second, load seconds."""
        spread = worker_spread(self.frame[self.frame["error"].isna()] if "error" in self.frame else self.frame,
                               self.wall_seconds)
        spread["load_seconds"] = [self.load_seconds.get(w, 0.0) for w in spread["worker"]]
        return spread

    def to_dict(self) -> dict:
        """JSON-ready summary plus one record per question."""
        records = []
        for row in self.frame.to_dict(orient="records"):
            rec = {k: (list(v) if k in ("golds", "top_k_predictions") else v) for k, v in row.items()}
            for k in ("exact_match", "f1", "seconds", "exact_match_at_k"):
                if k in rec:
                    rec[k] = float(rec[k])
            records.append(rec)
        out = {
            "model": self.model,
            "engine": self.engine,
            "dataset": self.dataset,
            "questions": len(self.frame),
            "top_k": self.top_k,
            "exact_match": self.exact_match,
            "f1": self.f1,
            "seconds": self.seconds,
            "wall_seconds": self.wall_seconds,
            "questions_per_second": self.throughput,
            "failed": self.failed,
            "workers": self.workers().to_dict(orient="records"),
            "warning": self.warning,
            "per_question": records,
        }
        if self.exact_match_at_k is not None:
            out["exact_match_at_k"] = self.exact_match_at_k
        return out

    def summary(self) -> str:
        """One line: who was scored on what, and how well."""
        who = self.model or "reader"
        if self.engine:
            who += f" ({self.engine})"
        line = (f"{who} on {self.dataset or 'dataset'}, {len(self.frame)} questions: "
                f"exact match {self.exact_match:.1f}, F1 {self.f1:.1f}")
        if self.exact_match_at_k is not None:
            line += f", exact match in top {self.top_k} {self.exact_match_at_k:.1f}"
        if self.failed:
            line += f", {self.failed} failed (see the error column)"
        if self.wall_seconds is None:
            return line + f" ({self.seconds:.1f} s)"
        workers = self.frame["worker"].nunique() if "worker" in self.frame else 1
        on = f" on {workers} workers" if workers > 1 else ""
        return line + f" ({self.wall_seconds:.1f} s, {self.throughput:.1f} questions/s{on})"

    def table(self, width: int = 40) -> str:
        """The per-question results as a plain-text table, for terminals."""
        header = ("id", "EM", "F1", "question", "prediction", "gold")
        rows = [
            (str(r["id"]), f"{r['exact_match']:.0f}", f"{r['f1']:.0f}", _shorten(r["question"], width),
             _shorten(r["prediction"], width) or "(none)", _shorten(" | ".join(r["golds"]), width))
            for r in self.frame.to_dict(orient="records")
        ]
        if not rows:
            return "(no questions)"
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        right = {1, 2}  # numbers line up on the right, text on the left

        def line(cells: "tuple[str, ...]") -> str:
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        return "\n".join([line(header)] + [line(r) for r in rows])

    def __str__(self) -> str:
        lines = [self.summary()]
        if self.warning:
            lines.append(f"note: {self.warning}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"EvalReport(model={self.model!r}, dataset={self.dataset!r}, questions={len(self.frame)}, "
                f"exact_match={self.exact_match:.1f}, f1={self.f1:.1f})")

    def _repr_html_(self) -> str:
        shown = self.frame.copy()
        if "error" in shown and shown["error"].isna().all():
            shown = shown.drop(columns="error")  # a column of blanks says nothing
        shown["golds"] = [" | ".join(g) for g in shown["golds"]]
        if "top_k_predictions" in shown:
            shown["top_k_predictions"] = [" | ".join(p) for p in shown["top_k_predictions"]]
        parts = [f"<p><b>{html.escape(self.summary())}</b></p>"]
        if self.warning:
            parts.append(f"<p><i>note: {html.escape(self.warning)}</i></p>")
        spread = self.workers()
        if len(spread) > 1:
            parts.append(f"<p>Per worker ({self.throughput:.1f} questions/s in all):</p>{frame_table(spread)}")
        parts.append(frame_table(shown))
        return "\n".join(parts)

    def chart(self, ax: Any = None) -> Any:
        """Per-question F1 as horizontal bars, coloured exact / partial / miss, with the predictions."""
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        n = len(self.frame)
        if ax is None:
            fig = Figure(figsize=(9, max(2.5, 0.38 * n + 1.4)), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        scores = [float(v) for v in self.frame["f1"]]
        exact = [float(v) >= 100.0 for v in self.frame["exact_match"]]
        colours = [_EM_COLOUR if e else (_PARTIAL_COLOUR if s > 0 else _MISS_COLOUR) for s, e in zip(scores, exact)]
        labels = [plain_for_matplotlib(_shorten(q, 48)) for q in self.frame["question"]]
        ys = list(range(n))
        ax.barh(ys, scores, color=colours)
        for y, s, pred, colour in zip(ys, scores, self.frame["prediction"], colours):
            # a miss has no bar to see, so its label takes the miss colour instead
            ax.text(min(s, 100) + 1.5, y, plain_for_matplotlib(_shorten(pred, 26) or "(no answer)"),
                    va="center", fontsize=8, color=_MISS_COLOUR if s == 0 else "#333333")
        ax.set_yticks(ys, labels=labels, fontsize=8)
        ax.invert_yaxis()  # first question on top
        ax.set_xlim(0, 140)  # room for the prediction labels
        ax.set_xticks([0, 20, 40, 60, 80, 100])
        ax.set_xlabel("F1 (%)")
        if n:
            ax.axvline(self.f1, color="#555555", linestyle="--", linewidth=1)
        ax.legend(handles=[Patch(color=_EM_COLOUR, label="exact match"),
                           Patch(color=_PARTIAL_COLOUR, label="partial overlap"),
                           Patch(color=_MISS_COLOUR, label="no overlap (F1 0)")],
                  loc="upper center", bbox_to_anchor=(0.5, -0.45 / max(n, 1) - 0.06), ncols=3,
                  fontsize=8, frameon=False)
        ax.set_title(plain_for_matplotlib(f"{self.model or 'reader'} on {self.dataset or 'dataset'}: "
                                f"EM {self.exact_match:.1f}, F1 {self.f1:.1f} (dashed: mean F1)"), fontsize=10)
        return fig


# ---------------------------------------------------------------------------------------------
# running a reader over a dataset


def _reader_label(reader: ReaderLike, attr: str) -> str:
    value = getattr(reader, attr, None)
    return value if isinstance(value, str) else ""


def evaluate(model: Any, dataset: DatasetLike, *, top_k: int = 1, progress: bool = True, client: Any = None,
             batch_size: Optional[int] = None, engine: str = "deepsparse", sequence_length: Optional[int] = None,
             doc_stride: Optional[int] = None, num_cores: Any = None) -> EvalReport:
    """Ask a model every question of a SQuAD dataset and score its best answers against the golds.

    `model` is a reader from qa_kit.load() or a source string (loaded with `engine`,
    `sequence_length`, `doc_stride`, `num_cores`). With `client` (a dask.distributed Client) the
    questions go to the cluster's workers in batches of `batch_size`, each worker loading the model
    once (qa_kit.scale.on_dask). A list of readers or DeepSparse server URLs serving one model has
    its questions spread over them by threads (qa_kit.scale.fan_out_each). A question that fails
    keeps its error in its row (scored 0); the report records who answered each and how long it took.
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise InputError(f"top_k={top_k!r} must be a whole number, 1 or more.")
    spread = isinstance(model, (list, tuple))
    if not spread and not isinstance(model, str) and not callable(getattr(model, "ask", None)):
        raise InputError(f"{type(model).__name__} has no ask(question, context, top_k) method; "
                         "give a reader from qa_kit.load() or a model source.")
    if spread and not model:
        raise InputError("The list of readers is empty: give at least one reader or server URL.")
    if spread and client is not None:
        raise InputError("client= spreads one model over a Dask cluster and a list of servers is spread by threads: "
                         "give one model with client=, or the list without it.")
    examples, name = _examples_and_name(dataset)
    if not examples:
        raise InputError(f"The dataset {name!r} has no questions; give a SQuAD file with at least one.")
    options = ReadOptions(engine, sequence_length, doc_stride, num_cores)
    began = time.perf_counter()
    load_seconds: Dict[str, float] = {}
    if client is not None:
        outcomes, label, engine, load_seconds = _on_cluster(client, model, examples, name, top_k, batch_size,
                                                            progress, options)
    else:
        readers = [_loaded(m, options) for m in (model if spread else [model])]
        outcomes = _ask_here(readers, examples, name, top_k, progress)
        labels = [_reader_label(r, "name") or _reader_label(r, "source") for r in readers]
        label, engine = " + ".join(dict.fromkeys(x for x in labels if x)), _reader_label(readers[0], "engine_name")
    report = _report(examples, outcomes, label, engine, name, top_k)
    report.wall_seconds = time.perf_counter() - began
    report.load_seconds = load_seconds
    return report


def _loaded(model: Any, options: ReadOptions) -> ReaderLike:
    if not isinstance(model, str):
        return model
    from .reader import load

    return load(model, **options.as_kwargs())


def _ask_here(readers: List[ReaderLike], examples: List[Example], name: str, top_k: int, progress: bool) -> List[Outcome]:
    """Every question asked in this process: of one reader in turn, or spread over several by threads."""
    from tqdm.auto import tqdm

    questions, contexts = [ex.question for ex in examples], [ex.context for ex in examples]
    with tqdm(total=len(examples), desc=f"eval {one_line(name, 32)}", unit="q", disable=not progress) as bar:
        return ask_here(readers, questions, contexts, top_k, on_done=lambda _: bar.update(1))


def _on_cluster(client: Any, model: Any, examples: List[Example], name: str, top_k: int, batch_size: Optional[int],
                progress: bool, options: ReadOptions) -> Tuple[List[Outcome], str, str, Dict[str, float]]:
    """Every question asked on a Dask cluster; a model that cannot load there is one error, raised."""
    spec = spec_for(model, **options.as_kwargs())
    label = model.strip() if isinstance(model, str) else (_reader_label(model, "name") or spec.source)
    run, = on_dask(client, [spec], [ex.question for ex in examples], [ex.context for ex in examples], top_k,
                   batch_size=batch_size, progress=progress, desc=f"eval {one_line(name, 32)}")
    if run.load_error is not None:
        raise EngineError(f"The model {label!r} {run.load_error}")
    return run.outcomes, label, spec.engine, run.load_seconds


def _score(ex: Example, outcome: Outcome, top_k: int) -> dict:
    """One question's row: prediction, golds, EM, F1, time, worker and error (a failure scores 0)."""
    texts = [a.text for a in list(outcome.answers or [])[:top_k]]
    prediction = texts[0] if texts else ""
    row = {
        "id": ex.id,
        "question": ex.question,
        "prediction": prediction,
        "golds": list(ex.answers),
        "exact_match": 100.0 * exact_match(prediction, ex.answers) if outcome.error is None else 0.0,
        "f1": 100.0 * f1(prediction, ex.answers) if outcome.error is None else 0.0,
        "seconds": outcome.seconds,
        "worker": outcome.worker,
        "error": outcome.error,
    }
    if top_k > 1:
        row["top_k_predictions"] = texts
        row["exact_match_at_k"] = 100.0 * max([exact_match(t, ex.answers) for t in texts] or [0.0])
    return row


def _report(examples: List[Example], outcomes: List[Outcome], model: str, engine: str, name: str,
            top_k: int) -> EvalReport:
    """The scored rows as a report: a DataFrame plus who answered and any warning."""
    rows = [_score(ex, outcome, top_k) for ex, outcome in zip(examples, outcomes)]
    answered = [o.answers for o in outcomes if o.answers is not None]
    warning = next((w for w in (getattr(a, "warning", None) for a in answered) if w), None)
    engine = engine or next((x for x in (_reader_label(a, "engine") for a in answered) if x), "")
    model = model or next((x for x in (_reader_label(a, "model") for a in answered) if x), "")
    columns = ["id", "question", "prediction", "golds", "exact_match", "f1", "seconds", "worker", "error"]
    if top_k > 1:
        columns += ["top_k_predictions", "exact_match_at_k"]
    frame = pd.DataFrame(rows, columns=columns)
    return EvalReport(frame=frame, model=model, engine=engine, dataset=name, top_k=top_k, warning=warning)
