"""Dataset layouts by name, and the two calls every caller uses: :func:`load_split`, :func:`read_imu`."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from comodo.errors import ComodoError, check
from comodo.registry import Registry

if TYPE_CHECKING:
    from comodo.data.spec import DataSpec, Sample


@dataclass(frozen=True)
class Layout:
    """How one on-disk layout is read.

    Attributes:
        load_split: ``(spec, split) -> list[Sample]``.
        read_imu: ``(spec, sample) -> (C, T)`` float32 in SI units (m/s², rad/s).
        defaults: ``spec -> {field: value}`` for the :class:`DataSpec` fields left ``None``.
    """

    load_split: Callable[["DataSpec", str], list["Sample"]]
    read_imu: Callable[["DataSpec", "Sample"], np.ndarray]
    defaults: Callable[["DataSpec"], dict[str, Any]]


LAYOUTS: Registry[Layout] = Registry("dataset layout")
_BUILTIN = ("comodo.data.ego4d", "comodo.data.mmea", "comodo.data.generic")


def get_layout(name: str) -> Layout:
    """The layout registered as ``name`` (the built-in ones are imported on first use)."""
    for module in _BUILTIN:
        importlib.import_module(module)
    return LAYOUTS.get(name)


def load_split(spec: "DataSpec", split: str) -> list["Sample"]:
    """The samples of ``<root>/<split>.txt`` under ``spec.layout``; an empty split is an error."""
    samples = get_layout(spec.layout).load_split(spec, split)
    check(bool(samples), f"split {split_file(spec, split)}: no samples; expected at least one")
    return samples


def read_imu(spec: "DataSpec", sample: "Sample") -> np.ndarray:
    """The IMU of ``sample``: ``(C, T)`` float32 in SI units (m/s², rad/s)."""
    x = get_layout(spec.layout).read_imu(spec, sample)
    return np.ascontiguousarray(x, dtype=np.float32)


def split_file(spec: "DataSpec", split: str) -> Path:
    """``<root>/<split>.txt``; the split name is a plain word (``train``, ``val``, ``test``, …)."""
    check(
        isinstance(split, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", split) is not None,
        f"split {split!r}: expected a name such as train, val or test",
    )
    return spec.root / f"{split}.txt"


def split_lines(spec: "DataSpec", split: str) -> tuple[Path, list[tuple[int, str]]]:
    """``(file, [(line number, line)])`` of a split file: blank lines and ``#`` comments skipped.

    A missing root, a missing file or one with no entries is a :class:`ComodoError`.
    """
    check(spec.root.is_dir(), f"dataset root {spec.root}: folder not found")
    path = split_file(spec, split)
    check(path.is_file(), f"split file {path}: not found; expected <root>/{split}.txt")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ComodoError(f"split file {path}: cannot read as text ({type(e).__name__})") from None
    lines = [
        (n, line.rstrip("\r\n"))
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    check(bool(lines), f"split file {path}: empty; expected one entry per line")
    return path, lines


def unique_uids(path: Path, entries: list[tuple[int, str]]) -> None:
    """A uid listed twice in one split file is an error (``(uid, window)`` keys every cache)."""
    seen: dict[str, int] = {}
    for lineno, uid in entries:
        if uid in seen:
            raise ComodoError(f"split file {path}: line {lineno} repeats {uid!r} from line {seen[uid]}")
        seen[uid] = lineno
