"""One model's benchmark summary: ratios, agreement, F1 and GFLOP/s worked out from its timed records.

`summarise()` turns one model's records (one dict per timed call) into a `ModelSummary`, the typed
record a `BenchReport` holds per model (and saves under "models" in its JSON, key for key). Pure
arithmetic on recorded numbers, tested on fake ones: the measuring is in qa_kit.bench.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Sequence, Tuple

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


def span_agreement(answers: Dict[str, Any], reference: Dict[str, Any]) -> float:
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


def record_firsts(records: List[dict], setting: str, variant: str, engine: str, key: str) -> Dict[str, Any]:
    """Each question's `key` from its first run (questions without it are left out)."""
    firsts: Dict[str, Any] = {}
    for r in records:
        if (r["setting"], r["variant"], r["engine"]) == (setting, variant, engine) and r.get(key) is not None:
            firsts.setdefault(r["question"], r[key])
    return firsts


def record_mean_f1(records: List[dict], setting: str, variant: str, engine: str) -> float:
    """Mean F1 over questions (each question's first run), nan when no gold answers are known."""
    firsts = record_firsts(records, setting, variant, engine, "f1")
    return sum(map(float, firsts.values())) / len(firsts) if firsts else float("nan")


def record_times(records: List[dict], setting: str, variant: str, engine: str, key: str = "seconds") -> Dict[str, List[float]]:
    """Each question's finite `key` values over its runs of one setting, variant and engine."""
    out: Dict[str, List[float]] = {}
    for r in records:
        if r["setting"] == setting and r["variant"] == variant and r["engine"] == engine:
            value = r.get(key)
            if value is not None and math.isfinite(value):
                out.setdefault(r["question"], []).append(value)
    return out


def record_spans(records: List[dict], setting: str, variant: str, engine: str) -> Dict[str, Any]:
    """First recorded top span per question (tuples, so JSON lists compare after a reload)."""
    out: Dict[str, Any] = {}
    for r in records:
        if r["setting"] == setting and r["variant"] == variant and r["engine"] == engine and r["question"] not in out:
            out[r["question"]] = tuple(r["span"]) if r["span"] is not None else None
    return out


def record_pairs_identical(records: List[dict], setting: str, variant: str, engine: str) -> Tuple[int, int]:
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
    """The median over questions of each question's median time (nan if none)."""
    values = list(medians(times).values())
    return float(statistics.median(values)) if values else float("nan")


def summarise(model: str, records: List[dict], engines: Sequence[str], compiles: dict, flops: Any,
               load_seconds: dict, notes: List[str]) -> "ModelSummary":
    """Ratios, agreement, identical answers and GFLOP/s for one model, from its records."""
    main = engines[0]
    ratios: Dict[str, float] = {k: float("nan") for k in RATIO_KEYS}
    identical = {}
    if "deepsparse" in engines:
        for setting in ("one_window", "long_document"):
            variant = "kit" if setting == "one_window" else "full"
            ratios[f"kit_over_pipeline_{setting}"] = time_ratio(
                record_times(records, setting, variant, "deepsparse"), record_times(records, setting, "pipeline", "deepsparse"))
            same, compared = record_pairs_identical(records, setting, variant, "deepsparse")
            identical[setting] = {"same": same, "compared": compared}
        if "onnxruntime" in engines:
            ratios["deepsparse_over_onnxruntime"] = time_ratio(
                record_times(records, "one_window", "kit", "deepsparse"), record_times(records, "one_window", "kit", "onnxruntime"))
            ratios["deepsparse_over_onnxruntime_long_document"] = time_ratio(
                record_times(records, "long_document", "full", "deepsparse"), record_times(records, "long_document", "full", "onnxruntime"))
    ratios["full_over_fast_long_document"] = time_ratio(
        record_times(records, "long_document", "full", main), record_times(records, "long_document", "fast", main))
    fast_spans = record_spans(records, "long_document", "fast", main)
    full_spans = record_spans(records, "long_document", "full", main)
    fast_agreement = span_agreement(fast_spans, full_spans)
    full_right = {q for q, ok in record_firsts(records, "long_document", "full", main, "exact").items() if ok and q in fast_spans}
    if main in compiles:
        c = compiles[main]
        ratios["first_over_second_ask"] = c["first"] / c["second"] if c["second"] > 0 else float("nan")
    gflops = {}
    per_window = flops.per_window()
    for engine in engines:
        engine_s = record_times(records, "long_document", "full", engine, "engine_s")
        read = record_times(records, "long_document", "full", engine, "windows_read")
        per = {q: [e / max(w, 1) for e, w in zip(engine_s[q], read.get(q, []))] for q in engine_s}
        seconds = median_of(per)
        gflops[engine] = {"seconds_per_window": seconds, "gflops": per_window / seconds if seconds > 0 else float("nan")}
    return ModelSummary(
        model=model, engines=list(engines), ratios=ratios, fast_agreement=fast_agreement,
        fast_agreed=sum(fast_spans[q] == full_spans.get(q) for q in fast_spans if q in full_spans),
        fast_compared=sum(1 for q in fast_spans if q in full_spans),
        # where full reading is exactly right, does fast reading keep its answer?
        fast_keeps_right=span_agreement({q: fast_spans[q] for q in full_right}, full_spans),
        fast_kept=sum(fast_spans[q] == full_spans.get(q) for q in full_right), full_right=len(full_right),
        f1={"full": record_mean_f1(records, "long_document", "full", main), "fast": record_mean_f1(records, "long_document", "fast", main),
            "one_window": record_mean_f1(records, "one_window", "kit", main)},
        identical=identical, compile=compiles, load_seconds=load_seconds,
        flops={**flops.to_dict(), "gflop_per_window": per_window}, gflops=gflops, notes=notes,
    )


