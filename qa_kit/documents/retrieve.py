"""Finding the passages that may hold an answer: BM25 (SQLite FTS5), dense (embeddings), and the two fused.

Fusion is reciprocal rank fusion (Cormack et al., 2009): a passage scores the sum of 1 / (60 + rank)
over the rankings it appears in, so neither score's scale matters, only the order each method gave.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from .store import Store

METHODS = ("hybrid", "bm25", "dense")
RRF_K = 60  # the constant of reciprocal rank fusion: damps the lead of the first few ranks
DEPTH = 50  # how deep each method's ranking goes before fusion
_WORD = re.compile(r"\w+", re.UNICODE)


def _stopwords() -> frozenset:
    from bm25s.stopwords import STOPWORDS_EN  # the same English list fast reading uses

    return frozenset(STOPWORDS_EN) | {"what", "who", "whom", "which", "when", "where", "why", "how", "did", "does",
                                      "do", "was", "were", "has", "had", "have", "its", "his", "her", "their"}


@dataclass
class Hit:
    """One retrieved passage: its id, fused score, and each method's rank and score (None if it missed)."""

    passage: int
    score: float
    ranks: Dict[str, Optional[int]] = field(default_factory=dict)  # method -> 1-based rank
    scores: Dict[str, Optional[float]] = field(default_factory=dict)  # method -> that method's own score


def check_method(method: str) -> str:
    """The method name, or an InputError naming the choices."""
    if method not in METHODS:
        raise InputError(f"method={method!r} is not a retrieval method: choose one of {', '.join(METHODS)}.")
    return method


def fts_query(question: str) -> str:
    """The question as an FTS5 query: its words (stopwords dropped, each quoted) joined by OR."""
    words = [w.lower() for w in _WORD.findall(question)]
    stop = _stopwords()
    kept = [w for w in words if w not in stop] or words
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(kept))


def bm25(store: Store, question: str, k: int = DEPTH) -> List[Tuple[int, float]]:
    """(passage id, BM25 score) of the k best passages by the words they share with the question."""
    query = fts_query(question)
    return store.match(query, k) if query else []


class DenseIndex:
    """The library's embeddings held in memory (read once per index version) for cosine search."""

    def __init__(self, store: Store):
        self.ids, self.matrix = store.embeddings()

    def search(self, vector: np.ndarray, k: int = DEPTH) -> List[Tuple[int, float]]:
        """(passage id, cosine similarity) of the k nearest passages, best first."""
        if not len(self.ids):
            return []
        scores = self.matrix @ np.asarray(vector, dtype=np.float32).reshape(-1)
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in best]


def fuse(rankings: Dict[str, Sequence[Tuple[int, float]]], k: int = RRF_K) -> List[Hit]:
    """Reciprocal rank fusion of several rankings of (passage id, score), best first (ties by lower id)."""
    hits: Dict[int, Hit] = {}
    for method, ranking in rankings.items():
        for rank, (passage, score) in enumerate(ranking, start=1):
            hit = hits.setdefault(passage, Hit(passage, 0.0))
            hit.score += 1.0 / (k + rank)
            hit.ranks[method], hit.scores[method] = rank, score
    for hit in hits.values():
        for method in rankings:
            hit.ranks.setdefault(method, None)
            hit.scores.setdefault(method, None)
    return sorted(hits.values(), key=lambda h: (-h.score, h.passage))


def only(method: str, ranking: Sequence[Tuple[int, float]]) -> List[Hit]:
    """One method's ranking as hits (its own score as the score)."""
    return [Hit(p, s, {method: r}, {method: s}) for r, (p, s) in enumerate(ranking, start=1)]
