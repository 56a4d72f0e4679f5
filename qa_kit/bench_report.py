"""The benchmark's report: every model's summary with the timed records, shown as tables, text, HTML and a chart.

`BenchReport` holds each model's `ModelSummary` (qa_kit.bench_summary: the arithmetic on the
records) with every timed call, the CPU and numpy's matmul rate there; it works out what to show once
and renders that as text or HTML, saves and reloads itself as JSON, and draws itself with
qa_kit.bench_chart. The measuring is in qa_kit.bench.
"""
from __future__ import annotations

import html
import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import pandas as pd

from .bench_summary import (RATIO_KEYS, TARGETS, ModelSummary, median_of, medians, record_firsts,
                            record_mean_f1, record_spans, record_times, span_agreement, summarise, target_met,
                            time_ratio)
from .errors import InputError

__all__ = [  # the report, and the summary's names importable from here as before
    "BenchReport", "FORMAT_VERSION", "ModelSummary", "RATIO_KEYS", "TARGETS", "span_agreement", "median_of", "medians",
    "summarise", "target_met", "time_ratio",
]
FORMAT_VERSION = 1


def _finite(x: Any) -> Optional[float]:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def _ms(x: Optional[float]) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x * 1000:.1f} ms" if x < 10 else f"{x:.1f} s"