# ---------------------------------------------------------------------------------------------
# the typed summary


@dataclass(eq=False)
class ModelSummary:
    """What the benchmark found for one model; also read as a mapping (summary["ratios"]) as the dict it replaced."""

    model: str
    engines: List[str] = field(default_factory=list)
    ratios: Dict[str, float] = field(default_factory=dict)  # RATIO_KEYS (and the one-core ratio where measured)
    fast_agreement: float = float("nan")  # fast reading's top answer equal to full reading's, long article
    fast_agreed: int = 0
    fast_compared: int = 0
    fast_keeps_right: float = float("nan")  # the same, where full reading is exactly right
    fast_kept: int = 0
    full_right: int = 0
    f1: Dict[str, float] = field(default_factory=dict)  # mean F1 against gold: full, fast, one_window
    identical: Dict[str, Dict[str, int]] = field(default_factory=dict)  # kit vs pipeline: same/compared per setting
    compile: Dict[str, dict] = field(default_factory=dict)  # per engine: the fresh-process check
    load_seconds: Dict[str, float] = field(default_factory=dict)
    flops: Dict[str, Any] = field(default_factory=dict)
    gflops: Dict[str, Dict[str, float]] = field(default_factory=dict)  # per engine: seconds_per_window, gflops
    notes: List[str] = field(default_factory=list)
    cores: Optional[Dict[str, float]] = None  # DeepSparse on one core against all, where measured
    random_weights: bool = False
    window: Optional[List[int]] = None  # [sequence_length, doc_stride] it was read at
    max_windows: Optional[int] = None
    confident_score: Optional[float] = None
    fast_curve: List[dict] = field(default_factory=list)  # fast reading by size, from the full reads
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)  # keys a newer report saved, kept as read

    def to_dict(self) -> Dict[str, Any]:
        """The summary as the JSON report saves it (no "cores" where it was not measured)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        if out["cores"] is None:
            del out["cores"]
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ModelSummary":
        """A summary from its saved form, with JSON's nulls back to nan where numbers were not finite."""
        def restore(x: Any) -> Any:
            if x is None:
                return float("nan")
            if isinstance(x, dict):
                return {k: restore(v) for k, v in x.items()}
            return x

        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        values["ratios"] = {k: (float("nan") if v is None else v) for k, v in values.get("ratios", {}).items()}
        if values.get("fast_agreement") is None:
            values["fast_agreement"] = float("nan")
        values["gflops"] = restore(values.get("gflops", {}))
        values["f1"] = restore(values.get("f1", {}))
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})

    # read as a mapping, as code and notebooks written against the dict do
    def __getitem__(self, key: str) -> Any:
        data = self.to_dict()
        if key not in data:
            raise KeyError(key)
        return getattr(self, key) if key not in self.extra else self.extra[key]

    def get(self, key: str, default: Any = None) -> Any:
        """The value under `key`, as dict.get."""
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def keys(self) -> List[str]:
        """The keys its JSON form has."""
        return list(self.to_dict())
