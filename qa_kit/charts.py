"""Charts of answers and comparisons, as matplotlib Figures (never pyplot's global state).

Every function returns a `Chart`, a plain `matplotlib.figure.Figure` that also shows itself as
a PNG in a notebook (whether or not pyplot was imported) and saves with `.savefig()` as usual.
A random-weight model's warning is printed on the figure in red. Every text that comes from a user
or a model (questions, answers, model names, warnings) goes through `plain_for_matplotlib`, so a
`$` in it draws as a dollar sign, never as maths.
"""
from __future__ import annotations

import io
import textwrap
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .render import percent
from .text import one_line, plain_for_matplotlib

STAGES = ("tokenize", "engine", "decode")
STAGE_COLORS = {"tokenize": "#60a5fa", "engine": "#f59e0b", "decode": "#34d399", "total": "#9ca3af"}
START_COLOR, END_COLOR, CHOSEN_COLOR = "#2563eb", "#ea580c", "#dc2626"
WARNING_COLOR = "#b91c1c"


class Chart(Figure):
    """A Figure that renders itself as PNG in notebooks (IPython's `_repr_png_`)."""

    def to_png(self, dpi: int = 100) -> bytes:
        """The figure as PNG bytes, drawn by Agg."""
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=dpi, facecolor="white")
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:
        return self.to_png()


def _short(text: Any, size: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _new(width: float, height: float, ncols: int = 1) -> Tuple[Chart, List[Any]]:
    fig = Chart(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


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
    y = np.arange(len(items))
    widths = np.nan_to_num([a.probability for a in items])  # a server gives no probability: no bar, "p n/a"
    bars = ax.barh(y, widths, color=["#2563eb"] + ["#93c5fd"] * (len(items) - 1))
    ax.bar_label(bars, labels=[f" p {percent(a.probability)} · score {a.score:.2f}" for a in items], fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()  # rank 1 on top
    ax.set_xlim(0, min(1.0, widths.max() * 1.35 + 0.05))
    ax.set_xlabel("probability (softmax over all candidate spans)")
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


def agreement(frame: Any) -> Dict[str, float]:
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
    """Models side by side: answer agreement, mean score and mean latency (a frame or Comparison)."""
    frame = _frame_of(frame)
    rows = _top_rows(frame)
    models = list(dict.fromkeys(rows["model"]))
    agree = agreement(frame)
    failed = {m for m in models if rows.loc[rows["model"] == m, "error"].notna().all()} if "error" in rows else set()
    panels = [  # (title, value per model, how to label a bar)
        ("agreement with the other models", [agree[m] for m in models], "{:.0%}"),
        ("mean score (start + end logit)", [rows.loc[rows["model"] == m, "score"].mean() for m in models], "{:.2f}"),
        ("mean latency (ms per question)", [rows.loc[rows["model"] == m, "milliseconds"].mean() for m in models], "{:.0f} ms"),
    ]
    fig, axes = _new(11, 1.4 + 0.45 * len(models), ncols=3)
    _warn(fig, frame)
    y = np.arange(len(models))
    colors = [f"C{i % 10}" for i in range(len(models))]
    for ax, (name, values, label) in zip(axes, panels):
        heights = [0.0 if v is None or np.isnan(v) else float(v) for v in values]
        bars = ax.barh(y, heights, color=colors)
        notes = ["error" if m in failed else ("n/a" if v is None or np.isnan(v) else label.format(v)) for m, v in zip(models, values)]
        ax.bar_label(bars, labels=[f" {n}" for n in notes], fontsize=8)
        ax.set_title(name, fontsize=9)
        names = [plain_for_matplotlib(_short(m, 28)) for m in models]
        ax.set_yticks(y, names if ax is axes[0] else [""] * len(models), fontsize=8)
        ax.invert_yaxis()
        ax.margins(x=0.3)
    axes[0].set_xlim(0, 1.3)  # agreement is a share: keep its scale fixed
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
    for yi, total, (_, row) in zip(y, left, rows):
        missing = all(np.isnan(v) for v in row.values()) if row else True
        ax.text(total, yi, " no timing (failed)" if missing else f" {total:.1f} ms", va="center", fontsize=8)
    ax.set_yticks(y, [plain_for_matplotlib(label) for label, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.margins(x=0.15)
    per_model = not hasattr(answers_or_frame, "timings") and not isinstance(answers_or_frame, (list, tuple))
    ax.set_xlabel("milliseconds, mean per question" if per_model else "milliseconds")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def questions_chart(results: Sequence[Any]) -> Chart:
    """Probability of each question's best answer, one bar per question (for "ask a list")."""
    fig = Chart(figsize=(7, 1.2 + 0.45 * max(len(results), 1)), layout="constrained")
    ax = fig.subplots()
    warning = warning_of(list(results))
    if warning:
        fig.suptitle(plain_for_matplotlib(f"⚠ {warning[:120]}"), color="#b91c1c", fontsize=9, fontweight="bold")
    labels, values, notes = [], [], []
    for i, answers in enumerate(results, 1):
        best = answers.best
        labels.append(f"Q{i}. {one_line(answers.question, 34)}")
        values.append(best.probability if best else 0.0)
        notes.append(f" {one_line(best.text, 28)}" if best else " (no answer)")
    y = list(range(len(results)))
    bars = ax.barh(y, values, color="#2563eb")
    ax.bar_label(bars, labels=[plain_for_matplotlib(n) for n in notes], fontsize=8)
    ax.set_yticks(y, [plain_for_matplotlib(label) for label in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, min(1.0, max(values, default=0.0) * 1.5 + 0.05))
    ax.set_xlabel("probability of the best answer")
    return fig

