"""highlight() and answers_html(): parse the HTML back and check text and marks exactly."""
from collections import defaultdict
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_kit.render import answers_html, highlight
from qa_kit.results import Answer, Answers


class Parsed(HTMLParser):
    """The visible text of each .qa-kit-text block and the characters each span's marks cover."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, attrs) of open elements
        self.blocks = []  # [start, end, text]
        self.covered = defaultdict(list)  # span index -> context positions covered by its marks
        self.carets = defaultdict(list)  # span index -> positions of empty marks
        self.marks = []  # attrs of every mark
        self.outside = []  # text outside the highlighted blocks (legend, titles, positions)
        self.feed(markup)
        self.close()

    def _inside(self, cls):
        return any(cls in a.get("class", "").split() for _, a in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.stack.append((tag, attrs))
        if "qa-kit-text" in attrs.get("class", "").split():
            self.blocks.append([int(attrs["data-start"]), int(attrs["data-end"]), ""])
        if tag == "mark":
            self.marks.append(attrs)
            if attrs["data-start"] == attrs["data-end"]:
                for i in attrs["data-spans"].split():
                    self.carets[int(i)].append(int(attrs["data-start"]))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1][0] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data):
        if not self._inside("qa-kit-text"):
            self.outside.append(data)
            return
        if self._inside("qa-kit-gap"):
            return
        block = self.blocks[-1]
        position = block[0] + len(block[2])
        marks = [a for t, a in self.stack if t == "mark"]
        assert len(marks) <= 1, "marks must not nest: one mark per segment"
        if marks:
            assert int(marks[0]["data-start"]) == position and int(marks[0]["data-end"]) == position + len(data)
            for i in marks[0]["data-spans"].split():
                self.covered[int(i)].extend(range(position, position + len(data)))
        block[2] += data


def check_exact(context, spans, markup, whole=True):
    """Visible text is the context (or its slices) and each span's marks cover exactly its range."""
    page = Parsed(markup)
    assert not page.stack, "every element is closed"
    if whole:
        assert len(page.blocks) == 1
        assert page.blocks[0][2] == context
    for start, end, text in page.blocks:
        assert text == context[start:end]
    for i, span in enumerate(spans):
        if span["start"] == span["end"]:
            assert page.carets[i] == [span["start"]] and not page.covered[i]
        else:
            assert page.covered[i] == list(range(span["start"], span["end"]))
    return page


def test_overlapping_and_nested_spans_show_every_character_once():
    context = "Ada Lovelace wrote the first program in 1843."
    spans = [
        {"start": 0, "end": 12, "label": "dense"},  # "Ada Lovelace"
        {"start": 4, "end": 22, "label": "sparse"},  # overlaps the first
        {"start": 4, "end": 12, "label": "third"},  # nested in both
        {"start": 40, "end": 44, "label": "dense"},
    ]
    page = check_exact(context, spans, highlight(context, spans))
    shared = [m for m in page.marks if m["data-spans"] == "0 1 2"]
    assert len(shared) == 1 and (shared[0]["data-start"], shared[0]["data-end"]) == ("4", "12")
    assert shared[0]["style"].count("inset") == 3  # one stripe per covering span
    assert "dense" in shared[0]["title"] and "sparse" in shared[0]["title"] and "third" in shared[0]["title"]
    assert [t.strip() for t in page.outside if t.strip()] == ["dense", "sparse", "third"]  # the legend


def test_colours_follow_labels_and_ranks_and_can_be_chosen():
    context = "one two three"
    by_rank = Parsed(highlight(context, [{"start": 0, "end": 3, "rank": 1}, {"start": 4, "end": 7, "rank": 2}]))
    assert by_rank.marks[0]["style"] != by_rank.marks[1]["style"]
    assert "rank 1" in by_rank.outside and "rank 2" in by_rank.outside
    chosen = Parsed(highlight(context, [{"start": 0, "end": 3, "label": "a"}], labels_colors={"a": "#123456"}))
    assert "background:#123456" in chosen.marks[0]["style"]
    same_label = Parsed(highlight(context, [{"start": 0, "end": 3, "label": "m"}, {"start": 8, "end": 13, "label": "m"}]))
    assert same_label.marks[0]["style"] == same_label.marks[1]["style"]


def test_marks_set_their_own_text_colour_and_whitespace_is_kept():
    context = "First paragraph.\n\nSecond  paragraph,\tindented."
    markup = highlight(context, [{"start": 18, "end": 24}])
    page = check_exact(context, [{"start": 18, "end": 24}], markup)
    assert "color:#111827" in page.marks[0]["style"]
    assert "white-space:pre-wrap" in markup


