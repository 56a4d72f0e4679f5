"""Small text helpers shared by the charts, reports and error messages."""
from __future__ import annotations

from typing import Optional


def plain_for_matplotlib(text: str) -> str:
    """Text that matplotlib draws as written: every `$` escaped, so no pair of them starts maths.

    Without this "$4.7 billion or $5.6 billion" is drawn as a formula and `$\\frac{ ... $` raises.
    Escape a text once, after any shortening, as the very last step before handing it to matplotlib.
    """
    return text.replace("$", r"\$")


def one_line(text: object, limit: int = 80) -> str:
    """Any text (an error, a server's reply) on one line, clipped to `limit` characters with an ellipsis."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# One format per kind of number, everywhere the kit prints one (tables, charts, status lines, CLI).

def percent(p: float) -> str:
    """A probability as a percentage that stays informative when tiny: 81.2%, 0.035%; n/a if unknown."""
    if p is None or p != p:  # NaN: a server reports no probability
        return "n/a"
    if p == 0 or abs(p) >= 0.001:
        return f"{p:.1%}"
    return f"{p * 100:.2g}%" if abs(p) >= 1e-5 else "<0.001%"


def score_text(score: Optional[float]) -> str:
    """A raw score (start + end logit) as the kit prints it everywhere: two decimals; n/a if unknown."""
    return "n/a" if score is None or score != score else f"{score:.2f}"


def milliseconds(ms: float) -> str:
    """Milliseconds as the kit prints them everywhere: 0.8 ms, 32.4 ms, 378 ms, 2,640 ms; n/a if unknown."""
    if ms is None or ms != ms:
        return "n/a"
    return f"{ms:.1f} ms" if abs(ms) < 100 else f"{ms:,.0f} ms"


def file_size(size: int) -> str:
    """Bytes as the kit prints a file's size: 312 bytes, 59.0 kB, 84.2 MB."""
    if size < 1000:
        return f"{size} byte" + ("" if size == 1 else "s")
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"
