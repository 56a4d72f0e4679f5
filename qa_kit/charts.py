"""Charts of answers and comparisons, as matplotlib Figures (never pyplot's global state).

Every function returns a `Chart`, a plain `matplotlib.figure.Figure` that also shows itself as
a PNG in a notebook (whether or not pyplot was imported) and saves with `.savefig()` as usual.
A random-weight model's warning is printed on the figure in red. Every text that comes from a user
or a model (questions, answers, model names, warnings) goes through `plain_for_matplotlib`, so a
`$` in it draws as a dollar sign, never as maths.
"""
from __future__ import annotations

import base64
import colorsys
import contextlib
import functools
import html
import io
import logging
import textwrap
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from matplotlib import rc_context, rcParams
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import PercentFormatter

from .render import PALETTE
from .text import milliseconds, one_line, percent, plain_for_matplotlib

STAGES = ("tokenize", "engine", "decode")
STAGE_COLORS = {"tokenize": "#60a5fa", "engine": "#f59e0b", "decode": "#34d399", "total": "#9ca3af"}
START_COLOR, END_COLOR, CHOSEN_COLOR = "#2563eb", "#ea580c", "#dc2626"
WARNING_COLOR = "#b91c1c"


class Chart(Figure):
    """A Figure that shows itself in notebooks in the page's theme: dark ink on white, or light ink on clear.

    `to_png(theme=...)` draws one; `to_html()` holds both, and JupyterLab's theme (the
    `data-jp-theme-light` flag on the page) shows the one that suits it. Elsewhere the light one shows.
    """

    def to_png(self, dpi: int = 100, theme: str = "light") -> bytes:
        """The figure as PNG bytes, drawn by Agg: "light" on white, "dark" in light ink on a clear background."""
        if theme not in ("light", "dark"):
            raise ValueError(f"theme={theme!r}: choose 'light' or 'dark'")
        buffer = io.BytesIO()
        with _with_fallback_fonts(self):
            if theme == "dark":
                with _light_ink(self):
                    self.savefig(buffer, format="png", dpi=dpi, transparent=True)
            else:
                self.savefig(buffer, format="png", dpi=dpi, facecolor="white")
        return buffer.getvalue()

    def to_html(self, dpi: int = 100, alt: str = "chart") -> str:
        """Both drawings as <img> tags; JupyterLab's dark theme hides the light one and shows the other."""
        images = []
        for theme in ("light", "dark"):
            data = base64.b64encode(self.to_png(dpi, theme)).decode("ascii")
            images.append(f'<img class="qa-kit-chart-{theme}" alt="{html.escape(alt)}" '
                          f'style="max-width:100%;height:auto" src="data:image/png;base64,{data}">')
        return f'{THEME_STYLE}<div class="qa-kit-chart">{"".join(images)}</div>'

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def _repr_html_(self) -> str:
        return self.to_html()


def figure_png(figure: Figure, dpi: int = 100) -> bytes:
    """PNG bytes of any matplotlib Figure: a kit Chart's light drawing, else drawn by Agg on white."""
    if isinstance(figure, Chart):
        return figure.to_png(dpi)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


# The light drawing shows unless the page is JupyterLab in a dark theme.
THEME_STYLE = ("<style>.qa-kit-chart-dark{display:none}"
               'body[data-jp-theme-light="false"] .qa-kit-chart-dark{display:inline}'
               'body[data-jp-theme-light="false"] .qa-kit-chart-light{display:none}</style>')


def _lighter(color: Any) -> Optional[Tuple[float, float, float, float]]:
    """A dark colour made light enough to read on a dark page (same hue); None for a colour already light."""
    if color is None or (isinstance(color, str) and color.lower() == "none"):
        return None
    r, g, b, a = to_rgba(color)
    if a == 0:
        return None
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    if lightness >= 0.5:
        return None
    return (*colorsys.hls_to_rgb(hue, 0.92 - 0.8 * lightness, saturation), a)


# Fonts with Chinese, Japanese and Korean glyphs, by family name, tried after the default font for a
# character it lacks (matplotlib falls back glyph by glyph): a Japanese answer draws as itself, not boxes.
CJK_FONTS = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Source Han Sans", "WenQuanYi Micro Hei", "IPAexGothic",
             "IPAGothic", "Hiragino Sans", "Yu Gothic", "Microsoft YaHei", "Malgun Gothic", "Noto Sans JP")


