"""A parsed SparseZoo stub as HTML: each part a coloured chip, and a table of what the parts mean.

Standard library only. `ZooStub._repr_html_` calls `stub_html`, so a stub shows itself in a notebook.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .stub_grammar import ZooStub

_COLOURS = {
    "prefix": "#e2e2e2", "domain": "#ffd6a5", "sub_domain": "#fdffb6", "architecture": "#caffbf",
    "sub_architecture": "#b9f0d8", "framework": "#9bf6ff", "repo": "#a0c4ff", "dataset": "#c9c2ff",
    "training_scheme": "#ddd0ff", "source_dataset": "#c9c2ff", "training_dataset": "#ddd0ff",
    "sparse_tag": "#ffc6ff", "sparse_name": "#ffc6ff", "sparse_category": "#ffadad",
    "sparse_target": "#f6c6a8", "param": "#e9ecef",
}
_DARK_TEXT = "#1a1a1a"


def stub_html(stub: "ZooStub") -> str:
    """The stub colour-coded per part, with a table of meanings (escaped, light and dark themes)."""
    esc = html.escape
    pieces = []
    for part, text in stub.segments():
        if part is None:
            pieces.append(esc(text))
        else:
            pieces.append(_chip(part, text, title=f"{part}: {stub.meaning(part, text)}"))
    rows = "".join(
        f"<tr><td style='padding:2px 8px;text-align:left'>{esc(part)}</td>"
        f"<td style='padding:2px 8px;text-align:left'>{_chip(part, value)}</td>"
        f"<td style='padding:2px 8px;text-align:left'>{esc(meaning)}</td></tr>"
        for part, value, meaning in stub.rows()
    )
    return (
        "<div class='qa-kit-stub'>"
        f"<div style='font-family:monospace;font-size:1.1em;margin:4px 0 8px 0'>{''.join(pieces)}</div>"
        "<table style='border-collapse:collapse'>"
        "<tr><th style='padding:2px 8px;text-align:left'>part</th>"
        "<th style='padding:2px 8px;text-align:left'>value</th>"
        "<th style='padding:2px 8px;text-align:left'>meaning</th></tr>"
        f"{rows}</table></div>"
    )


def _chip(part: str, text: str, title: str = "") -> str:
    """One part as an escaped span with its background colour and dark text."""
    colour = _COLOURS.get(part, "#e9ecef")
    attr = f" title='{html.escape(title, quote=True)}'" if title else ""
    return (f"<span style='background:{colour};color:{_DARK_TEXT};padding:0 2px;border-radius:3px;"
            f"font-family:monospace'{attr}>{html.escape(text)}</span>")


__all__ = ["stub_html"]
