"""compare(): every question on every model, failures kept apart; CSV and HTML reports."""
import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import qa_kit
from qa_kit.compare import compare
from qa_kit.report import report_html, save_csv, save_html

REPO = Path(__file__).resolve().parent.parent
TINY = str(REPO / "data" / "models" / "tiny-random-bert")
SHORT = {"sequence_length": 64, "doc_stride": 16}
CONTEXT = ("Varden Bay is a fishing town of about 9,000 people. The first settlement was built in 1742 "
           "by Breton fishermen led by Yves Le Guennec.\n\nThe harbour wall was finished in 1861.")
QUESTIONS = ["When was the town settled?", "Who led the fishermen?", "When was the wall finished?"]
ZOO = "zoo:nlp/question_answering/distilbert-none/pytorch/huggingface/squad/base-none"


@pytest.fixture(scope="module")
def comparison(tiny_reader):
    """The tiny model by path, a folder that does not exist, and a zoo stub on a machine offline."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QA_KIT_TIMEOUT", "3")
        return compare(QUESTIONS, CONTEXT, {"tiny": TINY, "missing": "/no/such/model", "zoo": ZOO},
                       top_k=2, progress=False, **SHORT)


def test_a_failing_model_keeps_the_other_models_rows(comparison, tiny_reader):
    frame = comparison.frame
    assert list(frame.columns[:9]) == ["question", "model", "answer", "start", "end", "score", "probability", "milliseconds", "error"]
    tiny = frame[frame["model"] == "tiny"]
    assert len(tiny) == 6 and tiny["error"].isna().all()  # 3 questions x top 2
    for i, question in enumerate(QUESTIONS):
        expected = tiny_reader.ask(question, CONTEXT, top_k=2)
        rows = tiny[tiny["question_index"] == i]
        assert list(rows["answer"]) == [a.text for a in expected]
        assert list(rows["start"]) == [a.start for a in expected] and list(rows["rank"]) == [1, 2]
        assert list(rows["score"]) == pytest.approx([a.score for a in expected])
        assert (rows["milliseconds"] > 0).all()
    for model, kind in (("missing", "does not exist"), ("zoo", "SparseZoo")):
        failed = frame[frame["model"] == model]
        assert len(failed) == 3 and failed["answer"].isna().all()
        assert failed["error"].str.startswith("SourceError:").all() and failed["error"].str.contains(kind).all()
    assert comparison.models == ["tiny", "missing", "zoo"]
    assert set(comparison.errors) == {"missing", "zoo"}
    assert comparison.answers["missing"] == [None] * 3
    assert [a.question for a in comparison.answers["tiny"]] == QUESTIONS


def test_a_random_model_is_flagged_in_the_table_and_every_view(comparison):
    assert "random weights" in comparison.warnings["tiny"]
    assert comparison.frame.loc[comparison.frame["model"] == "tiny", "warning"].str.contains("random weights").all()
    assert 'role="alert"' in comparison.highlight(0) and "random weights" in comparison._repr_html_()


class Page(HTMLParser):
    """Marks (with their text), images and all text of an HTML page."""

    def __init__(self, markup):
        super().__init__()
        self.marks, self.images, self.text, self._mark = [], [], [], None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "mark":
            self._mark = {**attrs, "text": ""}
            self.marks.append(self._mark)
        if tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag == "mark":
            self._mark = None

    def handle_data(self, data):
        self.text.append(data)
        if self._mark is not None:
            self._mark["text"] += data


def test_combined_highlight_marks_each_models_answer_in_its_colour(tiny_reader):
    second = qa_kit.load(TINY, engine="onnxruntime", **SHORT)
    both = compare(QUESTIONS[:1], CONTEXT, [tiny_reader, second], progress=False)
    assert both.models == [tiny_reader.name, f"{tiny_reader.name} #2"]  # same source twice, two labels
    page = Page(both.highlight(0))
    best = tiny_reader.ask(QUESTIONS[0], CONTEXT).best
    covered = "".join(m["text"] for m in page.marks)
    assert covered == best.text  # the two engines agree, so their marks coincide: each segment shows both
    assert all(m["data-spans"] == "0 1" for m in page.marks)
    assert both.models[0] in page.marks[0]["title"] and both.models[1] in page.marks[0]["title"]
    assert "Q1: " + QUESTIONS[0] in "".join(page.text)
    assert both.frame["answer"].nunique() == 1


class FlakyReader:
    """A reader that fails on one question, to show a failed ask costs only its own row."""

    name = "flaky"

    def __init__(self, real):
        self.real = real

    def ask(self, question, context, top_k=1):
        if question == QUESTIONS[1]:
            raise RuntimeError("engine crashed\nwith a long traceback")
        return self.real.ask(question, context, top_k=top_k)


def test_a_failed_question_costs_only_its_row_and_readers_are_not_reloaded(tiny_reader):
    def loader(source, **options):
        assert source == "by-loader" and options == {"engine": "onnxruntime", "num_cores": None, **SHORT}
        return FlakyReader(tiny_reader)

    result = compare(QUESTIONS, CONTEXT, [FlakyReader(tiny_reader), "by-loader"], engine="onnxruntime",
                     progress=False, loader=loader, **SHORT)
    frame = result.frame
    assert list(frame["model"]) == ["flaky"] * 3 + ["by-loader"] * 3
    assert list(frame["error"].isna()) == [True, False, True] * 2
    assert frame.loc[1, "error"] == "RuntimeError: engine crashed"
    assert frame.loc[[0, 2], "answer"].notna().all()
    assert result.answers["flaky"][1] is None and result.answers["flaky"][0] is not None


def test_a_model_given_as_a_pool_shares_its_questions_and_keeps_each_error(tiny_reader):
    """A list of readers (or server URLs) is one model: questions spread over it, errors stay per question."""
    class Counting(FlakyReader):
        def __init__(self, real, name):
            super().__init__(real)
            self.name, self.asked = name, 0

        def ask(self, question, context, top_k=1):
            self.asked += 1
            return super().ask(question, context, top_k=top_k)

    pool = [Counting(tiny_reader, "one"), Counting(tiny_reader, "two")]
    result = compare(QUESTIONS * 4, CONTEXT, [pool, tiny_reader], progress=False)
    assert result.models == ["one + two", tiny_reader.name]
    spread = result.frame[result.frame["model"] == "one + two"]
    alone = result.frame[result.frame["model"] == tiny_reader.name]
    assert sum(r.asked for r in pool) == 12 and min(r.asked for r in pool) > 0
    assert list(spread["question_index"]) == list(range(12))  # question order kept
    failed = [i for i, q in enumerate(QUESTIONS * 4) if q == QUESTIONS[1]]
    assert list(spread[spread["error"].notna()]["question_index"]) == failed
    assert set(spread["error"].dropna()) == {"RuntimeError: engine crashed"}
    kept = spread["error"].isna().to_numpy()
    assert list(spread["answer"][kept]) == list(alone["answer"][kept])  # the same model, the same answers
    with pytest.raises(qa_kit.InputError, match="empty list"):
        compare(QUESTIONS, CONTEXT, {"nobody": []}, progress=False)


def test_progress_bar_counts_every_question_on_every_model(tiny_reader, capsys):
    compare(QUESTIONS[:2], CONTEXT, [tiny_reader, "/no/such/model"], progress=True, **SHORT)
    assert "4/4" in capsys.readouterr().err


@pytest.mark.parametrize("questions, context, models, message", [
    ([], CONTEXT, [TINY], "No questions"),
    (QUESTIONS, [CONTEXT], [TINY], "3 questions but 1 contexts"),
    (QUESTIONS, CONTEXT, [], "No models"),
])
def test_bad_arguments_are_refused_clearly(questions, context, models, message):
    with pytest.raises(qa_kit.InputError, match=message):
        compare(questions, context, models, progress=False)


def test_one_context_per_question_is_used_per_question(tiny_reader):
    contexts = [CONTEXT, "Ada Lovelace wrote the first program. It ran on the Analytical Engine."]
    result = compare(["When?", "Who?"], contexts, [tiny_reader], progress=False)
    assert result.answers[tiny_reader.name][1].context == contexts[1]
    assert result.frame.loc[1, "answer"] in contexts[1]


def test_csv_holds_the_table(comparison, tmp_path):
    path = comparison.save_csv(tmp_path / "comparison.csv")
    back = pd.read_csv(path)
    assert len(back) == len(comparison.frame) == 12
    assert list(back["answer"].fillna("")) == list(comparison.frame["answer"].fillna(""))
    single = save_csv(comparison.answers["tiny"][0], tmp_path / "answers.csv")
    rows = pd.read_csv(single)
    assert list(rows["text"]) == [a.text for a in comparison.answers["tiny"][0]]
    assert rows["warning"].str.contains("random weights").all()


def _pngs(page):
    data = [img["src"] for img in page.images]
    assert all(src.startswith("data:image/png;base64,") for src in data)
    return [base64.b64decode(src.split(",", 1)[1]) for src in data]


def test_comparison_html_report_is_standalone(comparison, tmp_path):
    path = comparison.save_html(tmp_path / "report.html", title="Harbour <town>")
    markup = path.read_text(encoding="utf-8")
    page = Page(markup)
    pngs = _pngs(page)
    assert len(pngs) == 2 and all(p.startswith(b"\x89PNG") for p in pngs)
    assert not re.search(r"<script|<link|src=\"http|href=\"http", markup)  # nothing to fetch, nothing to run
    assert "Harbour &lt;town&gt;" in markup
    text = "".join(page.text)
    assert "random weights" in text and "SourceError" in text
    assert sum(1 for m in page.marks if m["data-label"] == "tiny") >= 3  # one answer per question
    assert text.count("The harbour wall was finished in 1861.") >= 3  # the context, once per question


def test_answers_html_report_has_the_answer_charts_and_table(comparison, tmp_path):
    answers = comparison.answers["tiny"][0]
    path = save_html(answers, tmp_path / "answers.html")
    page = Page(path.read_text(encoding="utf-8"))
    assert len(_pngs(page)) == 3  # top-k, logits, timings
    text = "".join(page.text)
    assert "Model output (not a real answer)" in text and "random weights" in text
    assert answers.question in text and answers.best.text in text
    assert report_html(answers).startswith("<!DOCTYPE html>")


def test_reporting_something_else_is_refused(tmp_path):
    with pytest.raises(qa_kit.InputError, match="give an Answers or a Comparison"):
        save_html("text", tmp_path / "x.html")


def test_num_cores_reaches_every_model_compare_loads():
    import qa_kit

    loaded = []

    def loader(source, **options):
        loaded.append(qa_kit.load(source, **options))
        return loaded[-1]

    comparison = compare(QUESTIONS[:1], CONTEXT, [str(TINY)], num_cores=1, progress=False, loader=loader)
    assert not comparison.errors
    assert [r.engine.num_cores for r in loaded] == [1]