@functools.lru_cache(maxsize=1)
def installed_cjk_fonts() -> Tuple[str, ...]:
    """The CJK_FONTS installed on this machine, in that order (empty when there are none)."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return tuple(name for name in CJK_FONTS if name in installed)


@contextlib.contextmanager
def _with_fallback_fonts(fig: Figure) -> Iterator[None]:
    """For one drawing: texts in the default family fall back on the installed CJK fonts. Without any,
    matplotlib draws boxes and warns once per missing glyph; the kit keeps those warnings out of the
    notebook (the boxes show what is missing: install a CJK font such as fonts-noto-cjk)."""
    default = list(rcParams["font.family"])
    families = default + [name for name in installed_cjk_fonts() if name not in default]
    changed = [t for t in fig.findobj(Text) if list(t.get_fontfamily()) == default] if len(families) > len(default) else []
    for text in changed:
        text.set_fontfamily(families)
    finder = logging.getLogger("matplotlib.font_manager")  # logs "findfont: Failed to find font weight bold"
    level = finder.level                                    # for a CJK font without a bold face, on bold text
    finder.setLevel(max(level, logging.ERROR))
    try:
        with rc_context({"font.family": families}), warnings.catch_warnings():  # rc: tick labels made while drawing
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
            yield
    finally:
        finder.setLevel(level)
        for text in changed:
            text.set_fontfamily(default)


@contextlib.contextmanager
def _light_ink(fig: Figure) -> Iterator[None]:
    """For one drawing: every dark text, line and edge made light, axes and legends clear."""
    undo: List[Tuple[Callable[[Any], Any], Any]] = []

    def swap(getter: Callable[[], Any], setter: Callable[[Any], Any], new: Any) -> None:
        if new is not None:
            undo.append((setter, getter()))
            setter(new)

    for artist in fig.findobj():
        if isinstance(artist, Text):
            swap(artist.get_color, artist.set_color, _lighter(artist.get_color()))
        elif isinstance(artist, Line2D):
            swap(artist.get_color, artist.set_color, _lighter(artist.get_color()))
            swap(artist.get_markeredgecolor, artist.set_markeredgecolor, _lighter(artist.get_markeredgecolor()))
        elif isinstance(artist, Patch):
            swap(artist.get_edgecolor, artist.set_edgecolor, _lighter(artist.get_edgecolor()))
    for ax in fig.axes:
        swap(ax.get_facecolor, ax.set_facecolor, "none")
        legend = ax.get_legend()
        if legend is not None:
            swap(legend.get_frame().get_facecolor, legend.get_frame().set_facecolor, (0.1, 0.1, 0.12, 0.6))
    try:
        yield
    finally:
        for setter, old in reversed(undo):
            setter(old)


def _short(text: Any, size: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _new(width: float, height: float, ncols: int = 1) -> Tuple[Chart, List[Any]]:
    fig = Chart(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _bars_with_labels(ax: Any, values: Sequence[float], labels: Sequence[str], color: Any,
                      least: float = 0.0, fontsize: float = 9) -> None:
    """Horizontal bars, each with its label at its end, and an x range wide enough for every label.

    Labels are measured once drawn: the x limit X is the smallest where each bar's end plus its label
    still fits inside the axes (v / X * width + label <= width), so no label runs past the border.
    """
    values = [0.0 if v is None or np.isnan(v) else float(v) for v in values]
    bars = ax.barh(np.arange(len(values)), values, color=color)
    texts = ax.bar_label(bars, labels=[plain_for_matplotlib(f" {t}") for t in labels], fontsize=fontsize)
    fit_bar_labels(ax, values, texts, least)


def fit_bar_labels(ax: Any, values: Sequence[float], texts: Sequence[Any], least: float = 0.0) -> None:
    """Widen the x range until every label drawn at the end of its bar fits inside the axes."""
    top = max([least, *values]) or 1.0
    ax.set_xlim(0, top * 1.02)
    for _ in range(2):  # the axes' width settles once the layout has run with the new limits
        with _with_fallback_fonts(ax.figure):  # measured in the fonts they will be drawn in
            ax.figure.draw_without_rendering()
            width = ax.get_window_extent().width
            needs = [v / max(0.2, 1 - (t.get_window_extent().width + 4) / width) for v, t in zip(values, texts)]
        ax.set_xlim(0, max(top * 1.02, *needs))


def _percent_axis(ax: Any) -> None:
    """Ticks as percentages, none past 100% (the axis may run on to make room for labels)."""
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xticks([t for t in ax.get_xticks() if -1e-9 <= t <= 1 + 1e-9])


def warning_of(obj: Any) -> str:
    """The note to print on a chart: an Answers' warning, or each warned model's in a frame."""
    if isinstance(obj, (list, tuple)):
        return next((w for w in map(warning_of, obj) if w), "")
    if hasattr(obj, "timings"):
        return obj.warning or ""
    frame = _frame_of(obj)
    if "warning" not in getattr(frame, "columns", ()):
        return ""
    warned = frame[frame["warning"].notna()].drop_duplicates(subset=["model", "warning"])
    models_by_warning: Dict[str, List[str]] = {}
    for model, warning in zip(warned["model"], warned["warning"]):
        models_by_warning.setdefault(warning, []).append(str(model))
    return "; ".join(f"{', '.join(models)}: {warning}" for warning, models in models_by_warning.items())


def _warn(fig: Figure, obj: Any) -> None:
    warning = warning_of(obj)
    if warning:
        width = int(fig.get_figwidth() * 12)  # characters that fit at this font size
        fig.suptitle(plain_for_matplotlib(textwrap.fill(f"⚠ {warning}", width, max_lines=3, placeholder=" …")),
                     color=WARNING_COLOR, fontsize=9, fontweight="bold")


def topk_chart(answers: Any) -> Chart:
    """The top-k answers as bars of probability, each labelled with its raw score."""
    items = list(answers)
    fig, (ax,) = _new(7, 1.2 + 0.45 * max(len(items), 1))
    _warn(fig, answers)
    ax.set_title(plain_for_matplotlib(_short(f"Q: {answers.question}", 80)), fontsize=10, loc="left")
    if not items:
        ax.text(0.5, 0.5, "no span qualified as an answer", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    labels = [plain_for_matplotlib(f"{a.rank}. {_short(a.text, 36)}") for a in items]
    ax.set_yticks(np.arange(len(items)), labels, fontsize=9)
    ax.invert_yaxis()  # rank 1 on top
    widths = np.nan_to_num([a.probability for a in items])  # a server gives no probability: no bar, "p n/a"
    _bars_with_labels(ax, widths, [f"{percent(a.probability)} · score {a.score:.2f}" for a in items],
                      ["#2563eb"] + ["#93c5fd"] * (len(items) - 1), least=1.0)
    ax.set_xlabel("probability (softmax over all candidate spans)", fontsize=9)
    _percent_axis(ax)
    return fig


def _context_tokens(window: Any) -> np.ndarray:
    """Which of a window's tokens are context tokens (not question, special or padding)."""
    return window.token_offsets[:, 0] >= 0


