"""What a dataset is (:class:`DataSpec`) and what one training example refers to (:class:`Sample`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from comodo.errors import ComodoError, check

PAIRINGS = ("index", "timestamps", "auto")


@dataclass
class DataSpec:
    """A dataset on disk, read by the layout named ``layout`` (see :mod:`comodo.data`).

    Fields left ``None`` take the layout's default when the spec is built, so a constructed spec is
    fully resolved (and is what gets written into checkpoints and results). The ``generic`` layout
    reads ``<root>/comodo.json`` at that point, so its root must already exist.

    Attributes:
        layout: ``ego4d``, ``egoexo4d``, ``mmea`` or ``generic``.
        root: the dataset folder.
        imu_rate: rate of the IMU files in Hz (ego4d/egoexo4d 200, mmea 25, generic: comodo.json).
        window_s: window length in s; ego4d/egoexo4d/generic cut recordings into windows of this length.
        channels: IMU channels (6 = accel xyz, gyro xyz; generic: comodo.json).
        raw_counts: the files hold raw sensor counts (accel / ``accel_counts_per_g`` → g → ×9.80665
            m/s²; gyro / ``gyro_counts_per_dps`` → °/s → rad/s). ``False``: already SI.
            Default: ``True`` for mmea, from comodo.json for generic, else ``False``.
        accel_counts_per_g: accelerometer counts per g (16384 = ±2 g full scale, the reference's value).
        gyro_counts_per_dps: gyroscope counts per °/s (16.4 = ±2000 °/s full scale).
        video_fps: nominal video frame rate in Hz (ego4d/egoexo4d 10, mmea 25, generic: comodo.json or
            ``None``). Informational: readers time frames by the rate stored in each file.
        pairing: how an IMU window finds its video span: ``index`` (window i of the IMU ↔ video
            ``[i·window_s, (i+1)·window_s)`` from t = 0, the reference's rule), ``timestamps`` (IMU
            samples whose timestamp falls in the span; the timestamps file is required) or ``auto``
            (timestamps when the file exists). Default ``auto``; ``index`` for egoexo4d, whose
            timestamps are on the Aria device clock, not the video's.
    """

    layout: str
    root: Path
    imu_rate: float | None = None
    window_s: float = 5.0
    channels: int | None = None
    raw_counts: bool | None = None
    accel_counts_per_g: float = 16384.0
    gyro_counts_per_dps: float = 16.4
    video_fps: float | None = None
    pairing: str | None = None

    def __post_init__(self) -> None:
        from comodo.data.layout import get_layout

        self.root = Path(self.root)
        layout = get_layout(self.layout)
        for name, value in layout.defaults(self).items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        _positive("imu_rate", self.imu_rate)
        _positive("window_s", self.window_s)
        self.imu_rate = float(self.imu_rate)
        self.window_s = float(self.window_s)
        _positive("accel_counts_per_g", self.accel_counts_per_g)
        _positive("gyro_counts_per_dps", self.gyro_counts_per_dps)
        if self.video_fps is not None:
            _positive("video_fps", self.video_fps)
        check(
            isinstance(self.channels, int) and not isinstance(self.channels, bool) and self.channels >= 1,
            f"channels: expected a positive integer, got {self.channels!r}",
        )
        check(isinstance(self.raw_counts, bool), f"raw_counts: expected True or False, got {self.raw_counts!r}")
        check(
            not self.raw_counts or self.channels == 6,
            f"raw_counts needs 6 channels (accel xyz, gyro xyz), got channels={self.channels}",
        )
        check(self.pairing in PAIRINGS, f"pairing {self.pairing!r}: expected one of {', '.join(PAIRINGS)}")
        check(self.window_samples >= 1, f"window_s={self.window_s} at {self.imu_rate} Hz is under one sample")

    @property
    def window_samples(self) -> int:
        """W = round(window_s · imu_rate): IMU samples per window."""
        return int(round(self.window_s * self.imu_rate))


@dataclass(frozen=True)
class Sample:
    """One example: window ``window`` of recording ``uid``, spanning ``[start_s, end_s)`` on the video clock.

    ``video_path`` is ``None`` when the dataset has no video for it. A ``(uid, window)`` pair is unique
    within a dataset and is the key of every cache.
    """

    uid: str
    label: str
    imu_path: Path
    video_path: Path | None
    window: int
    start_s: float
    end_s: float

    @property
    def key(self) -> str:
        """``"<uid>#<window>"``."""
        return f"{self.uid}#{self.window}"


def _positive(name: str, value: float) -> None:
    try:
        ok = math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ComodoError(f"{name}: expected a positive number, got {value!r}")