def test_tooltip_gives_label_rank_score_and_probability():
    answer = Answer(text="Ada", start=0, end=3, score=7.25, probability=0.8123, rank=2, label="dense")
    page = Parsed(highlight("Ada ran.", [answer]))
    assert page.marks[0]["title"] == "dense · rank 2 · score 7.25 · p 81.2% · chars 0-3"
    assert page.marks[0]["data-label"] == "dense"


HOSTILE = '<script>alert("x")</script> &amp; &lt;b&gt; <img src=x onerror=alert(1)> \'quoted\' "double"'


def test_hostile_context_and_labels_are_shown_as_text_and_run_nothing():
    label = '"><script>alert(1)</script>'
    spans = [{"start": 0, "end": 8, "label": label}, {"start": 30, "end": 35, "label": "a'b\"c&d"}]
    markup = highlight(HOSTILE, spans, title="<i>title</i>")
    page = check_exact(HOSTILE, spans, markup)
    assert "<script" not in markup and "<img" not in markup and "<i>" not in markup
    assert page.marks[0]["data-label"] == label  # the attribute round-trips intact
    assert label in page.outside and "<i>title</i>" in page.outside


def test_a_colour_that_is_not_css_is_refused():
    with pytest.raises(ValueError, match="not a CSS colour"):
        highlight("abc", [{"start": 0, "end": 1, "label": "m"}], labels_colors={"m": "red;background:url(x)"})


@pytest.mark.parametrize("span, message", [
    ({"start": 5, "end": 3}, r"\[5:3\] does not fit"),
    ({"start": -1, "end": 3}, "does not fit"),
    ({"start": 0, "end": 99}, "context of 10 characters"),
    ({"start": 0}, "no start or end"),
    ({"start": 1.5, "end": 3}, "whole-number"),
    ({"start": 0, "end": 3, "score": "high"}, "give a number"),
])
def test_bad_spans_raise_a_clear_value_error(span, message):
    with pytest.raises(ValueError, match=message):
        highlight("0123456789", [span])


def test_window_shows_neighbourhoods_with_position_and_ellipses():
    context = ("lorem ipsum " * 500) + "THE ANSWER" + (" dolor sit" * 500) + " LAST"
    start = context.index("THE ANSWER")
    spans = [{"start": start, "end": start + 10}, {"start": len(context) - 4, "end": len(context)}]
    markup = highlight(context, spans, window=40)
    page = check_exact(context, spans, markup, whole=False)
    assert len(page.blocks) == 2
    (a, b, text), (c, d, _) = page.blocks
    assert a <= start - 40 and b >= start + 50 and b - a < 140 and d == len(context)
    assert f"chars {a}-{b} of {len(context)}" in page.outside
    assert markup.count('class="qa-kit-gap"') == 3  # before and after the first, before the last
    assert text.startswith(context[a:a + 5]) and context[a - 1] == " "  # edges land on whitespace


def test_window_merges_close_answers_and_whole_text_when_none():
    context = "x" * 50 + "ab cd" + "y" * 50
    spans = [{"start": 50, "end": 52}, {"start": 53, "end": 55}]
    assert len(Parsed(highlight(context, spans, window=5)).blocks) == 1
    check_exact(context, spans, highlight(context, spans))


@settings(max_examples=200, deadline=None)
@given(context=st.text(max_size=80), data=st.data(), window=st.one_of(st.none(), st.integers(0, 30)))
def test_any_unicode_context_with_any_overlapping_spans_round_trips(context, data, window):
    n = len(context)
    bounds = st.tuples(st.integers(0, n), st.integers(0, n)).map(sorted)
    pairs = data.draw(st.lists(bounds, max_size=6))
    labels = data.draw(st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=len(pairs), max_size=len(pairs)))
    spans = [{"start": a, "end": b, "label": label, "rank": i + 1} for i, ((a, b), label) in enumerate(zip(pairs, labels))]
    check_exact(context, spans, highlight(context, spans, window=window), whole=window is None)


def tiny_answers(warning=None, n=3):
    context = "Varden Bay was settled in 1742 by Breton fishermen.\n\nThe harbour wall came later."
    answers = [Answer(text=context[s:e], start=s, end=e, score=9.0 - r, probability=0.5 / r, rank=r)
               for r, (s, e) in enumerate([(26, 30), (34, 50), (0, 10)][:n], start=1)]
    return Answers(question="When <was> it settled?", context=context, answers=answers, model="m/x", engine="deepsparse",
                   timings={"tokenize": 0.001, "engine": 0.02, "decode": 0.003, "total": 0.024}, warning=warning)


