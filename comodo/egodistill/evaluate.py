"""Evaluating an EgoDistill run: the student and the teacher on the same clips.

Reported for each of the two:

- ``clip_top1``: top-1 accuracy of single clips;
- ``video_top1``: the paper's metric — the clip probabilities of a video averaged, then top-1 against
  the video's label;
- ``per_class``: per-video top-1 within each class (label → accuracy, and the video count);
- and for the student, how well z_Φ reconstructs the teacher's clip feature z_V: mean cosine
  similarity and mean absolute difference (the L_1 of training), over clips.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from comodo.egodistill.data import ClipSet, clip_set, load_models, spec_of, split_clips
from comodo.errors import check


@torch.no_grad()
def predict(student, cs: ClipSet, device: torch.device | str = "cpu", batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """``(z_Φ (n, D_V), probabilities (n, K))`` of the student on every clip of ``cs``."""
    student.eval()
    zs, ps = [], []
    for i in range(0, len(cs), batch):
        frames = torch.from_numpy(cs.frames[i:i + batch]).to(device)
        imu = torch.from_numpy(cs.imu[i:i + batch]).to(device) if cs.imu is not None and student.use_imu else None
        z, logits = student(frames, imu)  # (b, D_V), (b, K)
        zs.append(z.float().cpu())
        ps.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(zs).numpy(), torch.cat(ps).numpy()


def video_probs(probs: np.ndarray, video: np.ndarray) -> np.ndarray:
    """(V, K): the mean of each video's clip probabilities (``video`` (n,) indexes 0 … V-1)."""
    V = int(video.max()) + 1
    sums = np.zeros((V, probs.shape[1]), np.float64)
    np.add.at(sums, video, probs)  # (V, K)
    return sums / np.bincount(video, minlength=V)[:, None]


def video_labels(y: np.ndarray, video: np.ndarray) -> np.ndarray:
    """(V,) the label of each video (every clip of a video carries it)."""
    out = np.full(int(video.max()) + 1, -1, np.int64)
    out[video] = y
    return out


def video_top1(probs: np.ndarray, y: np.ndarray, video: np.ndarray) -> float:
    return float((video_probs(probs, video).argmax(1) == video_labels(y, video)).mean())


def scores(probs: np.ndarray, y: np.ndarray, video: np.ndarray, classes: list[str]) -> dict:
    """Clip and per-video top-1, and per-video top-1 per class."""
    pv, yv = video_probs(probs, video).argmax(1), video_labels(y, video)
    per_class = {c: {"video_top1": float((pv[yv == k] == k).mean()), "videos": int((yv == k).sum())}
                 for k, c in enumerate(classes) if (yv == k).any()}
    return {"clip_top1": float((probs.argmax(1) == y).mean()), "video_top1": float((pv == yv).mean()),
            "per_class": per_class, "n_clips": int(len(y)), "n_videos": int(len(yv))}


def reconstruction(z: np.ndarray, z_video: np.ndarray) -> dict:
    """Mean cosine similarity and mean |z_V − z_Φ| over clips (and dimensions)."""
    num = (z * z_video).sum(1)
    den = np.linalg.norm(z, axis=1) * np.linalg.norm(z_video, axis=1) + 1e-12
    return {"cosine": float((num / den).mean()), "l1": float(np.abs(z - z_video).mean())}


def evaluate_run(run_dir: str | Path, split: str = "test", device: str = "cpu", progress: bool = False) -> dict:
    """The student of ``run_dir`` and its teacher on the clips of ``split``; the config is in the result."""
    from comodo.egodistill.train import load_student

    student, config, classes = load_student(run_dir)
    check(config.stage == "train", f"run {run_dir}: a stage-0 (pretrain) run has no trained classifier; "
                                   f"evaluate its stage-1 run")
    spec = spec_of(config)
    teacher, image = load_models(config, device, progress)
    cs = clip_set(config, spec, split, split_clips(config, spec, (split,))[split], classes, teacher, image, progress)
    z, probs = predict(student.to(device), cs, device)
    teacher_probs = torch.softmax(torch.from_numpy(cs.teacher_logits), 1).numpy()
    return {"kind": "egodistill", "variant": config.variant, "split": split, "classes": classes,
            "student": {**scores(probs, cs.y, cs.video, classes), "reconstruction": reconstruction(z, cs.z_video)},
            "teacher": {**scores(teacher_probs, cs.y, cs.video, classes), "path": str(teacher.path)},
            "config": dataclasses.asdict(config), "dataset": str(spec.root), "run": str(run_dir)}


__all__ = ["evaluate_run", "predict", "reconstruction", "scores", "video_labels", "video_probs", "video_top1"]
