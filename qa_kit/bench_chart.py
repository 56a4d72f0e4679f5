"""The benchmark's chart: stage times on one window and on the long article, GFLOP/s beside numpy's matmul, fast reading by size."""
from __future__ import annotations

import math
import textwrap
from typing import Any, Dict

import pandas as pd

from .text import milliseconds, plain_for_matplotlib

STAGE_COLOURS = {"tokenize": "#e9c46a", "engine": "#2a9d8f", "decode": "#e76f51"}


def bench_chart(stages: pd.DataFrame, curve: pd.DataFrame, gflops: Dict[str, Dict[str, float]], roof_gflops: float,
                title: str) -> Any:
    """One model's benchmark as a Figure (2 x 2), from its rows of `BenchReport.stages` and `.fast_curve`."""
    from .charts import Chart, fit_bar_labels

    # two by two at the width a notebook cell shows, so the text keeps its size (one row of four was ~6 px)
    fig = Chart(figsize=(10, 7.8), layout="constrained")
    axes = list(fig.subplots(2, 2).flat)
    for ax, setting, panel in ((axes[0], "one_window", "one window (ms per question)"),
                               (axes[1], "long_document", "long article (ms per question)")):
        rows = stages[stages["setting"] == setting] if not stages.empty else stages
        labels = [f"{r.variant} {r.engine}" for r in rows.itertuples()]
        left = [0.0] * len(labels)
        for stage, colour in STAGE_COLOURS.items():
            values = [0.0 if not math.isfinite(v) else v for v in rows[f"{stage} ms"]] if len(rows) else []
            ax.barh(labels, values, left=left, color=colour, label=stage)
            left = [a + b for a, b in zip(left, values)]
        ends = [max(total, shown) for total, shown in zip(rows["total ms"] if len(rows) else [], left)]
        texts = [ax.text(end, y, f" {milliseconds(total)}", va="center", fontsize=9)
                 for y, (end, total) in enumerate(zip(ends, rows["total ms"] if len(rows) else []))]
        ax.invert_yaxis()
        ax.set_title(panel, fontsize=10, loc="left")
        ax.tick_params(labelsize=9)
        ax.set_xlabel("ms", fontsize=9)
        fit_bar_labels(ax, ends, texts)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=9, frameon=False, title="stages", title_fontsize=9)
    names = list(gflops)
    values = [g.get("gflops") if g.get("gflops") is not None and math.isfinite(g.get("gflops")) else 0.0 for g in gflops.values()]
    axes[2].bar(names, values, color="#264653")
    if math.isfinite(roof_gflops):
        axes[2].axhline(roof_gflops, color="#555555", linestyle="--", linewidth=1)
        axes[2].text(-0.4, roof_gflops, f" numpy matmul {roof_gflops:.0f}", va="bottom", fontsize=9)
        axes[2].set_ylim(0, max([roof_gflops] + values) * 1.2)
    axes[2].set_title("achieved GFLOP/s (engine stage)", fontsize=10, loc="left")
    axes[2].tick_params(labelsize=9)
    if len(curve):
        ax = axes[3]
        sizes = [str(k) for k in curve["max_windows"]]
        ax.plot(sizes, curve["agreement"] * 100, marker="o", color="#2a9d8f", label="same answer as full reading")
        ax.plot(sizes, curve["keeps_right"] * 100, marker="o", linestyle="--", color="#264653",
                label="same answer where full reading is right")
        ax.plot(sizes, curve["f1"], marker="s", color="#e76f51", label="F1 against gold")
        ax.plot(sizes, curve["share_read"] * 100, marker=".", linestyle=":", color="#555555", label="windows read")
        ax.set_ylim(0, 105)
        ax.set_xlabel("fast reading: windows read first (max_windows)", fontsize=9)
        ax.set_ylabel("%", fontsize=9)
        ax.tick_params(labelsize=9)
        ax.set_title("fast reading by size, long article", fontsize=10, loc="left")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, frameon=False)
    else:
        axes[3].set_axis_off()
    fig.suptitle(plain_for_matplotlib(textwrap.fill(title, 110, break_long_words=False, break_on_hyphens=False)), fontsize=10)  # a model's path may hold "$"
    return fig
