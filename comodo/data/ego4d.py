"""Layouts ``ego4d`` and ``egoexo4d``: the reference's preprocessed Ego4D / EgoExo4D (same code).

::

    <root>/{train,val,test}.txt           uid<TAB>label      (label = Ego4D scenario / EgoExo4D task)
    <root>/processed_imu/<uid>.npy        (6, T) at imu_rate Hz (200): accel xyz m/s², gyro xyz rad/s
    <root>/processed_imu/<uid>_timestamps.npy   optional (T,) sample times (s, ms, µs or ns)
    <root>/processed_video/<uid>.mp4      the clip's video (the reference re-encodes to 10 fps, 224²)

The reference keeps Ego4D under ``<root>/v2/processed_{imu,video}``; that is used when
``<root>/processed_imu`` is absent. Each uid is cut into windows of ``window_s`` seconds paired with
its video as :mod:`comodo.data.windows` describes; ``Sample.uid`` is the uid, ``Sample.window`` the
window index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from comodo.data.layout import LAYOUTS, Layout, split_lines, unique_uids
from comodo.data.spec import DataSpec, Sample
from comodo.data.windows import imu_window, load_npy_imu, recording_windows
from comodo.errors import ComodoError


def load_split(spec: DataSpec, split: str) -> list[Sample]:
    path, lines = split_lines(spec, split)
    entries = []
    for lineno, line in lines:
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) != 2 or not all(fields):
            raise ComodoError(f"split file {path}: line {lineno} is not 'uid<TAB>label': {line.strip()[:80]!r}")
        entries.append((lineno, fields[0], fields[1]))
    unique_uids(path, [(n, uid) for n, uid, _ in entries])
    imu_dir, video_dir = _dirs(spec)
    samples: list[Sample] = []
    for _, uid, label in entries:
        imu_path = imu_dir / f"{uid}.npy"
        n_imu = load_npy_imu(imu_path, spec.channels).shape[1]
        samples += recording_windows(
            spec, uid, label, imu_path, n_imu, video_dir / f"{uid}.mp4", _timestamps_path(imu_path)
        )
    return samples


def read_imu(spec: DataSpec, sample: Sample) -> np.ndarray:
    x = load_npy_imu(sample.imu_path, spec.channels)
    return imu_window(spec, sample, x, _timestamps_path(sample.imu_path))


def _dirs(spec: DataSpec) -> tuple[Path, Path]:
    root = spec.root
    if not (root / "processed_imu").is_dir() and (root / "v2" / "processed_imu").is_dir():
        root = root / "v2"
    return root / "processed_imu", root / "processed_video"


def _timestamps_path(imu_path: Path) -> Path:
    return imu_path.with_name(f"{imu_path.stem}_timestamps.npy")


def _defaults(pairing: str):
    def defaults(spec: DataSpec) -> dict[str, Any]:
        return {"imu_rate": 200.0, "channels": 6, "raw_counts": False, "video_fps": 10.0, "pairing": pairing}

    return defaults


LAYOUTS.register("ego4d")(Layout(load_split, read_imu, _defaults("auto")))
LAYOUTS.register("egoexo4d")(Layout(load_split, read_imu, _defaults("index")))