def _extents(windows: Sequence[Any], x: str) -> List[Tuple[Any, int, int]]:
    """(window, lo, hi) along the x axis: characters, or context tokens laid end to end."""
    result, first = [], 0
    for window in windows:
        n = int(_context_tokens(window).sum())
        result.append((window, window.char_start, window.char_end) if x == "chars" else (window, first, first + n))
        first += n
    return result


def _chosen_x(answers: Any, extents: Sequence[Tuple[Any, int, int]], x: str) -> Optional[Tuple[float, float]]:
    """Where the best answer lies on the x axis (its characters, or its tokens in its window)."""
    best = answers.best
    if best is None or x == "chars":
        return None if best is None else (best.start, best.end)
    for window, lo, _ in extents:
        if window.index == best.window:
            offsets = window.token_offsets[_context_tokens(window)]
            inside = np.nonzero((offsets[:, 0] >= best.start) & (offsets[:, 1] <= best.end))[0]
            return (lo + inside.min(), lo + inside.max() + 1) if len(inside) else None
    return None


def logits_chart(answers: Any, *, x: str = "chars") -> Chart:
    """Start and end logits along the context, per window, with the windows and the answer shown.

    Top: start logits; middle: end logits; bottom: one bar per window (hatched when fast reading
    skipped it, red for the window the answer came from). `x="chars"` puts tokens at their
    character positions (overlapping windows draw over each other); `x="tokens"` lays the
    windows' context tokens end to end.
    """
    if x not in ("chars", "tokens"):
        raise ValueError(f"x={x!r} is not a choice: use 'chars' or 'tokens'.")
    fig = Chart(figsize=(10, 5.2), layout="constrained")
    start_ax, end_ax, strip = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 3, 1.2]})
    _warn(fig, answers)
    start_ax.set_title(plain_for_matplotlib(_short(f"Q: {answers.question}", 90)), fontsize=10, loc="left")
    extents = _extents(answers.windows, x)
    best = answers.best
    if not extents:
        start_ax.text(0.5, 0.5, "no logits: this reader does not report them", ha="center", va="center",
                      transform=start_ax.transAxes)
    for window, lo, hi in extents:
        read = window.read and window.start_logits is not None
        chosen = best is not None and window.index == best.window
        strip.barh(window.index % 2, hi - lo, left=lo, height=0.8, hatch=None if read else "//",
                   color=(CHOSEN_COLOR if chosen else "#9ca3af") if read else "white", edgecolor="#6b7280", lw=0.5)
        for ax, logits, color in ((start_ax, window.start_logits, START_COLOR), (end_ax, window.end_logits, END_COLOR)):
            if not read:
                ax.axvspan(lo, hi, facecolor="none", edgecolor="#9ca3af", hatch="//", lw=0)
                continue
            ax.axvspan(lo, hi, color="#6b7280", alpha=0.06 if window.index % 2 else 0.14, lw=0)
            in_context = _context_tokens(window)
            xs = window.token_offsets[in_context, 0] if x == "chars" else lo + np.arange(int(in_context.sum()))
            ax.plot(xs, np.asarray(logits)[in_context], color=color, lw=1)
    span = _chosen_x(answers, extents, x)
    if span is not None:
        for ax in (start_ax, end_ax):
            ax.axvspan(*span, color=CHOSEN_COLOR, alpha=0.4, lw=0)
            ax.axvline(span[0], color=CHOSEN_COLOR, lw=0.8)
        start_ax.annotate(plain_for_matplotlib(f"chosen: {_short(best.text, 40)}"), xy=(span[0], 1.0),
                          xycoords=("data", "axes fraction"), xytext=(3, -10), textcoords="offset points",
                          color=CHOSEN_COLOR, fontsize=8)
    start_ax.set_ylabel("start logit")
    end_ax.set_ylabel("end logit")
    strip.set_ylabel("windows", fontsize=8)
    strip.set_yticks([])
    keys = [Patch(color="#9ca3af", label="window read"), Patch(facecolor="white", edgecolor="#6b7280", hatch="//", label="skipped"),
            Patch(color=CHOSEN_COLOR, label="answer's window")]
    strip.legend(handles=keys, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    strip.set_xlabel("context character" if x == "chars" else "context token (windows end to end)")
    return fig


def _top_rows(frame: Any) -> Any:
    """One row per (question, model): the best answer when the frame holds top-k rows."""
    if "rank" in frame.columns:
        frame = frame[(frame["rank"] == 1) | frame["rank"].isna()]
    question = "question_index" if "question_index" in frame.columns else "question"
    return frame.drop_duplicates(subset=[question, "model"])


def answer_agreement(frame: Any) -> Dict[str, float]:
    """Per model: the share of the other models giving the same answer text, over the questions.

    Rows that failed (an `error`) take no part; a model with no successful row gets NaN.
    """
    rows = _top_rows(frame)
    models = list(dict.fromkeys(rows["model"]))
    if "error" in rows.columns:
        rows = rows[rows["error"].isna()]
    question = "question_index" if "question_index" in rows.columns else "question"
    result = {}
    for model in models:
        shares = []
        for _, group in rows.groupby(question, sort=False):
            answers = {m: _norm(a) for m, a in zip(group["model"], group["answer"])}
            others = [a for m, a in answers.items() if m != model]
            if model in answers and others:
                mine = answers[model]
                shares.append(np.mean([mine is not None and mine == a for a in others]))
        result[model] = float(np.mean(shares)) if shares else float("nan")
    return result


def _norm(answer: Any) -> Any:
    if answer is None or (isinstance(answer, float) and np.isnan(answer)):
        return None
    return " ".join(str(answer).lower().split()).strip(" .,;:!?\"'")


def _frame_of(obj: Any) -> Any:
    return obj.frame if hasattr(obj, "frame") else obj


def comparison_chart(frame: Any) -> Chart:
    """Models side by side: how often they agree, how sure each is, how fast (a frame or Comparison).

    Raw scores are left out: logit sums of different models are on different scales. Probability
    is bounded, though each model is calibrated its own way, which the panel's title says.
    """
    frame = _frame_of(frame)
    rows = _top_rows(frame)
    models = list(dict.fromkeys(rows["model"]))
    agree = answer_agreement(frame)
    questions = rows["question_index" if "question_index" in rows.columns else "question"].nunique()
    failed = {m for m in models if rows.loc[rows["model"] == m, "error"].notna().all()} if "error" in rows else set()
    of_model = {m: rows[rows["model"] == m] for m in models}
    probability = {m: of_model[m]["probability"].mean() if "probability" in rows else float("nan") for m in models}
    latency = {m: of_model[m]["milliseconds"].mean() for m in models}
    panels = [  # (title, value per model, its label, the least x range)
        ("same answer as the other models", agree,
         lambda v: f"{v:.0%} of {questions} question{'s' if questions != 1 else ''}", 1.0),
        ("how sure: mean probability of its best answer\n(each model's own calibration)", probability, percent, 1.0),
        ("mean time per question", latency, milliseconds, 0.0),
    ]
    fig, axes = _new(10, 1.7 + 0.5 * len(models), ncols=3)
    _warn(fig, frame)
    y = np.arange(len(models))
    colors = [PALETTE[i % len(PALETTE)][1] for i in range(len(models))]  # each model's stripe, as in its highlights
    for ax, (title, values, label, least) in zip(axes, panels):
        shown = [values[m] for m in models]
        notes = ["error" if m in failed else ("n/a" if v is None or np.isnan(v) else label(v))
                 for m, v in zip(models, shown)]
        ax.set_title(title, fontsize=9.5, loc="left")
        ax.set_yticks(y, [plain_for_matplotlib(_short(m, 24)) for m in models] if ax is axes[0] else [""] * len(models),
                      fontsize=9)
        ax.invert_yaxis()
        _bars_with_labels(ax, shown, notes, colors, least=least)
        ax.tick_params(axis="x", labelsize=8)
        if least == 1.0:
            _percent_axis(ax)
            ax.axvline(1.0, color="#9ca3af", linewidth=0.8, linestyle=":")  # where 100% is, even with no bar
    return fig


def _timing_rows(obj: Any) -> List[Tuple[str, Dict[str, float]]]:
    """(row label, stage -> milliseconds) from Answers, a list of them, a frame or a Comparison."""
    if hasattr(obj, "timings") and hasattr(obj, "question"):
        return [(_short(obj.model or "answers", 30), {k: v * 1000 for k, v in obj.timings.items()})]
    if isinstance(obj, (list, tuple)):
        return [(f"{_short(a.model or 'answers', 24)} #{i}", {k: v * 1000 for k, v in a.timings.items()})
                for i, a in enumerate(obj) if a is not None]
    rows = _top_rows(_frame_of(obj))
    stage_columns = [f"{s}_ms" for s in STAGES if f"{s}_ms" in rows.columns]
    result = []
    for model, group in rows.groupby("model", sort=False):
        if stage_columns:
            result.append((_short(model, 30), {c[:-3]: float(group[c].mean()) for c in stage_columns}))
        else:
            result.append((_short(model, 30), {"total": float(group["milliseconds"].mean())}))
    return result


def timings_chart(answers_or_frame: Any) -> Chart:
    """Time per stage (tokenize, engine, decode) as stacked bars, one row per result or model."""
    rows = _timing_rows(answers_or_frame)
    stages = [s for s in STAGES if any(s in r for _, r in rows)] or ["total"]
    fig, (ax,) = _new(8, 1.3 + 0.4 * max(len(rows), 1))
    _warn(fig, answers_or_frame)
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for stage in stages:
        values = np.array([np.nan_to_num(r.get(stage, 0.0)) for _, r in rows])
        ax.barh(y, values, left=left, color=STAGE_COLORS[stage], label=stage)
        left += values
    notes = ["no timing (failed)" if not row or all(np.isnan(v) for v in row.values()) else milliseconds(total)
             for total, (_, row) in zip(left, rows)]
    texts = [ax.text(total, yi, f" {note}", va="center", fontsize=9) for yi, total, note in zip(y, left, notes)]
    ax.set_yticks(y, [plain_for_matplotlib(label) for label, _ in rows], fontsize=9)
    ax.invert_yaxis()
    fit_bar_labels(ax, list(left), texts)
    per_model = not hasattr(answers_or_frame, "timings") and not isinstance(answers_or_frame, (list, tuple))
    ax.set_xlabel("milliseconds, mean per question" if per_model else "milliseconds", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # beside, never over a bar
    return fig


def questions_chart(results: Sequence[Any]) -> Chart:
    """Probability of each question's best answer, one bar per question (for "ask a list")."""
    fig, (ax,) = _new(7.5, 1.2 + 0.42 * max(len(results), 1))
    _warn(fig, list(results))
    labels, values, notes = [], [], []
    for i, answers in enumerate(results, 1):
        best = answers.best
        labels.append(plain_for_matplotlib(f"Q{i}. {one_line(answers.question, 34)}"))
        values.append(best.probability if best else 0.0)
        notes.append(f"{one_line(best.text, 28)} ({percent(best.probability)})" if best else "(no answer)")
    ax.set_yticks(np.arange(len(results)), labels, fontsize=9)
    ax.invert_yaxis()
    _bars_with_labels(ax, values, notes, "#2563eb", least=1.0)
    ax.set_xlabel("probability of the best answer", fontsize=9)
    _percent_axis(ax)
    return fig
