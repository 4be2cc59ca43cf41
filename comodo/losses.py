"""Distillation losses as pure functions: COMODO's queue loss and the paper's baselines.

Every function L2-normalises its embeddings and treats the teacher side (``z_video``, the queue) as
constants: no gradient flows into them.
"""

from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import Tensor

from comodo.errors import check, is_positive_number


def _check_temperature(name: str, value: float) -> None:
    check(is_positive_number(value), f"{name} must be a finite positive number, got {value!r}")


def _check_embeddings(name: str, z: Tensor) -> None:
    check(isinstance(z, Tensor) and z.ndim == 2, f"{name} must be a 2-D tensor (B, D), got {_shape(z)}")
    check(z.shape[0] > 0 and z.shape[1] > 0, f"{name} must be non-empty (B, D), got {tuple(z.shape)}")
    check(bool(torch.isfinite(z).all()), f"{name} contains NaN or inf")


def _shape(z: object) -> str:
    return str(tuple(z.shape)) if isinstance(z, Tensor) else type(z).__name__


def _check_pair(z_imu: Tensor, z_video: Tensor) -> None:
    _check_embeddings("z_imu", z_imu)
    _check_embeddings("z_video", z_video)
    check(
        z_imu.shape == z_video.shape,
        "z_imu and z_video must have the same shape (B, D), "
        f"got {tuple(z_imu.shape)} and {tuple(z_video.shape)}",
    )


def _teacher_and_student_log_probs(
    z_imu: Tensor, z_video: Tensor, queue: Tensor, student_temp: float, teacher_temp: float
) -> tuple[Tensor, Tensor]:
    """Validated core of COMODO: teacher probabilities (no gradient) and student log-probabilities.

    Returns:
        ``p_teacher`` (B, K+B) and ``log_p_student`` (B, K+B); the keys are ``cat(queue, z_video)``.
    """
    _check_pair(z_imu, z_video)
    dim = z_imu.shape[1]
    ok = isinstance(queue, Tensor) and queue.ndim == 2 and queue.shape[1] == dim
    check(ok, f"queue must have shape (K, {dim}), got {_shape(queue)}")
    _check_temperature("student_temp", student_temp)
    _check_temperature("teacher_temp", teacher_temp)
    z_x = F.normalize(z_imu, dim=1)  # (B, D)
    z_v = F.normalize(z_video.detach().to(z_x), dim=1)  # (B, D)
    queue = queue.detach().to(z_x)
    norms = torch.linalg.vector_norm(queue, dim=1, keepdim=True)  # (K, 1)
    check(bool(torch.isfinite(norms).all()), "queue contains NaN or inf")  # K checks, not K·D
    keys = torch.cat([queue / norms.clamp_min(1e-12), z_v])  # (K+B, D), all rows unit length
    with torch.no_grad():
        p_teacher = torch.softmax((z_v / teacher_temp) @ keys.T, dim=1)  # (B, K+B)
    log_p_student = torch.log_softmax((z_x / student_temp) @ keys.T, dim=1)  # (B, K+B)
    return p_teacher, log_p_student


def similarity_distributions(
    z_imu: Tensor, z_video: Tensor, queue: Tensor, student_temp: float = 0.05, teacher_temp: float = 0.1
) -> tuple[Tensor, Tensor]:
    """The two distributions COMODO matches, over the keys ``cat(queue, z_video)``.

    Args:
        z_imu: student embeddings (B, D).
        z_video: teacher embeddings of the same clips (B, D).
        queue: queued teacher embeddings (K, D); K may be 0.
        student_temp: τ_s.
        teacher_temp: τ_t.

    Returns:
        ``(p_teacher, p_student)``, each (B, K+B) with rows summing to 1; ``p_teacher`` has no gradient.
    """
    p_teacher, log_p_student = _teacher_and_student_log_probs(
        z_imu, z_video, queue, student_temp, teacher_temp
    )  # (B, K+B) each
    return p_teacher, log_p_student.exp()  # (B, K+B) each


