"""Text with `$` in it draws as written in every chart: never as matplotlib maths, never an error.

matplotlib reads the text between two unescaped `$` as maths: "$4.7 billion or $5.6 billion"
comes out in italics with its spaces gone, and `$\\frac{ ... $` raises when the figure is drawn.
Each chart here is built from real answers about money, rendered by Agg, and every text on it is
checked to show its characters literally.
"""
import copy
import shutil

import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import qa_kit  # noqa: E402
from qa_kit import charts  # noqa: E402
from qa_kit.evaluate import Example, _shorten, evaluate  # noqa: E402
from qa_kit.render import percent  # noqa: E402
from qa_kit.text import one_line, plain_for_matplotlib  # noqa: E402
from conftest import SHORT, TINY  # noqa: E402

MONEY = "$4.7 billion or $5.6 billion"
QUESTION = rf"Was it {MONEY}, or $\frac{{ of $9?"  # "$\frac{ ... $" is a maths error to matplotlib
CONTEXT = ("The bank lost $4.7 billion or $5.6 billion in 1932. "
           r"Its owners kept $\frac{1}{2} of $9 and paid $3.20 a share, $1 in cash. " * 3)
MODEL_NAME = "tiny $4.7 or $5.6"


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """The tiny model in a folder whose name has two `$`, so model labels carry them too."""
    folder = tmp_path_factory.mktemp("dollars") / MODEL_NAME
    shutil.copytree(TINY, folder)
    return qa_kit.load(str(folder), **SHORT)


@pytest.fixture(scope="module")
def answers(reader):
    result = reader.ask(QUESTION, CONTEXT, top_k=5)
    assert any(a.text.count("$") >= 2 for a in result)  # the answers themselves carry dollars
    return result


def drawn(fig) -> list:
    """Render the figure with Agg (raises on bad maths), then every text as matplotlib shows it."""
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    shown = []
    for t in fig.findobj(Text):
        text, math = t._preprocess_math(t.get_text())
        assert math is False, f"drawn as maths: {t.get_text()!r}"
        shown.append(text)
    return shown


def test_the_helper_escapes_every_dollar_and_only_that():
    assert QUESTION.count("$") % 2 == 0  # an even count: matplotlib would read it as maths
    assert plain_for_matplotlib(MONEY) == r"\$4.7 billion or \$5.6 billion"
    assert plain_for_matplotlib("no money") == "no money"
    assert plain_for_matplotlib("") == ""
    t = Text(text=plain_for_matplotlib(QUESTION))
    assert t._preprocess_math(t.get_text()) == (QUESTION, False)
    already = r"a \$ sign"  # a backslash the user wrote stays a backslash
    t = Text(text=plain_for_matplotlib(already))
    assert t._preprocess_math(t.get_text()) == (already, False)


def test_topk_chart_shows_question_and_answers_literally(answers):
    fig = charts.topk_chart(answers)
    shown = drawn(fig)
    assert f"Q: {QUESTION}" in shown
    for a in answers:
        assert f"{a.rank}. {charts._short(a.text, 36)}" in shown


def test_logits_chart_shows_question_and_chosen_answer_literally(answers):
    fig = charts.logits_chart(answers)
    shown = drawn(fig)
    assert f"Q: {QUESTION}" in shown
    assert f"chosen: {charts._short(answers.best.text, 40)}" in shown


def test_timings_chart_shows_model_names_literally(answers):
    named = copy.copy(answers)
    named.model = MODEL_NAME  # the reader's own label is its folder's whole path: cut before the "$"
    shown = drawn(charts.timings_chart(named))
    assert MODEL_NAME in shown
    shown = drawn(charts.timings_chart([named, named]))
    assert f"{MODEL_NAME} #1" in shown


def test_comparison_charts_show_labels_and_warning_literally(reader):
    labels = ["$4.7 model", "$5.6 model"]
    comparison = qa_kit.compare(QUESTION, CONTEXT, dict(zip(labels, [reader, reader])), progress=False)
    for fig in (comparison.chart(), comparison.timings_chart()):
        shown = drawn(fig)
        assert set(labels) <= set(shown)
        assert any(s.startswith("⚠ $4.7 model, $5.6 model:") for s in shown)  # both labels in the warning


def test_questions_chart_shows_questions_and_answers_literally(reader):
    results = [reader.ask(q, CONTEXT) for q in (QUESTION, f"Who paid {MONEY}?")]
    shown = drawn(charts.questions_chart(results))
    for i, a in enumerate(results, 1):
        assert f"Q{i}. {one_line(a.question, 34)}" in shown
        assert f" {one_line(a.best.text, 28)} ({percent(a.best.probability)})" in shown


def test_eval_chart_shows_questions_predictions_and_names_literally(reader):
    examples = [Example(id="1", question=QUESTION, context=CONTEXT, answers=["$4.7 billion"]),
                Example(id="2", question=f"Not {MONEY}?", context=CONTEXT, answers=["$5.6 billion"])]
    report = evaluate(reader, examples, progress=False)
    report.dataset = "$ set $"
    shown = drawn(report.chart())
    assert any(s.startswith(f"{report.model} on $ set $: EM") for s in shown) and "$" in report.model
    for question, prediction in zip(report.frame["question"], report.frame["prediction"]):
        assert _shorten(question, 48) in shown and (_shorten(prediction, 26) or "(no answer)") in shown


@pytest.mark.slow
def test_bench_chart_shows_the_model_name_literally(tmp_path):
    from qa_kit import bench

    folder = tmp_path / MODEL_NAME
    shutil.copytree(TINY, folder)
    report = bench.run(str(folder), repeats=1, warmup=0, max_questions=1, long_questions=1, progress=False)
    shown = drawn(report.chart())
    assert any(" ".join(s.split("\n")).startswith(f"{folder}: kit/pipeline") for s in shown)  # a long title wraps
