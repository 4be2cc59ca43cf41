"""What an EgoDistill run trains and evaluates on: per clip, everything the losses read, as arrays.

For a split, :func:`clip_set` gathers (all computed once and cached where they are expensive):

- the selected frames' features ``frames`` (n, N, D_I) from the frozen f_I's per-frame cache;
- the first and last frame features ``first_last`` (n, 2, D_I) (stage 0's predictor input);
- the mean-subtracted IMU ``imu`` (n, C, L) (None without the IMU);
- the teacher's clip feature ``z_video`` (n, D_V) and logits ``teacher_logits`` (n, K), cached;
- the label index ``y`` (n,) into the sorted train labels, and each clip's video index ``video`` (n,).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from comodo.data import DataSpec, Sample
from comodo.data.reuse import kept
from comodo.egodistill.clips import clip_imus, clip_spec, load_clips, video_index
from comodo.egodistill.config import EgoDistillConfig
from comodo.paths import cache_root


@dataclass
class ClipSet:
    """The arrays of one split (see the module docstring for shapes)."""

    clips: list[Sample]
    frames: np.ndarray
    first_last: np.ndarray
    imu: np.ndarray | None
    z_video: np.ndarray
    teacher_logits: np.ndarray
    y: np.ndarray
    video: np.ndarray
    videos: list[str]

    def __len__(self) -> int:
        return len(self.clips)


def spec_of(config: EgoDistillConfig) -> DataSpec:
    from comodo.train.data import resolve_spec

    return resolve_spec(config.dataset, config.dataset_path, config.layout, config.world_size, config.world_seed)


def teacher_path(config: EgoDistillConfig, progress: bool = False) -> str:
    """The video classifier Ω of a run: ``config.teacher``, or for an embedded base (``"embedded"``,
    ``"embedded-timesformer"``) that base fine-tuned on the run's dataset
    (:func:`~comodo.egodistill.teacher.finetune_teacher`, cached)."""
    from comodo.egodistill.teacher import EMBEDDED_BASES, finetune_teacher

    if config.teacher not in EMBEDDED_BASES:
        return config.teacher
    return str(finetune_teacher(embedded_teacher_config(config), progress=progress))


def embedded_teacher_config(config: EgoDistillConfig):
    """The fine-tuning settings of a run's embedded teacher (the study's defaults on its data)."""
    from comodo.egodistill.teacher import TeacherFinetuneConfig

    return TeacherFinetuneConfig(dataset=config.dataset, dataset_path=config.dataset_path, layout=config.layout,
                                 world_size=config.world_size, world_seed=config.world_seed, clip_s=config.clip_s,
                                 base=config.teacher)


def load_models(config: EgoDistillConfig, device: str = "cpu", progress: bool = False):
    """``(teacher, image_encoder)``: the frozen Ω and f_I of a run (inside :func:`comodo.data.reuse.reuse`,
    a sweep's worker, each is loaded once and shared by its runs: frozen, nothing a run does changes it)."""
    from comodo.egodistill.image import load_image_encoder
    from comodo.egodistill.teacher import VideoClassifier

    path = teacher_path(config, progress)
    teacher = kept(("teacher", path, _identity(path), str(device)), lambda: VideoClassifier(path, device=device))
    image = kept(("image", config.image_ckpt, _identity(config.image_ckpt), str(cache_root()), config.world_size,
                  config.world_seed, str(device)),
                 lambda: load_image_encoder(config.image_ckpt, world_size=config.world_size,
                                            world_seed=config.world_seed, device=device, verbose=progress))
    return teacher, image


def _identity(name: str) -> str | None:
    """A hash of a local checkpoint folder's files (a model re-written into the same folder is loaded
    again), else None."""
    from comodo.data.identity import folder_identity
    from comodo.io import stable_hash

    folder = Path(name)
    return stable_hash(folder_identity(folder)) if folder.is_dir() else None


def split_clips(config: EgoDistillConfig, spec: DataSpec, splits: tuple[str, ...]) -> dict[str, list[Sample]]:
    """``{split: clips}`` (:func:`~comodo.egodistill.clips.load_clips`), each split listed once."""
    return {s: load_clips(spec, s, config.clip_s) for s in splits}


def clip_set(config: EgoDistillConfig, spec: DataSpec, split: str, clips: list[Sample], classes: list[str], teacher,
             image, progress: bool = False) -> ClipSet:
    """Every array the run needs of the ``clips`` of ``split`` (``teacher``/``image`` from :func:`load_models`;
    ``classes``: the sorted labels of the train clips, the class order of the student and the teacher)."""
    from comodo.egodistill.frame_cache import first_last, frame_features, select
    from comodo.egodistill.teacher_cache import teacher_outputs

    from comodo.train.data import check_labels

    check_labels(np.array(classes), np.array([c.label for c in clips]), split, str(spec.root))
    teacher.check_labels(classes, config.dataset)  # the same label set, or a one-line error naming the teacher
    z_video, logits = teacher_outputs(teacher, clips, spec.root, progress=progress)
    logits = logits[:, [list(teacher.labels).index(c) for c in classes]]  # (n, K) in the dataset's class order
    feats, offsets = frame_features(image, clips, spec.root, progress=progress)
    frames = select(feats, offsets, config.frames, config.frame_selection, config.seed)  # (n, N, D_I)
    imu = clip_imus(clip_spec(spec, config.clip_s), clips, config.imu_length) if config.use_imu else None
    videos, video = video_index(clips)
    y = np.array([classes.index(c.label) for c in clips], dtype=np.int64)
    return ClipSet(clips, np.ascontiguousarray(frames, np.float32),
                   np.ascontiguousarray(first_last(feats, offsets), np.float32), imu,
                   np.ascontiguousarray(z_video, np.float32), np.ascontiguousarray(logits, np.float32), y,
                   video, videos)