def comodo_loss(
    z_imu: Tensor, z_video: Tensor, queue: Tensor, student_temp: float = 0.05, teacher_temp: float = 0.1
) -> Tensor:
    """COMODO's loss: cross-entropy from the teacher's to the student's similarity distribution.

    With keys = cat(queue, z_video) (K+B, D), p_v = softmax(z_v·keysᵀ/τ_t) (no gradient) and
    log p_x = log_softmax(z_x·keysᵀ/τ_s), the loss is −(1/B) Σ_i Σ_j p_v[i, j] · log p_x[i, j].
    All inputs are L2-normalised here. Enqueue ``z_video`` only after this call (see
    :class:`comodo.queue.EmbeddingQueue`).

    Args:
        z_imu: student embeddings (B, D).
        z_video: teacher embeddings of the same clips (B, D).
        queue: queued teacher embeddings (K, D); K may be 0.
        student_temp: τ_s (paper 0.05).
        teacher_temp: τ_t (paper 0.1).

    Returns:
        The loss, a scalar tensor; its gradient reaches only ``z_imu``.
    """
    p_teacher, log_p_student = _teacher_and_student_log_probs(
        z_imu, z_video, queue, student_temp, teacher_temp
    )  # (B, K+B) each
    return -(p_teacher * log_p_student).sum(dim=1).mean()  # (B, K+B) -> (B,) -> ()


def info_nce(z_imu: Tensor, z_video: Tensor, temperature: float = 0.1, symmetric: bool = True) -> Tensor:
    """IMU2CLIP-style InfoNCE with in-batch negatives: pair i is the positive for row i.

    Args:
        z_imu: student embeddings (B, D).
        z_video: teacher embeddings (B, D), treated as constants.
        temperature: τ (paper baseline 0.1).
        symmetric: average the IMU→video and video→IMU directions; else IMU→video only.

    Returns:
        The loss, a scalar tensor.
    """
    _check_pair(z_imu, z_video)
    _check_temperature("temperature", temperature)
    z_x = F.normalize(z_imu, dim=1)  # (B, D)
    z_v = F.normalize(z_video.detach().to(z_x), dim=1)  # (B, D)
    logits = z_x @ z_v.T / temperature  # (B, B)
    target = torch.arange(logits.shape[0], device=logits.device)  # (B,)
    loss = F.cross_entropy(logits, target)
    if symmetric:
        loss = (loss + F.cross_entropy(logits.T, target)) / 2
    return loss


def l2_distill(z_imu: Tensor, z_video: Tensor) -> Tensor:
    """Mean over the batch of ‖normalise(z_imu_i) − normalise(z_video_i)‖², teacher side constant.

    Args:
        z_imu: student embeddings (B, D).
        z_video: teacher embeddings (B, D).

    Returns:
        The loss, a scalar tensor in [0, 4].
    """
    _check_pair(z_imu, z_video)
    z_x = F.normalize(z_imu, dim=1)  # (B, D)
    z_v = F.normalize(z_video.detach().to(z_x), dim=1)  # (B, D)
    return (z_x - z_v).pow(2).sum(dim=1).mean()  # (B, D) -> (B,) -> ()


def supervised_ce(logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy of class ``logits`` (B, C) against integer ``labels`` (B,) in [0, C), batch mean."""
    _check_embeddings("logits", logits)
    b, n_classes = logits.shape
    ok = isinstance(labels, Tensor) and labels.ndim == 1 and labels.shape[0] == b
    check(ok, f"labels must have shape ({b},), got {_shape(labels)}")
    is_int = not labels.is_floating_point() and not labels.is_complex() and labels.dtype != torch.bool
    check(is_int, f"labels must be integers, got {labels.dtype}")
    in_range = bool(((labels >= 0) & (labels < n_classes)).all())
    check(in_range, f"labels must lie in [0, {n_classes}), got {int(labels.min())}..{int(labels.max())}")
    return F.cross_entropy(logits, labels.long())
