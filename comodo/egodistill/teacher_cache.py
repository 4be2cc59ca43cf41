"""The teacher-output cache: Ω's z_V and logits of every clip of a split, computed once.

The key covers everything that changes the outputs — the classifier (family, frame count, labels,
processor, a stat of every checkpoint file: :meth:`VideoClassifier.describe`), the frame sampling
rule, the clips with the identity of their video files (:func:`comodo.data.identity.samples_identity`:
dataset root, each clip's uid, window, span and label, each video's path, size and mtime) and where
they are computed (:func:`comodo.cache.compute_signature`). One ``safetensors`` file per key, written
atomically, no pickle; a stale or corrupt file is rebuilt with a message
(:mod:`comodo.arrays_cache`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from comodo.data import Sample
from comodo.arrays_cache import load_arrays, save_arrays
from comodo.io import stable_hash
from comodo.paths import cache_root

if TYPE_CHECKING:
    from comodo.egodistill.video_classifier import VideoClassifier

WHAT = "teacher-output cache"


def output_key(classifier: "VideoClassifier", clips: Sequence[Sample], dataset_root: Path) -> str:
    from comodo.cache import FRAME_SAMPLING, compute_signature
    from comodo.data.identity import samples_identity

    return stable_hash({"teacher": classifier.describe(), "frames": FRAME_SAMPLING,
                        "clips": samples_identity(clips, Path(dataset_root)), "n": len(clips),
                        "compute": compute_signature(classifier.device)}, length=24)


def teacher_outputs(classifier: "VideoClassifier", clips: Sequence[Sample], dataset_root: Path,
                    cache_dir: Path | None = None, batch_size: int = 32,
                    progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(z_V, logits)`` of every clip: (N, D) and (N, C) float32, logits in ``classifier.labels`` order.

    Read from ``<cache_dir>/<key>.safetensors`` (default ``<cache>/egodistill/teacher_outputs``) when
    it holds them, else computed with :func:`encode_outputs` and written there.
    """
    key = output_key(classifier, clips, dataset_root)
    path = Path(cache_dir or cache_root() / "egodistill" / "teacher_outputs") / f"{key}.safetensors"
    n = len(clips)
    cached = load_arrays(path, key, {"z_video": n, "logits": n}, what=WHAT)
    if cached is not None:
        return cached["z_video"], cached["logits"]
    z, logits = encode_outputs(classifier, clips, batch_size, progress)
    if n:
        save_arrays(path, key, {"z_video": z, "logits": logits},
                    {"teacher": classifier.checkpoint, "n": n, "labels": ",".join(classifier.labels)})
    return z, logits


def encode_outputs(classifier: "VideoClassifier", clips: Sequence[Sample], batch_size: int = 32,
                   progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(z_V, logits)`` without any cache: each clip's ``num_frames`` frames spread uniformly over it."""
    from comodo.cache import clip_batches

    zs = [np.zeros((0, classifier.feature_dim), np.float32)]
    logits = [np.zeros((0, len(classifier.labels)), np.float32)]
    for frames in clip_batches(clips, classifier.num_frames, batch_size, progress, "teacher: clip outputs"):
        z, y = classifier.outputs(frames)  # (b, F, H, W, 3) → (b, D), (b, C)
        zs.append(z.cpu().numpy())
        logits.append(y.cpu().numpy())
    return np.concatenate(zs).astype(np.float32), np.concatenate(logits).astype(np.float32)


__all__ = ["encode_outputs", "output_key", "teacher_outputs"]
