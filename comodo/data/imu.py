"""IMU arrays: validation, unit conversion, CSV parsing and resampling along time.

An IMU array is ``(C, T)``: channels first, ``T`` samples at the dataset's rate. Six-channel data is
accelerometer xyz (m/s²) then gyroscope xyz (rad/s).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from comodo.errors import ComodoError, check

STANDARD_GRAVITY = 9.80665  # m/s² per g
RESAMPLE_METHODS = ("linear", "fourier")


def validate_imu(x: np.ndarray, path: str | Path, channels: int, offset: int = 0) -> np.ndarray:
    """Check that ``x`` is ``(channels, T)`` with T ≥ 1 and every reading finite; return it.

    ``offset`` is the file index of ``x[:, 0]`` (a window cut from a longer recording), so the first
    bad sample is reported as an index into the file.
    """
    check(
        x.ndim == 2 and x.shape[0] == channels and x.shape[1] >= 1,
        f"IMU {path}: expected ({channels}, T) channels × samples, got shape {tuple(x.shape)}",
    )
    bad = ~np.isfinite(x)
    if bad.any():
        t = int(np.nonzero(bad.any(axis=0))[0][0])
        kind = "NaN" if np.isnan(x[:, t]).any() else "infinite"
        raise ComodoError(f"IMU {path}: {kind} reading at sample {offset + t}; expected finite values")
    return x


def counts_to_si(x: np.ndarray, accel_counts_per_g: float, gyro_counts_per_dps: float) -> np.ndarray:
    """Raw sensor counts ``(6, T)`` → SI: accel / counts_per_g · g → m/s², gyro / counts_per_dps → rad/s."""
    check(x.shape[0] == 6, f"raw-count conversion needs 6 channels (accel xyz, gyro xyz), got {x.shape[0]}")
    out = np.empty(x.shape, np.float64)
    out[:3] = x[:3] / accel_counts_per_g * STANDARD_GRAVITY
    out[3:] = x[3:] / gyro_counts_per_dps * (math.pi / 180.0)
    return out


def read_csv_imu(path: str | Path) -> np.ndarray:
    """A numeric CSV, ``T`` rows × ``K`` columns → ``(T, K)`` float64.

    Fields are separated by commas (or, with no comma on a line, by whitespace). A first row that is
    not numeric is taken as a header and skipped; blank lines and trailing empty fields are ignored.
    A ragged or non-numeric row is a :class:`ComodoError` naming the file and line.
    """
    path = Path(path)
    check(path.is_file(), f"IMU {path}: file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ComodoError(f"IMU {path}: cannot read as text ({type(e).__name__})") from None
    rows: list[list[float]] = []
    width = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = _fields(line)
        if not fields:
            continue
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if not rows and width is None:  # header
                width = len(fields)
                continue
            raise ComodoError(f"IMU {path}: line {lineno} is not numeric: {line.strip()[:60]!r}") from None
        if width is None:
            width = len(values)
        check(len(values) == width, f"IMU {path}: line {lineno} has {len(values)} columns, expected {width}")
        rows.append(values)
    check(bool(rows), f"IMU {path}: no numeric rows; expected T rows of channel readings")
    return np.asarray(rows, np.float64)


def resample(x: np.ndarray, length: int, method: str = "linear") -> np.ndarray:
    """Resample ``x`` ``(C, T)`` along time to ``(C, length)``.

    Methods:
        ``linear``: linear interpolation on half-sample-aligned grids, identical to
            ``torch.nn.functional.interpolate(mode="linear", align_corners=False)`` (what the reference
            uses to bring MMEA clips to 512 samples).
        ``fourier``: ``scipy.signal.resample`` (band-limited, assumes a periodic signal).

    Float input keeps its dtype; anything else comes back float32.
    """
    check(method in RESAMPLE_METHODS, f"resample method {method!r}: expected one of {', '.join(RESAMPLE_METHODS)}")
    x = np.asarray(x)
    check(x.ndim == 2 and x.shape[1] >= 1, f"resample: expected a (C, T) array with T ≥ 1, got {x.shape}")
    check(int(length) >= 1, f"resample length: expected ≥ 1, got {length}")
    length = int(length)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    n = x.shape[1]
    if n == length:
        return x.astype(dtype, copy=True)
    if method == "fourier":
        from scipy.signal import resample as fourier_resample

        return fourier_resample(x.astype(np.float64), length, axis=1).astype(dtype)
    src = (np.arange(length) + 0.5) * (n / length) - 0.5  # (length,) source positions
    src = np.maximum(src, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n - 1)  # (length,)
    hi = np.minimum(lo + 1, n - 1)
    w = src - lo  # (length,)
    xf = x.astype(np.float64)
    return (xf[:, lo] * (1.0 - w) + xf[:, hi] * w).astype(dtype)  # (C, length)


def _fields(line: str) -> list[str]:
    line = line.strip()
    if not line:
        return []
    fields = line.split(",") if "," in line else line.split()
    while fields and not fields[-1].strip():
        fields.pop()
    return [f.strip() for f in fields]
