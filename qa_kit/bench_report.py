"""The benchmark's report: ratios and targets worked out from the timed records, and their views.

`summarise()` turns one model's records (one dict per timed call) into ratios, agreement, F1 and
GFLOP/s; `BenchReport` holds every model's summary with the records, the CPU and the machine's
roof, and shows them as a table, text, HTML and a chart, or saves them as JSON. Everything here
is pure arithmetic on recorded numbers: the measuring is in qa_kit.bench.
"""
from __future__ import annotations

import html
import json
import math
import statistics
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import pandas as pd

from .errors import InputError
from .text import milliseconds, plain_for_matplotlib

FORMAT_VERSION = 1

# measure key -> (comparison, target value, what it means)
TARGETS: Dict[str, Tuple[str, float, str]] = {
    "kit_over_pipeline_one_window": ("<=", 1.05, "at most 5% over deepsparse.Pipeline, identical answers"),
    "kit_over_pipeline_long_document": ("<=", 1.05, "at most 5% over deepsparse.Pipeline, identical answers"),
    "first_over_second_ask": (">=", 50.0, "a warm question at least 50x cheaper than the first"),
    "full_over_fast_long_document": (">=", 3.0, "fast reading at least 3x faster than reading every window"),
    "fast_agreement": (">=", 0.90, "fast reading gives the same top answer on at least 90% of questions"),
}
RATIO_KEYS = (
    "kit_over_pipeline_one_window", "kit_over_pipeline_long_document", "deepsparse_over_onnxruntime",
    "deepsparse_over_onnxruntime_long_document", "first_over_second_ask", "full_over_fast_long_document",
)

# ---------------------------------------------------------------------------------------------
# arithmetic on timings (pure, tested on fake numbers)


def medians(times: Dict[str, Sequence[float]]) -> Dict[str, float]:
    """Each question's median time over its repeats."""
    return {q: float(statistics.median(ts)) for q, ts in times.items() if len(ts)}


def time_ratio(numerator: Dict[str, Sequence[float]], denominator: Dict[str, Sequence[float]]) -> float:
    """Sum of per-question medians of A over that of B, on the questions both were timed on (nan if none)."""
    a, b = medians(numerator), medians(denominator)
    shared = sorted(set(a) & set(b))
    bottom = sum(b[q] for q in shared)
    if not shared or bottom <= 0:
        return float("nan")
    return sum(a[q] for q in shared) / bottom


def agreement(answers: Dict[str, Any], reference: Dict[str, Any]) -> float:
    """Fraction of shared questions whose top answers are equal (nan if no question is shared)."""
    shared = [q for q in answers if q in reference]
    if not shared:
        return float("nan")
    return sum(answers[q] == reference[q] for q in shared) / len(shared)


def target_met(key: str, value: Optional[float]) -> Optional[bool]:
    """Whether a measure meets its target; None when it has no target or was not measured."""
    if key not in TARGETS or value is None or not math.isfinite(value):
        return None
    op, goal, _ = TARGETS[key]
    return value <= goal if op == "<=" else value >= goal


# ---------------------------------------------------------------------------------------------
# reading the records


def _firsts(records: List[dict], setting: str, variant: str, engine: str, key: str) -> Dict[str, Any]:
    """Each question's `key` from its first run (questions without it are left out)."""
    firsts: Dict[str, Any] = {}
    for r in records:
        if (r["setting"], r["variant"], r["engine"]) == (setting, variant, engine) and r.get(key) is not None:
            firsts.setdefault(r["question"], r[key])
    return firsts


def _mean_f1(records: List[dict], setting: str, variant: str, engine: str) -> float:
    """Mean F1 over questions (each question's first run), nan when no gold answers are known."""
    firsts = _firsts(records, setting, variant, engine, "f1")
    return sum(map(float, firsts.values())) / len(firsts) if firsts else float("nan")


