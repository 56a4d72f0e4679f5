"""What the Explorer shows, as HTML and lines: pure functions of results and source strings."""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

from .. import stubs
from ..charts import warning_of
from ..cores import available_cores
from ..render import LONG_CONTEXT, best_answer_html, escape_text, highlight, note_html, warning_html
from ..results import Answers
from ..sources import network_timeout, source_kind
from .parts import MUTED, NEIGHBOURHOOD, scroll, short_message


def excerpt_window(context: str) -> Optional[int]:
    """Characters shown around each answer: the neighbourhood in a long text, all of a short one."""
    return NEIGHBOURHOOD if len(context) > LONG_CONTEXT else None


def cores_options() -> List[Tuple[str, Any]]:
    """The Cores picker's choices: auto, then every count this process may use."""
    return [("auto", "auto")] + [(str(n), n) for n in range(1, available_cores() + 1)]


def on_cores(reader: Any) -> str:
    """", 1 of 2 cores (auto: …)" for a status line; nothing for a server, which keeps its own."""
    cores = getattr(reader, "cores", None)
    return f", {cores}" if cores is not None else ""


def source_line_html(text: str) -> str:
    """One line saying what a model source is (catalog name, stub, repo, server, folder), as HTML."""
    text = (text or "").strip()
    if not text:
        return ""
    try:
        kind = source_kind(text)
        if kind == "catalog":
            frame = stubs.catalog()
            row = frame.set_index("name").loc[text] if text in set(frame["name"]) else None
            line = (f"catalog name for {row['source']}: {row['note']}" if row is not None
                    else "not a catalog name, a path on this machine or a zoo:/hf: source")
        elif kind == "zoo":
            stubs.parse(text)
            line = "a SparseZoo stub: downloaded from SparseZoo on first use (needs the network)"
        else:
            line = {"hf": "a Hugging Face Hub repo: downloaded on first use (needs the network)",
                    "url": "a running model server: questions are sent to it",
                    "path": "a model folder or ONNX file on this machine"}[kind]
    except stubs.StubError as error:
        line = short_message(error)
    return f'<div style="{MUTED};font-size:0.9em;margin-left:4px">{escape_text(line)}</div>'


def fetch_phrase(model: str, kind: str) -> str:
    """What loading this source does first: download (with its time limit) or copy to the cache."""
    if kind == "catalog":
        source = stubs.catalog_source(model) or ""
        kind = source_kind(source) if source.startswith(("zoo:", "hf:")) else "path"
    limit = f"gives up after {network_timeout():g} s if offline"
    return {"zoo": f"downloading from SparseZoo ({limit})",
            "hf": f"downloading from the Hugging Face Hub ({limit})"}.get(kind, "copying the model to the cache")


def answer_html(answers: Answers) -> str:
    """One question's result: warning, note, the best answer, and the answers marked in the text."""
    context = answers.context
    parts = [warning_html(answers.warning), note_html(answers.note), best_answer_html(answers)]
    body = highlight(context, list(answers), window=excerpt_window(context), title=f"Q: {answers.question}")
    return "".join(parts) + scroll(body)


def list_html(results: List[Answers], context: str) -> str:
    """"Ask a list": each question's best answer, and all of them marked in the text."""
    spans = [{"start": a.best.start, "end": a.best.end, "label": f"Q{i}", "score": a.best.score,
              "probability": a.best.probability} for i, a in enumerate(results, 1) if a.best is not None]
    items = "".join(
        f"<li><b>Q{i}</b> {escape_text(a.question)} → "
        f"{'<b>' + escape_text(a.best.text) + '</b>' if a.best else '<i>no answer</i>'}</li>"
        for i, a in enumerate(results, 1)
    )
    body = highlight(context, spans, window=excerpt_window(context), title="The best answer to each question")
    return warning_html(warning_of(results)) + f'<ol style="list-style:none;padding-left:0">{items}</ol>' + scroll(body)
