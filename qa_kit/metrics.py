"""SQuAD v1.1 exact match and token F1 of one answer against its gold answers, as the official scorer gives them.

Both answers are normalised (lower case, then punctuation removed, then the articles a/an/the
removed, then whitespace collapsed), exact match asks for equal normalised strings, F1 compares
the bags of normalised tokens and is 0 when they share none (even when both are empty: "a"
against "the" has exact match 1 and F1 0), and a question takes its best score over its gold
answers. A question with no gold answer, which v1.1 cannot score, is scored as SQuAD v2 scores
an unanswerable one: only an answer that normalises to "" is right. Standard library only.
"""
from __future__ import annotations

import re
import string
from collections import Counter
from typing import List, Sequence, Union

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s: str) -> str:
    """SQuAD v1.1 normalisation, in the official order, so 'The Calvin cycle.' equals 'calvin cycle'."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCTUATION)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _golds_list(golds: Union[str, Sequence[str]]) -> List[str]:
    return [golds] if isinstance(golds, str) else list(golds)


def _em_one(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def _f1_one(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:  # as the official v1.1 scorer: also when both sides normalise to nothing
        return 0.0
    precision = 1.0 * same / len(pred_tokens)
    recall = 1.0 * same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def _unanswerable(prediction: str) -> float:
    # No gold answer: v1.1 cannot score this (a max over nothing); SQuAD v2's rule for an
    # unanswerable question counts only an answer that normalises to "" as right, for EM and F1.
    return float(normalize_answer(prediction) == "")


def exact_match(prediction: str, golds: Union[str, Sequence[str]]) -> float:
    """Official v1.1 exact match: 1.0 when the normalised prediction equals any normalised gold, else 0.0."""
    golds = _golds_list(golds)
    return max(_em_one(prediction, g) for g in golds) if golds else _unanswerable(prediction)


def f1(prediction: str, golds: Union[str, Sequence[str]]) -> float:
    """Official v1.1 token-overlap F1 (0.0 to 1.0) against the best-matching gold answer."""
    golds = _golds_list(golds)
    return max(_f1_one(prediction, g) for g in golds) if golds else _unanswerable(prediction)


__all__ = ["normalize_answer", "exact_match", "f1"]