def _times(records: List[dict], setting: str, variant: str, engine: str, key: str = "seconds") -> Dict[str, List[float]]:
    out: Dict[str, List[float]] = {}
    for r in records:
        if r["setting"] == setting and r["variant"] == variant and r["engine"] == engine:
            value = r.get(key)
            if value is not None and math.isfinite(value):
                out.setdefault(r["question"], []).append(value)
    return out


def _spans(records: List[dict], setting: str, variant: str, engine: str) -> Dict[str, Any]:
    """First recorded top span per question (tuples, so JSON lists compare after a reload)."""
    out: Dict[str, Any] = {}
    for r in records:
        if r["setting"] == setting and r["variant"] == variant and r["engine"] == engine and r["question"] not in out:
            out[r["question"]] = tuple(r["span"]) if r["span"] is not None else None
    return out


def _pairs_identical(records: List[dict], setting: str, variant: str, engine: str) -> Tuple[int, int]:
    """How many (question, repeat) runs of the kit gave the pipeline's exact top span, and how many were compared."""
    kit = {(r["question"], r["repeat"]): r["span"] for r in records
           if r["setting"] == setting and r["variant"] == variant and r["engine"] == engine}
    pipe = {(r["question"], r["repeat"]): r["span"] for r in records
            if r["setting"] == setting and r["variant"] == "pipeline"}
    shared = [k for k in kit if k in pipe]
    same = sum((tuple(kit[k]) if kit[k] is not None else None) == (tuple(pipe[k]) if pipe[k] is not None else None)
               for k in shared)
    return same, len(shared)


def median_of(times: Dict[str, Sequence[float]]) -> float:
    values = list(medians(times).values())
    return float(statistics.median(values)) if values else float("nan")


def summarise(model: str, records: List[dict], engines: Sequence[str], compiles: dict, flops,
               load_seconds: dict, notes: List[str]) -> dict:
    """Ratios, agreement, identical answers and GFLOP/s for one model, from its records."""
    main = engines[0]
    ratios: Dict[str, float] = {k: float("nan") for k in RATIO_KEYS}
    identical = {}
    if "deepsparse" in engines:
        for setting in ("one_window", "long_document"):
            variant = "kit" if setting == "one_window" else "full"
            ratios[f"kit_over_pipeline_{setting}"] = time_ratio(
                _times(records, setting, variant, "deepsparse"), _times(records, setting, "pipeline", "deepsparse"))
            same, compared = _pairs_identical(records, setting, variant, "deepsparse")
            identical[setting] = {"same": same, "compared": compared}
        if "onnxruntime" in engines:
            ratios["deepsparse_over_onnxruntime"] = time_ratio(
                _times(records, "one_window", "kit", "deepsparse"), _times(records, "one_window", "kit", "onnxruntime"))
            ratios["deepsparse_over_onnxruntime_long_document"] = time_ratio(
                _times(records, "long_document", "full", "deepsparse"), _times(records, "long_document", "full", "onnxruntime"))
    ratios["full_over_fast_long_document"] = time_ratio(
        _times(records, "long_document", "full", main), _times(records, "long_document", "fast", main))
    fast_spans = _spans(records, "long_document", "fast", main)
    full_spans = _spans(records, "long_document", "full", main)
    fast_agreement = agreement(fast_spans, full_spans)
    full_right = {q for q, ok in _firsts(records, "long_document", "full", main, "exact").items() if ok and q in fast_spans}
    if main in compiles:
        c = compiles[main]
        ratios["first_over_second_ask"] = c["first"] / c["second"] if c["second"] > 0 else float("nan")
    gflops = {}
    per_window = flops.per_window()
    for engine in engines:
        engine_s = _times(records, "long_document", "full", engine, "engine_s")
        read = _times(records, "long_document", "full", engine, "windows_read")
        per = {q: [e / max(w, 1) for e, w in zip(engine_s[q], read.get(q, []))] for q in engine_s}
        seconds = median_of(per)
        gflops[engine] = {"seconds_per_window": seconds, "gflops": per_window / seconds if seconds > 0 else float("nan")}
    return {
        "model": model, "engines": list(engines), "ratios": ratios, "fast_agreement": fast_agreement,
        "fast_agreed": sum(fast_spans[q] == full_spans.get(q) for q in fast_spans if q in full_spans),
        "fast_compared": sum(1 for q in fast_spans if q in full_spans),
        # where full reading is exactly right, does fast reading keep its answer?
        "fast_keeps_right": agreement({q: fast_spans[q] for q in full_right}, full_spans),
        "fast_kept": sum(fast_spans[q] == full_spans.get(q) for q in full_right), "full_right": len(full_right),
        "f1": {"full": _mean_f1(records, "long_document", "full", main), "fast": _mean_f1(records, "long_document", "fast", main),
               "one_window": _mean_f1(records, "one_window", "kit", main)},
        "identical": identical, "compile": compiles, "load_seconds": load_seconds,
        "flops": {**flops.to_dict(), "gflop_per_window": per_window}, "gflops": gflops, "notes": notes,
    }


