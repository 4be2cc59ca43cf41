"""Layout ``mmea``: UESTC-MMEA-CL as distributed (Xu et al., IEEE TMM 2023), one sample per clip.

::

    <root>/{train,val,test}.txt
    <root>/video/<N_label>/<clip>.mp4      25 fps egocentric video, variable length (≈17 s)
    <root>/sensor/<N_label>/<clip>.csv     one row per sample: accel xyz, gyro xyz (raw counts)

Split files (as shipped with the dataset and the COMODO reference), one clip per line, whitespace
separated, CRLF line ends::

    yourdataset_path/data/27_open_close_door/27_open_close_door_2022_05_05_16_05_51 418 419 26

fields: a clip path without extension, the RGB frame count, the sensor row count, the class id
(``N - 1``). Only the first field is used, and only its last two components (``<N_label>/<clip>``),
so any prefix (``yourdataset_path/data/``, an absolute path, ``video/``) and an ``.mp4``/``.csv``
suffix are accepted. The label is the folder name after the first ``_`` (``3_drinking`` →
``drinking``). ``Sample.uid`` is ``<N_label>/<clip>``; ``end_s`` = sensor rows / ``imu_rate``.

Sensor CSVs have no header (the dataset's own loader reads them with ``header=None``; the split files'
sensor counts run up to 932 while the reference's MMEA sequence length is 931, the reference's
``pd.read_csv`` having taken the first row as a header). A non-numeric first row is still skipped.
The first 6 columns are used; fewer is an error. The sensor rate defaults to 25 Hz: the split files
list 2 736 446 sensor rows for the dataset's 30.4 hours. Raw counts are converted with 16384
counts/g and 16.4 counts/(°/s) as in the reference (the dataset's own code divides accel by 8192).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from comodo.data.imu import read_csv_imu
from comodo.data.layout import LAYOUTS, Layout, split_lines, unique_uids
from comodo.data.spec import DataSpec, Sample
from comodo.data.video import probe_video
from comodo.data.windows import check_durations, whole_recording
from comodo.errors import ComodoError, check

_FOLDER = re.compile(r"\d+_.+")
_SUFFIXES = (".mp4", ".csv")


def load_split(spec: DataSpec, split: str) -> list[Sample]:
    path, lines = split_lines(spec, split)
    entries = []
    for lineno, line in lines:
        parts = PurePosixPath(line.split()[0].replace("\\", "/")).parts
        if len(parts) < 2 or not _FOLDER.fullmatch(parts[-2]):
            raise ComodoError(
                f"split file {path}: line {lineno} is not '<...>/<N_label>/<clip> ...': {line.strip()[:80]!r}"
            )
        folder, clip = parts[-2], parts[-1]
        for suffix in _SUFFIXES:
            clip = clip[: -len(suffix)] if clip.endswith(suffix) else clip
        entries.append((lineno, folder, clip))
    unique_uids(path, [(n, f"{folder}/{clip}") for n, folder, clip in entries])
    samples = []
    for _, folder, clip in entries:
        imu_path = spec.root / "sensor" / folder / f"{clip}.csv"
        video_path = spec.root / "video" / folder / f"{clip}.mp4"
        n_imu = _sensor(spec, imu_path).shape[1]
        if video_path.exists():  # a missing video fails when it is read
            check_durations(spec, imu_path, n_imu, video_path, probe_video(video_path).duration_s)
        samples.append(
            Sample(
                uid=f"{folder}/{clip}",
                label=folder.split("_", 1)[1],
                imu_path=imu_path,
                video_path=video_path,
                window=0,
                start_s=0.0,
                end_s=n_imu / spec.imu_rate,
            )
        )
    return samples


def read_imu(spec: DataSpec, sample: Sample) -> np.ndarray:
    return whole_recording(spec, _sensor(spec, sample.imu_path), sample.imu_path)


def _sensor(spec: DataSpec, path: Path) -> np.ndarray:
    """The CSV as ``(channels, T)`` in file units (counts or SI)."""
    rows = read_csv_imu(path)  # (T, K)
    check(
        rows.shape[1] >= spec.channels,
        f"IMU {path}: {rows.shape[1]} columns, expected {spec.channels} (accel xyz, gyro xyz)",
    )
    return rows[:, : spec.channels].T  # (C, T)


def _defaults(spec: DataSpec) -> dict[str, Any]:
    return {"imu_rate": 25.0, "channels": 6, "raw_counts": True, "video_fps": 25.0, "pairing": "index"}


LAYOUTS.register("mmea")(Layout(load_split, read_imu, _defaults))
