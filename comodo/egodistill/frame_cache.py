"""The per-frame feature cache of the frozen image encoder f_I: every frame of every clip, encoded once.

f_I never changes, so :func:`frame_features` encodes *every* frame of every clip (clip i's frames
are the video's frames :func:`~comodo.egodistill.clips.clip_frames_range`, in video order) and keeps
them in one keyed ``safetensors`` file; any frame count N and any selection rule
(:func:`select`, :func:`first_last`) then reads rows of it and the backbone never runs twice on a
frame. Each video is decoded once for all its clips (a long one in passes of at most
:data:`MAX_DECODED_FRAMES` frames).

The key covers what changes the features: the encoder (:meth:`ImageEncoder.describe`: family,
dim, processor, a stat of every checkpoint file), the videos (:func:`samples_identity`: the clips'
uids, windows, times, labels and a stat of each video), every clip's frame range, and where and how
it is computed (:func:`comodo.cache.compute_signature`, the batch size). Stale or corrupt files are
rebuilt with a message (:mod:`comodo.arrays_cache`).

On CPU the frames are encoded under one torch thread (:func:`comodo.threads.one_thread`): the bits
then do not depend on the machine's thread count, and on a shared CPU a small backbone runs several
times faster so (two threads on a busy 2-core machine: 5× the time of one, spinning).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from comodo.data import probe_video, read_frames
from comodo.data.identity import samples_identity
from comodo.data.spec import Sample
from comodo.arrays_cache import load_arrays, save_arrays
from comodo.egodistill.clips import clip_frames_range, select_frames
from comodo.egodistill.image import ImageEncoder
from comodo.errors import check, is_integer
from comodo.io import stable_hash
from comodo.paths import cache_root
from comodo.threads import one_thread

# One read_frames call decodes at most this many frames (a video's clips beyond it start another
# pass at the keyframe before them): the world's 15-s videos are one pass each.
MAX_DECODED_FRAMES = 1024


def frame_ranges(clips: Sequence[Sample]) -> np.ndarray:
    """(N, 2) int64: each clip's video frames ``[first, stop)`` (each video probed once)."""
    infos: dict[Path, object] = {}
    rows = []
    for c in clips:
        check(c.video_path is not None, f"clip {c.key} (IMU {c.imu_path}): no video; f_I needs the clip's frames")
        path = Path(c.video_path)
        if path not in infos:
            infos[path] = probe_video(path)
        info = infos[path]
        rows.append(clip_frames_range(c, info.fps, info.n_frames))
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def frame_features_key(encoder: ImageEncoder, clips: Sequence[Sample], dataset_root: Path, ranges: np.ndarray,
                       batch_size: int) -> str:
    from comodo.cache import compute_signature

    return stable_hash({"encoder": encoder.describe(), "videos": samples_identity(clips, dataset_root, video=True),
                        "ranges": ranges.tolist(), "compute": compute_signature(encoder.device),
                        "batch_size": int(batch_size)}, length=24)


