"""Charts render under Agg to PNG, with the bars, lines and labels their data calls for."""
import copy
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from qa_kit.charts import answer_agreement, comparison_chart, logits_chart, timings_chart, topk_chart  # noqa: E402
from qa_kit.render import percent  # noqa: E402

CONTEXT = ("Varden Bay is a fishing town of about 9,000 people. The first settlement was built in 1742 "
           "by Breton fishermen led by Yves Le Guennec. The harbour wall was finished in 1861.")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def answers(tiny_reader):
    return tiny_reader.ask("When was the harbour wall finished?", CONTEXT, top_k=3)


def test_topk_chart_has_one_bar_per_answer_labelled_with_score(answers):
    fig = topk_chart(answers)
    ax = fig.axes[0]
    assert len(ax.patches) == len(answers) == 3
    assert [p.get_width() for p in ax.patches] == pytest.approx([a.probability for a in answers])
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    for tick, a in zip(ticks, answers):
        text = " ".join(a.text.split())
        assert tick == f"{a.rank}. {text}" if len(text) <= 36 else tick.startswith(f"{a.rank}. {text[:34]}")
    notes = [t.get_text() for t in ax.texts]
    assert notes == [f" {percent(a.probability)} · score {a.score:.2f}" for a in answers]
    assert "random weights" in fig._suptitle.get_text()  # the warning is on the figure
    assert fig.to_png().startswith(PNG)


def test_topk_chart_of_no_answers_says_so(answers):
    empty = copy.copy(answers)
    empty.answers = []
    fig = topk_chart(empty)
    assert not fig.axes[0].patches and "no span" in fig.axes[0].texts[0].get_text()
    assert fig.to_png().startswith(PNG)


def test_logits_chart_draws_every_read_window_and_marks_the_answer(answers):
    fig = logits_chart(answers)
    start_ax, end_ax, strip = fig.axes
    n = len(answers.windows)
    assert n > 1  # short windows: the context really was split
    assert len(strip.patches) == n  # one bar per window
    assert len(start_ax.lines) == len(end_ax.lines) == n + 1  # a line per window, plus the answer marker
    marker = start_ax.lines[-1]
    assert list(marker.get_xdata()) == [answers.best.start, answers.best.start]
    assert any("chosen" in t.get_text() for t in start_ax.texts)
    red = [p for p in strip.patches if matplotlib.colors.to_hex(p.get_facecolor()) == "#dc2626"]
    assert len(red) == 1 and red[0].get_x() == answers.windows[answers.best.window].char_start
    assert strip.get_xlabel() == "context character"
    assert fig.to_png().startswith(PNG)


def test_logits_chart_shows_skipped_windows_differently(answers):
    skipped = copy.deepcopy(answers)
    skipped.windows[0].read = False
    skipped.windows[0].start_logits = skipped.windows[0].end_logits = None
    fig = logits_chart(skipped, x="tokens")
    start_ax, _, strip = fig.axes
    assert len(start_ax.lines) == len(skipped.windows)  # one window fewer drawn, plus the marker
    assert [p.get_hatch() for p in strip.patches].count("//") == 1
    tokens = sum(int((w.token_offsets[:, 0] >= 0).sum()) for w in skipped.windows)
    assert max(p.get_x() + p.get_width() for p in strip.patches) == tokens
    assert fig.to_png().startswith(PNG)


def test_logits_chart_refuses_an_unknown_axis(answers):
    with pytest.raises(ValueError, match="'chars' or 'tokens'"):
        logits_chart(answers, x="words")


def comparison_frame():
    rows = [
        ("q1", 0, "dense", "1742", 1.0, 9.0, 0.8, 100.0),
        ("q1", 0, "sparse", "1742.", 1.0, 7.0, 0.5, 20.0),  # same answer once normalised
        ("q2", 1, "dense", "Breton fishermen", 1.0, 8.0, 0.6, 120.0),
        ("q2", 1, "sparse", "Yves", 1.0, 5.0, 0.3, 30.0),
    ]
    frame = pd.DataFrame(rows, columns=["question", "question_index", "model", "answer", "rank", "score", "probability",
                                        "milliseconds"])
    frame["error"] = None
    frame["tokenize_ms"], frame["engine_ms"], frame["decode_ms"] = 1.0, frame["milliseconds"] - 3.0, 2.0
    failed = {"question": ["q1", "q2"], "question_index": [0, 1], "model": ["broken"] * 2, "error": ["SourceError: offline"] * 2}
    return pd.concat([frame, pd.DataFrame(failed)], ignore_index=True)


def test_agreement_is_the_share_of_other_models_giving_the_same_answer():
    shares = answer_agreement(comparison_frame())
    assert list(shares) == ["dense", "sparse", "broken"]
    assert shares["dense"] == shares["sparse"] == 0.5  # same on q1, different on q2; the failed model is left out
    assert np.isnan(shares["broken"])


