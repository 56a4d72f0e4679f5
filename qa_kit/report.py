"""Save answers or a comparison as CSV, or as one standalone HTML file that opens offline.

The HTML report holds the highlighted text, the table and the charts (PNG, base64-embedded),
with no script and no outside link, so it can be mailed or archived as it is.
"""
from __future__ import annotations

import base64
import html
from datetime import datetime
from pathlib import Path
from typing import Any, List, Optional, Union

from .errors import InputError
from .render import LONG_CONTEXT, answers_html, escape_text

PAGE_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; background: #ffffff; color: #111827; }
@media (prefers-color-scheme: dark) { body { background: #1f2937; color: #e5e7eb; } }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border-bottom: 1px solid rgba(128,128,128,0.35); padding: 3px 8px; text-align: left; vertical-align: top; }
img { max-width: 100%; background: #ffffff; border-radius: 4px; }
footer { margin-top: 2em; opacity: 0.7; font-size: 0.8em; }
"""


def _is_comparison(obj: Any) -> bool:
    return hasattr(obj, "frame") and hasattr(obj, "models")


def _is_answers(obj: Any) -> bool:
    return hasattr(obj, "question") and hasattr(obj, "context") and hasattr(obj, "answers")


def to_frame(obj: Any):
    """The table behind a Comparison, an Answers (with its warning) or a DataFrame."""
    if _is_comparison(obj):
        return obj.frame
    if _is_answers(obj):
        frame = obj.to_frame()
        frame["warning"] = obj.warning
        return frame
    if hasattr(obj, "to_csv"):
        return obj
    raise InputError(f"Cannot export a {type(obj).__name__}: give an Answers, a Comparison or a DataFrame.")


def save_csv(obj: Any, path: Union[str, Path]) -> Path:
    """Write the table of an Answers or a Comparison to a CSV file (UTF-8); returns the path."""
    path = Path(path)
    to_frame(obj).to_csv(path, index=False)
    return path


def image_html(figure: Any, alt: str) -> str:
    """A figure as an <img> holding its PNG in a data: URL."""
    from .charts import figure_png

    data = base64.b64encode(figure_png(figure)).decode("ascii")
    return f'<img alt="{html.escape(alt, quote=True)}" src="data:image/png;base64,{data}">'


def _answers_sections(answers: Any) -> List[str]:
    from .charts import logits_chart, timings_chart, topk_chart

    sections = ["<h2>Answers</h2>", answers_html(answers)]
    sections += ["<h2>Charts</h2>", image_html(topk_chart(answers), "top answers by probability")]
    if answers.windows:
        sections.append(image_html(logits_chart(answers), "start and end logits along the context"))
    if answers.timings:
        sections.append(image_html(timings_chart(answers), "time per stage"))
    table = answers.to_frame()  # the warning is in the banner above, not repeated on every row
    sections += ["<h2>Table</h2>", table.to_html(index=False, escape=True, na_rep="", border=0)]
    return sections


def _comparison_sections(comparison: Any) -> List[str]:
    from .charts import comparison_chart, timings_chart

    window = 160 if max(map(len, comparison.contexts)) > LONG_CONTEXT else None
    sections = [comparison.notes_html(), "<h2>Answers in context</h2>"]
    sections += [comparison.highlight(i, window=window, notes=False) for i in range(len(comparison.questions))]
    sections += ["<h2>Table</h2>", comparison.table_html(), "<h2>Charts</h2>",
                 image_html(comparison_chart(comparison.frame), "agreement, score and latency per model"),
                 image_html(timings_chart(comparison.frame), "time per stage per model")]
    return sections


def report_html(obj: Any, title: Optional[str] = None) -> str:
    """A complete HTML document for an Answers or a Comparison, with charts embedded."""
    if _is_comparison(obj):
        title = title or f"qa-kit comparison: {len(obj.questions)} questions × {len(obj.models)} models"
        sections = _comparison_sections(obj)
    elif _is_answers(obj):
        title = title or f"qa-kit: {obj.question}"
        sections = _answers_sections(obj)
    else:
        raise InputError(f"Cannot report a {type(obj).__name__}: give an Answers or a Comparison.")
    from . import __version__

    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape_text(title)}</title><style>{PAGE_STYLE}</style></head><body>"
        f"<h1>{escape_text(title)}</h1>{''.join(sections)}"
        f"<footer>Made with qa-kit {escape_text(__version__)} on {stamp}.</footer></body></html>\n"
    )


def save_html(obj: Any, path: Union[str, Path], title: Optional[str] = None) -> Path:
    """Write a standalone HTML report of an Answers or a Comparison; returns the path."""
    path = Path(path)
    path.write_text(report_html(obj, title), encoding="utf-8", errors="replace")
    return path
