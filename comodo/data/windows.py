"""Cutting a recording into fixed windows and pairing each with a span of its video.

Window ``i`` spans ``[i·window_s, (i+1)·window_s)`` on the video clock (t = 0 at the first frame).
Its IMU is found in one of two ways (``DataSpec.pairing``):

- **index** — IMU samples ``[i·W, (i+1)·W)``, ``W = round(window_s · imu_rate)``: the IMU is assumed
  to start with the video (the reference's rule). Windows = min(whole IMU windows, whole video windows).
- **timestamps** — a ``(T,)`` array of sample times: the IMU is interpolated (per channel, linearly)
  at the ``W`` instants ``start_s + k / imu_rate``. A window is kept when at least
  ``MIN_COVERAGE · W`` samples fall inside it; windows are those of the video (or, without a video,
  up to the last timestamp). Units are inferred from the sample spacing: s, ms, µs or ns (the Ego4D
  preprocessing writes ms on the video's canonical clock; EgoExo4D's writes ns on the device clock,
  which does not start with the video, hence ``pairing="index"`` there).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from comodo.data.imu import counts_to_si, validate_imu
from comodo.data.spec import DataSpec, Sample
from comodo.data.video import probe_video
from comodo.errors import ComodoError, check

MIN_COVERAGE = 0.9  # fraction of a window's W samples that must carry a timestamp inside it
_UNITS = {0: ("s", 1.0), 1: ("ms", 1e-3), 2: ("µs", 1e-6), 3: ("ns", 1e-9)}
# IMU and video paired by index must last about as long: neither more than this many times the other
# (a wrong --imu-rate or a stub recording would otherwise pair the wrong spans without a word; an IMU that
# stops somewhat before its video, or runs on after it, only loses or leaves windows)
DURATION_RATIO = 2.0


def check_durations(spec: DataSpec, imu_path: Path, n_imu: int, video_path: Path, video_s: float) -> None:
    """One clear error when ``n_imu`` samples at ``spec.imu_rate`` and the video at ``video_path`` (of
    ``video_s`` seconds) last more than :data:`DURATION_RATIO` times one another: index pairing assumes
    one recording, the two starting together."""
    imu_s = n_imu / spec.imu_rate
    check(video_s / DURATION_RATIO <= imu_s <= video_s * DURATION_RATIO,
          f"IMU {imu_path}: {n_imu} samples at {spec.imu_rate:g} Hz last {imu_s:.2f} s but its video "
          f"{video_path} lasts {video_s:.2f} s; expected the same recording (is --imu-rate right?)")


def uses_timestamps(spec: DataSpec, ts_path: Path) -> bool:
    """Whether windows of this recording are paired by timestamps (see the module docstring)."""
    if spec.pairing == "timestamps":
        check(ts_path.is_file(), f"IMU timestamps {ts_path}: not found (pairing='timestamps')")
        return True
    return spec.pairing == "auto" and ts_path.is_file()


def recording_windows(
    spec: DataSpec,
    uid: str,
    label: str,
    imu_path: Path,
    n_imu: int,
    video_path: Path | None,
    ts_path: Path,
) -> list[Sample]:
    """The samples (windows) of one recording of ``n_imu`` IMU samples.

    A video that exists is probed (so a corrupt one fails here); a missing one only fails when read,
    and then windows are counted from the IMU alone.
    """
    ws, W = spec.window_s, spec.window_samples
    video_windows = None
    if video_path is not None and video_path.exists():
        duration = probe_video(video_path).duration_s
        video_windows = int(math.floor(duration / ws + 1e-6))
        check(video_windows >= 1, f"video {video_path}: {duration:.2f} s, shorter than one {ws:g} s window")
    if uses_timestamps(spec, ts_path):
        t = load_timestamps(ts_path, n_imu, spec.imu_rate)
        n = video_windows if video_windows is not None else int(math.floor(t[-1] / ws)) + 1
        edges = np.searchsorted(t, np.arange(n + 1) * ws, side="left")  # (n+1,)
        keep = [i for i in range(n) if edges[i + 1] - edges[i] >= MIN_COVERAGE * W]
        check(
            bool(keep),
            f"IMU timestamps {ts_path}: no {ws:g} s window holds {MIN_COVERAGE:.0%} of its samples "
            f"(times span {t[0]:.3f}–{t[-1]:.3f} s); expected times on the video clock",
        )
    else:
        if video_windows is not None:
            check_durations(spec, imu_path, n_imu, video_path, duration)
        imu_windows = n_imu // W
        check(
            imu_windows >= 1,
            f"IMU {imu_path}: {n_imu} samples ({n_imu / spec.imu_rate:.2f} s at {spec.imu_rate:g} Hz), "
            f"shorter than one {ws:g} s window of {W} samples",
        )
        keep = range(imu_windows if video_windows is None else min(imu_windows, video_windows))
    return [Sample(uid, label, imu_path, video_path, i, i * ws, (i + 1) * ws) for i in keep]


def imu_window(spec: DataSpec, sample: Sample, x: np.ndarray, ts_path: Path) -> np.ndarray:
    """The ``(C, W)`` IMU of window ``sample.window`` of the full recording ``x`` (C, T), in SI units."""
    W = spec.window_samples
    validate_imu(x[:, :1], sample.imu_path, spec.channels)
    if uses_timestamps(spec, ts_path):
        t = load_timestamps(ts_path, x.shape[1], spec.imu_rate)
        grid = sample.start_s + np.arange(W) / spec.imu_rate  # (W,) s
        lo = max(int(np.searchsorted(t, sample.start_s, side="left")) - 1, 0)
        hi = min(int(np.searchsorted(t, sample.end_s, side="left")) + 1, x.shape[1])
        check(hi > lo, f"IMU {sample.imu_path}: no samples in [{sample.start_s}, {sample.end_s}) s")
        seg = validate_imu(np.asarray(x[:, lo:hi], np.float64), sample.imu_path, spec.channels, offset=lo)
        out = np.stack([np.interp(grid, t[lo:hi], row) for row in seg])  # (C, W)
    else:
        lo = sample.window * W
        check(
            lo + W <= x.shape[1],
            f"IMU {sample.imu_path}: window {sample.window} needs samples [{lo}, {lo + W}), file has {x.shape[1]}",
        )
        out = validate_imu(np.asarray(x[:, lo : lo + W], np.float64), sample.imu_path, spec.channels, offset=lo)
    return to_si(spec, out)


def whole_recording(spec: DataSpec, x: np.ndarray, path: Path) -> np.ndarray:
    """All of ``x`` (C, T), validated and in SI units."""
    return to_si(spec, validate_imu(np.asarray(x, np.float64), path, spec.channels))


def to_si(spec: DataSpec, x: np.ndarray) -> np.ndarray:
    """``(C, T)`` → float32 SI (raw counts converted when ``spec.raw_counts``)."""
    if spec.raw_counts:
        x = counts_to_si(x, spec.accel_counts_per_g, spec.gyro_counts_per_dps)
    return np.ascontiguousarray(x, dtype=np.float32)


def load_npy_imu(path: Path, channels: int) -> np.ndarray:
    """A ``(C, T)`` numeric ``.npy``, memory-mapped; wrong shape or a missing/bad file → ComodoError."""
    check(path.is_file(), f"IMU {path}: file not found")
    try:
        x = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise ComodoError(f"IMU {path}: not a readable .npy array ({(str(e).splitlines() or [''])[0]})") from None
    check(
        isinstance(x, np.ndarray) and (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)),
        f"IMU {path}: expected a numeric array, got {getattr(x, 'dtype', type(x).__name__)}",
    )
    check(
        x.ndim == 2 and x.shape[0] == channels and x.shape[1] >= 1,
        f"IMU {path}: expected ({channels}, T) channels × samples, got shape {tuple(x.shape)}",
    )
    return x


def load_timestamps(path: Path, n: int, imu_rate: float) -> np.ndarray:
    """``(n,)`` sample times in seconds from a ``.npy`` in s, ms, µs or ns (inferred from the spacing)."""
    try:
        t = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise ComodoError(f"IMU timestamps {path}: not a readable .npy array ({type(e).__name__})") from None
    t = np.asarray(t, np.float64)
    if t.ndim == 2 and 1 in t.shape:  # (T, 1) or (1, T)
        t = t.reshape(-1)
    check(t.ndim == 1 and t.shape[0] == n, f"IMU timestamps {path}: expected ({n},) times, got shape {t.shape}")
    check(bool(np.isfinite(t).all()), f"IMU timestamps {path}: non-finite times; expected finite values")
    check(bool((np.diff(t) >= 0).all()), f"IMU timestamps {path}: times decrease; expected sorted times")
    if n < 2:
        return t
    step = float(np.median(np.diff(t)))
    check(step > 0, f"IMU timestamps {path}: all times equal; expected increasing times")
    power = round(math.log10(step * imu_rate) / 3)  # 0: s, 1: ms, 2: µs, 3: ns
    ratio = step * imu_rate / 1000.0**power
    check(
        power in _UNITS and 1 / 3 < ratio < 3,
        f"IMU timestamps {path}: spacing {step:g} fits no unit (s, ms, µs, ns) at {imu_rate:g} Hz",
    )
    return t * _UNITS[power][1]


__all__ = [
    "MIN_COVERAGE",
    "imu_window",
    "load_npy_imu",
    "load_timestamps",
    "recording_windows",
    "to_si",
    "uses_timestamps",
    "whole_recording",
]
