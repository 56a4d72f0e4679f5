"""Fast reading: rank a long text's windows against the question, so the engine reads only the best.

Lexical BM25 (the bm25s library) costs milliseconds and needs no model, while each window costs
the engine 100+ ms; an answer to a factual question almost always shares words with it.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np


def window_scores(question: str, texts: Sequence[str]) -> np.ndarray:
    """BM25 score of every window text against the question (higher = more likely to hold the answer)."""
    import bm25s

    corpus = bm25s.tokenize(list(texts), stopwords="en", show_progress=False)
    index = bm25s.BM25()
    index.index(corpus, show_progress=False)
    query = bm25s.tokenize([question], stopwords="en", show_progress=False, return_ids=False)[0]
    known = [word for word in query if word in corpus.vocab]
    if not known:  # no question word occurs in the text: every window is as good as any other
        return np.zeros(len(texts), dtype=np.float32)
    return np.asarray(index.get_scores(known), dtype=np.float32)


def rank_windows(question: str, texts: Sequence[str]) -> List[int]:
    """Every window's index, best first (ties go to earlier windows): the order fast reading reads in."""
    return [int(i) for i in np.argsort(-window_scores(question, texts), kind="stable")]


def pick_windows(question: str, texts: Sequence[str], max_windows: int) -> List[int]:
    """Indexes of the `max_windows` best windows, in document order (ties go to earlier windows)."""
    if max_windows < 1:
        raise ValueError(f"max_windows={max_windows} must be 1 or more.")
    if len(texts) <= max_windows:
        return list(range(len(texts)))
    return sorted(rank_windows(question, texts)[:max_windows])
