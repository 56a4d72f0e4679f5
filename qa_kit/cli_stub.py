"""`qa-kit stub explain SOURCE [--json]`: any source string as a text table or JSON."""
from __future__ import annotations

import json
import textwrap

import pandas as pd

from .catalog import kind_of
from .describe import describe
from .stub_grammar import parse


def _text_table(source: str, kind: str, table: pd.DataFrame, width: int = 100) -> str:
    """A plain-text part/value/meaning table with the meaning column wrapped."""
    part_w = max([4] + [len(p) for p in table["part"]])
    value_w = min(48, max([5] + [len(v) for v in table["value"]]))
    meaning_w = max(30, width - part_w - value_w - 4)
    lines = [f"{source}  [{kind}]", f"{'part':<{part_w}}  {'value':<{value_w}}  meaning"]
    for part, value, meaning in table.itertuples(index=False):
        wrapped = textwrap.wrap(meaning, meaning_w) or [""]
        if len(value) > value_w:  # a long value gets its own line; the meaning starts below it
            lines.append(f"{part:<{part_w}}  {value}")
            wrapped.insert(0, "")
            lines.append(" " * (part_w + value_w + 4) + wrapped[1])
            wrapped = wrapped[1:]
        else:
            lines.append(f"{part:<{part_w}}  {value:<{value_w}}  {wrapped[0]}")
        lines.extend(" " * (part_w + value_w + 4) + more for more in wrapped[1:])
    return "\n".join(lines)


def cli_explain(source: str, as_json: bool = False) -> str:
    """The text `qa-kit stub explain SOURCE [--json]` prints; raises StubError on a bad source."""
    kind = kind_of(source)
    table = describe(source)
    text = source.strip()
    if as_json:
        payload = {"source": text, "kind": kind, "parts": table.to_dict(orient="records")}
        if kind == "zoo":
            payload["stub"] = parse(text).to_dict()
        return json.dumps(payload, indent=2)
    return _text_table(text, kind, table)

