"""`qa-kit eval`: a reader scored on a question set, printed as a table and summary, or as JSON."""
from __future__ import annotations

import json
from typing import Any

from .evaluate import evaluate


def cli_eval(model: Any, data_path: str, as_json: bool, *, top_k: int = 1, progress: bool = True,
             client: Any = None, **options: Any) -> str:
    """What `qa-kit eval --model M --data FILE [--json] [--dask ...]` prints: a table and summary, or JSON."""
    report = evaluate(model, data_path, top_k=top_k, progress=progress, client=client, **options)
    if as_json:
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    spread = report.workers()
    workers = f"\n\nper worker:\n{spread.to_string(index=False, float_format=lambda v: f'{v:.2f}')}" if len(spread) > 1 else ""
    return f"{report.table()}{workers}\n\n{report}"
