"""What both notebook apps share: status lines, short error messages, tables and images as HTML."""
from __future__ import annotations

from typing import Any, List

import ipywidgets as w

from .. import stubs
from ..charts import figure_png as png  # noqa: F401 (the widgets' name for it, kept)
from ..errors import QAKitError
from ..render import INFO_BADGE, escape_text, frame_table
from ..report import image_html

OWN_TEXT = "(your own text)"
NEIGHBOURHOOD = 160  # characters shown around each answer in a long context
DEDUPE_SECONDS = 2.0  # a repeat of the request just answered, this soon, is the same request
MAX_MESSAGE = 300  # characters of an error message shown in the status line
SAMPLE_QUESTIONS = 6  # questions of a sample's set put in the "ask a list" box
ENGINE_LABELS = {"deepsparse": "DeepSparse", "onnxruntime": "ONNX Runtime"}
# A CSS spinner: an emoji hourglass shows as a box where no emoji font is installed.
_SPINNER = ("<style>@keyframes qa-kit-spin{to{transform:rotate(360deg)}}</style>"
            '<span class="qa-kit-spinner" style="display:inline-block;width:0.8em;height:0.8em;'
            "border:2px solid currentColor;border-right-color:transparent;border-radius:50%;"
            'vertical-align:-0.1em;animation:qa-kit-spin 0.8s linear infinite"></span>')
_TABLE_STYLE = ("<style>.qa-kit-table-wrap table{border-collapse:collapse;margin:6px 0}"
                ".qa-kit-table-wrap th,.qa-kit-table-wrap td{padding:2px 10px;text-align:left;vertical-align:top;"
                "border-bottom:1px solid rgba(128,128,128,0.35)}</style>")
_STATUS_STYLE = {
    "info": (INFO_BADGE, "background:#eef2ff;color:#1e3a8a;border-left:6px solid #6366f1"),
    "busy": (_SPINNER, "background:#e0f2fe;color:#075985;border-left:6px solid #0284c7"),
    "done": ("✓", "background:#dcfce7;color:#14532d;border-left:6px solid #16a34a"),
    "error": ("⚠", "background:#fee2e2;color:#7f1d1d;border-left:6px solid #dc2626"),
}
MUTED = "opacity:0.75"
FULL_WIDTH = w.Layout(width="100%")
WIDE_LABEL = {"description_width": "initial"}



def status_html(message: str, level: str = "info") -> str:
    """One status line (info, busy, done or error) as escaped HTML readable on any theme."""
    icon, style = _STATUS_STYLE[level]
    return (f'<div class="qa-kit-status-{level}" role="status" style="{style};padding:4px 10px;'
            f'border-radius:3px;margin:4px 0">{icon} {escape_text(message)}</div>')


def short_message(error: BaseException, malformed: str = "The model source is malformed") -> str:
    """The first line of an error, cut to MAX_MESSAGE characters; unexpected ones are named so."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = " ".join(lines[0].split()) if lines else ""
    if isinstance(error, stubs.StubError):
        text = f"{malformed}: {text}"
    elif not isinstance(error, QAKitError):
        text = f"Unexpected {type(error).__name__}: {text}" if text else f"Unexpected {type(error).__name__}."
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


def chart_html(figure: Any) -> str:
    """A chart as HTML that follows JupyterLab's light or dark theme (a kit Chart), else a light PNG."""
    if hasattr(figure, "to_html"):
        return figure.to_html()
    return image_html(figure, "chart")


def frame_html(frame: Any) -> str:
    """A results DataFrame as an escaped HTML table, in the kit's one format per kind of number."""
    return table_wrap(frame_table(frame))


def table_wrap(table: str) -> str:
    """Put a table's HTML in a box that pads its cells on any theme."""
    return f'{_TABLE_STYLE}<div class="qa-kit-table-wrap" style="overflow-x:auto">{table}</div>'


def in_kernel() -> bool:
    """True inside a running IPython kernel (where clicks may run in a background thread)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def lines(text: str) -> List[str]:
    """The non-blank lines of a text box, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def scroll(body: str, height: int = 420) -> str:
    return f'<div class="qa-kit-result-body" style="max-height:{height}px;overflow:auto">{body}</div>'

