"""Clips: every whole clip of ``clip_s`` seconds of every video of a split, from any layout comodo reads.

EgoDistill works on short clips (the paper: ≈ 2 s) and reports accuracy per clip and per *video* (the
clip probabilities of a video averaged). A clip is a :class:`~comodo.data.Sample`: ``uid`` names its
video, ``window`` is the clip's index within that video, ``[start_s, end_s)`` its span on the video
clock, ``label`` the video's label.

- Layouts that cut recordings into windows (``ego4d``, ``egoexo4d``, ``generic``) are read with
  ``window_s = clip_s``: their windows *are* the clips (paired by index or timestamps as usual).
- Layouts with one sample per recording (``mmea``) have each recording cut into its whole clips.

In both cases a clip needs its video: a missing video, or one shorter than one clip, is an error.
Per clip the student sees

- ``frames`` RGB frames of the clip, picked by a named rule (:data:`FRAME_RULES`, the paper's
  Table 4) among the clip's frames ``[first, stop)``;
- the clip's IMU resampled to ``imu_length`` samples (the paper: 422 × 6 for ≈ 2 s at 198 Hz), each
  channel mean-subtracted within the clip (the paper's Supp. C: raw IMU drifts).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from comodo.data import DataSpec, Sample, frame_range, load_split, probe_video, read_imu, resample
from comodo.data.reuse import kept, kept_copy, spec_key
from comodo.errors import check, is_integer, is_positive_number

FRAME_RULES = ("uniform", "random", "first", "last", "center")
IMU_LENGTH = 422  # the paper's IMU input: 422 samples ≈ 2 s at 198 Hz
_EPS = 1e-6


def check_clip_settings(clip_s: object, frames: object = 1, rule: object = "uniform") -> None:
    """One-line errors for a clip length ≤ 0, N < 1 and an unknown frame-selection rule."""
    check(is_positive_number(clip_s), f"clip_s {clip_s!r}: expected a positive number of seconds")
    check(is_integer(frames) and frames >= 1, f"frames {frames!r}: expected an integer N ≥ 1")
    check(rule in FRAME_RULES, f"frame selection {rule!r}: expected one of {', '.join(FRAME_RULES)}")


def load_clips(spec: DataSpec, split: str, clip_s: float = 2.0) -> list[Sample]:
    """Every whole ``clip_s``-second clip of every video of ``split``, in split order.

    Returns:
        clips as :class:`Sample` (``uid`` = video, ``window`` = clip index in it, span in seconds).

    Inside :func:`comodo.data.reuse.reuse` (a sweep's worker) a split's clips are listed once: a run
    asks for them a dozen times (its teacher's key, its stages, its evaluation), each time opening
    every video of the split to read its length.
    """
    check_clip_settings(clip_s)
    clip_s = float(clip_s)
    cut = dataclasses.replace(spec, window_s=clip_s)  # re-validated: a clip under one IMU sample is an error
    return list(kept(("clips", spec_key(cut), split), lambda: _cut_clips(cut, split, clip_s)))


def _cut_clips(cut: DataSpec, split: str, clip_s: float) -> list[Sample]:
    """:func:`load_clips` without keeping: ``cut`` is the spec with ``window_s = clip_s``."""
    clips: list[Sample] = []
    for s in load_split(cut, split):
        check(s.video_path is not None, f"sample {s.key} of {cut.root}/{split}.txt: no video; EgoDistill "
                                        f"needs the clip's frames")
        info = probe_video(s.video_path)  # a missing or corrupt video fails here, naming the file
        span = min(s.end_s, info.duration_s) - s.start_s
        check(span >= clip_s - _EPS,
              f"video {s.video_path}: {span:.2f} s (IMU and video), shorter than one clip of {clip_s:g} s")
        if s.end_s - s.start_s <= clip_s + _EPS:  # already a clip (a window of clip_s)
            clips.append(s)
            continue
        n = int(math.floor(span / clip_s + _EPS))  # a whole recording: cut it
        clips += [dataclasses.replace(s, window=j, start_s=s.start_s + j * clip_s,
                                      end_s=s.start_s + (j + 1) * clip_s) for j in range(n)]
    return clips


def clip_spec(spec: DataSpec, clip_s: float) -> DataSpec:
    """``spec`` with ``window_s = clip_s``: what :func:`clip_imu` reads clips with."""
    return dataclasses.replace(spec, window_s=float(clip_s))


def clip_imu(spec: DataSpec, clip: Sample, length: int = IMU_LENGTH) -> np.ndarray:
    """The clip's IMU: ``(C, length)`` float32, SI units, each channel's mean over the clip removed.

    ``spec`` is the dataset's spec with ``window_s = clip_s`` (:func:`clip_spec`).
    """
    x = read_imu(spec, clip)  # (C, W) for windowed layouts, (C, T) for whole recordings
    W = spec.window_samples
    if x.shape[1] != W:  # a whole recording: the clip's samples
        lo = int(round(clip.start_s * spec.imu_rate))
        check(lo + W <= x.shape[1], f"IMU {clip.imu_path}: clip {clip.window} needs samples [{lo}, {lo + W}), "
                                    f"file has {x.shape[1]}")
        x = x[:, lo:lo + W]  # (C, W)
    x = resample(x, length)  # (C, length)
    return (x - x.mean(axis=1, keepdims=True)).astype(np.float32)


def clip_imus(spec: DataSpec, clips: Sequence[Sample], length: int = IMU_LENGTH) -> np.ndarray:
    """(N, C, length) float32: :func:`clip_imu` of every clip (read once inside
    :func:`comodo.data.reuse.reuse`; a copy is returned)."""
    def read() -> np.ndarray:
        return np.stack([clip_imu(spec, c, length) for c in clips]).astype(np.float32)

    return kept_copy(("clip_imus", spec_key(spec), tuple(clips), int(length)), read)


def clip_frames_range(clip: Sample, fps: float, n_frames: int) -> tuple[int, int]:
    """Frame indices ``[first, stop)`` of the video whose time lies in the clip's span."""
    return frame_range(fps, clip.start_s, clip.end_s, n_frames)


def select_frames(n: int, frames: int, rule: str = "uniform", rng: np.random.Generator | None = None) -> np.ndarray:
    """Positions (0 … n-1) of ``frames`` frames among a clip's ``n`` frames, by ``rule``.

    - ``uniform``: the middle of each of ``frames`` equal segments (N = 1: the centre frame);
    - ``random``: ``frames`` distinct positions drawn by ``rng`` (sorted);
    - ``first`` / ``last`` / ``center``: ``frames`` consecutive frames at the start, the end, or
      around the middle of the clip.

    Positions repeat only when the clip holds fewer than ``frames`` frames.

    Returns:
        (frames,) int64, non-decreasing.
    """
    check_clip_settings(1.0, frames, rule)
    check(is_integer(n) and n >= 1, f"a clip of {n!r} frames: expected at least one frame")
    if rule == "uniform":
        return np.floor((2 * np.arange(frames) + 1) * n / (2 * frames)).astype(np.int64)
    if rule == "random":
        check(rng is not None, "frame selection 'random' needs a random generator")
        if n >= frames:
            return np.sort(rng.choice(n, size=frames, replace=False)).astype(np.int64)
        return np.sort(rng.integers(0, n, size=frames)).astype(np.int64)
    if frames > n:  # too short: repeat evenly
        return np.floor(np.arange(frames) * n / frames).astype(np.int64)
    start = {"first": 0, "last": n - frames, "center": (n - frames) // 2}[rule]
    return np.arange(start, start + frames, dtype=np.int64)


def video_index(clips: Sequence[Sample]) -> tuple[list[str], np.ndarray]:
    """``(videos, v)``: the distinct videos in first-seen order and each clip's index into them (N,)."""
    videos: dict[str, int] = {}
    v = np.array([videos.setdefault(c.uid, len(videos)) for c in clips], dtype=np.int64)
    return list(videos), v


__all__ = ["FRAME_RULES", "IMU_LENGTH", "check_clip_settings", "clip_frames_range", "clip_imu", "clip_imus",
           "clip_spec", "load_clips", "select_frames", "video_index"]
