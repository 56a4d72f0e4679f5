"""Calibrating fast reading from full reads: no extra engine runs.

A full read keeps every window's logits, and the engine reads each window on its own, so
decoding the logits of the windows fast reading would read gives exactly what `ask(fast=True)`
gives. From that come fast reading's agreement at each size (the benchmark's curve) and a model's
*confident score*: the answer score above which fast reading's answer is almost always the one
full reading gives, so that below it fast reading reads on (`Reader.confident_score`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from .errors import InputError
from .ranking import rank_windows
from .results import Answers

if TYPE_CHECKING:  # the in-process reader: calibration reads its windows and fast-reading settings
    from .reader import Reader

DEFAULT_AGREEMENT = 0.98  # fast answers at or above the confident score agree with full reading this often


def best_span(answers: Sequence) -> Optional[Tuple[int, int]]:
    """(start, end) of the top answer of an Answers or a list of Answer, None when there is none:
    what "the same top answer" compares."""
    return (answers[0].start, answers[0].end) if len(answers) else None


def read_from_full(reader: "Reader", full: Answers, size: int, confident_score: Optional[float],
                   order: Optional[Sequence[int]] = None):
    """What `reader.ask(full.question, full.context, fast=True, max_windows=size,
    confident_score=...)` would give, as a `Reading`, decoded from the full read's own logits."""
    windows = full.windows
    if any(w.start_logits is None for w in windows):
        raise InputError("That result skipped windows: calibrate from full reads (ask without fast=True).")
    if order is None:
        order = rank_windows(full.question, [full.context[w.char_start:w.char_end] for w in windows])
    offsets = np.stack([w.token_offsets for w in windows])

    def stored(indexes: List[int]) -> Tuple[np.ndarray, np.ndarray]:
        return (np.stack([windows[i].start_logits for i in indexes]),
                np.stack([windows[i].end_logits for i in indexes]))

    return reader.read_windows(full.context, offsets, order, stored, first=size, confident_score=confident_score)


def fast_reading_curve(reader: "Reader", full_reads: Sequence[Tuple[Answers, Sequence[str]]],
                       sizes: Sequence[int], confident_score: Optional[float] = None) -> List[dict]:
    """Fast reading at each size (max_windows), worked out from full reads: agreement, F1, share of
    windows read, and `keeps_right`: how often it keeps full reading's answer where that answer is
    exactly right. `full_reads` holds (full-read Answers, gold answers) pairs; `confident_score`
    as in `ask` (None: read exactly `size` windows)."""
    from .metrics import exact_match, f1

    orders = [rank_windows(full.question, [full.context[w.char_start:w.char_end] for w in full.windows])
              for full, _ in full_reads]
    right = [bool(golds) and full.best is not None and bool(exact_match(full.best.text, list(golds)))
             for full, golds in full_reads]  # full reading's answer is exactly a gold one
    rows = []
    for size in sizes:
        agreed, kept, scores, shares = 0, 0, [], []
        for (full, golds), order, full_right in zip(full_reads, orders, right):
            reading = read_from_full(reader, full, size, confident_score, order)
            same = best_span(reading.answers) == best_span(full)
            agreed += same
            kept += same and full_right
            shares.append(len(reading.windows_read) / len(full.windows))
            if golds:
                scores.append(100.0 * f1(reading.answers[0].text if reading.answers else "", list(golds)))
        rows.append({"max_windows": size, "agreement": agreed / len(full_reads) if full_reads else float("nan"),
                     "keeps_right": kept / sum(right) if any(right) else float("nan"),
                     "share_read": float(np.mean(shares)) if shares else float("nan"),
                     "f1": float(np.mean(scores)) if scores else float("nan")})
    return rows


def confident_score_from(points: Sequence[Tuple[float, bool]], agreement: float = DEFAULT_AGREEMENT) -> float:
    """The lowest score s such that, of the (fast answer score, agreed with full reading) points
    scoring s or more, at least `agreement` agreed; +inf when no score does (never confident)."""
    if not 0 < agreement <= 1:
        raise InputError(f"agreement={agreement!r} must be a fraction above 0 and at most 1, such as 0.98.")
    best, agreed = math.inf, 0
    for seen, (score, same) in enumerate(sorted(points, key=lambda p: -p[0]), start=1):
        agreed += bool(same)
        if agreed >= agreement * seen:
            best = float(score)
    return best


@dataclass
class Calibration:
    """A model's confident score for fast reading, and the fast reads it was worked out from."""

    score: float  # put it in reader.confident_score, or config.json's qa_kit_defaults.fast_confident_score
    agreement: float  # the share of agreeing fast answers asked for at or above the score
    max_windows: int  # the size of fast reading's first round it was worked out for
    points: pd.DataFrame  # per long question: fast score, agreed with full reading
    skipped: int  # questions whose text fits in max_windows windows (fast reading reads them whole)

    def __repr__(self) -> str:
        above = self.points[self.points["fast_score"] >= self.score]
        return (f"Calibration(score={self.score:.2f}: {int(above['agreed'].sum())} of {len(above)} fast answers "
                f"scoring at least that agree with full reading (asked: {self.agreement:.0%}); "
                f"{len(self.points)} long questions, first {self.max_windows} windows, {self.skipped} short ones skipped)")


def calibrate(reader: "Reader", questions: Sequence[str], contexts: Sequence[str], *,
              agreement: float = DEFAULT_AGREEMENT, max_windows: Optional[int] = None) -> Calibration:
    """Read each question's context in full once, and find the score above which the first
    `max_windows` windows' answer agrees with full reading at least `agreement` of the time.
    Needs no gold answers; use long texts and questions like the ones the model will be asked."""
    if len(questions) != len(contexts):
        raise InputError(f"Give one context per question: {len(questions)} questions, {len(contexts)} contexts.")
    size = reader.fast_windows if max_windows is None else max_windows
    rows, skipped = [], 0
    for question, context in zip(questions, contexts):
        full = reader.ask(question, context)
        if len(full.windows) <= size:
            skipped += 1
            continue
        reading = read_from_full(reader, full, size, None)
        rows.append({"question": question, "windows": len(full.windows),
                     "fast_score": reading.answers[0].score if reading.answers else -math.inf,
                     "agreed": best_span(reading.answers) == best_span(full)})
    if not rows:
        raise InputError(f"None of the {len(questions)} texts is longer than {size} windows, so fast reading "
                         "would read each one whole: calibrate on longer texts.")
    points = pd.DataFrame(rows)
    score = confident_score_from(list(zip(points["fast_score"], points["agreed"])), agreement)
    return Calibration(score=score, agreement=agreement, max_windows=size, points=points, skipped=skipped)
