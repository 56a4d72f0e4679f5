"""`qa-kit bench`: the benchmark's report (or the server comparison) as text or JSON."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

from . import bench
from .errors import InputError


def cli_bench(models: Optional[Sequence[str]] = None, context_file: Optional[str] = None, as_json: bool = False,
              repeats: int = 3, *, num_cores: Optional[int] = None, progress: bool = True, servers: int = 0,
              max_windows: Optional[int] = None, confident_score: Optional[float] = None) -> str:
    """What `qa-kit bench [--model M ...] [--context-file F] [--json] [--repeats N] [--num-cores C]
    [--max-windows N] [--confident-score S|off]` prints."""
    context = None
    if context_file:
        context = Path(context_file)
        if not context.is_file():
            raise InputError(f"Context file {context} does not exist: give a text file.")
    if servers:  # only the server comparison: it needs the server extra and starts its own servers
        scaling = bench.server_scaling(models[0] if models else None, servers=servers, context=context)
        if as_json:
            return json.dumps(scaling, indent=2)
        return (f"{scaling['questions']} questions: one server {scaling['one_server_qps']:.2f} q/s, "
                f"{scaling['servers']} servers {scaling['all_servers_qps']:.2f} q/s "
                f"({scaling['speedup']:.2f}x), one core per server")
    report = bench.run(list(models) if models else None, context=context, repeats=repeats, num_cores=num_cores,
                 progress=progress, max_windows=max_windows, confident_score=confident_score)
    if as_json:
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    return str(report)