def test_answers_html_shows_answer_score_runner_ups_and_timings():
    answers = tiny_answers()
    markup = answers._repr_html_()
    page = check_exact(answers.context, [a.to_dict() for a in answers], markup)
    outside = " ".join(page.outside)
    assert "Answer: " in outside and "1742" in outside and "score 8.00" in outside and "50.0%" in outside
    assert "When <was> it settled?" in outside and "<was>" not in markup
    assert "Breton fishermen" in outside and "rank 3" in outside  # the runner-up table and legend
    assert "engine 20.0 ms" in outside and "total 24.0 ms" in outside
    assert "qa-kit-warning" not in markup


def test_a_random_model_is_never_shown_as_a_real_answer():
    markup = answers_html(tiny_answers(warning="this model has random weights: its answers mean nothing"))
    page = Parsed(markup)
    text = " ".join(page.outside)
    assert 'role="alert"' in markup and "random weights" in text
    assert "Model output (not a real answer)" in text and "Answer: " not in text
    assert markup.index("random weights") < markup.index("1742")  # the warning comes first


def test_no_answer_and_long_context_render():
    empty = tiny_answers(n=0)
    assert "No span" in answers_html(empty)
    long = tiny_answers(n=1)
    long.context = "z" * 3000 + long.context
    long.answers = [Answer(text=long.context[3026:3030], start=3026, end=3030, score=1.0, probability=1.0)]
    page = check_exact(long.context, [long.answers[0].to_dict()], answers_html(long), whole=False)
    assert len(page.blocks) == 1 and page.blocks[0][1] - page.blocks[0][0] < 400


def test_tiny_probabilities_stay_informative():
    from qa_kit.render import percent

    assert [percent(p) for p in (0.8123, 0.00035, 0.0, 1e-9)] == ["81.2%", "0.035%", "0.0%", "<0.001%"]



def test_file_sizes_read_in_the_unit_that_suits_them():
    from qa_kit.text import file_size

    sizes = [0, 1, 312, 1000, 55_800, 100_000, 84_200_000]
    assert [file_size(n) for n in sizes] == ["0 bytes", "1 byte", "312 bytes", "1.0 kB", "55.8 kB", "0.1 MB", "84.2 MB"]

def test_highlight_is_a_string_a_notebook_shows_as_html():
    markup = highlight("Ada ran.", [{"start": 0, "end": 3}])
    assert isinstance(markup, str) and markup._repr_html_() == str(markup)


def test_render_needs_only_the_standard_library():
    import ast
    import sys
    from pathlib import Path

    import qa_kit.render

    tree = ast.parse(Path(qa_kit.render.__file__).read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported - set(sys.stdlib_module_names)
    relative = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level}
    assert relative == {"errors", "text"}  # errors.py and text.py are stdlib-only too


def test_an_unknown_probability_is_left_out_not_shown_as_nan():
    answers = tiny_answers(n=1)
    answers.answers = [Answer(text="1742", start=26, end=30, score=3.5, probability=float("nan"))]
    markup = answers_html(answers)
    assert "nan" not in markup.lower() and "probability n/a" in markup
    assert Parsed(markup).marks[0]["title"] == "rank 1 · score 3.50 · chars 26-30"


def test_tables_print_each_kind_of_number_one_way_and_align_text_left_numbers_right():
    import re

    import pandas as pd

    from qa_kit.render import frame_table

    frame = pd.DataFrame({"question": ["Who <paid>?", "When?"], "rank": pd.array([1, None], dtype="Int64"),
                          "text": ["$4.7 billion", None], "score": [12.3456, float("nan")],
                          "probability": [0.885, 0.00012], "milliseconds": [378.531334, 20.44], "f1": [66.666, 100.0]})
    table = frame_table(frame)
    heads = re.findall(r'<th style="[^"]*text-align:(\w+)">([^<]*)</th>', table)
    assert heads == [("left", "question"), ("right", "rank"), ("left", "text"), ("right", "score"),
                     ("right", "probability"), ("right", "ms"), ("right", "f1")]
    rows = [re.findall(r'text-align:(\w+)">([^<]*)</td>', row) for row in table.split("<tr>")[2:]]
    assert [cell for _, cell in rows[0]] == ["Who &lt;paid&gt;?", "1", "$4.7 billion", "12.35", "88.5%", "379", "66.7"]
    assert [cell for _, cell in rows[1]] == ["When?", "", "", "", "0.012%", "20.4", "100.0"]  # blanks, never NaN or <NA>
    assert [align for align, _ in rows[0]] == [align for align, _ in heads]
