"""Library answers as HTML: each answer marked in its passage, with its file, page and a link to open it.

All text goes through the kit's own escaping (qa_kit.render); links are relative to the working
folder (a notebook's own), which JupyterLab opens as a file in a new tab.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

from ..render import MUTED, escape_text, highlight, percent, timings_text, warning_html


def short_name(file: str, root: str = "") -> str:
    """A file's path relative to the library's folder when inside it, else its name."""
    try:
        return str(Path(file).relative_to(root)) if root else Path(file).name
    except ValueError:
        return Path(file).name


def open_link(file: str, page: Optional[int] = None, base: Optional[str] = None) -> str:
    """An href that opens the file in JupyterLab: relative to `base` (default: the working folder)."""
    relative = os.path.relpath(file, base or os.getcwd())
    return quote(relative.replace(os.sep, "/")) + (f"#page={page}" if page else "")


def _retrieval_line(retrieval: dict) -> str:
    """How the answer's passage was found: its rank among the passages read, and each method's rank.

    BM25's own score is left out: its scale depends on the library (FTS5 gives words found in most
    passages scores near 0.000), so only its rank says anything; the dense score is a cosine."""
    parts = []
    if retrieval.get("rank") is not None:
        parts.append(f"passage {retrieval['rank']} of those read")
    for method, name in (("bm25", "words (BM25)"), ("dense", "meaning")):
        if f"{method}_rank" not in retrieval:
            continue
        rank, score = retrieval[f"{method}_rank"], retrieval.get(f"{method}_score")
        if rank is None:
            parts.append(f"{name}: not found")
        else:
            parts.append(f"{name} #{rank}" + (f" (cosine {score:.2f})" if method == "dense" and score is not None else ""))
    return " · ".join(parts)


def sourced_answer_html(answer: Any, root: str = "", base: Optional[str] = None) -> str:
    """One answer: its text, probability, file, page and open link, then its passage with the answer marked."""
    name = short_name(answer.file, root)
    where = escape_text(name) + (f" · page {answer.page}" if answer.page else "")
    link = (f'<a href="{escape_text(open_link(answer.file, answer.page, base))}" target="_blank" '
            f'title="{escape_text(answer.file)}">open</a>')
    span = {"start": answer.start - answer.passage_start, "end": answer.end - answer.passage_start,
            "rank": answer.rank, "probability": answer.probability, "score": answer.score}
    return (f'<div class="qa-kit-sourced" style="margin:8px 0 12px">'
            f'<div><b>{answer.rank}. {escape_text(answer.text)}</b> '
            f'<span style="{MUTED}">probability {percent(answer.probability)} · {where} · '
            f'chars {answer.start}-{answer.end}</span> {link}</div>'
            f'<div style="{MUTED};font-size:0.85em">{escape_text(_retrieval_line(answer.retrieval))}</div>'
            f"{highlight(answer.passage_text, [span])}</div>")


def library_answers_html(answers: Any, base: Optional[str] = None) -> str:
    """A LibraryAnswers object as HTML: the question, each answer in its passage, the timings."""
    parts = ['<div class="qa-kit-library-answers">', warning_html(answers.warning),
             f'<div style="{MUTED};font-size:0.9em">{escape_text(answers.model)} · {escape_text(answers.method)} retrieval '
             f"· {len(answers.passages)} passages read</div>",
             f'<div style="font-weight:600;margin:2px 0">Q: {escape_text(answers.question)}</div>']
    if not answers.answers:
        parts.append(f'<div style="{MUTED}">No passage held an answer.</div>')
    parts.extend(sourced_answer_html(a, answers.root, base) for a in answers.answers)
    if answers.timings:
        parts.append(f'<div style="{MUTED};font-size:0.85em">{escape_text(timings_text(answers.timings))}</div>')
    parts.append("</div>")
    return "".join(parts)