def test_comparison_chart_has_a_bar_per_model_in_each_panel():
    fig = comparison_chart(comparison_frame())
    assert len(fig.axes) == 3
    for ax in fig.axes:
        assert len(ax.patches) == 3
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["dense", "sparse", "broken"]
    assert [p.get_width() for p in fig.axes[1].patches] == pytest.approx([0.7, 0.4, 0.0])  # mean probability
    title = fig.axes[1].get_title(loc="left")
    assert "probability" in title and "score" not in title  # raw logit sums of different models do not compare
    assert [p.get_width() for p in fig.axes[2].patches] == pytest.approx([110.0, 25.0, 0.0])  # mean latency
    labels = [t.get_text().strip() for t in fig.axes[2].texts]
    assert labels == ["110 ms", "25.0 ms", "error"]
    assert [t.get_text().strip() for t in fig.axes[0].texts] == ["50% of 2 questions"] * 2 + ["error"]
    assert [t.get_text().strip() for t in fig.axes[1].texts] == ["70.0%", "40.0%", "error"]
    from matplotlib.colors import to_rgba
    from qa_kit.render import PALETTE

    stripes = [to_rgba(stripe) for _, stripe in PALETTE[:3]]  # each model in the colour its highlights use
    assert all([p.get_facecolor() for p in ax.patches] == stripes for ax in fig.axes)
    assert fig.to_png().startswith(PNG)


def test_timings_chart_stacks_the_stages(answers):
    fig = timings_chart(answers)
    ax = fig.axes[0]
    assert len(ax.patches) == 3  # tokenize, engine, decode
    assert [p.get_width() for p in ax.patches] == pytest.approx([answers.timings[s] * 1000 for s in ("tokenize", "engine", "decode")])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["tokenize", "engine", "decode"]
    assert "random weights" in fig._suptitle.get_text()
    per_model = timings_chart(comparison_frame())
    ax = per_model.axes[0]
    assert len(ax.patches) == 9  # three models x three stages
    assert [t.get_text() for t in ax.get_yticklabels()] == ["dense", "sparse", "broken"]
    assert "no timing (failed)" in [t.get_text().strip() for t in ax.texts]
    assert per_model.to_png().startswith(PNG)


def test_timings_chart_of_several_answers_has_a_row_each(answers):
    fig = timings_chart([answers, answers])
    assert len(fig.axes[0].patches) == 6
    assert np.isclose(fig.axes[0].patches[0].get_width(), answers.timings["tokenize"] * 1000)


def test_charts_show_in_notebooks_without_pyplot(answers):
    import subprocess
    import sys

    assert topk_chart(answers)._repr_png_().startswith(PNG)
    code = ("import sys, pandas as pd; from qa_kit.charts import comparison_chart; "
            "f = pd.DataFrame({'question': ['q'], 'model': ['m'], 'answer': ['a'], 'score': [1.0], 'milliseconds': [2.0]}); "
            "comparison_chart(f).to_png(); print('matplotlib.pyplot' in sys.modules)")
    repo = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo)
    assert out.stdout.strip() == "False"


def test_answers_without_probabilities_or_logits_still_chart(answers):
    import dataclasses

    served = copy.copy(answers)  # what a server gives: one answer, no probability, no windows
    served.answers = [dataclasses.replace(answers.best, probability=float("nan"))]
    served.windows = []
    fig = topk_chart(served)
    assert [p.get_width() for p in fig.axes[0].patches] == [0.0]
    assert fig.axes[0].texts[0].get_text().startswith(" n/a · score")
    empty = logits_chart(served)
    assert not empty.axes[2].patches and "no logits" in empty.axes[0].texts[0].get_text()
    assert fig.to_png().startswith(PNG) and empty.to_png().startswith(PNG)


def test_a_chart_draws_for_the_dark_theme_in_light_ink_and_comes_back_unchanged(answers):
    import io

    from PIL import Image

    fig = topk_chart(answers)
    fig.to_png()  # constrained layout settles on the first drawing
    light = fig.to_png()
    dark = Image.open(io.BytesIO(fig.to_png(theme="dark"))).convert("RGBA")
    assert dark.getpixel((2, 2))[3] == 0  # a clear background: the page's own colour shows
    inked = [p for p in dark.getdata() if p[3] > 200 and min(p[:3]) > 180]  # opaque light-grey ink
    assert len(inked) > 200
    shown = Image.open(io.BytesIO(light)).convert("RGB")
    assert shown.getpixel((2, 2)) == (255, 255, 255)
    assert fig.to_png() == light  # the dark drawing changed nothing for the next light one
    page = fig.to_html()
    assert page.count("<img") == 2 and 'data-jp-theme-light="false"' in page
    with pytest.raises(ValueError, match="theme"):
        fig.to_png(theme="sepia")


def test_japanese_text_draws_in_an_installed_cjk_font_not_as_boxes(monkeypatch, caplog):
    """The harbour sample names its festival 港祭り: charts fall back on a CJK font for it (make setup installs
    one). Without the fallback the same figure draws boxes, so the two drawings differ; no warning leaks."""
    import warnings

    from qa_kit import charts

    if not charts.installed_cjk_fonts():
        pytest.skip("no CJK font installed (make setup installs fonts-wqy-microhei)")
    fig = charts.Chart(figsize=(3, 1))
    title = fig.subplots().set_title("港祭り (minato matsuri)")
    fig.suptitle("港祭り", fontweight="bold")  # a CJK font may have no bold face: matplotlib logs that, not here
    with warnings.catch_warnings(record=True) as seen, caplog.at_level("WARNING", logger="matplotlib.font_manager"):
        warnings.simplefilter("always")
        drawn = fig.to_png()
        assert title.get_fontfamily() == list(matplotlib.rcParams["font.family"])  # restored after drawing
        monkeypatch.setattr(charts, "installed_cjk_fonts", lambda: ())
        boxes = fig.to_png()  # matplotlib warns per missing glyph here; the kit keeps that out of the notebook
    assert drawn != boxes and not [w for w in seen if "Glyph" in str(w.message)]
    assert "findfont" not in caplog.text
