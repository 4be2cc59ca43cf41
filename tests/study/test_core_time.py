"""The core time of `comodo study`'s steps (comodo.study.core_time): busy, idle and stolen core-seconds
from the machine's counters, the closing table and the floor line."""

import os
import time

import pytest

from comodo.study import core_time
from comodo.study.core_time import Mark, Step, floor_line, idle_line, stolen_line, table


def _spin(seconds: float) -> float:
    """Busy this process's core for about ``seconds``; the CPU time it took."""
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        sum(i * i for i in range(1000))
    return time.process_time() - cpu


def test_idle_time_accrues_while_the_test_sleeps():
    before = Mark.now()
    time.sleep(0.5)  # this test's core sleeps: idle time accrues
    assert Mark.now().since(before, 1) > 0.05


def test_a_step_counts_the_busy_core_time_of_the_work_in_it():
    start = Mark.now()
    cpu = _spin(0.6)
    step = Step.since("spin", start)
    assert step.seconds >= 0.6
    # machine-wide: at least this process's CPU time (the counters tick at 100 Hz), at most every core's
    assert step.busy is not None and step.busy >= 0.8 * cpu - 0.05
    assert step.busy <= (os.cpu_count() or 1) * step.seconds + 0.05


def test_without_psutil_the_steps_have_wall_seconds_only(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_psutil(name, *args, **kwargs):
        if name == "psutil":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psutil)
    start = Mark.now()
    assert start.counters is None and Mark.now().since(start, 1) is None
    step = Step.since("world", start)
    assert step.busy is None
    assert table([step], Step("comodo study", 61.0))[-1] == "  comodo study      61 s   (1.0 min)"


def test_the_table_has_wall_seconds_and_busy_core_seconds_where_measured():
    steps = [Step("world and teacher", 287.4, 540.2), Step("notebook 01_tour", 48.0)]
    assert table(steps, Step("comodo study", 2456.0, 4758.0)) == [
        "                       wall       busy",
        "  world and teacher     287 s      540 core-s",
        "  notebook 01_tour       48 s",
        "  comodo study        2,456 s    4,758 core-s (40.9 min)",
    ]


def test_the_lines_under_the_table():
    assert idle_line(2596, 484, 2) == "cores idle 484 of 5,192 core-seconds (2 cores × 2,596 s, machine-wide)"
    assert stolen_line(52, 2456, 2) == "stolen by the hypervisor: 52 core-seconds (1.1 % of 2 cores × 2,456 s)"
    assert floor_line(4758, 2) == ("work: 4,758 busy core-seconds (machine-wide); on 2 cores no schedule runs "
                                   "them in less than 2,379 s (39.6 min): below that, only less work is faster")


@pytest.mark.parametrize("busy", [1800.0, 3600.0])
def test_the_floor_is_the_work_over_the_cores(busy):
    assert f"less than {busy / 2:,.0f} s ({busy / 120:.1f} min)" in floor_line(busy, 2)
