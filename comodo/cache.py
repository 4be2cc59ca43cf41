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
from typing import Sequence

import numpy as np
import torch

from comodo.data.identity import samples_identity
from comodo.data.spec import Sample
from comodo.encoders.video import VideoTeacher, clip_frames
from comodo.io import atomic_path, stable_hash
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
    """Size and mtime of every file in a local checkpoint folder (a hub snapshot is named by revision)."""
    from comodo.encoders.hub import resolve_checkpoint

    folder = resolve_checkpoint(teacher.config.checkpoint, teacher.config.revision)
    stats = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in folder.iterdir() if p.is_file())
    return stable_hash(stats)


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

    Encodes what is not cached yet; returns a memory-mapped array when loaded from the cache.
    ``root`` is the cache folder (default ``<cache>/embeddings``); ``dataset_root`` the dataset's
    root folder (``spec.root``; see :func:`embedding_key`). Every video is stat'ed first, so a
    missing one is an error whatever the cache holds.
    """
    from safetensors import safe_open
    from safetensors.torch import save_file

    key = embedding_key(teacher, samples, {"pooled": pooled}, dataset_root=dataset_root)
    path = (root or cache_root() / "embeddings") / f"{key}.safetensors"
    if path.exists():
        try:
            with safe_open(str(path), framework="np") as f:
                meta = f.metadata() or {}
                emb = f.get_tensor("embeddings")
            if meta.get("key") == key and emb.shape[0] == len(samples) and np.isfinite(emb).all():
                return emb
            print(f"comodo: stale teacher-embedding cache {path} (key or row count differs): rebuilding",
                  file=sys.stderr)
        except Exception as e:  # truncated, not safetensors, missing tensor ...
            print(f"comodo: corrupt teacher-embedding cache {path} ({type(e).__name__}): rebuilding",
                  file=sys.stderr)
    emb = encode(teacher, samples, pooled, batch_size, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file({"embeddings": torch.from_numpy(emb)}, str(tmp),
                  metadata={"key": key, "n": str(len(samples)), "teacher": str(teacher.config.checkpoint)})
    return emb


def encode(teacher: VideoTeacher, samples: Sequence[Sample], pooled: bool = False, batch_size: int = 32,
           progress: bool = True) -> np.ndarray:
    """Encode ``samples`` without any cache: (N, D) float32."""
    from tqdm.auto import tqdm

    out = []
    bar = tqdm(range(0, len(samples), batch_size), desc="teacher: encoding clips", disable=not progress,
               leave=False, file=sys.stderr)
    for i in bar:
        batch = samples[i:i + batch_size]
        frames = np.stack([clip_frames(s.video_path, s.start_s, s.end_s, teacher.num_frames) for s in batch])
        z = teacher.pooled(frames) if pooled else teacher(frames)  # (b, D)
        out.append(z.float().cpu().numpy())
    return np.concatenate(out).astype(np.float32)
