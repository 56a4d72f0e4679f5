"""What a library question gives back: answers that know their file, page, offsets and retrieval scores."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence

from ..results import Answer
from ..text import percent


@dataclass(frozen=True)
class SourcedAnswer(Answer):
    """An answer found in a library: `start`/`end` are offsets in `file`'s text (`library.text(file)`)."""

    file: str = ""  # the file's absolute path
    page: Optional[int] = None  # 1-based PDF page, None for other kinds
    passage: int = 0  # the passage's id in the index
    passage_start: int = 0  # the passage's offsets in the file's text
    passage_end: int = 0
    passage_text: str = ""
    retrieval: Dict[str, Optional[float]] = field(default_factory=dict)  # rank, score, bm25/dense ranks and scores

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LibraryAnswers(Sequence[SourcedAnswer]):
    """The ranked answers to one question asked of a library, best first, with the passages read."""

    question: str
    answers: List[SourcedAnswer]
    passages: List[dict]  # each passage read: id, file, page, start, end, and its retrieval ranks and scores
    method: str = "hybrid"
    model: str = ""
    engine: str = ""
    root: str = ""  # the library's folder, for short file names
    timings: Dict[str, float] = field(default_factory=dict)  # seconds: retrieve, read, total
    warning: Optional[str] = None

    def __getitem__(self, i):
        return self.answers[i]

    def __len__(self) -> int:
        return len(self.answers)

    def __iter__(self) -> Iterator[SourcedAnswer]:
        return iter(self.answers)

    @property
    def best(self) -> Optional[SourcedAnswer]:
        """The top answer, or None when no passage held one."""
        return self.answers[0] if self.answers else None

    def to_dicts(self) -> List[dict]:
        """JSON-ready answers (without the passage text)."""
        return [{k: v for k, v in a.to_dict().items() if k != "passage_text"} for a in self.answers]

    def to_frame(self):
        """One row per answer: rank, text, file, page, start, end, probability, retrieval rank."""
        import pandas as pd

        return pd.DataFrame([{"rank": a.rank, "text": a.text, "file": a.file, "page": a.page, "start": a.start,
                              "end": a.end, "probability": a.probability, "score": a.score,
                              "retrieval_rank": a.retrieval.get("rank")} for a in self.answers])

    def _repr_html_(self) -> str:
        from .render import library_answers_html

        return library_answers_html(self)

    def __repr__(self) -> str:
        lines = [f"LibraryAnswers({self.question!r}, method={self.method!r}, model={self.model!r})"]
        for a in self.answers:
            where = f"{a.file}" + (f" page {a.page}" if a.page else "")
            lines.append(f"  {a.rank}. {a.text!r} p {percent(a.probability)} in {where} [{a.start}:{a.end}]")
        if self.warning:
            lines.append(f"  warning: {self.warning}")
        return "\n".join(lines)
