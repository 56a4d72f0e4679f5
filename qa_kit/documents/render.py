"""Library answers as HTML: each answer marked in its passage, with its file, page and a link to open it.

All text goes through the kit's own escaping (qa_kit.render); links are relative to the working
folder (a notebook's own), which JupyterLab opens as a file in a new tab.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple
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


def sourced_answers_html(group: Sequence[Any], root: str = "", base: Optional[str] = None) -> str:
    """Answers from one passage: its file, page and open link, a line per answer (text, probability,
    offsets), how the passage was found, then the passage once with every answer marked."""
    first = group[0]
    where = escape_text(short_name(first.file, root)) + (f" · page {first.page}" if first.page else "")
    link = (f'<a href="{escape_text(open_link(first.file, first.page, base))}" target="_blank" '
            f'title="{escape_text(first.file)}">open</a>')
    lines = "".join(f'<div><b>{a.rank}. {escape_text(a.text)}</b> <span style="{MUTED}">probability '
                    f"{percent(a.probability)} · chars {a.start}-{a.end}</span></div>" for a in group)
    spans = [{"start": a.start - a.passage_start, "end": a.end - a.passage_start, "rank": a.rank,
              "probability": a.probability, "score": a.score} for a in group]
    return (f'<div class="qa-kit-sourced" style="margin:8px 0 12px">'
            f'<div style="{MUTED}">{where} {link}</div>{lines}'
            f'<div style="{MUTED};font-size:0.85em">{escape_text(_retrieval_line(first.retrieval))}</div>'
            f"{highlight(first.passage_text, spans, line_breaks=first.page is None)}</div>")  # a PDF's lines flow


def _by_passage(answers: Sequence[Any]) -> List[List[Any]]:
    """Answers grouped by the passage they come from, groups in the order of their best answer."""
    groups: Dict[Tuple[str, int], List[Any]] = {}
    for answer in answers:
        groups.setdefault((answer.file, answer.passage_start), []).append(answer)
    return list(groups.values())


def library_answers_html(answers: Any, base: Optional[str] = None) -> str:
    """A LibraryAnswers object as HTML: the question, each passage with its answers marked, the timings."""
    parts = ['<div class="qa-kit-library-answers">', warning_html(answers.warning),
             f'<div style="{MUTED};font-size:0.9em">{escape_text(answers.model)} · {escape_text(answers.method)} retrieval '
             f"· {len(answers.passages)} passages read</div>",
             f'<div style="font-weight:600;margin:2px 0">Q: {escape_text(answers.question)}</div>']
    if not answers.answers:
        parts.append(f'<div style="{MUTED}">No passage held an answer.</div>')
    parts.extend(sourced_answers_html(group, answers.root, base) for group in _by_passage(answers.answers))
    if answers.timings:
        parts.append(f'<div style="{MUTED};font-size:0.85em">{escape_text(timings_text(answers.timings))}</div>')
    parts.append("</div>")
    return "".join(parts)
