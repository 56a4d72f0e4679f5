"""The benchmark's inputs: its question set, its long context, a one-window paragraph per question, and its progress bar.

Shared by the benchmark (qa_kit.bench) and the sparsity sweep (qa_kit.sparsity_sweep).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Tuple, Union

from .errors import InputError
from .paths import QUESTIONS_DIR, TEXTS_DIR

DEFAULT_CONTEXT = TEXTS_DIR / "bank_run.txt"
DEFAULT_QUESTIONS = QUESTIONS_DIR / "bank_run.json"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answer_start: int = -1  # where a gold answer starts in the long context, if known
    golds: Tuple[str, ...] = ()


def load_questions(questions: Any, context: str) -> List[Question]:
    """The question set as Questions: None (the sample set), a SQuAD file or dict, Examples or question strings."""
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


def read_context(context: Union[None, str, Path]) -> Tuple[str, str]:
    """(text, name) of the long context: None (the sample article), a text file, or the text itself."""
    if context is None:
        return DEFAULT_CONTEXT.read_text(encoding="utf-8"), DEFAULT_CONTEXT.name
    if isinstance(context, Path):
        if not context.is_file():
            raise InputError(f"Context file {context} does not exist: give a text file.")
        return context.read_text(encoding="utf-8"), context.name
    if not isinstance(context, str) or not context.strip():
        raise InputError("The context is empty: give the text to read (or leave it out for the sample article).")
    return context, "given text"


class Progress:
    """A tqdm bar counting timed runs, or nothing when not enabled."""

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


def rotate(items: List[Any], by: int) -> List[Any]:
    """`items` turned by `by` places, so consecutive rounds start with a different variant."""
    by %= max(len(items), 1)
    return items[by:] + items[:by]
