"""What a run trains and evaluates on: the dataset, its IMU windows as tensors, and the teacher.

Inside :func:`~comodo.data.reuse.reuse` (what a sweep's worker process runs its jobs in), a split listed
or a set of IMU windows read is kept in memory and handed to the next run that asks for the same
thing: a worker trains and evaluates dozens of runs on the same three domains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from comodo.data import DataSpec, Sample, read_imu, resample
from comodo.data.reuse import kept, kept_copy, reuse, reuse_in_process, spec_key  # noqa: F401  (re-exported)
from comodo.errors import ComodoError, check


def samples_of(spec: DataSpec, split: str) -> list[Sample]:
    """:func:`comodo.data.load_split` (kept inside :func:`reuse`)."""
    from comodo.data import load_split

    return list(kept(("split", spec_key(spec), split), lambda: load_split(spec, split)))


def resolve_spec(dataset: str, dataset_path: str | None = None, layout: str | None = None,
                 world_size: str = "default", world_seed: int = 0, imu_rate: float | None = None,
                 window_s: float = 5.0) -> DataSpec:
    """A real dataset (``dataset_path`` given; ``layout`` defaults to ``dataset``) or a world domain."""
    if dataset_path is not None:
        return DataSpec(layout=layout or dataset, root=Path(dataset_path), imu_rate=imu_rate, window_s=window_s)
    from comodo.world.domains import DOMAINS, TARGET_DOMAINS, VERB_DOMAINS
    from comodo.world.generate import generate

    known = TARGET_DOMAINS + VERB_DOMAINS
    check(dataset in known, f"dataset {dataset!r}: expected a world domain ({', '.join(known)}) or --dataset-path")
    root = generate(dataset, world_size, world_seed)
    return DataSpec(layout=DOMAINS[dataset].layout, root=root, imu_rate=imu_rate, window_s=window_s)


def spec_of(config) -> DataSpec:
    return resolve_spec(config.dataset, config.dataset_path, config.layout, config.world_size,
                        config.world_seed, config.imu_rate, config.window_s)


def keep_clips(samples: Sequence[Sample], num_clips: int, seed: int) -> list[Sample]:
    """At most ``num_clips`` randomly chosen windows per video (0 keeps all), order preserved."""
    if num_clips <= 0:
        return list(samples)
    rng = np.random.default_rng(seed)
    by_uid: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        by_uid.setdefault(s.uid, []).append(i)
    keep = set()
    for idx in by_uid.values():
        keep.update(rng.choice(idx, size=min(num_clips, len(idx)), replace=False).tolist())
    return [s for i, s in enumerate(samples) if i in keep]


def imu_windows(spec: DataSpec, samples: Sequence[Sample], length: int, method: str = "linear") -> np.ndarray:
    """(N, C, length) float32 IMU windows in SI units, resampled to the student's input length.

    Inside :func:`reuse`, read once per spec, samples, length and method (each call gets a copy)."""
    def read() -> np.ndarray:
        return np.stack([resample(read_imu(spec, s), length, method) for s in samples]).astype(np.float32)

    return kept_copy(("imu", spec_key(spec), tuple(samples), int(length), method), read)


def labels_of(samples: Sequence[Sample]) -> np.ndarray:
    return np.array([s.label for s in samples])


def load_teacher(video_ckpt: str, projection: str = "random_mlp", projection_seed: int = 0,
                 mlp_hidden_dim: int = 2048, mlp_output_dim: int = 128, world_size: str = "default",
                 world_seed: int = 0, device: str = "cpu"):
    """The frozen teacher; ``"embedded"`` is the world's pre-trained teacher (trained on first use).

    Loaded afresh on every call, inside :func:`reuse` too: building it draws from torch's global
    generator, which a student with dropout draws from next."""
    from comodo.encoders.video import TeacherConfig, VideoTeacher

    if video_ckpt == "embedded":
        from comodo.teacher.pretrain import embedded_config, pretrain_teacher

        video_ckpt = str(pretrain_teacher(embedded_config(world_size, world_seed)))
    config = TeacherConfig(checkpoint=video_ckpt, projection=projection, projection_seed=projection_seed,
                           mlp_hidden_dim=mlp_hidden_dim, mlp_output_dim=mlp_output_dim)
    return VideoTeacher(config, device=device)


def teacher_of(config, projection: str | None = None, device: str = "cpu"):
    """The frozen teacher of a :class:`~comodo.train.config.DistillConfig` (``projection`` overrides its head)."""
    c = config.resolved()
    return load_teacher(c.video_ckpt, projection or c.projection, c.projection_seed, c.mlp_hidden_dim,
                        c.mlp_output_dim, c.world_size, c.world_seed, device=device)


def check_labels(train: np.ndarray, other: np.ndarray, split: str, where: str) -> None:
    unknown = sorted(set(other.tolist()) - set(train.tolist()))
    if unknown:
        raise ComodoError(f"{where}: label {unknown[0]!r} of the {split} split never occurs in the train split")
