"""Tests of scripts/make_qa_examples.py, the generator of the demo reader's training data."""
from __future__ import annotations

import collections
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_qa_examples", ROOT / "scripts" / "make_qa_examples.py")
gen = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("make_qa_examples", gen)
_spec.loader.exec_module(gen)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def examples():
    return gen.generate(3000, seed=11)


def test_every_answer_sits_at_its_offset(examples):
    for ex in examples:
        assert ex.answer, ex
        assert ex.context[ex.answer_start:ex.answer_start + len(ex.answer)] == ex.answer, ex
        assert ex.answer == ex.answer.strip()


def test_no_unfilled_template_slots(examples):
    for ex in examples:
        assert "{" not in ex.context and "}" not in ex.context, ex.context
        assert "{" not in ex.question and "}" not in ex.question, ex.question


def test_same_seed_same_examples_other_seed_other_examples():
    a = gen.generate(300, seed=4)
    b = gen.generate(300, seed=4)
    c = gen.generate(300, seed=5)
    assert a == b
    assert [e.question for e in a] != [e.question for e in c]
    assert len({e.context for e in a} & {e.context for e in c}) == 0


def test_count_is_exact():
    assert len(gen.generate(1, seed=0)) == 1
    assert len(gen.generate(257, seed=0)) == 257
    assert len({e.id for e in gen.generate(257, seed=0)}) == 257


def test_question_types_vary(examples):
    starts = collections.Counter(" ".join(e.question.lower().split()[:2]) for e in examples)
    for prefix in ("who was", "when was", "where was", "how many", "what was", "in what",
                   "which company", "how much", "in which"):
        assert any(s.startswith(prefix) for s in starts), prefix
    assert len(starts) >= 60
    assert len({e.question for e in examples}) > 0.75 * len(examples)


def test_answer_kinds_vary(examples):
    answers = [e.answer for e in examples]
    years = sum(bool(re.fullmatch(r"1[0-9]{3}|20[0-2][0-9]", a)) for a in answers)
    dates = sum(bool(re.search(r"(January|March|May|July|October|December) ", a + " ")) and
                bool(re.search(r"\d{4}", a)) for a in answers)
    money = sum(bool(re.search(r"[$€£]|dollars|euros|pounds", a)) for a in answers)
    counts = sum(bool(re.fullmatch(r"[\d,]+", a)) for a in answers)
    long_phrases = sum(len(a.split()) >= 3 for a in answers)
    for name, n in [("years", years), ("dates", dates), ("money", money), ("counts", counts),
                    ("phrases", long_phrases)]:
        assert n > 0.02 * len(answers), (name, n)


def test_answers_land_at_many_positions(examples):
    rel = [e.answer_start / len(e.context) for e in examples]
    quart = collections.Counter(min(3, int(r * 4)) for r in rel)
    for q in range(4):
        assert quart[q] > 0.1 * len(examples), quart
    assert sum(e.answer_start == 0 for e in examples) < 0.2 * len(examples)


def test_contexts_hold_distractors_of_the_answer_type(examples):
    """Year answers often share the paragraph with other years, names with other names."""
    year_ex = [e for e in examples if re.fullmatch(r"\d{4}", e.answer)]
    other_year = [e for e in year_ex if set(re.findall(r"\b1[5-9]\d\d\b|\b20[0-2]\d\b", e.context)) - {e.answer}]
    assert len(other_year) > 0.4 * len(year_ex)
    name_like = re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b")
    who = [e for e in examples if e.question.startswith("Who ") and name_like.fullmatch(e.answer)]
    crowded = [e for e in who if set(name_like.findall(e.context)) - {e.answer}]
    assert len(who) > 50 and len(crowded) > 0.4 * len(who)


def test_contexts_have_several_sentences(examples):
    sentences = [len(re.findall(r"[.!?](\s|$)", e.context)) for e in examples]
    assert sum(n >= 3 for n in sentences) > 0.6 * len(examples)
    assert max(len(e.context) for e in examples) > 600


def test_squad_export_round_trips(tmp_path):
    exs = gen.generate(120, seed=2)
    out = tmp_path / "gen.json"
    gen.main(["--n", "120", "--seed", "2", "--out", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["version"] == "1.1"
    qas = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                ans = qa["answers"][0]
                assert para["context"][ans["answer_start"]:ans["answer_start"] + len(ans["text"])] == ans["text"]
                qas.append((qa["id"], qa["question"], ans["text"]))
    assert qas == [(e.id, e.question, e.answer) for e in exs]


def test_held_out_texts_are_not_in_the_generated_data():
    """The hand-written sets score the model, so no sentence or full name of theirs is generated."""
    texts = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "data" / "texts").glob("*.txt"))
    if not texts:
        pytest.skip("no sample texts in data/texts")
    generated = " ".join(e.context for e in gen.generate(5000, seed=1))
    sentences = {s.strip() for s in re.split(r"(?<=[.!?])\s+", texts) if len(s) > 25}
    assert not [s for s in sentences if s in generated]
    names = set(re.findall(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b", texts)) - {"On Saturday", "On Monday", "On Tuesday",
                                                                     "On Wednesday", "On Thursday", "On Friday", "On Sunday"}
    leaked = sorted(n for n in names if n in generated and not n.split()[0] in ("The", "In", "On", "By", "At"))
    assert not leaked


def test_embellished_examples_keep_offsets_and_are_longer():
    plain = gen.generate(800, seed=21)
    fancy = gen.generate(800, seed=21, embellish=0.8)
    for ex in fancy:
        assert ex.context[ex.answer_start:ex.answer_start + len(ex.answer)] == ex.answer, ex
    assert sum(len(e.context) for e in fancy) > 1.05 * sum(len(e.context) for e in plain)
    assert any(o in e.context for e in fancy for o in gen.OPENERS)
    assert gen.generate(50, seed=21, embellish=0.0) == gen.generate(50, seed=21)
