"""EgoDistill's losses (Eqs. 3–7) as pure functions; the teacher side (Ω's logits, z_V) is detached.

Deviations from the paper's print, both deliberate: L_KD is multiplied by τ² when ``kd_t2`` (Hinton's
convention, which keeps its gradient scale independent of τ; Eq. 4 prints no τ²), and L_1 is a mean
over batch and feature dimension, not a sum (so β = 1 keeps its meaning for any batch and feature size).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection

import torch
import torch.nn.functional as F
from torch import Tensor

from comodo.errors import check, is_positive_number
from comodo.losses import supervised_ce

TERMS = ("kd", "gt", "l1")


def _shape(z: object) -> str:
    return str(tuple(z.shape)) if isinstance(z, Tensor) else type(z).__name__


def _check_matrix(name: str, z: object, rows: int | str = "B", cols: int | str = "D") -> None:
    """``z`` must be a finite, non-empty 2-D tensor of shape (rows, cols); a str stands for any size."""
    ok = isinstance(z, Tensor) and z.ndim == 2 and z.numel() > 0
    ok = ok and all(isinstance(w, str) or n == w for n, w in zip(z.shape, (rows, cols)))
    check(ok, f"{name} must be a non-empty 2-D tensor of shape ({rows}, {cols}), got {_shape(z)}")
    check(bool(torch.isfinite(z).all()), f"{name} contains NaN or inf")


def _check_weights(alpha: float, beta: float, tau: float) -> None:
    ok_alpha = isinstance(alpha, numbers.Real) and not isinstance(alpha, bool) and 0 <= alpha <= 1
    check(ok_alpha, f"alpha must be a number in [0, 1], got {alpha!r}")
    ok_beta = isinstance(beta, numbers.Real) and not isinstance(beta, bool) and 0 <= beta < math.inf
    check(ok_beta, f"beta must be a finite number >= 0, got {beta!r}")
    check(is_positive_number(tau), f"tau must be a finite positive number, got {tau!r}")


def _report(total: Tensor, terms: dict[str, Tensor]) -> dict[str, float]:
    """Every term and the total as floats, with one device sync."""
    values = torch.stack([t.detach().to(total) for t in [*terms.values(), total]]).tolist()
    return dict(zip([*terms, "total"], values))


def distill_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    z_student: Tensor,
    z_video: Tensor,
    labels: Tensor | None,
    alpha: float = 0.95,
    beta: float = 1.0,
    tau: float = 1.0,
    kd_t2: bool = True,
    losses: Collection[str] = TERMS,
) -> tuple[Tensor, dict[str, float]]:
    """EgoDistill's stage-1 loss L = α·L_KD + (1 − α)·L_GT + β·L_1 over the selected terms.

    L_KD = (1/B) Σ_i KL(softmax(Ω_i/τ) ‖ softmax(Φ_i/τ)) (× τ² when ``kd_t2``); L_GT = cross-entropy
    of Φ against ``labels``, batch mean; L_1 = mean over batch and dimension of |z_V − z_Φ|. Each selected
    term keeps the paper's weight (so without "gt", L_KD still weighs α), except that "gt" alone (the
    VisOnly / VisIMU baselines) is plain L_GT with weight 1. Unselected terms are still computed,
    without gradient, for ``parts``; L_GT is NaN there when ``labels`` is None.

    Args:
        student_logits: Φ(I, M) (B, C).
        teacher_logits: Ω(V) (B, C), detached here.
        z_student: the student's fused feature z_Φ (B, D).
        z_video: the teacher's clip feature z_V (B, D), detached here.
        labels: class indices (B,) in [0, C); may be None when "gt" is not selected.
        alpha: α in [0, 1]. beta: β ≥ 0. tau: the KD temperature τ > 0.
        kd_t2: multiply L_KD by τ².
        losses: the terms that enter the total, a non-empty subset of ("kd", "gt", "l1").

    Returns:
        ``(total, parts)``: a scalar tensor and floats ``kd``, ``gt``, ``l1``, ``total``.
    """
    ok = not isinstance(losses, str) and len(losses) > 0 and set(losses) <= set(TERMS)
    check(ok, f"losses must be a non-empty collection of names from {TERMS}, got {losses!r}")
    _check_weights(alpha, beta, tau)
    _check_matrix("student_logits", student_logits, "B", "C")
    b, n_classes = student_logits.shape
    _check_matrix("teacher_logits", teacher_logits, b, n_classes)
    _check_matrix("z_video", z_video, b, "D")
    _check_matrix("z_student", z_student, b, z_video.shape[1])
    check(labels is not None or "gt" not in losses, "labels must be given when 'gt' is in losses")
    grad = torch.is_grad_enabled()
    with torch.set_grad_enabled(grad and "kd" in losses):
        log_p_s = torch.log_softmax(student_logits / tau, dim=1)  # (B, C)
        log_p_t = torch.log_softmax(teacher_logits.detach().to(log_p_s) / tau, dim=1)  # (B, C)
        kd = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1).mean()  # (B, C) -> (B,) -> ()
        kd = kd * tau**2 if kd_t2 else kd
    with torch.set_grad_enabled(grad and "gt" in losses):
        gt = student_logits.new_tensor(math.nan) if labels is None else supervised_ce(student_logits, labels)
    with torch.set_grad_enabled(grad and "l1" in losses):
        l1 = (z_video.detach().to(z_student) - z_student).abs().mean()  # (B, D) -> ()
    weights = {"kd": alpha, "gt": 1 - alpha, "l1": beta} if set(losses) != {"gt"} else {"gt": 1.0}
    terms = {"kd": kd, "gt": gt, "l1": l1}
    total = sum(weights[name] * terms[name] for name in TERMS if name in losses)
    return total, _report(total, terms)


def pretrain_loss(
    z_pred: Tensor,
    z_imu: Tensor,
    z_fused: Tensor,
    z_video: Tensor,
    tau: float = 0.1,
    nce: bool = True,
    l1: bool = True,
) -> tuple[Tensor, dict[str, float]]:
    """EgoDistill's stage-0 self-supervised loss L = L_NCE·[nce] + L_1·[l1] (Eq. 7).

    L_NCE = −(1/B) Σ_i log(exp(cos(ẑ_i, z_M,i)/τ) / Σ_j exp(cos(ẑ_i, z_M,j)/τ)), j over the batch
    (in-batch negatives, i included); L_1 = mean over batch and dimension of |z_V − z_fused|.
    An unselected term is still computed, without gradient, for ``parts``.

    Args:
        z_pred: ẑ_M = h(z_I⁰, z_Iᵀ), the IMU feature predicted from the first and last frames (B, D_m).
        z_imu: the IMU encoder's feature z_M (B, D_m); it carries gradient.
        z_fused: the fused feature Π(z_I, z_M) (B, D).
        z_video: the teacher's clip feature z_V (B, D), detached here.
        tau: τ' > 0 (paper 0.1).
        nce, l1: which terms enter the total; at least one.

    Returns:
        ``(total, parts)``: a scalar tensor and floats ``nce``, ``l1``, ``total``.
    """
    check(nce or l1, "pretrain_loss needs at least one of nce, l1 to be True")
    check(is_positive_number(tau), f"tau must be a finite positive number, got {tau!r}")
    _check_matrix("z_pred", z_pred, "B", "D_m")
    b, dim_m = z_pred.shape
    check(b >= 2 or not nce, f"z_pred must hold a batch of B >= 2 for in-batch negatives, got B = {b}")
    _check_matrix("z_imu", z_imu, b, dim_m)
    _check_matrix("z_video", z_video, b, "D")
    _check_matrix("z_fused", z_fused, b, z_video.shape[1])
    grad = torch.is_grad_enabled()
    with torch.set_grad_enabled(grad and nce):
        cos = F.normalize(z_pred, dim=1) @ F.normalize(z_imu.to(z_pred), dim=1).T  # (B, B)
        loss_nce = F.cross_entropy(cos / tau, torch.arange(b, device=cos.device))  # (B, B) -> ()
    with torch.set_grad_enabled(grad and l1):
        loss_l1 = (z_video.detach().to(z_fused) - z_fused).abs().mean()  # (B, D) -> ()
    terms = {"nce": loss_nce, "l1": loss_l1}
    total = sum(terms[name] for name, on in (("nce", nce), ("l1", l1)) if on)
    return total, _report(total, terms)
