"""The kit's SQuAD exact match and F1 give what the official SQuAD v1.1 scorer gives, in every case.

`_official_*` below restate the v1.1 scorer's rules (evaluate-v1.1.py) so the kit can be checked
against them on thousands of random pairs, not only on the hand-picked cases.
"""
import random
import re
import string
from collections import Counter

import pytest

from qa_kit.metrics import exact_match, f1, normalize_answer


# ---------------------------------------------------------------------------------------------
# the official v1.1 rules, restated


def _official_normalize(s):
    # the scorer's order: lower case, drop punctuation, drop whole-word articles, collapse spaces
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def _official_em(prediction, gold):
    return _official_normalize(prediction) == _official_normalize(gold)


def _official_f1(prediction, gold):
    pred = _official_normalize(prediction).split()
    true = _official_normalize(gold).split()
    same = sum((Counter(pred) & Counter(true)).values())
    if same == 0:  # also when both sides normalise to nothing: F1 0, though EM is 1
        return 0
    precision = 1.0 * same / len(pred)
    recall = 1.0 * same / len(true)
    return (2 * precision * recall) / (precision + recall)


def _official_best(metric, prediction, golds):
    return max(metric(prediction, g) for g in golds)


# ---------------------------------------------------------------------------------------------
# random pairs


VOCAB = [
    "", "a", "an", "the", "A", "An", "THE", "The", "tHe", "a.", "the,", "(an)", "an-", "thea", "anna",
    "cat", "Cat", "CAT", "cat.", "cats", "dog", "Dog!", "4.7", "$4.7", "billion", "$5.6", "1911", "1,911",
    ".", ",", "!", "?", "'s", "-", "--", "...", "$", "%", "\"", "'", "(", ")", "[a]", "{the}", "#", "@",
    "Amélie", "AMÉLIE", "ß", "SS", "İ", "ı", "Σ", "σ", "ς", "港祭り", "ﬁ", "«the»", "—", "’s", "½",
    " ", "  ", "\t", "\n", "\u00a0", "\u2003",
]
SEPARATORS = ["", " ", " ", " ", "  ", "\t", "\n", "\u00a0"]


def _random_text(rng):
    words = [rng.choice(VOCAB) for _ in range(rng.randint(0, 5))]
    out = ""
    for w in words:
        out += w + rng.choice(SEPARATORS)
    return out if rng.random() < 0.8 else out.strip()


def _random_pairs(n, seed=20240611):
    rng = random.Random(seed)
    return [(_random_text(rng), [_random_text(rng) for _ in range(rng.randint(1, 3))]) for _ in range(n)]


PAIRS = _random_pairs(4000)


def test_the_random_pairs_reach_the_hard_cases():
    both_empty = sum(1 for p, gs in PAIRS if not _official_normalize(p) and any(not _official_normalize(g) for g in gs))
    partial = sum(1 for p, gs in PAIRS if 0 < _official_best(_official_f1, p, gs) < 1)
    assert both_empty > 100 and partial > 200


def test_normalize_answer_equals_the_official_one_on_random_text():
    wrong = [(p, normalize_answer(p), _official_normalize(p)) for p, _ in PAIRS if normalize_answer(p) != _official_normalize(p)]
    assert not wrong, wrong[:5]


def test_exact_match_equals_the_official_scorer_on_random_pairs():
    wrong = [(p, gs) for p, gs in PAIRS if exact_match(p, gs) != float(_official_best(_official_em, p, gs))]
    assert not wrong, wrong[:5]


def test_f1_equals_the_official_scorer_on_random_pairs():
    # the same arithmetic in the same order, so equal to the last bit, not just approximately
    wrong = [(p, gs, f1(p, gs), _official_best(_official_f1, p, gs)) for p, gs in PAIRS
             if f1(p, gs) != float(_official_best(_official_f1, p, gs))]
    assert not wrong, wrong[:5]


def test_scores_are_floats():
    assert isinstance(f1("a", ["the"]), float) and isinstance(exact_match("a", ["the"]), float)


# ---------------------------------------------------------------------------------------------
# named edge cases


@pytest.mark.parametrize("prediction, golds, em, f1_score", [
    ("a", ["the"], 1.0, 0.0),                  # both normalise to "": equal strings, but no token shared
    ("", [""], 1.0, 0.0),
    ("The.", ["an!"], 1.0, 0.0),
    ("...", ["?"], 1.0, 0.0),
    ("", ["1911"], 0.0, 0.0),                  # empty prediction
    ("1911", [""], 0.0, 0.0),                  # empty gold text
    ("the cat", ["a cat"], 1.0, 1.0),
    ("A.B.C.", ["abc"], 1.0, 1.0),             # punctuation goes before articles: "a.b.c." -> "abc"
    ("The-cat", ["cat"], 0.0, 0.0),            # "the-cat" -> "thecat", not "cat"
    ("$4.7 billion", ["4.7 billion"], 1.0, 1.0),
    ("a", ["the", "a b"], 1.0, 0.0),           # the best of each metric, each over all golds
    ("cat dog", ["cat", "dog cat!"], 0.0, 1.0),   # same tokens, other order: F1 1, EM 0
    ("cat dog", ["cat"], 0.0, pytest.approx(2 / 3)),
])
def test_named_cases_score_as_the_official_scorer(prediction, golds, em, f1_score):
    assert exact_match(prediction, golds) == em == float(_official_best(_official_em, prediction, golds))
    assert f1(prediction, golds) == f1_score
    assert f1_score == _official_best(_official_f1, prediction, golds)


def test_a_single_gold_may_be_a_plain_string():
    assert f1("a", "the") == 0.0 and exact_match("a", "the") == 1.0


def test_a_question_without_golds_keeps_the_squad_v2_rule():
    # The v1.1 scorer cannot score a question without gold answers (max of nothing); the kit scores
    # it as SQuAD v2 scores an unanswerable question: only an answer that normalises to "" is right.
    assert exact_match("", []) == 1.0 and f1("", []) == 1.0
    assert exact_match("the", []) == 1.0 and f1("the", []) == 1.0
    assert exact_match("1911", []) == 0.0 and f1("1911", []) == 0.0
