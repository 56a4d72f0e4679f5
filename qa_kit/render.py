"""Answers in context as HTML: spans marked in place in the escaped source text.

`highlight()` is a pure function (stdlib only): the context is cut at every span boundary into
segments, and each segment is one `<mark>` listing the spans that cover it, so overlapping and
nested spans from several models or ranks render with every character shown exactly once.
The segment's background is the colour of its best span; every covering span adds a stripe
along the bottom. Marks carry their own text colour, so they read on light and dark themes.
"""
from __future__ import annotations

import html
import operator
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .errors import InputError
from .text import milliseconds, percent, score_text  # re-exported: the formats are the views' too

# (background, stripe) pairs: light backgrounds under dark text, stripes strong enough on either.
PALETTE: Tuple[Tuple[str, str], ...] = (
    ("#fde68a", "#b45309"),  # amber
    ("#bfdbfe", "#1d4ed8"),  # blue
    ("#bbf7d0", "#15803d"),  # green
    ("#fbcfe8", "#be185d"),  # pink
    ("#ddd6fe", "#6d28d9"),  # violet
    ("#fed7aa", "#c2410c"),  # orange
    ("#99f6e4", "#0f766e"),  # teal
    ("#e5e7eb", "#374151"),  # grey
)
MARK_TEXT = "#111827"  # text colour inside marks, whatever the page's theme
STRIPE_PX = 3
MUTED = "opacity:0.75"  # secondary text inherits the theme's colour, only fainter
# An "i" in a circle drawn by CSS: the ⓘ and ℹ characters show as empty boxes in common fonts.
INFO_BADGE = ('<span class="qa-kit-info" aria-label="note" style="display:inline-block;box-sizing:border-box;'
              "width:1.25em;height:1.25em;line-height:1.1em;border:1px solid currentColor;border-radius:50%;"
              'text-align:center;font:italic bold 0.8em Georgia,serif;vertical-align:0.1em">i</span>')
WARNING_STYLE = ("background:#fff3cd;color:#5c3c00;border:1px solid #e0a800;border-left:6px solid #e0a800;"
                 "border-radius:4px;padding:6px 10px;margin:6px 0;font-weight:600")
_COLOR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,30}|(rgb|hsl)a?\([0-9.,%\s/]+\))$")
_SNAP = 20  # how far an excerpt edge may move outwards to land on whitespace


