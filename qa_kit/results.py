"""Result objects: what a question asked of a model gives back.

`Answer` is one span of the context; `Answers` is the ranked list for one question, with the
windows the model read (their logits, for charts), stage timings and a note when the model's
answers carry no meaning (random weights). Both show themselves in a notebook.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, overload

import numpy as np

from .text import percent, score_text


@dataclass(frozen=True)
class Answer:
    """One answer span: `context[start:end] == text`."""

    text: str
    start: int
    end: int
    score: float  # raw start logit + end logit, as DeepSparse reports it
    probability: float  # softmax over all candidate spans of this question
    rank: int = 1  # 1 = best
    window: int = 0  # index of the window the span was read from
    label: Optional[str] = None  # who answered (a model name), for comparisons

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Window:
    """One overlapping slice of the context as the model saw it, with its logits."""

    index: int
    char_start: int  # first context character covered by this window
    char_end: int  # one past the last context character covered
    token_offsets: np.ndarray  # (tokens, 2) character offsets into the context; (-1, -1) off-context
    start_logits: Optional[np.ndarray] = None  # (tokens,) or None when the window was not read
    end_logits: Optional[np.ndarray] = None
    read: bool = True  # False when fast reading skipped this window


@dataclass
class Answers(Sequence[Answer]):
    """The ranked answers to one question about one context, best first."""

    question: str
    context: str
    answers: List[Answer]
    model: str = ""  # the source the reader was loaded from
    engine: str = ""
    timings: Dict[str, float] = field(default_factory=dict)  # seconds: tokenize, engine, decode, total
    windows: List[Window] = field(default_factory=list)
    warning: Optional[str] = None  # the answers must not be taken as real (random weights): shown first, loudly
    note: Optional[str] = None  # worth knowing, not alarming (e.g. "a server gives only its top answer")

    @overload
    def __getitem__(self, i: int) -> Answer: ...
    @overload
    def __getitem__(self, i: slice) -> List[Answer]: ...
    def __getitem__(self, i):
        return self.answers[i]

    def __len__(self) -> int:
        return len(self.answers)

    def __iter__(self) -> Iterator[Answer]:
        return iter(self.answers)

    @property
    def best(self) -> Optional[Answer]:
        """The top answer, or None when no span qualified."""
        return self.answers[0] if self.answers else None

    def to_frame(self):
        """One row per answer: question, rank, text, start, end, score, probability, window, model."""
        import pandas as pd

        columns = ["question", "rank", "text", "start", "end", "score", "probability", "window", "model", "engine"]
        rows = [
            {**{k: getattr(a, k) for k in ("rank", "text", "start", "end", "score", "probability", "window")},
             "question": self.question, "model": self.model, "engine": self.engine}
            for a in self.answers
        ]
        return pd.DataFrame(rows, columns=columns)

    def to_dicts(self) -> List[dict]:
        """JSON-ready answers: text, start, end, score, probability (plus rank and window)."""
        return [
            {"text": a.text, "start": a.start, "end": a.end, "score": a.score,
             "probability": a.probability, "rank": a.rank, "window": a.window}
            for a in self.answers
        ]

    def save_html(self, path, title: Optional[str] = None):
        """Write a standalone HTML report (answer in context, charts, table) that opens offline."""
        from .report import save_html

        return save_html(self, path, title=title)

    def save_csv(self, path):
        """Write the answers table (with the warning) to a CSV file."""
        from .report import save_csv

        return save_csv(self, path)

    def _repr_html_(self) -> str:
        from .render import answers_html

        return answers_html(self)

    def __repr__(self) -> str:
        head = f"Answers({self.question!r}, model={self.model!r}, engine={self.engine!r})"
        lines = [head] + [
            f"  {a.rank}. {a.text!r} [{a.start}:{a.end}] score {score_text(a.score)} p {percent(a.probability)}"
            for a in self.answers
        ]
        if self.warning:
            lines.append(f"  warning: {self.warning}")
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)