@dataclass(eq=False)
class BenchReport:
    """What `bench.run` measured: per-model summaries, every timed call, the CPU and numpy's matmul rate."""

    models: List[ModelSummary]
    records: pd.DataFrame
    cpu: dict = field(default_factory=dict)
    roof_gflops: float = float("nan")
    settings: dict = field(default_factory=dict)
    created: str = ""

    def __post_init__(self) -> None:
        self.models = [m if isinstance(m, ModelSummary) else ModelSummary.from_dict(m) for m in self.models]

    @property
    def ratios(self) -> Dict[str, float]:
        """The first model's time ratios (see the module docstring for how they are taken)."""
        return dict(self.models[0].ratios) if self.models else {}

    @property
    def fast_agreement(self) -> float:
        return float(self.models[0].fast_agreement) if self.models else float("nan")

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
        rows, first = [], self.models[0].model
        main = self.models[0].engines[0]

        def per_window(model: str, engine: str) -> float:
            rs = [r for r in records if r["model"] == model]
            windows = record_times(rs, "one_window", "kit", engine, "windows")
            return median_of({q: [e / max(1, w) for e, w in zip(v, windows[q])]
                              for q, v in record_times(rs, "one_window", "kit", engine, "engine_s").items()}) * 1000

        reference = record_spans([r for r in records if r["model"] == first], "long_document", "full", main)
        for block in self.models:
            model = block.model
            rs = [r for r in records if r["model"] == model]
            ds, ort = per_window(model, "deepsparse"), per_window(model, "onnxruntime")
            exact = record_firsts(rs, "long_document", "full", main, "exact")
            rows.append({
                "model": model, "ms_per_window_deepsparse": ds, "ms_per_window_onnxruntime": ort,
                "deepsparse_speedup_over_onnxruntime": ort / ds if math.isfinite(ds) and math.isfinite(ort) and ds > 0 else float("nan"),
                "speedup_over_first": float("nan"),
                "ms_per_question_long": median_of(record_times(rs, "long_document", "full", main)) * 1000,
                "f1_long": record_mean_f1(rs, "long_document", "full", main),
                "exact_long": 100.0 * sum(map(bool, exact.values())) / len(exact) if exact else float("nan"),
                "agreement_with_first": span_agreement(record_spans(rs, "long_document", "full", main), reference),
            })
        key = "ms_per_window_deepsparse" if math.isfinite(rows[0]["ms_per_window_deepsparse"]) else "ms_per_window_onnxruntime"
        for row in rows:
            row["speedup_over_first"] = rows[0][key] / row[key] if row[key] and math.isfinite(row[key]) else float("nan")
        return pd.DataFrame(rows, columns=columns)

    @property
    def fast_curve(self) -> pd.DataFrame:
        """Fast reading at each size on the long article, from the full reads: agreement, F1, share of windows read."""
        rows = [{"model": b.model, **row} for b in self.models for row in b.fast_curve]
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
            "targets": targets, "models": [m.to_dict() for m in self.models], "records": self.records.to_dict(orient="records"),
        })

    def save(self, path: Union[str, Path]) -> Path:
        """Write the report as JSON (reload it with `BenchReport.load`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict) -> "BenchReport":
        """A report from its JSON form (`to_dict`)."""
        models = [ModelSummary.from_dict(block) for block in data.get("models", [])]
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

    def _view(self) -> "_View":
        """What the text and the HTML both show, worked out once."""
        table = self.table.copy()
        table["value"] = [_fmt(v, u) for v, u in zip(table["value"], table["unit"])]
        table["met"] = [{True: "yes", False: "NO"}.get(m, "") for m in table["met"]]
        sections: List[Tuple[str, pd.DataFrame, str]] = []
        stages = self.stages
        if not stages.empty:
            sections.append(("median per question (ms)", stages, "{:.1f}"))
        if len(self.models) > 1:
            sections.append((_SIDE_TITLE, self.side_by_side, "{:.2f}"))
        curve = self.fast_curve
        if not curve.empty:
            sections.append((_CURVE_TITLE, curve, "{:.2f}"))
        notes = []
        for block in self.models:
            if block.random_weights:
                notes.append(f"{block.model} has random weights: its answers mean nothing, only the timings count")
            notes += list(block.notes)
        return _View(cpu=self.cpu_line(), roof=f"{self.roof_gflops:.0f} GFLOP/s", busy=self.busy_note(),
                     table=table.drop(columns=["unit"]), sections=sections, notes=notes,
                     settings=_settings_line(self.settings))

    def __str__(self) -> str:
        view = self._view()
        lines = [view.cpu, f"numpy float32 matmul here: {view.roof} (a reference, not a ceiling)", ""]
        if view.busy:
            lines.insert(1, f"warning: {view.busy}")
        lines.append(view.table.to_string(index=False, max_colwidth=70))
        for title, frame, number in view.sections:
            lines += ["", title + ":", frame.to_string(index=False, float_format=number.format, na_rep="")]
        lines += [f"note: {n}" for n in view.notes]
        lines.append(view.settings)
        return "\n".join(lines)

    def __repr__(self) -> str:
        names = ", ".join(b.model for b in self.models)
        return f"BenchReport(models=[{names}], records={len(self.records)}, created={self.created!r})"

    def _repr_html_(self) -> str:
        view = self._view()
        parts = [f"<p><b>{html.escape(view.cpu)}</b>; numpy float32 matmul here: {view.roof} (a reference, not a ceiling)</p>"]
        if view.busy:
            parts.append(f"<p><i>warning: {html.escape(view.busy)}</i></p>")
        parts.append(view.table.to_html(index=False, escape=True))
        for title, frame, number in view.sections:
            parts += [f"<p>{html.escape(title)}</p>", frame.to_html(index=False, escape=True, float_format=number.format, na_rep="")]
        parts.append(f"<p><i>{html.escape(view.settings)}</i></p>")
        return "\n".join(parts)

    def chart(self, model: Optional[str] = None):
        """Stage times on one window and on the long article, GFLOP/s beside numpy's matmul, and fast reading by size
        (a matplotlib Figure that shows itself in a notebook)."""
        from .bench_chart import bench_chart

        if not self.models:
            raise InputError("The report holds no model: run the benchmark first.")
        block = next((b for b in self.models if b.model == model), None) if model else self.models[0]
        if block is None:
            raise InputError(f"The report has no model {model!r}: choose one of {[b.model for b in self.models]}.")
        stages = self.stages
        stages = stages[stages["model"] == block.model] if not stages.empty else stages
        curve = self.fast_curve
        r = block.ratios
        title = (f"{block.model}: kit/pipeline {_fmt(r.get('kit_over_pipeline_one_window'), 'x')} (one window), "
                 f"{_fmt(r.get('kit_over_pipeline_long_document'), 'x')} (long); fast reading "
                 f"{_fmt(r.get('full_over_fast_long_document'), 'x')} faster, agreement {_fmt(block.fast_agreement, 'fraction')}")
        return bench_chart(stages, curve[curve["model"] == block.model], block.gflops, self.roof_gflops, title)


_SIDE_TITLE = ("models side by side (engine ms per window, one question per window; a full read of the long article per "
               "question; F1 and exact match against gold; agreement = same top answer as the first model)")
_CURVE_TITLE = ("fast reading by size on the long article, worked out from the full reads (share of windows read, "
                "agreement with full reading, agreement where full reading is exactly right, F1 against gold)")

@dataclass
class _View:
    """A report's parts as both renderings show them: header, measures table, titled sections, notes, settings."""

    cpu: str
    roof: str
    busy: Optional[str]
    table: pd.DataFrame
    sections: List[Tuple[str, pd.DataFrame, str]]  # (title, frame, float format)
    notes: List[str]
    settings: str


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


def _rows_for(block: ModelSummary, records: pd.DataFrame, roof: float) -> List[dict]:
    model, r = block.model, block.ratios
    recs = records[records["model"] == model].to_dict(orient="records") if not records.empty else []
    rows: List[dict] = []

    def median_ms(setting: str, variant: str, engine: str, key: str = "seconds") -> Optional[float]:
        return _finite(median_of(record_times(recs, setting, variant, engine, key)))

    def mean_of(setting: str, variant: str, engine: str, key: str) -> Optional[float]:
        values = [v for per_question in record_times(recs, setting, variant, engine, key).values() for v in per_question]
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
        share = f", {value / roof:.2f}x numpy's matmul" if value and roof and math.isfinite(roof) else ""
        add(f"engine GFLOP/s ({engine})", "", value, "GFLOP/s",
            f"{flops.get('gflop_per_window', float('nan')):.2f} GFLOP per window "
            f"({flops.get('weights', 0) / 1e9:.2f} weights, {flops.get('attention', 0) / 1e9:.2f} attention) "
            f"in {_ms(g.get('seconds_per_window'))}{share}")
    return rows


def _fmt_n(x: Optional[float]) -> str:
    return "?" if x is None else f"{x:g}"
