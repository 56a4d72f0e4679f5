"""Small text helpers shared by the charts, reports and error messages."""
from __future__ import annotations


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