def frame_features(encoder: ImageEncoder, clips: Sequence[Sample], dataset_root: str | Path,
                   cache_dir: str | Path | None = None, batch_size: int = 64,
                   progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """f_I features of every frame of every clip, from the cache or encoded (then cached).

    Args:
        encoder: the frozen image encoder.
        clips: from :func:`~comodo.egodistill.clips.load_clips` (each with a video).
        dataset_root: the dataset's root folder (part of the videos' identity).
        cache_dir: where the file goes (default ``<cache>/egodistill/frames``).

    Returns:
        ``(features, offsets)``: (total_frames, D) float32 and (N + 1,) int64; clip i's frames are
        rows ``offsets[i]:offsets[i + 1]``, in video order.
    """
    check(len(clips) > 0, "frame features: expected at least one clip")
    check(is_integer(batch_size) and batch_size >= 1, f"batch_size {batch_size!r}: expected an integer ≥ 1")
    ranges = frame_ranges(clips)  # (N, 2)
    offsets = np.concatenate([[0], np.cumsum(ranges[:, 1] - ranges[:, 0])]).astype(np.int64)  # (N + 1,)
    with one_thread() if encoder.device.type == "cpu" else contextlib.nullcontext():
        key = frame_features_key(encoder, clips, Path(dataset_root), ranges, batch_size)  # compute: cpu-1t
        path = Path(cache_dir or cache_root() / "egodistill" / "frames") / f"{key}.safetensors"
        cached = load_arrays(path, key, {"features": int(offsets[-1]), "offsets": len(offsets)},
                             "frame-feature cache")
        if cached is not None:
            if np.array_equal(cached["offsets"], offsets) and cached["features"].shape[1:] == (encoder.dim,):
                return cached["features"].astype(np.float32, copy=False), offsets
            print(f"comodo: stale frame-feature cache {path} (offsets or dim differ): rebuilding", file=sys.stderr)
        features = encode_frames(encoder, clips, ranges, batch_size, progress)  # (total, D)
    save_arrays(path, key, {"features": features, "offsets": offsets},
                metadata={"n_clips": len(clips), "encoder": encoder.name})
    return features, offsets


def encode_frames(encoder: ImageEncoder, clips: Sequence[Sample], ranges: np.ndarray, batch_size: int = 64,
                  progress: bool = True) -> np.ndarray:
    """Encode every frame of every clip without any cache: (total_frames, D) float32, in clip order.

    Frames are encoded in batches of ``batch_size`` across clip and video boundaries (the same
    batches for the same clips).
    """
    from tqdm.auto import tqdm

    out: list[np.ndarray] = []
    buffer = np.zeros((0, 1, 1, 3), np.uint8)  # decoded frames not yet encoded, in order
    groups = _decode_groups(clips, ranges)
    for block in tqdm(_decoded(clips, ranges, groups), total=len(groups), desc="f_I: encoding frames",
                      disable=not progress, leave=False, file=sys.stderr):
        buffer = np.concatenate([buffer, block]) if len(buffer) else block  # (n, H, W, 3)
        n_full = len(buffer) // batch_size * batch_size
        out += [encoder.features(buffer[i:i + batch_size]).cpu().numpy() for i in range(0, n_full, batch_size)]
        buffer = buffer[n_full:]
    if len(buffer):
        out.append(encoder.features(buffer).cpu().numpy())  # (rest, D)
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, encoder.dim), np.float32)


def _decoded(clips: Sequence[Sample], ranges: np.ndarray, groups: list[tuple[int, int]]):
    """Per group of clips of one video: their frames, clip after clip, ``(Σ frames, H, W, 3)`` uint8."""
    for lo, hi in groups:
        needed = np.unique(np.concatenate([np.arange(a, b) for a, b in ranges[lo:hi]]))
        decoded = read_frames(clips[lo].video_path, needed)  # (U, H, W, 3): one decoding pass
        rows = np.concatenate([np.searchsorted(needed, np.arange(a, b)) for a, b in ranges[lo:hi]])
        yield decoded[rows]


def _decode_groups(clips: Sequence[Sample], ranges: np.ndarray) -> list[tuple[int, int]]:
    """``[(lo, hi), ...]``: runs of consecutive clips of one video, cut where they would hold more than
    :data:`MAX_DECODED_FRAMES` frames (so a long high-resolution video is not held in memory whole)."""
    max_frames = MAX_DECODED_FRAMES
    groups, lo, n = [], 0, 0
    for i in range(len(clips)):
        size = int(ranges[i, 1] - ranges[i, 0])
        same = i > lo and Path(clips[i].video_path) == Path(clips[lo].video_path)
        if i > lo and (not same or n + size > max_frames):
            groups.append((lo, i))
            lo, n = i, 0
        n += size
    groups.append((lo, len(clips)))
    return groups


def select(features: np.ndarray, offsets: np.ndarray, frames: int, rule: str = "uniform",
           seed: int = 0) -> np.ndarray:
    """(N_clips, frames, D): ``frames`` frame features per clip, picked by ``rule`` (:func:`select_frames`).

    ``random`` draws from one ``np.random.default_rng(seed)``, clip after clip in order.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    rng = np.random.default_rng(seed)
    rows = np.stack([offsets[i] + select_frames(int(offsets[i + 1] - offsets[i]), frames, rule, rng)
                     for i in range(len(offsets) - 1)])  # (N, frames)
    return np.asarray(features)[rows]  # (N, frames, D)


def first_last(features: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(N, 2, D): the first and last frame feature of each clip (stage 0's h(z_I⁰, z_Iᵀ) input)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    features = np.asarray(features)
    return np.stack([features[offsets[:-1]], features[offsets[1:] - 1]], axis=1)  # (N, 2, D)


__all__ = ["encode_frames", "first_last", "frame_features", "frame_features_key", "frame_ranges", "select"]
