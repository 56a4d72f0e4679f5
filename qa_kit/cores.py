"""How many CPU cores an engine should use: the ones no other work is using now, or what the user says.

DeepSparse pins a thread to each core it is given and waits on them all, so one core busy with
another program slows every window: measured on a busy 2-core machine, 34 ms per window on 1
core against 644 ms on both. The kit therefore looks, for a moment, at how much CPU other
processes (and the hypervisor, as steal time) take, and leaves those cores alone. The user can
always say: `num_cores=N`, "all" or "auto", or `QA_KIT_CORES` for every load in a process.
"""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from typing import List, Optional, Union

from .errors import InputError

SAMPLE_SECONDS = 0.25  # how long the kit watches the CPUs before choosing
REMEMBER_SECONDS = 30.0  # a choice is reused this long, so loading several models samples once
FREE_BELOW = 0.25  # a core counts as free while other work takes less than this share of it
CoresLike = Union[int, str, None]

_lock = threading.Lock()
_last: Optional[tuple] = None  # (monotonic time, Cores) of the last automatic choice


@dataclass(frozen=True)
class Cores:
    """A choice of cores: how many, of how many there are, and why."""

    count: int
    available: int
    reason: str  # "auto", "all" or "chosen"
    busy: Optional[float] = None  # cores' worth of CPU other work was using when "auto" looked
    reused: bool = False  # auto took the model's engine compiled already, on this many cores

    def __str__(self) -> str:
        text = f"{self.count} of {self.available} core{'s' if self.available != 1 else ''}"
        if self.reason == "auto" and self.reused:
            text += " (auto: the model was compiled for that many already)"
        elif self.reason == "auto" and self.count < self.available:
            text += f" (auto: other work is using {self.busy:.1f} of {self.available})"
        elif self.reason == "auto":
            text += " (auto)"
        return text


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _cpu_ticks() -> Optional[List[tuple]]:
    """(busy, total) clock ticks of each CPU this process may use, from /proc/stat; None elsewhere."""
    try:
        allowed = os.sched_getaffinity(0)
        with open("/proc/stat", encoding="ascii") as fh:
            rows = [line.split() for line in fh if line.startswith("cpu") and line[3].isdigit()]
    except (AttributeError, OSError, IndexError):
        return None
    ticks = []
    for row in rows:
        if int(row[0][3:]) in allowed:
            values = [int(v) for v in row[1:9]]  # user nice system idle iowait irq softirq steal
            ticks.append((sum(values) - values[3] - values[4], sum(values)))
    return ticks or None


def busy_elsewhere(seconds: float = SAMPLE_SECONDS) -> Optional[float]:
    """Cores' worth of CPU that other processes took over a short look (None where unknown)."""
    before, own_before = _cpu_ticks(), os.times()
    if before is None:
        return None
    time.sleep(seconds)
    after, own_after = _cpu_ticks(), os.times()
    if after is None or len(after) != len(before):
        return None
    busy = sum(a[0] - b[0] for a, b in zip(after, before))
    total = sum(a[1] - b[1] for a, b in zip(after, before))
    if total <= 0:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    own = (own_after.user + own_after.system - own_before.user - own_before.system) * tick
    per_core = total / len(after)  # ticks one core counted while the kit looked
    return max(0.0, (busy - own) / per_core)


def choose_cores(busy: Optional[float], available: int) -> int:
    """The cores to use when `busy` cores' worth of other work runs on `available` cores."""
    if busy is None:
        return available
    taken = max(0, math.ceil(busy - FREE_BELOW))  # cores other work needs, rounded up past the slack
    return max(1, available - taken)


def auto_cores() -> Cores:
    """The cores no other work is using now (looked at once per REMEMBER_SECONDS)."""
    global _last
    with _lock:
        now = time.monotonic()
        if _last is not None and now - _last[0] < REMEMBER_SECONDS:
            return _last[1]
        available = available_cores()
        busy = busy_elsewhere()
        choice = Cores(choose_cores(busy, available), available, "auto", busy)
        _last = (now, choice)
        return choice


def resolve_cores(num_cores: CoresLike = None) -> Cores:
    """What `num_cores` means: None (then QA_KIT_CORES, else "auto"), "auto", "all" or a whole number."""
    wanted: CoresLike = num_cores if num_cores is not None else (os.environ.get("QA_KIT_CORES") or "auto")
    available = available_cores()
    if isinstance(wanted, str) and wanted.strip().lower() in ("auto", "all"):
        return auto_cores() if wanted.strip().lower() == "auto" else Cores(available, available, "all")
    if isinstance(wanted, str) and wanted.strip().isdigit():
        wanted = int(wanted)
    if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1:
        where = "QA_KIT_CORES" if num_cores is None else "num_cores"
        raise InputError(f"{where}={wanted!r} is not a number of cores: give a whole number from 1 to "
                         f"{available}, 'all' or 'auto'.")
    if wanted > available:
        raise InputError(f"num_cores={wanted} is more than the {available} cores this process may use: "
                         f"give 1 to {available}, 'all' or 'auto'.")
    return Cores(wanted, available, "chosen")


def forget() -> None:
    """Drop the remembered automatic choice, so the next one looks at the CPUs again."""
    global _last
    with _lock:
        _last = None
