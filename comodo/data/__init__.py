"""Datasets: IMU windows paired with video clips, read from disk by named layouts.

A :class:`DataSpec` names a layout (``ego4d``, ``egoexo4d``, ``mmea``, ``generic``) and a root
folder. ``load_split(spec, "train")`` lists the :class:`Sample` windows of a split;
``read_imu(spec, sample)`` returns one window's IMU as ``(C, T)`` float32 in m/s² and rad/s; the
video side is read with :func:`read_frames` over ``sample.start_s … sample.end_s``. Each layout's
module docstring describes its files: :mod:`comodo.data.ego4d`, :mod:`comodo.data.mmea`,
:mod:`comodo.data.generic` (your own data); the pairing rules are in :mod:`comodo.data.windows`.
Every cache of results computed from a dataset's files includes their :func:`samples_identity` /
:func:`file_identity` in its key (:mod:`comodo.data.identity`).
"""

from comodo.data.identity import file_identity, folder_identity, samples_identity
from comodo.data.imu import resample, validate_imu
from comodo.data.layout import LAYOUTS, Layout, get_layout, load_split, read_imu
from comodo.data.spec import DataSpec, Sample
from comodo.data.video import VideoInfo, frame_range, probe_video, read_frames, sample_indices, write_video
from comodo.data import ego4d, generic, mmea  # noqa: E402,F401  (register the built-in layouts)

__all__ = [
    "DataSpec",
    "LAYOUTS",
    "Layout",
    "Sample",
    "VideoInfo",
    "file_identity",
    "folder_identity",
    "frame_range",
    "get_layout",
    "load_split",
    "probe_video",
    "read_frames",
    "read_imu",
    "resample",
    "sample_indices",
    "samples_identity",
    "validate_imu",
    "write_video",
]
