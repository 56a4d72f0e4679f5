"""The SQuAD scorer against scores worked out by hand, and the report built from a fake reader."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from qa_kit.errors import InputError
from qa_kit.cli_eval import cli_eval
from qa_kit.evaluate import EvalReport, Example, evaluate, exact_match, f1, load_squad, normalize_answer
from qa_kit.results import Answer, Answers

DATA = Path(__file__).resolve().parents[1] / "data" / "questions"


# ---------------------------------------------------------------------------------------------
# normalisation


@pytest.mark.parametrize("raw, expected", [
    ("The Quick, Brown Fox!", "quick brown fox"),       # lower case, punctuation and article gone
    ("  An  apple\ta day\n", "apple day"),              # "an", "a" removed, whitespace collapsed
    ("$4.7 billion", "47 billion"),                     # "$" and "." are punctuation: 4.7 -> 47
    ("Theatre of the Anthem", "theatre of anthem"),     # articles only as whole words
    ("A.B.C.", "abc"),                                  # dots go first, so "a" is no longer a word
    ("#GetYourMoneyOut", "getyourmoneyout"),
    ("Calloway's Bakery", "calloways bakery"),
    ("Amélie Duroc", "amélie duroc"),                   # accents kept, only lower-cased
    ("港祭り (minato matsuri)", "港祭り minato matsuri"),
    ("the", ""),
    ("", ""),
])
def test_normalize_answer(raw, expected):
    assert normalize_answer(raw) == expected


# ---------------------------------------------------------------------------------------------
# exact match and F1 for one question


def test_exact_match_ignores_case_articles_and_punctuation():
    assert exact_match("the Calvin cycle.", ["Calvin cycle"]) == 1.0
    assert exact_match("Calvin", ["Calvin cycle"]) == 0.0
    assert exact_match("1911", "1911") == 1.0  # a single gold may be a plain string


def test_f1_partial_overlaps():
    # pred "thomas brennagh resigned" (3 tokens), gold "thomas brennagh" (2): 2 shared
    # precision 2/3, recall 2/2 -> F1 = 2 * (2/3 * 1) / (2/3 + 1) = (4/3) / (5/3) = 0.8
    assert f1("Thomas Brennagh resigned", ["Thomas Brennagh"]) == pytest.approx(0.8)
    # pred "brennagh" (1), gold "thomas brennagh" (2): 1 shared
    # precision 1/1, recall 1/2 -> F1 = 2 * 0.5 / 1.5 = 2/3
    assert f1("Brennagh", ["Thomas Brennagh"]) == pytest.approx(2 / 3)
    # after normalisation: pred "47 billion dollars", gold "47 billion": 2 shared of 3 and 2
    # -> precision 2/3, recall 1 -> 0.8
    assert f1("4.7 billion dollars", ["$4.7 billion"]) == pytest.approx(0.8)
    # no shared token -> 0
    assert f1("Helena Strand", ["Josiah Pell"]) == 0.0


def test_f1_counts_repeated_tokens_once_per_match():
    # pred "cat cat cat" (articles dropped), gold "cat cat": shared = min(3, 2) = 2
    # precision 2/3, recall 2/2 -> 0.8
    assert f1("the the cat cat cat", ["cat cat"]) == pytest.approx(0.8)


def test_best_over_golds():
    golds = ["Thomas Brennagh", "Brennagh"]
    assert exact_match("Brennagh", golds) == 1.0  # matches the second gold
    assert f1("Brennagh", golds) == 1.0
    # "chief executive thomas brennagh": vs gold 1, 2 of 4 shared -> P 1/2, R 1 -> 2/3;
    # vs gold 2, 1 of 4 shared -> P 1/4, R 1 -> 0.4; best is 2/3
    assert f1("chief executive Thomas Brennagh", golds) == pytest.approx(2 / 3)
    assert exact_match("chief executive Thomas Brennagh", golds) == 0.0


def test_empty_prediction_scores_zero():
    assert exact_match("", ["1911", "in 1911"]) == 0.0
    assert f1("", ["1911", "in 1911"]) == 0.0


def test_question_without_golds_rewards_only_an_empty_answer():
    # SQuAD v2 convention for unanswerable questions: the gold is ""
    assert exact_match("", []) == 1.0 and f1("", []) == 1.0
    assert exact_match("1911", []) == 0.0 and f1("1911", []) == 0.0


# ---------------------------------------------------------------------------------------------
# a whole dataset, with a fake reader


CONTEXT = ("Thomas Brennagh ran Corrow Valley Bank. Customers took out $4.7 billion on Thursday. "
           "Helena Strand led the central bank. Josiah Pell founded the bank.")

SQUAD = {"version": "1.1", "data": [{"title": "Tiny bank", "paragraphs": [{"context": CONTEXT, "qas": [
    {"id": "q1", "question": "Who ran the bank?", "answers": [{"text": "Thomas Brennagh", "answer_start": 0}]},
    {"id": "q2", "question": "How much was withdrawn?", "answers": [
        {"text": "$4.7 billion", "answer_start": 59}, {"text": "4.7 billion", "answer_start": 60}]},
    {"id": "q3", "question": "Who led the central bank?", "answers": [{"text": "Helena Strand", "answer_start": 86}]},
    {"id": "q4", "question": "Who founded the <b>bank</b>?", "answers": [{"text": "Josiah Pell", "answer_start": 121}]},
]}]}]}


class FakeReader:
    """Answers from a fixed table, the way a real Reader does (best first), and records the calls."""

    name = "fake-model"
    engine_name = "fake-engine"

    def __init__(self, table, warning=None):
        self.table = table
        self.warning = warning
        self.calls = []

    def ask(self, question, context, top_k=1):
        self.calls.append((question, top_k))
        answers = []
        for rank, text in enumerate(self.table[question], 1):
            start = context.find(text)
            answers.append(Answer(text=text, start=start, end=start + len(text), score=10.0 - rank,
                                  probability=1.0 / rank, rank=rank))
        return Answers(question=question, context=context, answers=answers[:top_k], model=self.name,
                       engine=self.engine_name, warning=self.warning)


TABLE = {
    "Who ran the bank?": ["Thomas Brennagh"],               # EM 1, F1 1
    "How much was withdrawn?": ["4.7 billion on Thursday"],  # "47 billion on thursday" vs "47 billion": P 2/4, R 1 -> 2/3
    "Who led the central bank?": [],                         # no answer -> "" -> 0, 0
    "Who founded the <b>bank</b>?": ["Pell", "Josiah Pell"],  # "pell" vs "josiah pell": P 1, R 1/2 -> 2/3
}


def test_evaluate_averages_over_the_dataset():
    reader = FakeReader(TABLE)
    report = evaluate(reader, SQUAD, progress=False)
    assert isinstance(report, EvalReport)
    # EM: 1 + 0 + 0 + 0 = 1 of 4 -> 25%
    assert report.exact_match == pytest.approx(25.0)
    # F1: (1 + 2/3 + 0 + 2/3) / 4 = (7/3) / 4 = 7/12 = 0.58333 -> 58.333%
    assert report.f1 == pytest.approx(100 * 7 / 12)
    assert report.model == "fake-model" and report.engine == "fake-engine"
    assert report.dataset == "Tiny bank"
    assert [c[1] for c in reader.calls] == [1, 1, 1, 1]
    assert report.exact_match_at_k is None


def test_report_frame_holds_every_question():
    report = evaluate(FakeReader(TABLE), SQUAD, progress=False)
    frame = report.frame
    assert list(frame.columns) == ["id", "question", "prediction", "golds", "exact_match", "f1", "seconds", "worker", "error"]
    assert set(frame["worker"]) == {"local"} and frame["error"].isna().all()
    assert list(frame["id"]) == ["q1", "q2", "q3", "q4"]
    assert list(frame["prediction"]) == ["Thomas Brennagh", "4.7 billion on Thursday", "", "Pell"]
    assert frame.loc[1, "golds"] == ["$4.7 billion", "4.7 billion"]
    assert list(frame["exact_match"]) == [100.0, 0.0, 0.0, 0.0]
    assert list(frame["f1"]) == pytest.approx([100.0, 200 / 3, 0.0, 200 / 3])
    assert (frame["seconds"] >= 0).all()
    assert report.seconds == pytest.approx(frame["seconds"].sum())


def test_top_k_counts_a_match_anywhere_in_the_top_k():
    reader = FakeReader(TABLE)
    report = evaluate(reader, SQUAD, top_k=2, progress=False)
    assert [c[1] for c in reader.calls] == [2, 2, 2, 2]
    # the scores still use the best answer only
    assert report.exact_match == pytest.approx(25.0)
    # q1 matches first, q4's second answer "Josiah Pell" matches: 2 of 4 -> 50%
    assert report.exact_match_at_k == pytest.approx(50.0)
    assert report.frame.loc[3, "top_k_predictions"] == ["Pell", "Josiah Pell"]


def test_dataset_may_be_a_path_or_examples(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    from_path = evaluate(FakeReader(TABLE), path, progress=False)
    from_str = evaluate(FakeReader(TABLE), str(path), progress=False)
    from_examples = evaluate(FakeReader(TABLE), load_squad(SQUAD), progress=False)
    assert from_path.dataset == "tiny"
    for r in (from_path, from_str, from_examples):
        assert r.exact_match == pytest.approx(25.0) and r.f1 == pytest.approx(100 * 7 / 12)


def test_progress_bar_runs(capsys):
    report = evaluate(FakeReader(TABLE), SQUAD, progress=True)
    assert report.exact_match == pytest.approx(25.0)
    assert "4/4" in capsys.readouterr().err  # tqdm writes its bar to stderr


def test_reader_warning_reaches_the_report():
    report = evaluate(FakeReader(TABLE, warning="random weights: answers mean nothing"), SQUAD, progress=False)
    assert report.warning == "random weights: answers mean nothing"
    assert "random weights" in str(report)


def test_reader_without_name_still_evaluates():
    class Bare:
        def ask(self, question, context, top_k=1):
            return [Answer(text="Thomas Brennagh", start=0, end=15, score=1.0, probability=1.0)]

    report = evaluate(Bare(), SQUAD, progress=False)
    assert report.model == "" and report.engine == ""
    # q1 right, q2..q4 share no token with "thomas brennagh" -> EM 25, F1 25
    assert report.exact_match == pytest.approx(25.0) and report.f1 == pytest.approx(25.0)


def test_bad_inputs_raise_input_errors(tmp_path):
    reader = FakeReader(TABLE)
    with pytest.raises(InputError, match="top_k"):
        evaluate(reader, SQUAD, top_k=0, progress=False)
    with pytest.raises(InputError, match="no questions"):
        evaluate(reader, {"version": "1.1", "data": []}, progress=False)
    with pytest.raises(InputError, match="ask"):
        evaluate(object(), SQUAD, progress=False)
    with pytest.raises(InputError, match="No dataset file"):
        load_squad(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_squad(bad)
    with pytest.raises(InputError, match="SQuAD v1.1 format"):
        load_squad({"questions": []})
    with pytest.raises(InputError, match="context"):
        load_squad({"data": [{"title": "t", "paragraphs": [{"qas": []}]}]})
    assert isinstance(InputError("x"), ValueError)


# ---------------------------------------------------------------------------------------------
# the report's faces: dict, text, HTML, chart, CLI


def test_to_dict_is_json_ready():
    d = evaluate(FakeReader(TABLE), SQUAD, progress=False).to_dict()
    again = json.loads(json.dumps(d))
    assert again["questions"] == 4
    assert again["exact_match"] == pytest.approx(25.0)
    assert again["f1"] == pytest.approx(100 * 7 / 12)
    assert again["model"] == "fake-model"
    assert [r["id"] for r in again["per_question"]] == ["q1", "q2", "q3", "q4"]
    assert again["per_question"][1]["golds"] == ["$4.7 billion", "4.7 billion"]


def test_str_is_a_short_summary():
    text = str(evaluate(FakeReader(TABLE), SQUAD, progress=False))
    assert "fake-model" in text and "Tiny bank" in text and "4 questions" in text
    assert "exact match 25.0" in text and "F1 58.3" in text
    assert len(text.splitlines()) == 1


def test_html_is_escaped():
    page = evaluate(FakeReader(TABLE), SQUAD, progress=False)._repr_html_()
    assert "<b>bank</b>" not in page
    assert "&lt;b&gt;bank&lt;/b&gt;" in page
    assert "exact match 25.0" in page
    assert "$4.7 billion | 4.7 billion" in page
    assert ">error</th>" not in page  # no question failed: no column of blanks


def test_chart_draws_one_bar_per_question():
    from matplotlib.figure import Figure

    report = evaluate(FakeReader(TABLE), SQUAD, progress=False)
    fig = report.chart()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    widths = [p.get_width() for p in ax.patches if p.get_height() < 1]  # the bars, not legend patches
    assert widths == pytest.approx([100.0, 200 / 3, 0.0, 200 / 3])
    labels = [t.get_text() for t in ax.texts]
    assert "(no answer)" in labels
    assert r"4.7 billion on Thursday" in labels
    from io import BytesIO

    fig.savefig(BytesIO(), format="png")  # renders without error, "$" signs included


def test_cli_eval_json_and_text(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    out = json.loads(cli_eval(FakeReader(TABLE), str(path), as_json=True, progress=False))
    assert out["exact_match"] == pytest.approx(25.0) and out["dataset"] == "tiny"
    text = cli_eval(FakeReader(TABLE), str(path), as_json=False, progress=False)
    assert "exact match 25.0, F1 58.3" in text
    assert "q4" in text and "(none)" in text  # the per-question table, with q3's empty answer


# ---------------------------------------------------------------------------------------------
# the kit's own question sets


def test_load_a_real_question_file():
    examples = load_squad(DATA / "bank_run.json")
    assert len(examples) == 20
    first = examples[0]
    assert isinstance(first, Example)
    assert first.id == "bank_run-01"
    assert first.title == "Four Days in October: The Fall of Corrow Valley Bank"
    assert first.answers == ["Thomas Brennagh", "Brennagh"]
    for ex in examples:
        for text, start in zip(ex.answers, ex.answer_starts):
            assert ex.context[start:start + len(text)] == text


def test_a_reader_that_answers_with_the_golds_scores_100():
    examples = load_squad(DATA / "harbour_town.json")

    class Oracle:
        def ask(self, question, context, top_k=1):
            ex = next(e for e in examples if e.question == question)
            s = ex.answer_starts[0]
            return [Answer(text=context[s:s + len(ex.answers[0])], start=s, end=s + len(ex.answers[0]),
                           score=1.0, probability=1.0)]

    report = evaluate(Oracle(), DATA / "harbour_town.json", progress=False)
    assert report.exact_match == 100.0 and report.f1 == 100.0
    assert report.dataset == "harbour_town"


def test_a_set_drawn_from_several_texts_is_named_by_their_count_not_the_first_title():
    examples = load_squad(SQUAD)
    other = [dataclasses.replace(e, title="Another text") for e in examples[:1]]
    assert evaluate(FakeReader(TABLE), examples + other, progress=False).dataset == "2 texts"
    assert evaluate(FakeReader(TABLE), examples, progress=False).dataset == "Tiny bank"


def test_a_failed_question_shows_its_error_column_in_html():
    class Failing(FakeReader):
        def ask(self, question, context, top_k=1):
            if question == "Who led the central bank?":
                raise InputError("The question is refused: a made-up failure.")
            return super().ask(question, context, top_k)

    report = evaluate(Failing(TABLE), SQUAD, progress=False)
    assert report.frame["error"].notna().sum() == 1
    assert ">error</th>" in report._repr_html_() and "a made-up failure" in report._repr_html_()
