"""The machine's core time during the study's steps: busy and idle core-seconds, and the floor they set.

``comodo study`` reads the machine-wide counters (psutil, what ``vmstat`` reads) at every step's start
and end. A step's *busy* core-seconds are all its cores' time not idle (user, system, interrupts:
the study's processes and whatever else ran on the machine). Their sum is the study's work on this
machine: on ``cores`` cores no schedule runs it in less than ``busy / cores`` seconds, so below that
floor only less work (or a faster machine) makes the study shorter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


def _counters() -> tuple[float, float, float] | None:
    """(busy, idle, stolen) core-seconds since boot, all cores summed (None without psutil; ``make
    install`` installs it): busy is user, nice, system and interrupt time (not idle, I/O wait or
    time a hypervisor gave the cores to others: ``steal``, 0 on bare metal)."""
    try:
        import psutil
    except ImportError:
        return None
    t = psutil.cpu_times()
    busy = sum(float(getattr(t, f, 0.0)) for f in ("user", "nice", "system", "irq", "softirq"))
    return busy, float(t.idle), float(getattr(t, "steal", 0.0))  # (guest time is counted in user already)


@dataclass(frozen=True)
class Mark:
    """The wall clock and the machine's (busy, idle, stolen) core-seconds at one moment (None without psutil)."""

    wall: float
    counters: tuple[float, float, float] | None

    @staticmethod
    def now() -> "Mark":
        return Mark(time.time(), _counters())

    def since(self, start: "Mark", field: int) -> float | None:
        """Core-seconds of counter ``field`` (0 busy, 1 idle, 2 stolen) between ``start`` and this mark."""
        if self.counters is None or start.counters is None:
            return None
        return self.counters[field] - start.counters[field]


@dataclass(frozen=True)
class Step:
    """One row of the study's table: its wall seconds and, where measured, its busy core-seconds."""

    name: str
    seconds: float
    busy: float | None = None

    @staticmethod
    def since(name: str, start: Mark, end: Mark | None = None) -> "Step":
        end = end or Mark.now()
        return Step(name, end.wall - start.wall, end.since(start, 0))


def table(steps: list[Step], total: Step) -> list[str]:
    """The rows of ``comodo study``'s closing table: name, wall seconds and busy core-seconds."""
    rows = steps + [total]
    width = max(len(s.name) for s in rows)
    lines = [f"  {'':<{width}}  {'wall':>6}    {'busy':>7}"]
    for s in rows:
        busy = "" if s.busy is None else f"{s.busy:7,.0f} core-s"
        minutes = f" ({s.seconds / 60:.1f} min)" if s is total else ""
        lines.append(f"  {s.name:<{width}}  {s.seconds:6,.0f} s  {busy}{minutes}".rstrip())
    return lines


def idle_line(wall_s: float, idle_s: float, cores: int) -> str:
    """``cores idle 484 of 5,192 core-seconds (2 cores × 2,596 s, machine-wide)``."""
    return f"cores idle {idle_s:,.0f} of {cores * wall_s:,.0f} core-seconds ({cores} cores × {wall_s:,.0f} s, machine-wide)"


def stolen_line(stolen_s: float, wall_s: float, cores: int) -> str:
    """``stolen by the hypervisor: 52 core-seconds (1.1 % of 2 cores × 2,456 s)``."""
    return (f"stolen by the hypervisor: {stolen_s:,.0f} core-seconds "
            f"({100 * stolen_s / (cores * wall_s):.1f} % of {cores} cores × {wall_s:,.0f} s)")


def floor_line(busy_s: float, cores: int) -> str:
    """What the study's busy core-seconds allow: no schedule on ``cores`` cores is shorter than
    ``busy_s / cores``."""
    floor = busy_s / cores
    return (f"work: {busy_s:,.0f} busy core-seconds (machine-wide); on {cores} cores no schedule runs them "
            f"in less than {floor:,.0f} s ({floor / 60:.1f} min): below that, only less work is faster")
