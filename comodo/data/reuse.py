"""What a sweep's worker keeps between runs: values read from a dataset's files, by what they were read with.

A worker process trains dozens of runs on the same few datasets; each run would otherwise list the
same splits, open the same videos for their lengths and stat the same files for the caches' keys,
again and again. :func:`reuse` (a block) and :func:`reuse_in_process` (a worker's whole life) turn
that on; outside them every call reads the files.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from comodo.data.spec import DataSpec

_REUSED: dict | None = None  # what reuse() keeps: key -> value; None outside reuse()


@contextlib.contextmanager
def reuse() -> Iterator[None]:
    """Inside the block, what goes through :func:`kept` is read once and the kept value returned when
    asked again (callers hand out a new list or a copy of an array): the splits and IMU windows of
    :mod:`comodo.train.data`, EgoDistill's clips and their IMU (:mod:`comodo.egodistill.clips`), the
    videos' probes and the samples' identities (:mod:`comodo.data.video`, :mod:`comodo.data.identity`).

    Values are keyed by everything the functions take (the resolved :class:`DataSpec`, the split or
    the samples, the window length and resampling), not by the files' contents: nothing
    the runs read may change on disk inside the block (a sweep's run keys are computed, from the
    files, before it starts). Outside the block every call reads the files again.
    """
    global _REUSED
    outer = _REUSED
    _REUSED = {} if outer is None else outer
    try:
        yield
    finally:
        _REUSED = outer


def reuse_in_process() -> None:
    """:func:`reuse` for the rest of this process (a sweep's worker process calls it when it starts)."""
    global _REUSED
    if _REUSED is None:
        _REUSED = {}


def kept(key: tuple, compute):
    """``compute()``, or inside :func:`reuse` the value kept under ``key``."""
    if _REUSED is None:
        return compute()
    if key not in _REUSED:
        _REUSED[key] = compute()
    return _REUSED[key]


def kept_copy(key: tuple, compute):
    """:func:`kept` for an array a caller may change: a copy of the kept one (outside :func:`reuse`, the
    array ``compute()`` returns, uncopied)."""
    return compute() if _REUSED is None else kept(key, compute).copy()


def spec_key(spec: DataSpec) -> tuple:
    return tuple(dataclasses.astuple(spec))
