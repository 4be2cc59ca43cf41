"""The teacher-embedding cache: every clip of a split is encoded by the frozen teacher once.

The key covers everything that changes the embeddings — the teacher (checkpoint, revision, a
fingerprint of its weights and processor files, projection head and its seed, sizes, frame count),
the frame sampling rule, a hash of the split's contents (every sample's uid, window, times and
label) and where it is computed (device type; on CPU the number of torch threads, which changes the
order of floating-point sums and so the last bits of every embedding). The file is ``safetensors``
(no pickle), written atomically, with the key in its metadata; on load the key and the row count are
checked, and a stale or corrupt file is rebuilt with a message.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from comodo.data.spec import Sample
from comodo.encoders.video import VideoTeacher, clip_frames
from comodo.io import atomic_path, stable_hash
from comodo.paths import cache_root

FRAME_SAMPLING = "uniform-linspace-floor over [start_s, end_s) (pytorchvideo UniformTemporalSubsample)"


def split_hash(samples: Sequence[Sample]) -> str:
    h = hashlib.sha256()
    for s in samples:
        h.update(f"{s.uid}|{s.window}|{s.start_s:.6f}|{s.end_s:.6f}|{s.label}\n".encode())
    return h.hexdigest()[:16]


def _weights_fingerprint(teacher: VideoTeacher) -> str:
    """Size and mtime of every file in a local checkpoint folder (a hub snapshot is named by revision)."""
    from comodo.encoders.hub import resolve_checkpoint

    folder = resolve_checkpoint(teacher.config.checkpoint, teacher.config.revision)
    stats = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in folder.iterdir() if p.is_file())
    return stable_hash(stats)


def compute_signature(device: torch.device) -> str:
    """Where embeddings are computed, as far as it changes their bits: ``cpu-<threads>t`` or the device type."""
    return f"cpu-{torch.get_num_threads()}t" if device.type == "cpu" else device.type


def embedding_key(teacher: VideoTeacher, samples: Sequence[Sample], extra: dict | None = None) -> str:
    desc = teacher.describe()
    desc.pop("checkpoint", None)  # the same weights under another path name are the same teacher
    return stable_hash({"teacher": desc, "checkpoint_name": Path(str(teacher.config.checkpoint)).name,
                        "weights": _weights_fingerprint(teacher), "frames": FRAME_SAMPLING,
                        "split": split_hash(samples), "n": len(samples), "compute": compute_signature(teacher.device),
                        **(extra or {})}, length=24)


def teacher_embeddings(teacher: VideoTeacher, samples: Sequence[Sample], pooled: bool = False,
                       batch_size: int = 32, root: Path | None = None, progress: bool = True) -> np.ndarray:
    """(N, D) float32 teacher embeddings of ``samples`` (L2-normalised), or (N, hidden) pooled features.

    Encodes what is not cached yet; returns a memory-mapped array when loaded from the cache.
    """
    from safetensors import safe_open
    from safetensors.torch import save_file

    key = embedding_key(teacher, samples, {"pooled": pooled})
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