# ---------------------------------------------------------------------------------------------
# the report


def _finite(x: Any) -> Optional[float]:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def _ms(x: Optional[float]) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x * 1000:.1f} ms" if x < 10 else f"{x:.1f} s"


@dataclass(eq=False)
class BenchReport:
    """What `bench.run` measured: per-model summaries, every timed call, the CPU and the machine's roof."""

    models: List[dict]
    records: pd.DataFrame
    cpu: dict = field(default_factory=dict)
    roof_gflops: float = float("nan")
    settings: dict = field(default_factory=dict)
    created: str = ""

    @property
    def ratios(self) -> Dict[str, float]:
        """The first model's time ratios (see the module docstring for how they are taken)."""
        return dict(self.models[0]["ratios"]) if self.models else {}

    @property
    def fast_agreement(self) -> float:
        return float(self.models[0]["fast_agreement"]) if self.models else float("nan")

    # -- tables --------------------------------------------------------------------------------
    @property
    def stages(self) -> pd.DataFrame:
        """Median stage and end-to-end times (ms) per model, setting, variant and engine."""
        if self.records.empty:
            return pd.DataFrame()
        frame = self.records.copy()
        columns = ["tokenize_s", "engine_s", "decode_s", "seconds"]
        frame["windows_read"] = pd.to_numeric(frame["windows_read"], errors="coerce")
        per_question = frame.groupby(["model", "setting", "variant", "engine", "question"], sort=False)[
            columns + ["windows_read"]].median()
        table = per_question.groupby(level=[0, 1, 2, 3], sort=False).median()
        table[columns] *= 1000
        table = table.rename(columns={"tokenize_s": "tokenize ms", "engine_s": "engine ms", "decode_s": "decode ms",
                                      "seconds": "total ms", "windows_read": "windows read"})
        table["questions"] = per_question.groupby(level=[0, 1, 2, 3], sort=False).size()
        table = table.reset_index()
        order = {"kit": 0, "full": 1, "fast": 2, "pipeline": 3}
        table["_order"] = [(order.get(v, 9), e) for v, e in zip(table["variant"], table["engine"])]
        table = table.sort_values(["model", "setting", "_order"], key=lambda c: c if c.name != "setting" else c.map(
            {"one_window": 0, "long_document": 1}), kind="stable")
        return table.drop(columns="_order").reset_index(drop=True)

    @property
    def table(self) -> pd.DataFrame:
        """One row per measure and model: value, unit, target and whether it is met, with the numbers behind it."""
        rows = []
        for block in self.models:
            rows.extend(_rows_for(block, self.records, self.roof_gflops))
        return pd.DataFrame(rows, columns=["model", "measure", "value", "unit", "target", "met", "detail"])

    @property
    def side_by_side(self) -> pd.DataFrame:
        """One row per model: engine time per window on each engine, a full read of the long article, F1, and
        agreement with the first model's answers there (the first model is the reference for the speed-ups)."""
        columns = ["model", "ms_per_window_deepsparse", "ms_per_window_onnxruntime", "deepsparse_speedup_over_onnxruntime",
                   "speedup_over_first", "ms_per_question_long", "f1_long", "exact_long", "agreement_with_first"]
        if self.records.empty or not self.models:
            return pd.DataFrame(columns=columns)
        records = self.records.to_dict("records")
        rows, first = [], self.models[0]["model"]
        main = self.models[0]["engines"][0]

        def per_window(model: str, engine: str) -> float:
            rs = [r for r in records if r["model"] == model]
            windows = _times(rs, "one_window", "kit", engine, "windows")
            return median_of({q: [e / max(1, w) for e, w in zip(v, windows[q])]
                              for q, v in _times(rs, "one_window", "kit", engine, "engine_s").items()}) * 1000

        reference = _spans([r for r in records if r["model"] == first], "long_document", "full", main)
        for block in self.models:
            model = block["model"]
            rs = [r for r in records if r["model"] == model]
            ds, ort = per_window(model, "deepsparse"), per_window(model, "onnxruntime")
            exact = _firsts(rs, "long_document", "full", main, "exact")
            rows.append({
                "model": model, "ms_per_window_deepsparse": ds, "ms_per_window_onnxruntime": ort,
                "deepsparse_speedup_over_onnxruntime": ort / ds if math.isfinite(ds) and math.isfinite(ort) and ds > 0 else float("nan"),
                "speedup_over_first": float("nan"),
                "ms_per_question_long": median_of(_times(rs, "long_document", "full", main)) * 1000,
                "f1_long": _mean_f1(rs, "long_document", "full", main),
                "exact_long": 100.0 * sum(map(bool, exact.values())) / len(exact) if exact else float("nan"),
                "agreement_with_first": agreement(_spans(rs, "long_document", "full", main), reference),
            })
        key = "ms_per_window_deepsparse" if math.isfinite(rows[0]["ms_per_window_deepsparse"]) else "ms_per_window_onnxruntime"
        for row in rows:
            row["speedup_over_first"] = rows[0][key] / row[key] if row[key] and math.isfinite(row[key]) else float("nan")
        return pd.DataFrame(rows, columns=columns)

    @property
    def fast_curve(self) -> pd.DataFrame:
        """Fast reading at each size on the long article, from the full reads: agreement, F1, share of windows read."""
        rows = [{"model": b["model"], **row} for b in self.models for row in b.get("fast_curve", [])]
        return pd.DataFrame(rows, columns=["model", "max_windows", "share_read", "agreement", "keeps_right", "f1"]).astype(
            {"share_read": float, "agreement": float, "keeps_right": float, "f1": float})

    # -- saving --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready: `ratios` and `fast_agreement` of the first model, then everything measured."""
        def clean(x: Any) -> Any:
            if isinstance(x, float):
                return x if math.isfinite(x) else None
            if isinstance(x, dict):
                return {str(k): clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            if hasattr(x, "item"):  # numpy scalars
                return clean(x.item())
            return x

        targets = {k: {"op": op, "value": goal, "means": means,
                       "met": target_met(k, self.fast_agreement if k == "fast_agreement" else self.ratios.get(k))}
                   for k, (op, goal, means) in TARGETS.items()}
        return clean({
            "format": FORMAT_VERSION, "created": self.created, "cpu": self.cpu, "roof_gflops": self.roof_gflops,
            "settings": self.settings, "ratios": self.ratios, "fast_agreement": self.fast_agreement,
            "targets": targets, "models": self.models, "records": self.records.to_dict(orient="records"),
        })

    def save(self, path: Union[str, Path]) -> Path:
        """Write the report as JSON (reload it with `BenchReport.load`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict) -> "BenchReport":
        def restore(x: Any) -> Any:
            if x is None:
                return float("nan")
            if isinstance(x, dict):
                return {k: restore(v) for k, v in x.items()}
            return x

        models = []
        for block in data.get("models", []):
            block = dict(block)
            block["ratios"] = {k: (float("nan") if v is None else v) for k, v in block.get("ratios", {}).items()}
            if block.get("fast_agreement") is None:
                block["fast_agreement"] = float("nan")
            block["gflops"] = restore(block.get("gflops", {}))
            block["f1"] = restore(block.get("f1", {}))
            models.append(block)
        records = pd.DataFrame(data.get("records", []))
        if "span" in records:
            records["span"] = [tuple(s) if isinstance(s, list) else s for s in records["span"]]
        for column in ("tokenize_s", "engine_s", "decode_s", "seconds"):
            if column in records:
                records[column] = records[column].astype(float)
        roof = data.get("roof_gflops")
        return cls(models=models, records=records, cpu=data.get("cpu", {}),
                   roof_gflops=float("nan") if roof is None else float(roof),
                   settings=data.get("settings", {}), created=data.get("created", ""))

    @classmethod
    def load(cls, path: Union[str, Path]) -> "BenchReport":
        """Read a report saved with `save`."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"No benchmark report at {path}: give a file written by BenchReport.save().")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise InputError(f"{path} is not a benchmark report (bad JSON: {error.msg}); give a file written by BenchReport.save().") from None
        return cls.from_dict(data)

    # -- showing -------------------------------------------------------------------------------
    def cpu_line(self) -> str:
        c = self.cpu
        vnni = {True: "VNNI", False: "no VNNI"}.get(c.get("vnni"), "VNNI unknown")
        return f"CPU: {c.get('model', '?')}, {c.get('isa', '?')}, {vnni}, {c.get('cores', '?')} cores ({c.get('available_cores', '?')} available)"

    def busy_note(self) -> Optional[str]:
        """A warning when other work kept the machine busy while measuring (timings are then inflated and noisy)."""
        loads = [x for x in (self.settings.get("load_average_before"), self.cpu.get("load_average")) if x is not None]
        cores = self.cpu.get("available_cores") or self.cpu.get("cores")
        if loads and cores and max(loads) > cores * 0.75 + 0.5:
            return (f"the machine was busy while measuring (load average up to {max(loads):.1f} on {cores} cores): "
                    "times are inflated and noisy; run again on an idle machine for figures to quote")
        return None

    def __str__(self) -> str:
        lines = [self.cpu_line(), f"dense float32 roof (numpy matmul): {self.roof_gflops:.0f} GFLOP/s", ""]
        if self.busy_note():
            lines.insert(1, f"warning: {self.busy_note()}")
        table = self.table.copy()
        table["value"] = [_fmt(v, u) for v, u in zip(table["value"], table["unit"])]
        table["met"] = [{True: "yes", False: "NO"}.get(m, "") for m in table["met"]]
        lines.append(table.drop(columns=["unit"]).to_string(index=False, max_colwidth=70))
        stages = self.stages
        if not stages.empty:
            lines += ["", "median per question (ms):", stages.to_string(index=False, float_format=lambda x: f"{x:.1f}")]
        if len(self.models) > 1:
            lines += ["", _SIDE_TITLE + ":", self.side_by_side.to_string(index=False, float_format=lambda x: f"{x:.2f}")]
        curve = self.fast_curve
        if not curve.empty:
            lines += ["", _CURVE_TITLE + ":", curve.to_string(index=False, float_format=lambda x: f"{x:.2f}")]
        for block in self.models:
            if block.get("random_weights"):
                lines.append(f"note: {block['model']} has random weights: its answers mean nothing, only the timings count")
            lines += [f"note: {n}" for n in block.get("notes", [])]
        lines.append(_settings_line(self.settings))
        return "\n".join(lines)

    def __repr__(self) -> str:
        names = ", ".join(b["model"] for b in self.models)
        return f"BenchReport(models=[{names}], records={len(self.records)}, created={self.created!r})"

    def _repr_html_(self) -> str:
        table = self.table.copy()
        table["value"] = [_fmt(v, u) for v, u in zip(table["value"], table["unit"])]
        table["met"] = [{True: "yes", False: "NO"}.get(m, "") for m in table["met"]]
        parts = [f"<p><b>{html.escape(self.cpu_line())}</b>; dense float32 roof {self.roof_gflops:.0f} GFLOP/s</p>"]
        if self.busy_note():
            parts.append(f"<p><i>warning: {html.escape(self.busy_note())}</i></p>")
        parts.append(table.drop(columns=["unit"]).to_html(index=False, escape=True))
        stages = self.stages
        if not stages.empty:
            parts += ["<p>median per question (ms)</p>",
                      stages.to_html(index=False, escape=True, float_format=lambda x: f"{x:.1f}")]
        if len(self.models) > 1:
            parts += [f"<p>{html.escape(_SIDE_TITLE)}</p>",
                      self.side_by_side.to_html(index=False, escape=True, float_format=lambda x: f"{x:.2f}")]
        curve = self.fast_curve
        if not curve.empty:
            parts += [f"<p>{html.escape(_CURVE_TITLE)}</p>",
                      curve.to_html(index=False, escape=True, float_format=lambda x: f"{x:.2f}")]
        parts.append(f"<p><i>{html.escape(_settings_line(self.settings))}</i></p>")
        return "\n".join(parts)

    def chart(self, model: Optional[str] = None):
        """Stage times on one window and on the long article, GFLOP/s against the roof, and fast reading by size
        (a matplotlib Figure that shows itself in a notebook)."""
        return _bench_figure(self, model)


_SIDE_TITLE = ("models side by side (engine ms per window, one question per window; a full read of the long article per "
               "question; F1 and exact match against gold; agreement = same top answer as the first model)")
_CURVE_TITLE = ("fast reading by size on the long article, worked out from the full reads (share of windows read, "
                "agreement with full reading, agreement where full reading is exactly right, F1 against gold)")
_STAGE_COLOURS = {"tokenize": "#e9c46a", "engine": "#2a9d8f", "decode": "#e76f51"}


def _bench_figure(report: BenchReport, model: Optional[str] = None):
    from .charts import Chart, fit_bar_labels

    if not report.models:
        raise InputError("The report holds no model: run the benchmark first.")
    block = next((b for b in report.models if b["model"] == model), None) if model else report.models[0]
    if block is None:
        raise InputError(f"The report has no model {model!r}: choose one of {[b['model'] for b in report.models]}.")
    stages = report.stages
    stages = stages[stages["model"] == block["model"]] if not stages.empty else stages
    curve = report.fast_curve
    curve = curve[curve["model"] == block["model"]]
    # two by two at the width a notebook cell shows, so the text keeps its size (one row of four was ~6 px)
    fig = Chart(figsize=(10, 7.8), layout="constrained")
    axes = list(fig.subplots(2, 2).flat)
    for ax, setting, title in ((axes[0], "one_window", "one window (ms per question)"),
                               (axes[1], "long_document", "long article (ms per question)")):
        rows = stages[stages["setting"] == setting] if not stages.empty else stages
        labels = [f"{r.variant} {r.engine}" for r in rows.itertuples()]
        left = [0.0] * len(labels)
        for stage, colour in _STAGE_COLOURS.items():
            values = [0.0 if not math.isfinite(v) else v for v in rows[f"{stage} ms"]] if len(rows) else []
            ax.barh(labels, values, left=left, color=colour, label=stage)
            left = [a + b for a, b in zip(left, values)]
        ends = [max(total, shown) for total, shown in zip(rows["total ms"] if len(rows) else [], left)]
        texts = [ax.text(end, y, f" {milliseconds(total)}", va="center", fontsize=9)
                 for y, (end, total) in enumerate(zip(ends, rows["total ms"] if len(rows) else []))]
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10, loc="left")
        ax.tick_params(labelsize=9)
        ax.set_xlabel("ms", fontsize=9)
        fit_bar_labels(ax, ends, texts)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=9, frameon=False, title="stages", title_fontsize=9)
    gflops = block.get("gflops", {})
    names = list(gflops)
    values = [g.get("gflops") if g.get("gflops") is not None and math.isfinite(g.get("gflops")) else 0.0 for g in gflops.values()]
    axes[2].bar(names, values, color="#264653")
    if math.isfinite(report.roof_gflops):
        axes[2].axhline(report.roof_gflops, color="#555555", linestyle="--", linewidth=1)
        axes[2].text(-0.4, report.roof_gflops, f" numpy roof {report.roof_gflops:.0f}", va="bottom", fontsize=9)
        axes[2].set_ylim(0, max([report.roof_gflops] + values) * 1.2)
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
    r = block["ratios"]
    title = (f"{block['model']}: kit/pipeline {_fmt(r.get('kit_over_pipeline_one_window'), 'x')} (one window), "
             f"{_fmt(r.get('kit_over_pipeline_long_document'), 'x')} (long); fast reading "
             f"{_fmt(r.get('full_over_fast_long_document'), 'x')} faster, agreement {_fmt(block.get('fast_agreement'), 'fraction')}")
    fig.suptitle(plain_for_matplotlib(textwrap.fill(title, 110)), fontsize=10)  # a model's path may hold "$"
    return fig


