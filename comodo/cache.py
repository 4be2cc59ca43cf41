"""The teacher-embedding cache: every clip of a split is encoded by the frozen teacher once.

The key covers everything that changes the embeddings — the teacher (checkpoint, revision, a
fingerprint of its weights and processor files, projection head and its seed, sizes, frame count),
the frame sampling rule, the identity of the split (every sample's uid, window, times and label,
the dataset root, and each video's path relative to it, size and modification time: one stat per
video, see :mod:`comodo.data.identity`) and where it is computed (device type; on CPU the number
of torch threads, which changes the order of floating-point sums and so the last bits of every
embedding). The file is ``safetensors``
(no pickle), written atomically, with the key in its metadata; on load the key and the row count are
checked, and a stale or corrupt file is rebuilt with a message. A re-encoded or replaced video
gives a new key (so its clips are encoded again); a missing or unreadable one is an error before
the cache is looked at.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from comodo.data.identity import samples_identity
from comodo.data.spec import Sample
from comodo.encoders.video import VideoTeacher, stack_clips
from comodo.io import stable_hash
from comodo.paths import cache_root

FRAME_SAMPLING = "uniform-linspace-floor over [start_s, end_s) (pytorchvideo UniformTemporalSubsample)"


def video_root(samples: Sequence[Sample]) -> Path:
    """The deepest folder holding every sample's video (``os.path.commonpath`` of their folders).

    The dataset root when a caller has no :class:`~comodo.data.DataSpec` at hand; callers that have
    one pass ``spec.root`` instead (the two give different keys, so one dataset should use one).
    """
    videos = {s.video_path for s in samples if s.video_path is not None}
    folders = sorted({os.path.dirname(os.path.abspath(p)) for p in videos})
    # Without any video the root does not matter: the split's identity names the sample without one.
    return Path(os.path.commonpath(folders)) if folders else Path(os.sep)


def _weights_fingerprint(teacher: VideoTeacher) -> str:
    """The stats of every file of the checkpoint folder (:func:`~comodo.data.identity.folder_identity`)."""
    from comodo.data.identity import folder_identity
    from comodo.encoders.hub import resolve_checkpoint

    return stable_hash(folder_identity(resolve_checkpoint(teacher.config.checkpoint, teacher.config.revision)))


def compute_signature(device: torch.device) -> str:
    """Where embeddings are computed, as far as it changes their bits: ``cpu-<threads>t`` or the device type."""
    return f"cpu-{torch.get_num_threads()}t" if device.type == "cpu" else device.type


def embedding_key(teacher: VideoTeacher, samples: Sequence[Sample], extra: dict | None = None,
                  dataset_root: Path | None = None) -> str:
    """The cache key of ``samples`` encoded by ``teacher`` (24 hex digits).

    ``dataset_root``: the folder the samples' videos are recorded relative to (``spec.root``);
    ``None`` takes :func:`video_root` of the samples. A missing or unreadable video, or a sample
    without one, is a :class:`~comodo.errors.ComodoError`.
    """
    split = samples_identity(samples, video_root(samples) if dataset_root is None else dataset_root, video=True)
    desc = teacher.describe()
    desc.pop("checkpoint", None)  # the same weights under another path name are the same teacher
    return stable_hash({"teacher": desc, "checkpoint_name": Path(str(teacher.config.checkpoint)).name,
                        "weights": _weights_fingerprint(teacher), "frames": FRAME_SAMPLING,
                        "split": split, "n": len(samples), "compute": compute_signature(teacher.device),
                        **(extra or {})}, length=24)


def teacher_embeddings(teacher: VideoTeacher, samples: Sequence[Sample], pooled: bool = False,
                       batch_size: int = 32, root: Path | None = None, progress: bool = True, *,
                       dataset_root: Path | None = None) -> np.ndarray:
    """(N, D) float32 teacher embeddings of ``samples`` (L2-normalised), or (N, hidden) pooled features.

    Encodes what is not cached yet (:mod:`comodo.arrays_cache`: a stale or corrupt file is rebuilt).
    ``root`` is the cache folder (default ``<cache>/embeddings``); ``dataset_root`` the dataset's
    root folder (``spec.root``; see :func:`embedding_key`). Every video is stat'ed first, so a
    missing one is an error whatever the cache holds.
    """
    from comodo.arrays_cache import load_arrays, save_arrays

    key = embedding_key(teacher, samples, {"pooled": pooled}, dataset_root=dataset_root)
    path = (root or cache_root() / "embeddings") / f"{key}.safetensors"
    cached = load_arrays(path, key, {"embeddings": len(samples)}, "teacher-embedding cache")
    if cached is not None:
        return cached["embeddings"]
    emb = encode(teacher, samples, pooled, batch_size, progress)
    save_arrays(path, key, {"embeddings": emb}, {"n": len(samples), "teacher": teacher.config.checkpoint})
    return emb


def clip_batches(samples: Sequence[Sample], num_frames: int, batch_size: int = 32, progress: bool = True,
                 desc: str = "teacher: encoding clips") -> Iterator[np.ndarray]:
    """The clips of ``samples`` in order, ``batch_size`` at a time: (b, num_frames, H, W, 3) uint8, the
    frames spread uniformly over each clip (:data:`FRAME_SAMPLING`); a progress bar on stderr."""
    from tqdm.auto import tqdm

    for i in tqdm(range(0, len(samples), batch_size), desc=desc, disable=not progress, leave=False, file=sys.stderr):
        yield stack_clips(samples[i:i + batch_size], num_frames)


def encode(teacher: VideoTeacher, samples: Sequence[Sample], pooled: bool = False, batch_size: int = 32,
           progress: bool = True) -> np.ndarray:
    """Encode ``samples`` without any cache: (N, D) float32."""
    out = [(teacher.pooled(frames) if pooled else teacher(frames)).float().cpu().numpy()  # (b, D)
           for frames in clip_batches(samples, teacher.num_frames, batch_size, progress)]
    return np.concatenate(out).astype(np.float32)
