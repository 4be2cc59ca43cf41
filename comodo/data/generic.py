"""Layout ``generic``: your own IMU recordings, with or without video.

::

    <root>/comodo.json        {"imu_rate": 100, "channels": 6, "units": "si"}
    <root>/{train,val,test}.txt
    <root>/<imu_relpath>      .npy (C, T) or .csv (T rows × C columns, optional header row)
    <root>/<video_relpath>    optional .mp4

``comodo.json`` keys: ``imu_rate`` (Hz, required), ``channels`` (required), ``units`` (``"si"``:
m/s² and rad/s, the default; ``"counts"``: 6 channels accel xyz + gyro xyz as raw counts, converted
with ``DataSpec.accel_counts_per_g`` / ``gyro_counts_per_dps``), ``video_fps`` (optional, Hz). The
spec's ``imu_rate``, ``channels`` and ``raw_counts`` come from it; setting them to other values is an
error.

Split files: one recording per line, ``imu_relpath<TAB>label`` or
``imu_relpath<TAB>label<TAB>video_relpath``, paths relative to the root; blank lines and lines
starting with ``#`` are skipped. ``Sample.uid`` is ``imu_relpath``.

A recording of at least one window (``round(window_s · imu_rate)`` samples) is cut into windows
exactly as in the ``ego4d`` layout (by index from t = 0, or by ``<imu stem>_timestamps.npy`` next to
the IMU file when present); a shorter one is a single sample holding all of it.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from comodo.data.imu import read_csv_imu
from comodo.data.layout import LAYOUTS, Layout, split_lines, unique_uids
from comodo.data.spec import DataSpec, Sample
from comodo.data.windows import imu_window, load_npy_imu, recording_windows, whole_recording
from comodo.errors import ComodoError, check

CONFIG = "comodo.json"
_KEYS = {"imu_rate", "channels", "units", "video_fps"}
_UNITS = ("si", "counts")


def load_split(spec: DataSpec, split: str) -> list[Sample]:
    path, lines = split_lines(spec, split)
    entries = []
    for lineno, line in lines:
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) not in (2, 3) or not all(fields):
            raise ComodoError(
                f"split file {path}: line {lineno} is not 'imu_path<TAB>label[<TAB>video_path]': "
                f"{line.strip()[:80]!r}"
            )
        entries.append((lineno, fields))
    unique_uids(path, [(n, fields[0]) for n, fields in entries])
    samples: list[Sample] = []
    for _, fields in entries:
        rel, label = fields[0], fields[1]
        imu_path = spec.root / rel
        video_path = spec.root / fields[2] if len(fields) == 3 else None
        n_imu = _load(spec, imu_path).shape[1]
        if n_imu < spec.window_samples:
            samples.append(Sample(rel, label, imu_path, video_path, 0, 0.0, n_imu / spec.imu_rate))
        else:
            samples += recording_windows(spec, rel, label, imu_path, n_imu, video_path, _timestamps_path(imu_path))
    return samples


def read_imu(spec: DataSpec, sample: Sample) -> np.ndarray:
    x = _load(spec, sample.imu_path)
    if x.shape[1] < spec.window_samples:
        return whole_recording(spec, x, sample.imu_path)
    return imu_window(spec, sample, x, _timestamps_path(sample.imu_path))


def _load(spec: DataSpec, path: Path) -> np.ndarray:
    """``(C, T)`` in file units."""
    suffix = path.suffix.lower()
    check(suffix in (".npy", ".csv"), f"IMU {path}: expected a .npy or .csv file")
    if suffix == ".npy":
        return load_npy_imu(path, spec.channels)
    check(path.is_file(), f"IMU {path}: file not found")
    st = path.stat()
    x = _csv(str(path), st.st_mtime_ns, st.st_size)
    check(
        x.shape[0] == spec.channels,
        f"IMU {path}: {x.shape[0]} columns, expected {spec.channels} channels (comodo.json)",
    )
    return x


@functools.lru_cache(maxsize=4)
def _csv(path: str, mtime_ns: int, size: int) -> np.ndarray:
    """Parsed CSV as read-only ``(C, T)``; cached so reading many windows of one file parses it once."""
    x = np.ascontiguousarray(read_csv_imu(path).T)
    x.flags.writeable = False
    return x


def _timestamps_path(imu_path: Path) -> Path:
    return imu_path.with_name(f"{imu_path.stem}_timestamps.npy")


def _defaults(spec: DataSpec) -> dict[str, Any]:
    """Read ``<root>/comodo.json``; a spec value that contradicts it is an error."""
    path = Path(spec.root) / CONFIG
    check(Path(spec.root).is_dir(), f"dataset root {spec.root}: folder not found")
    check(path.is_file(), f"{path}: not found; the generic layout needs {{\"imu_rate\": …, \"channels\": …}}")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ComodoError(f"{path}: not valid JSON ({type(e).__name__})") from None
    check(isinstance(cfg, dict), f"{path}: expected a JSON object")
    unknown = sorted(set(cfg) - _KEYS)
    if unknown:
        raise ComodoError(f"{path}: unknown key {unknown[0]!r}; expected {', '.join(sorted(_KEYS))}")
    check("imu_rate" in cfg and "channels" in cfg, f"{path}: expected keys imu_rate and channels")
    units = cfg.get("units", "si")
    check(units in _UNITS, f"{path}: units {units!r}; expected one of {', '.join(_UNITS)}")
    rate, channels = cfg["imu_rate"], cfg["channels"]
    check(
        isinstance(rate, (int, float)) and not isinstance(rate, bool) and math.isfinite(rate) and rate > 0,
        f"{path}: imu_rate {rate!r}; expected a positive number of Hz",
    )
    check(
        isinstance(channels, int) and not isinstance(channels, bool) and channels >= 1,
        f"{path}: channels {channels!r}; expected a positive integer",
    )
    resolved = {"imu_rate": float(rate), "channels": channels, "raw_counts": units == "counts"}
    for name, value in resolved.items():
        given = getattr(spec, name)
        check(given is None or given == value, f"{name}={given!r} contradicts {path} ({value!r})")
    resolved["video_fps"] = cfg.get("video_fps")
    resolved["pairing"] = "auto"
    return resolved


LAYOUTS.register("generic")(Layout(load_split, read_imu, _defaults))