def _fmt(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if unit == "x":
        return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"
    if unit == "fraction":
        return f"{value:.0%}"
    return f"{value:.1f} {unit}"


def _settings_line(s: dict) -> str:
    if not s:
        return ""
    return (f"settings: sequence_length {s.get('sequence_length')}, doc_stride {s.get('doc_stride')}, "
            f"{s.get('num_cores') or 'all'} cores per engine, "
            f"{s.get('questions')} questions x {s.get('repeats')} repeats (+{s.get('warmup')} warm-up) on one window; "
            f"long article ({s.get('context_chars')} chars): fast/full on every question, pipeline and other engines on "
            f"{s.get('long_questions')} x {s.get('long_repeats')}; fast reading reads {s.get('max_windows')} windows"
            + (f", then as many again while the best answer scores below {s['confident_score']:.2f} (at most half)"
               if s.get("confident_score") is not None else ""))


def _rows_for(block: dict, records: pd.DataFrame, roof: float) -> List[dict]:
    model, r = block["model"], block["ratios"]
    recs = records[records["model"] == model].to_dict(orient="records") if not records.empty else []
    rows: List[dict] = []

    def median_ms(setting: str, variant: str, engine: str, key: str = "seconds") -> Optional[float]:
        return _finite(median_of(_times(recs, setting, variant, engine, key)))

    def mean_of(setting: str, variant: str, engine: str, key: str) -> Optional[float]:
        values = [v for per_question in _times(recs, setting, variant, engine, key).values() for v in per_question]
        return _finite(statistics.fmean(values)) if values else None

    def add(measure: str, key: str, value: Any, unit: str, detail: str) -> None:
        target = TARGETS.get(key)
        rows.append({"model": model, "measure": measure, "value": _finite(value), "unit": unit,
                     "target": f"{target[0]} {target[1]:g}" if target else "",
                     "met": target_met(key, _finite(value)), "detail": detail})

    for setting, label, variant in (("one_window", "one window", "kit"), ("long_document", "long article", "full")):
        same = block.get("identical", {}).get(setting)
        if same is None:
            continue
        key = f"kit_over_pipeline_{setting}"
        detail = (f"kit {_ms(median_ms(setting, variant, 'deepsparse'))}, pipeline {_ms(median_ms(setting, 'pipeline', 'deepsparse'))} "
                  f"per question; identical answers {same['same']}/{same['compared']}")
        add(f"kit / deepsparse.Pipeline, {label}", key, r.get(key), "x", detail)
        if same["same"] != same["compared"] and rows[-1]["met"]:
            rows[-1]["met"] = False  # the target asks for identical answers too
    if math.isfinite(r.get("deepsparse_over_onnxruntime", float("nan"))):
        add("DeepSparse / ONNX Runtime, one window", "deepsparse_over_onnxruntime", r["deepsparse_over_onnxruntime"], "x",
            f"{_ms(median_ms('one_window', 'kit', 'deepsparse'))} vs {_ms(median_ms('one_window', 'kit', 'onnxruntime'))} per question")
    if math.isfinite(r.get("deepsparse_over_onnxruntime_long_document", float("nan"))):
        add("DeepSparse / ONNX Runtime, long article", "deepsparse_over_onnxruntime_long_document",
            r["deepsparse_over_onnxruntime_long_document"], "x",
            f"{_ms(median_ms('long_document', 'full', 'deepsparse'))} vs {_ms(median_ms('long_document', 'full', 'onnxruntime'))} per question")
    cores = block.get("cores")
    if cores:
        add("DeepSparse 1 core / all cores, one window", "deepsparse_one_core_over_all_cores",
            r.get("deepsparse_one_core_over_all_cores"), "x",
            f"engine {_ms(cores['one_core'])} on 1 core vs {_ms(cores['all_cores'])} on all; below 1: load(..., num_cores=1) is faster here")
    engines = block.get("engines", [])
    main = engines[0] if engines else "deepsparse"
    compile_info = block.get("compile", {}).get(main)
    if compile_info:
        add(f"first / second question ({main})", "first_over_second_ask", r.get("first_over_second_ask"), "x",
            f"load + first {_ms(compile_info['first'])} (engine compile {_ms(compile_info.get('compile'))}) in a fresh "
            f"process, second {_ms(compile_info['second'])}")
    add(f"full / fast reading, long article ({main})", "full_over_fast_long_document", r.get("full_over_fast_long_document"), "x",
        f"full {_ms(median_ms('long_document', 'full', main))} ({_fmt_n(median_ms('long_document', 'full', main, 'windows_read'))} windows), "
        f"fast {_ms(median_ms('long_document', 'fast', main))} ({_fmt_n(median_ms('long_document', 'fast', main, 'windows_read'))} windows; "
        f"{_fmt_n(mean_of('long_document', 'fast', main, 'windows_read'))} on average)")
    add("fast reading: same top answer", "fast_agreement", block.get("fast_agreement"), "fraction",
        f"{block.get('fast_agreed', 0)}/{block.get('fast_compared', 0)} questions")
    if block.get("full_right"):
        add("fast reading: same answer where full reading is right", "", block.get("fast_keeps_right"), "fraction",
            f"{block['fast_kept']}/{block['full_right']} questions whose full-reading answer matches a gold answer exactly")
    f1s = {k: _finite(v) for k, v in block.get("f1", {}).items()}
    if f1s.get("full") is not None and f1s.get("fast") is not None:
        add("F1 against gold, long article: fast - full", "", f1s["fast"] - f1s["full"], "points",
            f"fast {f1s['fast']:.1f}, full {f1s['full']:.1f}"
            + (f", one window {f1s['one_window']:.1f}" if f1s.get("one_window") is not None else "")
            + " (agreement counts both-wrong pairs as disagreements too)")
    flops = block.get("flops", {})
    for engine, g in block.get("gflops", {}).items():
        value = _finite(g.get("gflops"))
        share = f", {value / roof:.0%} of the roof" if value and roof and math.isfinite(roof) else ""
        add(f"engine GFLOP/s ({engine})", "", value, "GFLOP/s",
            f"{flops.get('gflop_per_window', float('nan')):.2f} GFLOP per window "
            f"({flops.get('weights', 0) / 1e9:.2f} weights, {flops.get('attention', 0) / 1e9:.2f} attention) "
            f"in {_ms(g.get('seconds_per_window'))}{share}")
    return rows


def _fmt_n(x: Optional[float]) -> str:
    return "?" if x is None else f"{x:g}"