class Markup(str):
    """An HTML string that a notebook shows rendered (it is still a plain str everywhere else)."""

    def _repr_html_(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Span:
    """A validated span to mark: half-open character range plus what to say about it."""

    start: int
    end: int
    label: Optional[str] = None
    score: Optional[float] = None
    probability: Optional[float] = None
    rank: Optional[int] = None
    index: int = 0  # position in the caller's list, for data-spans and tie-breaking

    @property
    def key(self) -> str:
        """What the span is coloured by: its label (a model), else its rank."""
        if self.label is not None:
            return self.label
        return f"rank {self.rank}" if self.rank is not None else "answer"

    def describe(self) -> str:
        """One tooltip line: label, rank, score, probability and position."""
        parts = [self.label] if self.label is not None else []
        if self.rank is not None:
            parts.append(f"rank {self.rank}")
        if self.score is not None:
            parts.append(f"score {score_text(self.score)}")
        if self.probability is not None and self.probability == self.probability:  # not NaN
            parts.append(f"p {percent(self.probability)}")
        parts.append(f"chars {self.start}-{self.end}")
        return " · ".join(parts)


def _field(item: Any, name: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise InputError(f"{what} is {value!r}: give a whole-number character offset.")
    try:
        return operator.index(value)
    except TypeError:
        raise InputError(f"{what} is {value!r}: give a whole-number character offset.") from None


def _number(value: Any, what: str) -> Optional[float]:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} is {value!r}: give a number or leave it out.") from None


def as_spans(spans: Iterable[Any], length: int) -> List[Span]:
    """Validate Answer objects or dicts (start, end, label, score, probability, rank) as Spans."""
    if spans is None:
        return []
    if isinstance(spans, Mapping) or hasattr(spans, "start"):
        spans = [spans]  # a single span given on its own
    result = []
    for i, item in enumerate(spans):
        if _field(item, "start") is None or _field(item, "end") is None:
            raise InputError(f"Span {i} ({item!r}) has no start or end: give character offsets into the context.")
        start = _whole(_field(item, "start"), f"Span {i}'s start")
        end = _whole(_field(item, "end"), f"Span {i}'s end")
        if not 0 <= start <= end <= length:
            raise InputError(
                f"Span {i} [{start}:{end}] does not fit the context of {length} characters: "
                "start and end must satisfy 0 <= start <= end <= len(context)."
            )
        label = _field(item, "label")
        rank = _field(item, "rank")
        result.append(Span(
            start=start, end=end, label=None if label is None else str(label),
            score=_number(_field(item, "score"), f"Span {i}'s score"),
            probability=_number(_field(item, "probability"), f"Span {i}'s probability"),
            rank=None if rank is None else _whole(rank, f"Span {i}'s rank"), index=i,
        ))
    return result


def _check_color(color: Any, key: Any) -> str:
    if not isinstance(color, str) or not _COLOR.match(color.strip()):
        raise InputError(f"The colour {color!r} for {key!r} is not a CSS colour: use a name, #hex, rgb() or hsl().")
    return color.strip()


def _darker(color: str) -> str:
    """A darker stripe for a #hex colour; other CSS colours are used as they are."""
    if re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        rgb = [int(color[i:i + 2], 16) * 11 // 20 for i in (1, 3, 5)]
        return "#" + "".join(f"{c:02x}" for c in rgb)
    return color


def assign_colors(spans: Sequence[Span], labels_colors: Optional[Mapping[Any, Any]] = None) -> Dict[str, Tuple[str, str]]:
    """A (background, stripe) pair per colour key, in order of first appearance.

    A colour given in `labels_colors` is a CSS colour (its stripe is made darker) or a
    (background, stripe) pair.
    """
    given = dict(labels_colors or {})
    colors: Dict[str, Tuple[str, str]] = {}
    for span in sorted(spans, key=_priority):
        if span.key in colors:
            continue
        chosen = given.get(span.key, given.get(span.rank) if span.label is None else None)
        if isinstance(chosen, (tuple, list)) and len(chosen) == 2:
            colors[span.key] = (_check_color(chosen[0], span.key), _check_color(chosen[1], span.key))
        elif chosen is not None:
            chosen = _check_color(chosen, span.key)
            colors[span.key] = (chosen, _darker(chosen))
        else:
            colors[span.key] = PALETTE[len(colors) % len(PALETTE)]
    return colors


def _priority(span: Span) -> Tuple[int, int]:
    return (span.rank if span.rank is not None else 1, span.index)


def segments(spans: Sequence[Span], lo: int, hi: int) -> List[Tuple[int, int, Tuple[Span, ...]]]:
    """Cut [lo, hi) at every span boundary: (start, end, covering spans best first) per piece."""
    cuts = {lo, hi}
    for span in spans:
        cuts.update(p for p in (span.start, span.end) if lo < p < hi)
    points = sorted(cuts)
    pieces = []
    for a, b in zip(points, points[1:]):
        covering = tuple(sorted((s for s in spans if s.start <= a and b <= s.end), key=_priority))
        pieces.append((a, b, covering))
    return pieces


def escape_text(text: str) -> str:
    """HTML-escape text; carriage returns become references so parsers keep them."""
    return html.escape(text, quote=False).replace("\r", "&#13;")


def _attr(value: str) -> str:
    return html.escape(value, quote=True).replace("\r", "&#13;").replace("\n", "&#10;")


def _mark(text: str, a: int, b: int, covering: Sequence[Span], colors: Mapping[str, Tuple[str, str]]) -> str:
    best = covering[0]
    background = colors[best.key][0]
    shadows = ",".join(f"inset 0 -{STRIPE_PX * (k + 1)}px 0 0 {colors[s.key][1]}" for k, s in enumerate(covering))
    style = (f"background:{background};color:{MARK_TEXT};box-shadow:{shadows};"
             f"padding:1px 0 {STRIPE_PX * len(covering)}px;border-radius:2px")
    if a == b:  # an empty span: a caret between characters
        style = f"background:transparent;border-left:3px solid {colors[best.key][1]};padding:0 0 0 1px;margin:0 1px"
    attrs = (f'class="qa-kit-mark" data-spans="{" ".join(str(s.index) for s in covering)}" '
             f'data-start="{a}" data-end="{b}" data-label="{_attr(best.key)}" '
             f'title="{_attr(chr(10).join(s.describe() for s in covering))}" style="{style}"')
    return f"<mark {attrs}>{escape_text(text)}</mark>"


def render_range(context: str, lo: int, hi: int, spans: Sequence[Span], colors: Mapping[str, Tuple[str, str]]) -> str:
    """The characters context[lo:hi], escaped, with every span inside marked in place."""
    inside = [s for s in spans if lo <= s.end and s.start <= hi]  # carets cut the text too
    carets = sorted((s for s in spans if s.start == s.end and lo <= s.start <= hi), key=lambda s: (s.start, _priority(s)))
    out = []
    for a, b, covering in segments(inside, lo, hi):
        out.extend(_mark("", s.start, s.end, (s,), colors) for s in carets if s.start == a)
        carets = [s for s in carets if s.start != a]
        out.append(_mark(context[a:b], a, b, covering, colors) if covering else escape_text(context[a:b]))
    out.extend(_mark("", s.start, s.end, (s,), colors) for s in carets)  # carets at hi
    return "".join(out)


def _snap(context: str, a: int, b: int) -> Tuple[int, int]:
    """Move excerpt edges outwards (a little) so they fall on whitespace, not mid-word."""
    left = max(0, a - _SNAP)
    gap = max((context.rfind(c, left, a) for c in " \n\t"), default=-1)
    a = gap + 1 if gap >= 0 else (0 if a <= _SNAP else a)
    found = [i for i in (context.find(c, b, b + _SNAP) for c in " \n\t") if i >= 0]
    b = min(found) if found else (len(context) if len(context) - b <= _SNAP else b)
    return a, b


def excerpt_ranges(context: str, spans: Sequence[Span], window: int) -> List[Tuple[int, int]]:
    """Merged [a, b) ranges holding `window` characters either side of every span."""
    if not spans:
        return [_snap(context, 0, min(len(context), 2 * window))]
    ranges = sorted(_snap(context, max(0, s.start - window), min(len(context), s.end + window)) for s in spans)
    merged = [list(ranges[0])]
    for a, b in ranges[1:]:
        if a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def legend_html(colors: Mapping[str, Tuple[str, str]]) -> str:
    """One swatch per label (or rank), in the same colours as the marks."""
    items = "".join(
        f'<span class="qa-kit-legend-item" style="margin-right:12px;white-space:nowrap">'
        f'<span style="display:inline-block;background:{bg};color:{MARK_TEXT};box-shadow:inset 0 -{STRIPE_PX}px 0 0 {stripe};'
        f'padding:0 6px {STRIPE_PX}px;border-radius:2px">{escape_text(key)}</span></span>'
        for key, (bg, stripe) in colors.items()
    )
    return f'<div class="qa-kit-legend" style="margin:4px 0 8px;font-size:0.9em">{items}</div>' if items else ""


def _count(n: int) -> str:
    return str(n)  # offsets read the same everywhere: 15291, never 15,291


def highlight(
    context: str,
    spans: Iterable[Any] = (),
    *,
    labels_colors: Optional[Mapping[Any, Any]] = None,
    window: Optional[int] = None,
    title: Optional[str] = None,
    line_breaks: bool = True,
) -> Markup:
    """HTML of the context with each span marked in place; `window=N` keeps N characters around each.

    Spans are Answer objects or dicts with start and end (character offsets, end exclusive) and
    optional label, score, probability and rank. Colours go by label (a model) when spans have
    one, else by rank; `labels_colors` maps a label (or rank) to a CSS colour, or to a
    (background, stripe) pair. Positions shown in
    window mode are the same Python offsets: "chars a-b" is context[a:b]. `line_breaks=False` lets
    the text flow across its line breaks (a PDF's, which end lines, not paragraphs); offsets are unchanged.
    """
    if not isinstance(context, str):
        raise InputError(f"The context must be a string, not {type(context).__name__}.")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 0):
        raise InputError(f"window={window!r} must be a whole number of characters (0 or more), or None for the whole text.")
    marked = as_spans(spans, len(context))
    colors = assign_colors(marked, labels_colors)
    text_style = f"white-space:{'pre-wrap' if line_breaks else 'normal'};overflow-wrap:anywhere;line-height:1.9;margin:0"
    parts = ['<div class="qa-kit-highlight" style="font-family:inherit;max-width:100%">']
    if title is not None:
        parts.append(f'<div class="qa-kit-title" style="font-weight:600;margin:4px 0">{escape_text(str(title))}</div>')
    parts.append(legend_html(colors))
    ranges = [(0, len(context))] if window is None else excerpt_ranges(context, marked, window)
    for a, b in ranges:
        if window is not None:
            parts.append(f'<div class="qa-kit-pos" style="{MUTED};font-size:0.85em;margin-top:6px">'
                         f"chars {_count(a)}-{_count(b)} of {_count(len(context))}</div>")
        before = '<span class="qa-kit-gap" style="opacity:0.6">… </span>' if a > 0 else ""
        after = '<span class="qa-kit-gap" style="opacity:0.6"> …</span>' if b < len(context) else ""
        parts.append(f'<div class="qa-kit-text" data-start="{a}" data-end="{b}" style="{text_style}">'
                     f"{before}{render_range(context, a, b, marked, colors)}{after}</div>")
    parts.append("</div>")
    return Markup("".join(parts))


def warning_html(warning: Optional[str]) -> str:
    """A banner no one can miss, for answers that must not be taken as real (random weights)."""
    if not warning:
        return ""
    return f'<div class="qa-kit-warning" role="alert" style="{WARNING_STYLE}">⚠ {escape_text(warning)}</div>'


def note_html(note: Optional[str]) -> str:
    """A quiet line for what is worth knowing about a result (why fast reading read on, a server's limits)."""
    if not note:
        return ""
    return f'<div class="qa-kit-note" style="{MUTED};font-size:0.9em">{INFO_BADGE} {escape_text(note)}</div>'


def timings_text(timings: Mapping[str, float]) -> str:
    """'tokenize 1.2 ms · engine 30.4 ms · decode 0.8 ms · total 32.4 ms' from seconds."""
    order = [k for k in ("tokenize", "engine", "decode", "total") if k in timings]
    order += [k for k in timings if k not in order]
    return " · ".join(f"{k} {milliseconds(timings[k] * 1000)}" for k in order)


def _cell_text(column: str, value: Any) -> Tuple[str, bool]:
    """(text, is a number) for one table cell, in the format its column holds everywhere in the kit."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # numpy scalars: their Python value
        value = value.item()
    if value is None or str(value) in ("nan", "<NA>", "NaT"):  # NaN, pandas' NA: a blank cell
        return "", False
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value), False
    name = column.lower()
    if name == "probability" or name.endswith(("share", "agreement")):
        return percent(float(value)), True
    if name == "score":
        return score_text(float(value)), True
    if name == "milliseconds" or name.endswith("_ms"):
        return milliseconds(float(value))[:-3], True  # the header says ms
    if isinstance(value, int):  # counts and character offsets, written as everywhere else: 15291
        return str(value), True
    if name in ("exact_match", "f1") or name.endswith(("exact_match", "_f1", "_em")):
        return f"{value:.1f}", True
    return f"{value:.2f}", True


def _header(column: str) -> str:
    """A column's header: its name in words, with the unit where the cells leave it out."""
    if column == "milliseconds":
        return "ms"
    if column.endswith("_ms"):
        return column[:-3].replace("_", " ") + " (ms)"
    return column.replace("_", " ")


def frame_table(frame: Any, columns: Optional[Sequence[str]] = None, headers: Optional[Mapping[str, str]] = None) -> str:
    """A DataFrame as an escaped table: numbers right-aligned under right-aligned headers, text left.

    One format per kind of number (probability 82.1%, score 12.80, milliseconds 32.4 / 2,640);
    missing values are blank, never NaN or <NA>. Works on any object with `columns` and `itertuples`.
    """
    columns = list(columns if columns is not None else frame.columns)
    rows = [[_cell_text(c, v) for c, v in zip(columns, values)]
            for values in frame[columns].itertuples(index=False, name=None)]
    numeric = [any(cell[1] for cell in column) and all(cell[1] or not cell[0] for cell in column)
               for column in zip(*rows)] if rows else [False] * len(columns)
    cell = "border-bottom:1px solid rgba(128,128,128,0.35);padding:2px 10px;vertical-align:top"
    align = ["right" if n else "left" for n in numeric]
    names = [(headers or {}).get(c, _header(c)) for c in columns]
    head = "".join(f'<th style="{cell};text-align:{a}">{escape_text(n)}</th>' for n, a in zip(names, align))
    body = "".join("<tr>" + "".join(f'<td style="{cell};text-align:{a}">{escape_text(t)}</td>'
                                    for (t, _), a in zip(row, align)) + "</tr>" for row in rows)
    return (f'<table class="qa-kit-table" style="border-collapse:collapse;margin:6px 0">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def table_html(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A small escaped table with theme-neutral borders."""
    cell = "border-bottom:1px solid rgba(128,128,128,0.35);padding:2px 8px;text-align:left;vertical-align:top"
    head = "".join(f'<th style="{cell}">{escape_text(str(h))}</th>' for h in header)
    body = "".join("<tr>" + "".join(f'<td style="{cell}">{escape_text(str(v))}</td>' for v in row) + "</tr>" for row in rows)
    return f'<table class="qa-kit-table" style="border-collapse:collapse;margin:6px 0"><tr>{head}</tr>{body}</table>'


LONG_CONTEXT = 1500  # characters; longer contexts show only the neighbourhood of each answer
NEIGHBOURHOOD = 160


def best_answer_html(answers: Any) -> str:
    """One line: the best answer with its score, probability and offsets (or that there is none).

    Answers with a warning (random weights) are headed "Model output", never "Answer".
    """
    best = answers.best
    if best is None:
        return f'<div style="{MUTED}">No span of the context qualified as an answer.</div>'
    heading = "Model output (not a real answer)" if answers.warning else "Answer"
    return (f'<div class="qa-kit-best" style="margin:4px 0">{heading}: <b>{escape_text(best.text)}</b> '
            f'<span style="{MUTED}">score {score_text(best.score)} · probability {percent(best.probability)} · '
            f"chars {best.start}-{best.end}</span></div>")


def answers_html(answers: Any) -> str:
    """An Answers object as HTML: warning, best answer in its sentence, runner-ups, timings."""
    context = answers.context
    header = (f'<div style="{MUTED};font-size:0.9em">{escape_text(answers.model or "model")}'
              f'{" · " + escape_text(answers.engine) if answers.engine else ""}</div>'
              f'<div style="font-weight:600;margin:2px 0">Q: {escape_text(answers.question)}</div>')
    parts = ['<div class="qa-kit-answers">', warning_html(answers.warning), header]
    parts.append(note_html(getattr(answers, "note", None)))
    best = answers.best
    parts.append(best_answer_html(answers))
    if best is not None:
        window = NEIGHBOURHOOD if len(context) > LONG_CONTEXT else None
        parts.append(highlight(context, list(answers), window=window))
        if len(answers) > 1:
            rows = [(a.rank, a.text, f"{a.start}-{a.end}", score_text(a.score), percent(a.probability)) for a in answers]
            parts.append(table_html(rows, ("rank", "text", "chars", "score", "probability")))
    if answers.timings:
        parts.append(f'<div style="{MUTED};font-size:0.85em">{escape_text(timings_text(answers.timings))}</div>')
    parts.append("</div>")
    return "".join(parts)
