"""Choosing cores: the rule that leaves busy cores alone, what num_cores accepts, and a real busy CPU seen."""
import subprocess
import sys
import time

import pytest

import qa_kit
from qa_kit import cores
from qa_kit.errors import InputError

from conftest import TINY


@pytest.mark.parametrize("busy, available, expected", [
    (None, 4, 4),   # nothing known: all of them
    (0.0, 2, 2), (0.2, 2, 2),  # a little background work leaves a core free
    (0.3, 2, 1), (1.0, 2, 1), (1.2, 2, 1),
    (2.0, 2, 1),  # never fewer than one
    (1.5, 8, 6),
])
def test_busy_cores_are_left_alone(busy, available, expected):
    assert cores.choose_cores(busy, available) == expected


def test_num_cores_accepts_numbers_all_and_auto_and_refuses_the_rest(monkeypatch):
    n = cores.available_cores()
    assert cores.resolve_cores(1) == cores.Cores(1, n, "chosen")
    assert cores.resolve_cores("all").count == n
    assert cores.resolve_cores("auto").reason == "auto"
    monkeypatch.setenv("QA_KIT_CORES", "1")
    assert cores.resolve_cores(None).count == 1
    for bad in (0, -1, "many", 2.5, True):
        with pytest.raises(InputError, match="num_cores") as raised:
            cores.resolve_cores(bad)
        assert "\n" not in str(raised.value)
    with pytest.raises(InputError, match="more than the"):
        cores.resolve_cores(n + 1)
    monkeypatch.setenv("QA_KIT_CORES", "lots")
    with pytest.raises(InputError, match="QA_KIT_CORES"):
        cores.resolve_cores(None)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/stat")
def test_another_process_spinning_is_seen_and_its_core_left_alone():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = cores.busy_elsewhere(0.5)
    finally:
        spinner.kill()
        spinner.wait()
    assert busy is not None and busy >= 0.6  # one process on one core, whatever else runs beside
    assert cores.choose_cores(busy, cores.available_cores()) <= max(1, cores.available_cores() - 1)


def test_the_kits_own_work_does_not_count_as_busy(monkeypatch):
    """Two CPUs, 100 ticks each while the kit looked: 150 busy, 80 of them the kit's own."""
    ticks = iter([[(0, 0), (0, 0)], [(100, 100), (50, 100)]])
    times = iter([(0.0, 0.0), (0.8, 0.0)])  # user, system seconds of this process
    monkeypatch.setattr(cores, "_cpu_ticks", lambda: next(ticks))
    monkeypatch.setattr(cores.os, "times", lambda: type("T", (), dict(zip(("user", "system"), next(times))))())
    monkeypatch.setattr(cores.os, "sysconf", lambda name: 100)
    assert cores.busy_elsewhere(0) == pytest.approx(0.7)  # (150 - 80) ticks over 100 ticks per core


def test_a_reader_runs_on_the_cores_asked_and_says_so():
    reader = qa_kit.load(str(TINY), num_cores=1)
    assert reader.cores.count == 1 and reader.engine.num_cores == 1
    assert "num_cores=1" in repr(reader) and str(reader.cores).startswith("1 of ")
    cores.forget()
    auto = qa_kit.load(str(TINY))
    assert auto.cores.reason == "auto" and 1 <= auto.cores.count <= cores.available_cores()


def test_a_chosen_count_is_reported_as_chosen_even_on_an_engine_auto_compiled(monkeypatch):
    from qa_kit import engines

    monkeypatch.setattr(engines, "_cache", {})  # a cache of its own: other tests' readers keep their engines
    cores.forget()
    monkeypatch.setattr(cores, "busy_elsewhere", lambda seconds=0: float(cores.available_cores()))  # a busy machine
    auto = qa_kit.load(str(TINY))
    assert auto.cores.count == 1 and auto.cores.reason == "auto" and "other work is using" in str(auto.cores)
    chosen = qa_kit.load(str(TINY), num_cores=1)
    assert chosen.engine is auto.engine  # the same compiled engine, not a second compile
    assert chosen.cores.reason == "chosen" and str(chosen.cores).startswith("1 of ") and "auto" not in str(chosen.cores)
    monkeypatch.setattr(cores, "busy_elsewhere", lambda seconds=0: 0.0)  # idle now: auto would take every core
    cores.forget()
    again = qa_kit.load(str(TINY))
    assert again.engine is auto.engine and again.cores.count == 1  # but the 1-core engine is compiled: no recompile
    assert again.cores.reused and "compiled for that many already" in str(again.cores)
    cores.forget()
